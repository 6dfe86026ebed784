#!/usr/bin/env bash
# Installs every build, test and tooling dependency of Pando from Debian packages, then the
# npm packages of bench/hypercore (the peer pando_bench_catchup compares with), of bench/yjs
# (the CRDT library pando_bench_crdt compares with) and of tests/web (playwright-core, which
# drives Debian's chromium in the web UI's end-to-end test) from their package-lock.json.
# Safe to run repeatedly, from any directory: apt-get skips what is already installed, and npm
# runs only when node_modules is missing or older than the lock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev clang-format clang-tidy python3
  libsodium-dev libsqlite3-dev sqlite3 libssl-dev libboost-dev libtomlplusplus-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  wrk chromium
  # The name registry's etcd tests start their own members from /usr/bin/etcd; a system
  # service the package may register is never used.
  etcd-server etcd-client
)

# Node.js >= 18 and npm, for bench/hypercore, bench/yjs and tests/web (playwright-core asks
# for >= 20).
# A node already on PATH (for example from NodeSource, whose nodejs package conflicts with
# Debian's npm) is used as it is.
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ]
}
node_ok || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

HYPERCORE="$ROOT/bench/hypercore"
if [ ! "$HYPERCORE/node_modules/.package-lock.json" -nt "$HYPERCORE/package-lock.json" ] ||
  [ ! "$HYPERCORE/node_modules/.package-lock.json" -nt "$HYPERCORE/package.json" ]; then
  echo "install-deps: npm ci in bench/hypercore"
  npm ci --prefix "$HYPERCORE" --no-audit --no-fund --loglevel=error
fi

YJS="$ROOT/bench/yjs"
if [ ! "$YJS/node_modules/.package-lock.json" -nt "$YJS/package-lock.json" ] ||
  [ ! "$YJS/node_modules/.package-lock.json" -nt "$YJS/package.json" ]; then
  echo "install-deps: npm ci in bench/yjs"
  npm ci --prefix "$YJS" --no-audit --no-fund --loglevel=error
fi

# playwright-core only: the test launches /usr/bin/chromium, so no browser is downloaded.
WEB="$ROOT/tests/web"
if [ ! "$WEB/node_modules/.package-lock.json" -nt "$WEB/package-lock.json" ] ||
  [ ! "$WEB/node_modules/.package-lock.json" -nt "$WEB/package.json" ]; then
  echo "install-deps: npm ci in tests/web"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$WEB" --no-audit --no-fund --loglevel=error
fi
