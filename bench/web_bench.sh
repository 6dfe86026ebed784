#!/usr/bin/env bash
# web_bench.sh: the web UI and API under wrk while the node replicates a steady load.
#
# Starts a devnet of 2 nodes (A and B, group blog), seeds A with Markdown posts and their
# catalog records, then keeps posting to B at a fixed rate so that A receives and stores
# entries over the network the whole time. wrk then measures A's answers to
#   static     /static/style.css       (the baseline: a file embedded in the binary)
#   front      /                       (the front page: the latest 20 catalog records)
#   entry      /api/v1/entries/ID      (one entry read through the JSON API)
#   permalink  /p/ID                   (one post's page, its Markdown rendered)
# in the order static, front, entry, permalink, static; the baseline is the mean of the two
# static runs. Every figure is printed next to it as a ratio. bench/README.md explains it.
#
#   bench/web_bench.sh                           # 8 s per wrk run, about a minute in all
#   WEB_BENCH_SECONDS=5 bench/web_bench.sh
#   ninja -C build bench_web                     # the same, with the pando just built
#
# Settings (environment):
#   PANDO_BIN                 the pando binary (default: build/src/cli/pando, then
#                             build-me/src/cli/pando under the source tree)
#   WEB_BENCH_SECONDS         length of each wrk run (default 8)
#   WEB_BENCH_WARMUP_SECONDS  unmeasured wrk run on each URL first (default 1; 0: none)
#   WEB_BENCH_CONNECTIONS     wrk connections (default 8); wrk uses WEB_BENCH_THREADS (1)
#   WEB_BENCH_RATE            entries per second posted to B during the runs (default 20:
#                             10 posts and their 10 catalog records)
#   WEB_BENCH_POSTS           posts seeded into A, each with its catalog record (default 200,
#                             at least 20: the front page must list 20)
#   WEB_BENCH_KEEP=1          keep the devnet's directory (it is printed)
#
# Exit status: 0 when every run completed and every target was met, 1 on any failure (a node
# that does not start, wrk missing or failing, an answer other than 2xx, replication that
# stalls), 2 on bad settings, 3 when a page missed its target (front, entry and permalink
# at least 0.5x the static file's req/s; the line says MISSED).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
  echo "web_bench: error: $*" >&2
  exit 1
}

setting() {  # NAME DEFAULT MIN: prints the value of the integer setting NAME
  local v="${!1:-$2}"
  if ! [[ "$v" =~ ^[0-9]+$ ]] || ((v < $3)); then
    echo "web_bench: error: $1 must be an integer >= $3 (got '$v')" >&2
    exit 2
  fi
  echo "$v"
}

DUR=$(setting WEB_BENCH_SECONDS 8 1)
WARMUP=$(setting WEB_BENCH_WARMUP_SECONDS 1 0)
CONNS=$(setting WEB_BENCH_CONNECTIONS 8 1)
THREADS=$(setting WEB_BENCH_THREADS 1 1)
RATE=$(setting WEB_BENCH_RATE 20 1)
POSTS=$(setting WEB_BENCH_POSTS 200 20)
KEEP="${WEB_BENCH_KEEP:-0}"
# Front page, entry and permalink must each reach this share of the static file's req/s.
TARGET=0.5
((THREADS <= CONNS)) || { echo "web_bench: error: WEB_BENCH_THREADS > WEB_BENCH_CONNECTIONS" >&2; exit 2; }
((RATE <= 1000)) || { echo "web_bench: error: WEB_BENCH_RATE must be at most 1000" >&2; exit 2; }

if [[ -z "${PANDO_BIN:-}" ]]; then
  for c in "$ROOT/build/src/cli/pando" "$ROOT/build-me/src/cli/pando"; do
    if [[ -x "$c" ]]; then
      PANDO_BIN="$c"
      break
    fi
  done
  [[ -n "${PANDO_BIN:-}" ]] || die "no pando binary: build it (ninja -C build pando) or set PANDO_BIN"
fi
[[ -x "$PANDO_BIN" ]] || die "PANDO_BIN=$PANDO_BIN is not an executable file"
PANDO="$PANDO_BIN"
command -v wrk >/dev/null ||
  die "wrk is not on PATH: install the Debian package wrk (scripts/install-deps.sh does)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/pando-web-bench.XXXXXX")"
NET="$TMP/net"
A="$NET/node-0"
B="$NET/node-1"
DEVNET_PID=""
LOAD_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  if [[ -n "$DEVNET_PID" ]] && kill -0 "$DEVNET_PID" 2>/dev/null; then
    # The supervisor stops its nodes (SIGTERM, then SIGKILL after 15 s) and exits.
    kill -TERM "$DEVNET_PID" 2>/dev/null || true
    for _ in $(seq 200); do
      kill -0 "$DEVNET_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DEVNET_PID" 2>/dev/null || true
    wait "$DEVNET_PID" 2>/dev/null || true
  fi
  # Nodes left behind by a supervisor that did not stop them: only this devnet's, by pid.
  local f pid
  for f in "$A/node.json" "$B/node.json"; do
    [[ -f "$f" ]] || continue
    pid=$(grep -Eo '"pid": *[0-9]+' "$f" | grep -Eo '[0-9]+$' || true)
    if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if [[ "$KEEP" == 1 ]]; then
    echo "web_bench: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- small helpers (no curl or jq: bash, awk, grep and the pando CLI) ----

num() {  # KEY JSON: the first integer value of "KEY" in JSON
  grep -Eo "\"$1\": *[0-9]+" <<<"$2" | head -n 1 | grep -Eo '[0-9]+$' || echo 0
}

sum_entries() {  # JSON of /api/v1/status: entries held, all groups together
  grep -Eo '"entries": *[0-9]+' <<<"$1" | awk -F: '{ s += $2 } END { print s + 0 }'
}

status() {  # DATA_DIR: the node's status JSON, or nothing
  "$PANDO" --data-dir "$1" status 2>/dev/null || true
}

http_get() {  # HOST:PORT PATH: the whole HTTP/1.0 answer, headers included
  local host=${1%:*} port=${1##*:} fd
  exec {fd}<>"/dev/tcp/$host/$port"
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&"$fd"
  cat <&"$fd"
  exec {fd}>&-
}

now_us() { echo "${EPOCHREALTIME/./}"; }

cpu_ticks() {  # PID: user+system clock ticks of the process, all threads
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

tree_ticks() {  # PID: the same plus the children it has waited for (cutime, cstime)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat"
}

busy_ticks() {  # "BUSY TOTAL" clock ticks of the whole machine, from /proc/stat
  awk '/^cpu / { t = 0; for (i = 2; i <= 9; ++i) t += $i; print t - $5 - $6, t }' /proc/stat
}

CLK_TCK=$(getconf CLK_TCK)
CORES=$(nproc)

# ---- the machine before anything starts ----

read -r b0 t0 < <(busy_ticks)
sleep 1
read -r b1 t1 < <(busy_ticks)
IDLE_BUSY=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v n="$CORES" 'BEGIN { printf "%.2f", t ? b / t * n : 0 }')

# ---- the devnet ----

"$PANDO" devnet 2 --dir "$NET" --group blog >"$TMP/devnet.out" 2>&1 &
DEVNET_PID=$!

node_failed() {
  echo "web_bench: error: $1" >&2
  echo "--- pando devnet output ---" >&2
  cat "$TMP/devnet.out" >&2 || true
  for n in "$A" "$B"; do
    [[ -f "$n/node.log" ]] || continue
    echo "--- last lines of $n/node.log ---" >&2
    tail -n 20 "$n/node.log" >&2 || true
  done
  exit 1
}

deadline=$(($(now_us) + 30000000))
while true; do
  kill -0 "$DEVNET_PID" 2>/dev/null || node_failed "pando devnet exited before its nodes started"
  sa=$(status "$A")
  sb=$(status "$B")
  if grep -Eq '"started": *true' <<<"$sa" && grep -Eq '"started": *true' <<<"$sb"; then
    break
  fi
  (($(now_us) < deadline)) || node_failed "the devnet's 2 nodes did not start within 30 s"
  sleep 0.2
done
HTTP_A=$(grep -Eo '"http_address": *"[^"]*"' <<<"$sa" | grep -Eo '[0-9.]+:[0-9]+')
PID_A=$(num pid "$(cat "$A/node.json")")
PID_B=$(num pid "$(cat "$B/node.json")")
[[ -n "$HTTP_A" && "$PID_A" -gt 0 && "$PID_B" -gt 0 ]] || node_failed "cannot read node A's address or pids"
metrics=$(http_get "$HTTP_A" /metrics)
REVISION=$(grep -Eo 'revision="[^"]*"' <<<"$metrics" | head -n 1 | cut -d'"' -f2 || true)

# ---- seeding A: Markdown posts in blog, each with its catalog record ----

# The Markdown of a post (about 600 bytes), into the variable TEXT; no subshell, so that the
# load loop below forks only its pando processes.
post_text() {  # N WHO
  printf -v TEXT '%s' "# $2 post number $1

This is **post $1**, written by the *web benchmark* so that pages have something real to
render: a [link to the front page](/), some \`inline code\` and a list.

- first point of post $1
- second point, with _emphasis_
- third point

> A quotation, to exercise one more block type.

\`\`\`
code block line 1
code block line 2
\`\`\`

A closing paragraph of ordinary text, long enough to make the page a realistic size for a
short blog post, with one more sentence after this one. The end.
"
}

catalog_record() {  # TITLE POST_ID: the catalog record, into the variable TEXT
  printf -v TEXT '{"title":"%s","group":"blog","entry":"%s"}' "$1" "$2"
}

seed_start=$(now_us)
ENTRY_ID=""
for i in $(seq 1 "$POSTS"); do
  post_text "$i" Seeded
  id=$("$PANDO" --data-dir "$A" post -g blog "$TEXT") ||
    die "pando post to node A failed (seed post $i)"
  catalog_record "Seeded post number $i" "$id"
  "$PANDO" --data-dir "$A" post -k catalog -g catalog "$TEXT" >/dev/null ||
    die "pando post --kind catalog to node A failed (seed post $i)"
  if ((i == (POSTS + 1) / 2)); then ENTRY_ID=$id; fi
done
seed_s=$(awk -v d=$(($(now_us) - seed_start)) 'BEGIN { printf "%.1f", d / 1e6 }')

# ---- the steady replication load: RATE entries/s posted to B ----

# Even ticks post a Markdown post in blog, odd ticks its catalog record, so the front page
# keeps changing too. Ticks are on a fixed schedule: a late post is sent at once, none is
# skipped, and the rate actually reached is measured below from B's counters. The loop forks
# nothing but pando: it waits with read -t on a pipe that never delivers, not with sleep.
load_loop() {
  local interval=$((1000000 / RATE)) next i=0 id="" now wait_us pause t
  exec {pause}<> <(:)
  next=${EPOCHREALTIME/./}
  while [[ ! -e "$TMP/load.stop" ]]; do
    now=${EPOCHREALTIME/./}
    if ((now < next)); then
      wait_us=$((next - now))
      printf -v t '%d.%06d' $((wait_us / 1000000)) $((wait_us % 1000000))
      read -r -t "$t" -u "$pause" _ || true
    fi
    if ((i % 2 == 0)); then
      post_text "$i" Load
      if id=$("$PANDO" --data-dir "$B" post -g blog "$TEXT" 2>>"$TMP/load.err"); then
        echo "$id" >"$TMP/load.last"
      else
        id=""
      fi
    elif [[ -n "$id" ]]; then
      catalog_record "Load post number $i" "$id"
      "$PANDO" --data-dir "$B" post -k catalog -g catalog "$TEXT" >/dev/null 2>>"$TMP/load.err" || true
    fi
    i=$((i + 1))
    next=$((next + interval))
  done
}
load_loop &
LOAD_PID=$!

# ---- checks before measuring ----

front=$(http_get "$HTTP_A" /)
grep -q '^HTTP/1.[01] 200' <<<"$front" || die "GET / on node A did not answer 200"
items=$(grep -o '<li class="post"' <<<"$front" | wc -l)
((items == 20)) || die "the front page shows $items posts instead of 20"
for path in /static/style.css "/api/v1/entries/$ENTRY_ID" "/p/$ENTRY_ID"; do
  answer=$(http_get "$HTTP_A" "$path")
  grep -q '^HTTP/1.[01] 200' <<<"$answer" || die "GET $path on node A did not answer 200"
done

# ---- wrk ----

# One wrk run. Sets REQS_S P99_MS; ROW_CPU holds "A_US_PER_REQ A B_LOAD WRK OTHER"
# (the last four in cores) and RECV_S the entries A received from B per second.
run_wrk() {  # NAME PATH SECONDS
  local out sa sb r0 r1 w0 w1 a0 a1 b0 b1 l0 l1 d0 d1 m0 t0 m1 t1
  r0=$(num entries_received "$(status "$A")")
  a0=$(cpu_ticks "$PID_A")
  b0=$(cpu_ticks "$PID_B")
  l0=$(tree_ticks "$LOAD_PID")
  d0=$(tree_ticks $$)
  read -r m0 t0 < <(busy_ticks)
  w0=$(now_us)
  if ! out=$(wrk -t"$THREADS" -c"$CONNS" -d"$3"s --latency "http://$HTTP_A$2" 2>&1); then
    echo "$out" >&2
    die "wrk failed on $2"
  fi
  w1=$(now_us)
  read -r m1 t1 < <(busy_ticks)
  d1=$(tree_ticks $$)
  a1=$(cpu_ticks "$PID_A")
  b1=$(cpu_ticks "$PID_B")
  l1=$(tree_ticks "$LOAD_PID")
  r1=$(num entries_received "$(status "$A")")
  echo "$out" >"$TMP/wrk-$1.txt"
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "$out" >&2
    die "$1 ($2): some answers were not 2xx"
  fi
  if grep -q 'Socket errors' <<<"$out"; then
    echo "web_bench: warning: $1: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')" >&2
  fi
  awk -v w=$((w1 - w0)) -v hz="$CLK_TCK" -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v l=$((l1 - l0)) \
    -v d=$((d1 - d0)) -v r=$((r1 - r0)) -v m=$((m1 - m0)) -v t=$((t1 - t0)) -v n="$CORES" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^ *99%/ { p99 = ms($2) }
    /requests in/ { reqs = $1 }
    /^Requests\/sec:/ { rps = $2 }
    END {
      if (rps == "" || p99 == "" || reqs == "") exit 1
      s = w / 1e6
      busy = t ? m / t * n : 0                   # cores busy on the whole machine
      other = busy - (a + b + l + d) / hz / s
      printf "%.1f %.3f %d %.1f %.2f %.2f %.2f %.2f %.1f\n", rps, p99, reqs,
             reqs ? a / hz * 1e6 / reqs : 0, a / hz / s, (b + l) / hz / s, d / hz / s,
             other < 0 ? 0 : other, r / s
    }' <<<"$out" >"$TMP/result" || die "cannot read wrk's output for $1: $out"
  local cpu_us a_cores bl_cores wrk_cores other_cores
  read -r REQS_S P99_MS _ cpu_us a_cores bl_cores wrk_cores other_cores RECV_S <"$TMP/result"
  ROW_CPU="$cpu_us $a_cores $bl_cores $wrk_cores $other_cores"
  awk -v r="$RECV_S" 'BEGIN { exit !(r > 0) }' ||
    die "$1: node A received no entry from B during the run: replication stalled"
}

echo "web_bench: wrk against a Pando node while it replicates a steady load"
echo "  pando:   $PANDO_BIN${REVISION:+ (revision $REVISION)}"
echo "  machine: $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $IDLE_BUSY cores busy before the devnet started$(awk -v b="$IDLE_BUSY" 'BEGIN { if (b > 0.1) print " (other processes: the figures share the machine)" }')"
echo "  devnet:  2 nodes (A serves, B takes the load), group blog; A seeded with $POSTS posts and"
echo "           $POSTS catalog records in $seed_s s; entry and permalink read post $(((POSTS + 1) / 2)) (${ENTRY_ID:0:12}...)"
echo "  load:    $RATE entries/s posted to B ($((RATE / 2)) Markdown posts + their catalog records), replicated to A"
echo "  wrk:     -t$THREADS -c$CONNS -d${DUR}s --latency, keep-alive; warm-up ${WARMUP}s per URL; order static, front, entry, permalink, static"
echo

declare -A PATHS=([static]=/static/style.css [front]=/ [entry]="/api/v1/entries/$ENTRY_ID" [permalink]="/p/$ENTRY_ID")
if ((WARMUP > 0)); then
  for name in static front entry permalink; do run_wrk "warmup-$name" "${PATHS[$name]}" "$WARMUP"; done
fi

declare -A RPS P99 ROW
run_order=(static front entry permalink static2)
load_start=$(now_us)
recv_start=$(num entries_received "$(status "$A")")
posted_start=$(num entries_posted "$(status "$B")")
for name in "${run_order[@]}"; do
  path=${PATHS[${name%2}]}
  run_wrk "$name" "$path" "$DUR"
  RPS[$name]=$REQS_S
  P99[$name]=$P99_MS
  ROW[$name]="$REQS_S $P99_MS $ROW_CPU $RECV_S"
done
load_s=$(awk -v d=$(($(now_us) - load_start)) 'BEGIN { print d / 1e6 }')
recv_total=$(($(num entries_received "$(status "$A")") - recv_start))
posted_total=$(($(num entries_posted "$(status "$B")") - posted_start))

# ---- the load stops; A must then hold everything B posted ----

touch "$TMP/load.stop"
wait "$LOAD_PID" || true
LOAD_PID=""
[[ -s "$TMP/load.last" ]] || die "the load never posted to node B: $(head -c 300 "$TMP/load.err" 2>/dev/null)"
last=$(cat "$TMP/load.last")
answer=$(http_get "$HTTP_A" "/api/v1/wait?id=$last&timeout_ms=10000")
grep -Eq '"held": *true' <<<"$answer" ||
  die "node A does not hold B's last post ${last:0:12} 10 s after the load stopped"
held_a=$(sum_entries "$(status "$A")")
held_b=$(sum_entries "$(status "$B")")
load_errors=0
[[ -f "$TMP/load.err" ]] && load_errors=$(grep -c . "$TMP/load.err" || true)

# ---- report ----

BASE_RPS=$(awk -v a="${RPS[static]}" -v b="${RPS[static2]}" 'BEGIN { printf "%.1f", (a + b) / 2 }')
BASE_P99=$(awk -v a="${P99[static]}" -v b="${P99[static2]}" 'BEGIN { printf "%.3f", (a + b) / 2 }')

echo "baseline: static = mean of the first and last static runs: ${RPS[static]} and ${RPS[static2]} req/s, p99 ${P99[static]} and ${P99[static2]} ms"
echo
printf '%-10s %8s %7s %7s %7s %8s %12s %6s %6s %8s\n' \
  "" "" "" "" "" "A CPU" "cores used" "" "" "A recv"
printf '%-10s %8s %7s %7s %7s %8s %6s %6s %6s %6s %8s\n' \
  run req/s "p99 ms" "x req/s" "x p99" "us/req" A B+load wrk other "/s"
for name in "${run_order[@]}"; do
  read -r rps p99 cpu a bl w o recv <<<"${ROW[$name]}"
  awk -v n="$name" -v rps="$rps" -v p99="$p99" -v br="$BASE_RPS" -v bp="$BASE_P99" -v cpu="$cpu" \
    -v a="$a" -v bl="$bl" -v w="$w" -v o="$o" -v recv="$recv" 'BEGIN {
      printf "%-10s %8.0f %7.2f %6.2fx %6.2fx %8.0f %6.2f %6.2f %6.2f %6.2f%s %8.1f\n",
             n, rps, p99, rps / br, p99 / bp, cpu, a, bl, w, o, (o > 0.1 ? "!" : " "), recv }'
done
echo
echo "  x req/s, x p99: the run's figure divided by the static baseline's"
echo "  A CPU us/req: node A's CPU time (all its threads, its replication work included) per request"
echo "  cores used during the run: node A; node B with the loop posting to it; wrk (with this"
echo "  script); other processes, marked ! above 0.1 ($CORES cores in all)"
echo "  A recv/s: entries node A received from B over the network per second"
awk -v p="$posted_total" -v r="$recv_total" -v s="$load_s" -v ha="$held_a" -v hb="$held_b" \
  -v e="$load_errors" 'BEGIN {
    printf "replication during the %.1f s of measured runs: B stored %d posted entries (%.1f/s), A received %d of them (%.1f/s)\n", s, p, p / s, r, r / s
    printf "  after the load stopped A held B'"'"'s last post; A holds %d entries, B %d; %d failed posts to B\n", ha, hb, e }'
awk -v p="$posted_total" -v s="$load_s" -v rate="$RATE" 'BEGIN { exit !(p / s < 0.9 * rate) }' &&
  echo "web_bench: warning: the load reached $(awk -v p="$posted_total" -v s="$load_s" 'BEGIN { printf "%.1f", p / s }')/s of the $RATE/s asked (the machine is too busy)" >&2
echo
missed=()
for name in front entry permalink; do
  awk -v n="$name" -v rps="${RPS[$name]}" -v p99="${P99[$name]}" -v br="$BASE_RPS" -v t="$TARGET" 'BEGIN {
    r = rps / br
    printf "web_bench: %s %.0f req/s p99 %.1f ms = %.2fx static (%.0f req/s)  [target >= %.2fx: %s]\n",
           n, rps, p99, r, br, t, (r >= t ? "met" : "MISSED") }'
  awk -v rps="${RPS[$name]}" -v br="$BASE_RPS" -v t="$TARGET" 'BEGIN { exit !(rps / br < t) }' &&
    missed+=("$name")
done
awk -v rps="$BASE_RPS" -v p99="$BASE_P99" 'BEGIN {
  printf "web_bench: static %.0f req/s p99 %.1f ms (baseline: mean of the first and last static runs)\n", rps, p99 }'
if ((${#missed[@]} > 0)); then
  echo
  echo "web_bench: MISSED: ${missed[*]} below ${TARGET}x the static file's req/s" >&2
  exit 3
fi
