#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy, WarningsAsErrors: every warning fails) on the sources of src/,
# in parallel, with the compile commands of the clang tree (build-clang/, or
# $PANDO_TIDY_BUILD_DIR; configured by this script if it is missing, never built).
#
#   scripts/tidy.sh              every .cc file of src/ (what scripts/test.sh runs)
#   scripts/tidy.sh --changed    only the .cc files of src/ changed since main (committed or
#                                not; on main itself, in the last commit), and the .cc files
#                                beside changed headers
#   scripts/tidy.sh FILE...      those files
#
# Headers of src/ are checked through the .cc files that include them (HeaderFilterRegex).
# Exits non-zero if clang-tidy reports anything; each file's report is printed whole.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "${PANDO_TIDY_BUILD_DIR:-$ROOT/build-clang}")"
JOBS="$(nproc 2>/dev/null || echo 2)"
TIDY="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
[[ -n "$TIDY" ]] || { echo "tidy.sh: clang-tidy not found (scripts/install-deps.sh)" >&2; exit 1; }

if [[ ! -f "$BUILD/compile_commands.json" ]]; then
  PANDO_TREE=clang PANDO_BUILD_DIR="$BUILD" PANDO_CONFIGURE_ONLY=1 ./scripts/build.sh
fi

files=()
if [[ "${1:-}" == --changed ]]; then
  base="$(git merge-base HEAD "${PANDO_TIDY_BASE:-main}" 2>/dev/null || echo HEAD)"
  if [[ "$(git rev-parse "$base")" == "$(git rev-parse HEAD)" ]]; then base=HEAD~1; fi
  while IFS= read -r f; do
    case "$f" in
      *.cc) files+=("$f") ;;
      *.h) [[ -f "${f%.h}.cc" ]] && files+=("${f%.h}.cc") ;;
    esac
  done < <({ git diff --name-only --diff-filter=d "$base" -- src; git ls-files -o --exclude-standard src; } | sort -u)
elif (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'src/*.cc')
fi
if ((${#files[@]} == 0)); then
  echo "tidy.sh: no files to check"
  exit 0
fi

# The clang tree compiles core, proto and crdt twice (the fuzz targets' instrumented copies,
# fuzz/CMakeLists.txt); clang-tidy would check such a file once per entry: keep the first.
DB="$(mktemp -d)"
LOGS="$(mktemp -d)"
trap 'rm -rf "$DB" "$LOGS"' EXIT
python3 - "$BUILD/compile_commands.json" "$DB/compile_commands.json" <<'EOF'
import json, sys
seen, out = set(), []
for c in json.load(open(sys.argv[1])):
    if c["file"] not in seen:
        seen.add(c["file"])
        out.append(c)
json.dump(out, open(sys.argv[2], "w"))
EOF

echo "tidy.sh: ${#files[@]} files, $JOBS at a time ($TIDY, $BUILD)"
export TIDY DB LOGS
status=0
printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} sh -c \
  'log="$LOGS/$(echo "{}" | tr / _).log"; "$TIDY" -p "$DB" --quiet "{}" >"$log" 2>&1 || { echo "FAILED {}" >>"$log"; exit 1; }' ||
  status=$?
for log in "$LOGS"/*.log; do
  [[ -f "$log" ]] || continue
  # A clean file still prints clang-tidy's count of suppressed warnings; show only reports.
  if grep -qE 'warning:|error:|^FAILED' "$log"; then cat "$log"; fi
done
if ((status != 0)); then
  echo "tidy.sh: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "tidy.sh: clean"
