#!/usr/bin/env bash
# tests/bench/reload.sh - what a live reload costs.
#
#   tests/bench/reload.sh                   # both parts
#   SAMPLES=20 tests/bench/reload.sh latency
#   DURATION=10 CONNS=128 ROUNDS=5 tests/bench/reload.sh rps
#
# 1. latency: time from the write of a new plugin to the first response of
#    the new generation. mchost --dev --workers WORKERS (2) --cooldown
#    COOLDOWN (100) serves gen_v1.so as app.so; each sample `cp`s gen_v2.so
#    (then gen_v1.so, alternating) over it and, from the moment cp returns,
#    polls GET / on new connections (bash's /dev/tcp, no process per
#    request, POLL_MS (2) apart) until the body names the new generation.
#    Median of SAMPLES (10), with min and max, and the master's own
#    "reloaded ... in X ms" (snapshot + workers ready, the cooldown not
#    included). Goal: median <= cooldown + 100 ms.
#
# 2. rps: requests per second with wrk (THREADS (1) threads, CONNS (64)
#    connections, DURATION (5) s), steady state and then while the plugin is
#    rewritten every RELOAD_EVERY_MS (300) ms, side by side, ROUNDS (3)
#    times interleaved, with latency percentiles, socket errors and non-2xx
#    answers (goal: none), and the medians of requests/s. Without
#    wrk, a bash /dev/tcp loop on 4 connections-per-request clients stands
#    in (much slower, but the two columns still compare).
#
# Needs the build's mchost and tests/plugins/gen_v{1,2}.so
# (cmake --build build), MCHOST_BUILD (build) names the build directory.
# Every process started here is stopped by its pid (mchost: its process
# group) when the script ends; nothing is killed by name.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${MCHOST_BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SAMPLES=${SAMPLES:-10}
WORKERS=${WORKERS:-2}
COOLDOWN=${COOLDOWN:-100}
POLL_MS=${POLL_MS:-2}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
RELOAD_EVERY_MS=${RELOAD_EVERY_MS:-300}
ROUNDS=${ROUNDS:-3}
WRK=${WRK:-wrk} # WRK=none tries the fallback
WHAT=${1:-all}

MCHOST=$BUILD/mchost
V1=$BUILD/tests/plugins/gen_v1.so
V2=$BUILD/tests/plugins/gen_v2.so
for f in "$MCHOST" "$V1" "$V2"; do
  [ -e "$f" ] || { echo "reload.sh: $f is missing: cmake --build ${BUILD#"$ROOT"/}" >&2; exit 2; }
done
case $WHAT in all | latency | rps) ;; *) echo "usage: $0 [all|latency|rps]" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/mchost-bench-reload-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    # mchost leads its own process group (setsid): TERM it, then KILL.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 0.3
  for pid in "${PIDS[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" >&2; }
# Milliseconds in NOW (no subshell: a fork would blur what is measured).
now_ms() { local t=${EPOCHREALTIME/./}; NOW=$((t / 1000)); }

# A sleep without a process: read on a pipe that never gets data.
exec {SLEEP_FD}<> <(:)
nap_ms() {
  local t
  printf -v t '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
  read -r -t "$t" -u "$SLEEP_FD" || true
}

# GET / on a new connection; the body's first line in REPLY ("" on error).
get() {
  REPLY=""
  # (exec's own 2>/dev/null would stay on the shell: hence the braces)
  { exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
  printf 'GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' >&"$fd"
  local line status=""
  IFS= read -r -t 5 status <&"$fd" || { exec {fd}<&-; return 1; }
  while IFS= read -r -t 5 line <&"$fd" && [ "$line" != $'\r' ]; do :; done
  IFS= read -r -t 5 REPLY <&"$fd" || true
  exec {fd}<&-
  [[ $status == "HTTP/1.1 200"* ]]
}

# Starts mchost on a free port in its own process group; sets PORT, LOG.
start() {
  LOG=$WORK/mchost.log
  : >"$LOG"
  cp "$V1" "$WORK/app.so"
  setsid "$MCHOST" --plugin "$WORK/app.so" --host 127.0.0.1 --port 0 \
    --workers "$WORKERS" --dev --cooldown "$COOLDOWN" >>"$LOG" 2>&1 &
  PIDS+=("$!")
  local i
  for i in $(seq 500); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$LOG" | head -1)
    [ -n "$PORT" ] && get && return 0
    nap_ms 10
  done
  say "mchost did not start:"; cat "$LOG" >&2; exit 1
}

stop() {
  local pid=${PIDS[-1]}
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# ---- 1. write -> first response of the new generation ----

latency() {
  local gen=1 i file want t0 t1 polls samples=() host=()
  start
  say "latency: $SAMPLES reloads, --cooldown $COOLDOWN, $WORKERS workers"
  for i in $(seq "$SAMPLES"); do
    gen=$((gen + 1))
    if ((gen % 2)); then file=$V1 want="v1 g$gen"; else file=$V2 want="v2 g$gen"; fi
    cp "$file" "$WORK/app.so"
    now_ms
    t0=$NOW
    polls=0
    until get && [ "$REPLY" = "$want" ]; do
      polls=$((polls + 1))
      now_ms
      if ((NOW - t0 > 10000)); then
        say "no answer [$want] 10 s after the write (last: [$REPLY])"; tail -20 "$LOG" >&2; exit 1
      fi
      nap_ms "$POLL_MS"
    done
    now_ms
    t1=$NOW
    samples+=($((t1 - t0)))
    # The master's own figure for this reload.
    local line
    for _ in $(seq 100); do
      line=$(grep -o "reloaded: generation $gen serving.* in [0-9]* ms" "$LOG" || true)
      [ -n "$line" ] && break
      nap_ms 10
    done
    line=${line% ms}
    host+=("${line##* }")
    say "  sample $i: $((t1 - t0)) ms (generation $gen, $polls polls, master: ${host[-1]} ms)"
    nap_ms 300 # the old generation drains; the next write starts clean
  done
  stop
  local med min max hmed
  med=$(printf '%s\n' "${samples[@]}" | median)
  min=$(printf '%s\n' "${samples[@]}" | sort -n | head -1)
  max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
  hmed=$(printf '%s\n' "${host[@]}" | median)
  echo
  echo "## write -> first response of the new generation (median of $SAMPLES)"
  echo
  printf '| cooldown | median | min | max | master: reload alone (median) | goal |\n'
  printf '|---|---|---|---|---|---|\n'
  printf '| %s ms | **%s ms** | %s ms | %s ms | %s ms | <= %s ms: %s |\n' \
    "$COOLDOWN" "$med" "$min" "$max" "$hmed" "$((COOLDOWN + 100))" \
    "$(awk -v m="$med" -v g="$((COOLDOWN + 100))" 'BEGIN {print (m <= g) ? "met" : "MISSED"}')"
}

# ---- 2. requests per second: steady vs reloading ----

# Rewrites the plugin every RELOAD_EVERY_MS until $WORK/stop-reloads exists.
reload_loop() {
  local n=0
  while [ ! -e "$WORK/stop-reloads" ]; do
    n=$((n + 1))
    if ((n % 2)); then cp "$V2" "$WORK/app.so"; else cp "$V1" "$WORK/app.so"; fi
    nap_ms "$RELOAD_EVERY_MS"
  done
}

# One load run; prints "rps p50 p99 errors non2xx" (latencies as wrk says).
run_wrk() {
  local out=$WORK/wrk-$1.txt
  "$WRK" -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency \
    "http://127.0.0.1:$PORT/" >"$out" 2>&1
  local rps p50 p99 errs non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
  echo "${rps:-?} ${p50:-?} ${p99:-?} ${errs:-0} ${non2xx:-0}"
}

# Without wrk: 4 bash clients, a new connection per request.
run_bash_load() {
  local out=$WORK/bash-$1 i deadline clients=()
  now_ms
  deadline=$((NOW + DURATION * 1000))
  for i in 1 2 3 4; do
    (
      ok=0 bad=0
      while now_ms && ((NOW < deadline)); do
        if get; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
      done
      echo "$ok $bad" >"$out.$i"
    ) &
    clients+=("$!")
  done
  wait "${clients[@]}" # (not mchost, also a child of this shell)
  cat "$out".* | awk -v d="$DURATION" '{ok += $1; bad += $2} END {printf "%.0f - - %d 0\n", ok / d, bad}'
}

rps() {
  local tool=wrk round steady reloading before after loop failed clients
  local s_rps=() r_rps=() rows=""
  command -v "$WRK" >/dev/null || { tool="bash /dev/tcp loop"; say "wrk not found (apt-get install wrk): using a bash loop"; }
  start
  say "rps: $tool, $ROUNDS rounds of ${DURATION} s steady + ${DURATION} s reloading, $WORKERS workers"
  load() { if [ "$tool" = wrk ]; then run_wrk "$1"; else run_bash_load "$1"; fi; }
  load warmup >/dev/null
  for round in $(seq "$ROUNDS"); do
    steady=$(load "steady-$round")
    before=$(grep -c "reloaded: generation" "$LOG" || true)
    rm -f "$WORK/stop-reloads"
    reload_loop &
    loop=$!
    reloading=$(load "reloading-$round")
    touch "$WORK/stop-reloads"
    wait "$loop" || true
    nap_ms 500 # the last reload finishes, the old generation drains
    after=$(grep -c "reloaded: generation" "$LOG" || true)
    read -r a_rps a_p50 a_p99 a_err a_non <<<"$steady"
    read -r b_rps b_p50 b_p99 b_err b_non <<<"$reloading"
    s_rps+=("$a_rps")
    r_rps+=("$b_rps")
    rows+=$(printf '| %s | %s | %s | %s / %s | %s / %s | %s + %s | %s + %s | %s |' \
      "$round" "$a_rps" "$b_rps" "$a_p50" "$b_p50" "$a_p99" "$b_p99" \
      "$a_err" "$a_non" "$b_err" "$b_non" "$((after - before))")$'\n'
    say "  round $round: steady $a_rps req/s, reloading $b_rps req/s ($((after - before)) reloads)"
  done
  failed=$(grep -c "reload to generation" "$LOG" || true)
  stop
  clients="$CONNS connections"
  [ "$tool" = wrk ] || clients="4 clients, a connection per request"
  echo
  echo "## requests per second: steady vs reloading every ${RELOAD_EVERY_MS} ms"
  echo
  echo "$tool, ${DURATION} s per run, $clients, $WORKERS workers; errors = socket errors + non-2xx"
  echo
  echo "| round | steady req/s | reloading req/s | p50 steady / reloading | p99 steady / reloading | errors steady | errors reloading | reloads |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  local sm rm
  sm=$(printf '%s\n' "${s_rps[@]}" | median)
  rm=$(printf '%s\n' "${r_rps[@]}" | median)
  printf '| **median** | **%s** | **%s** | | | | | failed reloads: %s |\n' "$sm" "$rm" "$failed"
  awk -v s="$sm" -v r="$rm" -v e="$RELOAD_EVERY_MS" 'BEGIN {if (s > 0 && r > 0) printf "\nreloading every %s ms keeps %.0f %% of the steady rate\n", e, 100 * r / s}'
}

case $WHAT in
all) latency; rps ;;
latency) latency ;;
rps) rps ;;
esac
