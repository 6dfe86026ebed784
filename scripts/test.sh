#!/usr/bin/env bash
# Installs dependencies, builds Pando and runs every test (what CI runs, .ci/run):
#   1. format   clang-format --dry-run on every tracked source file;
#   2. tidy     clang-tidy (scripts/tidy.sh, .clang-tidy) on the files of src/ changed since
#               main, so a new warning fails; PANDO_TIDY_ALL=1 checks all of src/;
#   3. build    the normal tree (build/: gcc, RelWithDebInfo, tests and benchmarks);
#   4. ctest    every test of the normal tree: labels unit, process, hostile, sim, etcd, web,
#               crash and bench (the benchmarks' --quick smoke runs);
#   5. clang    the clang tree (build-clang/: ASan+UBSan, -Wthread-safety -Werror, and the
#               libFuzzer targets in the same tree);
#   6. sanitize the tests labelled unit, process, hostile and sim again in the clang tree,
#               under ASan+UBSan. Not etcd (the registry's behaviour against real clusters,
#               minutes of waiting on etcd that runs no Pando code of its own under the
#               sanitizers), not web (node and chromium, not C++), not bench (already run,
#               and timing-bound) and not crash (SIGKILL loops: slow under ASan, and what
#               they test is SQLite's durability, which the sanitizers do not see);
#   7. fuzz     every libFuzzer target for PANDO_FUZZ_SECONDS in total (default 60), built
#               in the clang tree (scripts/fuzz.sh).
# Every test must carry at least one of the labels above: a test without one fails the run
# (check_labels). Each stage's wall time and CPU time (user+sys) is printed at the end.
# Stops at the first failure with a non-zero exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
JOBS=$(nproc)
LABELS='unit|process|hostile|sim|etcd|web|crash|bench'
SANITIZED_LABELS='unit|process|hostile|sim'
SANITIZED_EXCLUDED='etcd|web|bench|crash'
TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT

# stage NAME COMMAND...: runs COMMAND and records its wall and CPU seconds for the summary.
stage() {
  local name=$1
  shift
  echo "== $name"
  /usr/bin/time -f "$name %e %U %S" -a -o "$TIMES" "$@"
}

# check_labels DIR: fails if a test of DIR's tree has none of the known labels, or if it
# has no tests at all (a failed discovery).
check_labels() {
  local all labelled
  all=$(cd "$1" && ctest -N | sed -n 's/^Total Tests: //p')
  labelled=$(cd "$1" && ctest -N -L "^($LABELS)\$" | sed -n 's/^Total Tests: //p')
  if [[ -z "$all" || "$all" == 0 || "$all" != "$labelled" ]]; then
    echo "test.sh: $1 has ${all:-no} tests but only ${labelled:-0} carry one of the labels" \
      "$LABELS; the others:" >&2
    comm -23 <(cd "$1" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p' | sort) \
      <(cd "$1" && ctest -N -L "^($LABELS)\$" | sed -n 's/^ *Test *#[0-9]*: //p' | sort) >&2
    return 1
  fi
  echo "check_labels: all $all tests of $1 are labelled"
}

files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench fuzz tools -name '*.cc' -o -name '*.h')
# shellcheck disable=SC2086 # One argument per file.
stage format clang-format --dry-run --Werror $files

# The clang tree is configured (not built) first: clang-tidy needs its compile commands.
PANDO_TREE=clang PANDO_CONFIGURE_ONLY=1 ./scripts/build.sh
if [[ "${PANDO_TIDY_ALL:-0}" == 1 ]]; then stage tidy ./scripts/tidy.sh; else stage tidy ./scripts/tidy.sh --changed; fi

stage build ./scripts/build.sh
check_labels build
stage ctest bash -c "cd build && ctest -j$JOBS --output-on-failure --timeout 600"

stage clang env PANDO_TREE=clang ./scripts/build.sh
check_labels build-clang
stage sanitize bash -c "cd build-clang && ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest -j$JOBS --output-on-failure --timeout 900 \
  -L '^($SANITIZED_LABELS)\$' -LE '^($SANITIZED_EXCLUDED)\$'"

stage fuzz env PANDO_FUZZ_BUILD_DIR=build-clang ./scripts/fuzz.sh "${PANDO_FUZZ_SECONDS:-60}"

echo "== stage times (seconds: wall, user+sys CPU)"
awk '{ printf "  %-9s %7.0f %7.0f\n", $1, $2, $3 + $4; w += $2; c += $3 + $4 }
     END { printf "  %-9s %7.0f %7.0f\n", "total", w, c }' "$TIMES"
echo "== all tests passed"
