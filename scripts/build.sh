#!/usr/bin/env bash
# Configures and builds Pando into build/ (or $PANDO_BUILD_DIR). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${PANDO_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${PANDO_BUILD_TYPE:-RelWithDebInfo} \
  -DPANDO_TESTS=ON -DPANDO_BENCH=ON "$@" >/dev/null
ninja -C "$BUILD_DIR"
