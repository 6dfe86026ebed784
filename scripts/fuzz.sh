#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs each of them for a while.
#
#   scripts/fuzz.sh [SECONDS]    (default 60: the total, split evenly between the targets)
#
# The targets are built in the clang tree (`PANDO_TREE=clang scripts/build.sh`: ASan+UBSan,
# build-clang/ or $PANDO_FUZZ_BUILD_DIR), the same tree scripts/test.sh runs the sanitizer
# tests in, so from test.sh this builds nothing new. Alone, it configures that tree if needed
# and builds only the fuzz targets. The corpora (seeded from pando_fuzz_make_corpus, grown by
# the fuzzers), crash artifacts and logs are written in that directory too.
# Exits non-zero if a target finds a crash, a leak, a timeout or an out-of-memory input.
set -euo pipefail

TOTAL_SECONDS="${1:-60}"
if ! [[ "$TOTAL_SECONDS" =~ ^[0-9]+$ ]] || ((TOTAL_SECONDS < 3)); then
  echo "usage: $0 [SECONDS]   (a whole number, at least 3)" >&2
  exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(realpath -m "${PANDO_FUZZ_BUILD_DIR:-$ROOT/build-clang}")"
TARGETS=(entry_decode_fuzz bundle_read_fuzz fork_proof_decode_fuzz reconcile_fuzz
  overlay_decode_fuzz frame_decode_fuzz catalog_record_fuzz markdown_fuzz crdt_op_fuzz
  name_claim_fuzz etcd_response_fuzz name_answer_fuzz dht_decode_fuzz)
PER_TARGET=$((TOTAL_SECONDS / ${#TARGETS[@]}))
# libFuzzer reads -max_total_time=0 as "no limit": every target runs at least a second.
((PER_TARGET >= 1)) || PER_TARGET=1

run() {
  echo "+ $*"
  "$@"
}

for tool in clang++ cmake ninja; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

echo "== configure and build ($BUILD)"
run env PANDO_TREE=clang PANDO_BUILD_DIR="$BUILD" \
  PANDO_BUILD_TARGETS="${TARGETS[*]} pando_fuzz_make_corpus" "$ROOT/scripts/build.sh"

echo "== seed corpus"
SEEDS="$BUILD/fuzz-seeds"
rm -rf "$SEEDS"
run "$BUILD/fuzz/pando_fuzz_make_corpus" "$SEEDS"

corpus_of() {
  case "$1" in
    entry_decode_fuzz) echo entry ;;
    bundle_read_fuzz) echo bundle ;;
    fork_proof_decode_fuzz) echo fork_proof ;;
    reconcile_fuzz) echo reconcile ;;
    overlay_decode_fuzz) echo overlay ;;
    frame_decode_fuzz) echo frame ;;
    catalog_record_fuzz) echo catalog ;;
    markdown_fuzz) echo markdown ;;
    crdt_op_fuzz) echo crdt ;;
    name_claim_fuzz) echo name ;;
    etcd_response_fuzz) echo etcd ;;
    name_answer_fuzz) echo name_answer ;;
    dht_decode_fuzz) echo dht ;;
  esac
}

max_len_of() {
  case "$1" in
    entry_decode_fuzz) echo 70000 ;;
    bundle_read_fuzz) echo 300000 ;;
    fork_proof_decode_fuzz) echo 300000 ;;
    reconcile_fuzz) echo 270000 ;;
    overlay_decode_fuzz) echo 1024 ;;
    frame_decode_fuzz) echo 140000 ;;
    catalog_record_fuzz) echo 65536 ;;
    markdown_fuzz) echo 65536 ;;
    crdt_op_fuzz) echo 65536 ;;
    name_claim_fuzz) echo 256 ;;
    etcd_response_fuzz) echo 65536 ;;
    name_answer_fuzz) echo 16384 ;;
    dht_decode_fuzz) echo 8192 ;;
  esac
}

failed=()
summary=()
for target in "${TARGETS[@]}"; do
  kind="$(corpus_of "$target")"
  corpus="$BUILD/fuzz-corpus/$target"
  artifacts="$BUILD/fuzz-artifacts/$target"
  log="$BUILD/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # The corpus persists between runs; the seeds are added again in case they were lost.
  cp -f "$SEEDS/$kind"/* "$corpus"/
  # Entries and fork proofs are inside bundles too: give each target the others' seeds.
  if [[ "$target" == bundle_read_fuzz ]]; then cp -f "$SEEDS"/entry/* "$corpus"/; fi
  if [[ "$target" == fork_proof_decode_fuzz ]]; then cp -f "$SEEDS"/entry/* "$corpus"/; fi
  args=(
    -max_total_time="$PER_TARGET"
    -max_len="$(max_len_of "$target")"
    -rss_limit_mb=2048
    -timeout=25
    -print_final_stats=1
    -artifact_prefix="$artifacts/"
  )
  if [[ "$target" == bundle_read_fuzz ]]; then args+=(-dict="$ROOT/fuzz/bundle.dict"); fi
  echo "== $target for ${PER_TARGET}s (log: $log)"
  echo "+ $BUILD/fuzz/$target ${args[*]} $corpus"
  status=0
  "$BUILD/fuzz/$target" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  execs="$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n1)"
  summary+=("$target: exit $status, ${execs:-?} executions, $(find "$corpus" -type f | wc -l) corpus files")
  if ((status != 0)); then
    failed+=("$target")
    echo "!! $target failed (exit $status); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    for crash in "$artifacts"/*; do
      [[ -f "$crash" ]] || continue
      echo "!! artifact $crash (hex):" >&2
      od -An -tx1 -v "$crash" | tr -d ' \n' | head -c 4096 >&2
      echo >&2
    done
  fi
done

echo "== summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all targets ran ${PER_TARGET}s without finding a crash"
