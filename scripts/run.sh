#!/usr/bin/env bash
# Installs dependencies, builds Pando and runs its main job: a local network of three nodes
# (pando devnet) carrying the group blog, with a few sample posts, supervised until Ctrl-C;
# each node serves the web UI at the http:// address it prints. The nodes keep their data
# in ./demo-devnet (set PANDO_DEVNET to use another directory); README.md says what to try.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
PANDO=$PWD/build/src/cli/pando
DIR=${PANDO_DEVNET:-$PWD/demo-devnet}
echo
echo "== starting 3 nodes in $DIR (Ctrl-C stops them)"
exec "$PANDO" devnet 3 --dir "$DIR" --group blog --posts 3
