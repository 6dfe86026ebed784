#!/usr/bin/env bash
# Installs dependencies, builds Pando and runs every test:
#   1. formatting check (clang-format),
#   2. the unit, golden-vector, store, CLI and crash tests and a quick benchmark smoke run
#      (ctest) on the normal build,
#   3. the same tests but the crash test again under AddressSanitizer + UBSan,
#   4. every libFuzzer target for a bounded time (PANDO_FUZZ_SECONDS, default 60).
# Stops at the first failure with a non-zero exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
JOBS=$(nproc)

echo "== 1/4 clang-format"
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench fuzz tools -name '*.cc' -o -name '*.h')
clang-format --dry-run --Werror $files

echo "== 2/4 build and ctest"
./scripts/build.sh
(cd build && ctest -j"$JOBS" --output-on-failure --timeout 600)

echo "== 3/4 ASan+UBSan build and ctest"
PANDO_BUILD_DIR=build-asan PANDO_BUILD_TYPE=Debug ./scripts/build.sh -DPANDO_SANITIZE=ON -DPANDO_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j"$JOBS" --output-on-failure --timeout 900 -LE crash)

echo "== 4/4 fuzz"
./scripts/fuzz.sh "${PANDO_FUZZ_SECONDS:-60}"

echo "== all tests passed"
