#!/usr/bin/env bash
# Configures and builds Pando. Extra arguments go to cmake.
#
#   scripts/build.sh                     the normal tree: gcc, RelWithDebInfo, in build/
#   PANDO_TREE=clang scripts/build.sh    the clang tree, in build-clang/: ASan+UBSan,
#                                        -Wthread-safety, the libFuzzer targets, no benchmarks
#
# PANDO_BUILD_DIR and PANDO_BUILD_TYPE override the directory and the build type;
# PANDO_BUILD_TARGETS (space-separated) builds only those targets instead of everything;
# PANDO_CONFIGURE_ONLY=1 only configures (compile_commands.json, for scripts/tidy.sh).
# The clang tree is built at -O1 with line tables only: fast enough for the sanitizer tests
# and the fuzzers, readable stack traces, and much less to compile and link than -O2 -g.
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${PANDO_TREE:-normal}
args=(-G Ninja -DPANDO_TESTS=ON)
case "$TREE" in
  normal)
    BUILD_DIR=${PANDO_BUILD_DIR:-build}
    args+=(-DCMAKE_BUILD_TYPE="${PANDO_BUILD_TYPE:-RelWithDebInfo}" -DPANDO_BENCH=ON)
    ;;
  clang)
    BUILD_DIR=${PANDO_BUILD_DIR:-build-clang}
    args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE="${PANDO_BUILD_TYPE:-Debug}"
      "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only"
      -DPANDO_SANITIZE=ON -DPANDO_FUZZ=ON -DPANDO_BENCH=OFF)
    ;;
  *)
    echo "build.sh: PANDO_TREE is normal or clang, not '$TREE'" >&2
    exit 2
    ;;
esac
cmake -S . -B "$BUILD_DIR" "${args[@]}" "$@" >/dev/null
[[ "${PANDO_CONFIGURE_ONLY:-0}" == 1 ]] && exit 0
# shellcheck disable=SC2086 # The target list is meant to split on spaces.
ninja -C "$BUILD_DIR" ${PANDO_BUILD_TARGETS:-}
