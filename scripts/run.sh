#!/usr/bin/env bash
# Installs dependencies, builds Pando and runs its main job on this machine: an identity,
# a few signed posts and the log. Until the networked node exists, this is Pando end to end
# on one machine. Data goes to $PANDO_HOME (default: ./demo-data in this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
PANDO=./build/src/cli/pando
export PANDO_HOME=${PANDO_HOME:-$PWD/demo-data}

echo
echo "== pando data directory: $PANDO_HOME"
if [ ! -f "$PANDO_HOME/identity.key" ]; then
  $PANDO init
fi
echo "== your author id: $($PANDO id)"
$PANDO post --group blog.demo "# Hello from Pando

Posted at $(date -u '+%Y-%m-%d %H:%M:%S') UTC, signed with this machine's key." >/dev/null
echo "Entries are signed, hash-chained and stored in SQLite." | $PANDO post --group blog.demo - >/dev/null
echo
echo "== pando log (newest 10)"
$PANDO log --limit 10
echo
echo "== pando verify"
$PANDO verify
cat <<MSG

Try next:
  export PANDO_HOME=$PANDO_HOME
  P=$PANDO
  \$P post --group blog.demo "your text"   # sign and store a post
  \$P show <id prefix>                     # one entry in full
  \$P log --json                           # the log, for scripts
  \$P export demo.pbdl                     # a portable, verifiable bundle
  \$P --data-dir /tmp/other import demo.pbdl
  \$P --help                               # every verb
MSG
