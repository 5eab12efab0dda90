#!/usr/bin/env bash
# tests/bench/crash.sh - what the crash guard costs.
#
#   tests/bench/crash.sh                    # both parts
#   SAMPLES=50 tests/bench/crash.sh replace # only crash -> replacement
#   DURATION=10 ROUNDS=5 tests/bench/crash.sh cost
#
# 1. replace: time from a plugin crash to its replacement being ready. One
#    worker, --log-level debug; GET /segv on the crash fixture; the time is
#    from the worker's "plugin crashed" line to the "ready (generation" line
#    of the next worker pid (log lines carry ms timestamps), median of
#    SAMPLES (20). Crashes are spaced SPACING_MS (350) apart, so that fewer
#    than FAIL_FREE (host/master.h) fall in one second and the respawn
#    backoff never applies: this is the unthrottled path. Goal: <= 50 ms.
#    Also shown: crash -> "started worker" (the master's reaction) and what a
#    client sees: the 500, then a fresh GET / until it is answered. Run
#    twice: without crash bundles, and with --crash-dir (each crash writes
#    a bundle; the difference is what writing one costs).
#
# 2. cost: the guard on the hello benchmark. mchost has no switch to turn the
#    guard off at run time (--request-timeout 0 only stops the watchdog
#    timer), so this builds mchost twice into a temporary directory from
#    this tree: as is, and linked with -Wl,--wrap=guard_call so that plugin
#    calls go straight to the plugin (the host sources are not touched).
#    Then wrk runs against hello on each, ROUNDS (3) x DURATION (5) s,
#    interleaved, with WORKERS (1) workers, CONNS (64) connections, THREADS
#    (1) wrk threads; medians of requests/s are printed. Variants: guard off,
#    guard on --request-timeout 0 (no watchdog), guard on (default 30 s).
#
# Needs: cmake, cc, curl, wrk (for "cost"). Every process started here is
# stopped by its pid when the script ends; nothing is killed by name.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SAMPLES=${SAMPLES:-20}
SPACING_MS=${SPACING_MS:-350}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WORKERS=${WORKERS:-1}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
WHAT=${1:-all}

WORK=$(mktemp -d /tmp/mchost-bench-crash-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    # Each mchost leads its own process group (setsid): TERM it, then KILL.
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 0.3
  for pid in "${PIDS[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  [ -n "${KEEP:-}" ] && echo "kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" >&2; }

# ---- builds: two mchost executables and the plugins, all Release ----

build_all() {
  local variant dir
  say "building mchost (guard on, guard off) in $WORK ..."
  cat > "$WORK/noguard.c" <<'EOF'
/* Linked with -Wl,--wrap=guard_call: every plugin call goes straight to the
 * plugin, without sigsetjmp, watchdog or bookkeeping. Benchmark only. */
#include <stdint.h>
int __wrap_guard_call(void (*fn)(void *), void *arg, uint64_t timeout_ms);
int __wrap_guard_call(void (*fn)(void *), void *arg, uint64_t timeout_ms) {
  (void)timeout_ms;
  fn(arg);
  return 0;
}
EOF
  cc -O2 -c -o "$WORK/noguard.o" "$WORK/noguard.c"
  for variant in on off; do
    dir="$WORK/build-$variant"
    local flags=""
    [ "$variant" = off ] && flags="-Wl,--wrap=guard_call $WORK/noguard.o"
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DMCHOST_TESTS=OFF \
      -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$dir.log" 2>&1 ||
      { cat "$dir.log" >&2; exit 1; }
    cmake --build "$dir" -j "$(nproc)" --target mchost hello >>"$dir.log" 2>&1 ||
      { cat "$dir.log" >&2; exit 1; }
  done
  # The crash fixture, as tests/guard.cmake builds it (no sanitizers).
  cc -O2 -shared -fPIC -I"$ROOT/sdk" $(pkg-config --cflags libuv) \
    -o "$WORK/crash.so" "$ROOT/tests/plugins/crash.c"
}

# ---- one server ----

# start_server NAME MCHOST PLUGIN ARGS... -> sets PORT, LOG, SRV
start_server() {
  local name=$1 bin=$2 plugin=$3
  shift 3
  LOG="$WORK/$name.log"
  : >"$LOG"
  setsid "$bin" --plugin "$plugin" --host 127.0.0.1 --port 0 "$@" \
    >>"$LOG" 2>&1 </dev/null &
  SRV=$!
  PIDS+=("$SRV")
  PORT=""
  for _ in $(seq 500); do
    PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG" | head -1)
    [ -n "$PORT" ] && curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.01
  done
  say "$name did not start:"; cat "$LOG" >&2; exit 1
}

stop_server() {
  kill -TERM "$SRV" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.01; done
  kill -KILL -- "-$SRV" 2>/dev/null || true
  wait "$SRV" 2>/dev/null || true
}

# ms of the day of a log line's "...THH:MM:SS.mmmZ" stamp
stamp_ms() {
  sed -n 's/^[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9]*\)\.\([0-9]*\)Z.*/\1 \2 \3 \4/p' |
    awk '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# ---- 1. crash -> replacement ready ----

bench_replace() {
  local label=$1 bin="$WORK/build-on/mchost" i pid newpid t_crash t_start t_ready
  local to_ready=() to_start=() client=()
  shift
  start_server replace "$bin" "$WORK/crash.so" --workers 1 --log-level debug "$@"
  say "crash -> replacement ready ($label): $SAMPLES crashes, ${SPACING_MS} ms apart ..."
  for i in $(seq "$SAMPLES"); do
    # the serving worker: the newest one that said it is ready
    pid=$(grep -E "\] ready \(generation" "$LOG" | tail -1 |
      sed -n 's/.*pid \([0-9]*\)\].*/\1/p')
    [ -n "$pid" ] || { say "no worker"; cat "$LOG" >&2; exit 1; }
    # One curl, two transfers: the 500, then GET / on a fresh connection
    # (the 500 closes its own), which waits in the listen queue until the
    # replacement accepts it. Its time_total is what a client sees.
    out=$(curl -s -o /dev/null -o /dev/null --max-time 10 \
      -w '%{http_code} %{time_total}\n' \
      "http://127.0.0.1:$PORT/segv" "http://127.0.0.1:$PORT/")
    code=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
    [ "$code" = 500 ] || say "  GET /segv: $code (want 500)"
    [ "$(echo "$out" | sed -n 2p | cut -d' ' -f1)" = 200 ] ||
      say "  GET / after the crash: $(echo "$out" | sed -n 2p)"
    client+=($(echo "$out" | sed -n 2p | awk '{ printf "%.1f", $2 * 1000 }'))
    # wait for the replacement's ready line
    newpid=""
    for _ in $(seq 500); do
      newpid=$(grep -E "\[worker [0-9]+ pid [0-9]+\] ready \(generation" "$LOG" |
        sed -n 's/.*pid \([0-9]*\)\].*/\1/p' | grep -vx "$pid" | tail -1)
      [ -n "$newpid" ] && ! grep -q "pid $newpid\] retiring" "$LOG" && break
      sleep 0.005
    done
    # the worker's own line, logged right after the fault (the master's
    # report with the named frames follows it)
    t_crash=$(grep "pid $pid\] retiring this worker" "$LOG" | head -1 | stamp_ms)
    t_start=$(grep "started worker [0-9]* (pid $newpid," "$LOG" | head -1 | stamp_ms)
    t_ready=$(grep "pid $newpid\] ready (generation" "$LOG" | head -1 | stamp_ms)
    if [ -z "$t_crash" ] || [ -z "$t_ready" ]; then
      say "  sample $i: could not find the lines (crash pid $pid, new pid $newpid)"
    else
      to_ready+=($((t_ready - t_crash)))
      [ -n "$t_start" ] && to_start+=($((t_start - t_crash)))
    fi
    sleep "$(awk "BEGIN { print $SPACING_MS / 1000 }")"
  done
  local backoff
  backoff=$(grep -c "crash-looping" "$LOG" || true)
  stop_server
  echo
  echo "## crash -> replacement, $label (1 worker, GET /segv, $SAMPLES samples)"
  echo
  echo "| measure | median ms | range ms |"
  echo "|---|---|---|"
  echo "| crash line -> replacement's 'ready (generation' line | $(printf '%s\n' "${to_ready[@]}" | median) | $(printf '%s\n' "${to_ready[@]}" | minmax) |"
  echo "| crash line -> master's 'started worker' line (may log after the ready line) | $(printf '%s\n' "${to_start[@]}" | median) | $(printf '%s\n' "${to_start[@]}" | minmax) |"
  echo "| client: the GET / right after the 500 (fresh connection) | $(printf '%s\n' "${client[@]}" | median) | $(printf '%s\n' "${client[@]}" | minmax) |"
  echo
  echo "goal <= 50 ms: $(printf '%s\n' "${to_ready[@]}" | median | awk '{ print ($1 <= 50 ? "met" : "NOT met") }');" \
    "backoff warnings during the run: $backoff (0 expected at ${SPACING_MS} ms spacing)"
}

# ---- 2. the guard's cost on hello ----

wrk_rps() {
  wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" "http://127.0.0.1:$1/" 2>&1 |
    awk '/^Requests\/sec:/ { print $2 }'
}

bench_micro() {
  cat > "$WORK/micro.c" <<'C'
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "guard.h"
static volatile int counter;
static void empty(void *arg) { (void)arg; counter++; }
static uint64_t ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
int main(void) {
  const int n = 20000000;
  void (*volatile direct)(void *) = empty;
  double best[3] = {1e9, 1e9, 1e9};
  if (guard_install() != 0)
    return 1;
  for (int round = 0; round < 5; round++) {
    uint64_t t0 = ns();
    for (int i = 0; i < n; i++)
      direct(NULL);
    uint64_t t1 = ns();
    for (int i = 0; i < n; i++)
      guard_call(empty, NULL, 0);
    uint64_t t2 = ns();
    for (int i = 0; i < n; i++)
      guard_call(empty, NULL, 30000);
    uint64_t t3 = ns();
    double r[3] = {(double)(t1 - t0) / n, (double)(t2 - t1) / n,
                   (double)(t3 - t2) / n};
    for (int k = 0; k < 3; k++)
      if (r[k] < best[k])
        best[k] = r[k];
  }
  printf("%.1f %.1f %.1f\n", best[0], best[1], best[2]);
  return 0;
}
C
  cc -O2 -I"$ROOT/host" -I"$ROOT/sdk" -o "$WORK/micro" "$WORK/micro.c" \
    "$ROOT/host/guard.c" "$ROOT/host/log.c" -ldl
  local direct g0 g30
  read -r direct g0 g30 < <("$WORK/micro")
  echo
  echo "## guard_call() itself (best of 5 x 20 M calls of an empty function)"
  echo
  echo "| call | ns per call | added by the guard |"
  echo "|---|---|---|"
  echo "| direct, through a function pointer | $direct | |"
  echo "| guard_call, timeout 0 | $g0 | $(awk -v a="$g0" -v b="$direct" 'BEGIN { printf "%.1f ns", a - b }') |"
  echo "| guard_call, timeout 30 s (watchdog deadline) | $g30 | $(awk -v a="$g30" -v b="$direct" 'BEGIN { printf "%.1f ns", a - b }') |"
}

bench_cost() {
  bench_micro
  command -v wrk >/dev/null || { say "wrk not found: skipping the cost part"; return; }
  local round variant rps
  declare -A results
  say "guard cost: hello, $ROUNDS x ${DURATION}s per variant, $WORKERS worker(s), $CONNS conns ..."
  for round in $(seq "$ROUNDS"); do
    for variant in off on-notimeout on; do
      case $variant in
        off) start_server "cost-$variant" "$WORK/build-off/mchost" "$WORK/build-off/plugins/hello.so" --workers "$WORKERS" ;;
        on-notimeout) start_server "cost-$variant" "$WORK/build-on/mchost" "$WORK/build-on/plugins/hello.so" --workers "$WORKERS" --request-timeout 0 ;;
        on) start_server "cost-$variant" "$WORK/build-on/mchost" "$WORK/build-on/plugins/hello.so" --workers "$WORKERS" ;;
      esac
      wrk -t "$THREADS" -c "$CONNS" -d 1s "http://127.0.0.1:$PORT/" >/dev/null 2>&1 # warm-up
      rps=$(wrk_rps "$PORT")
      stop_server
      say "  round $round $variant: $rps req/s"
      results[$variant]="${results[$variant]:-} $rps"
    done
  done
  local off
  off=$(printf '%s\n' ${results[off]} | median)
  echo
  echo "## guard cost on hello (wrk -t$THREADS -c$CONNS, ${DURATION}s x $ROUNDS, $WORKERS worker(s), Release)"
  echo
  echo "| variant | median req/s | vs guard off | all rounds |"
  echo "|---|---|---|---|"
  for variant in off on-notimeout on; do
    local med
    med=$(printf '%s\n' ${results[$variant]} | median)
    echo "| $(case $variant in off) echo "guard off (--wrap=guard_call)";; on-notimeout) echo "guard on, --request-timeout 0";; on) echo "guard on, default --request-timeout 30";; esac) |" \
      "$med | $(awk "BEGIN { printf \"%+.1f %%\", ($med / $off - 1) * 100 }") |${results[$variant]} |"
  done
  echo
  echo "(mchost has no run-time switch for the guard: 'guard off' is a build made for this benchmark.)"
}

build_all
case $WHAT in
  replace) bench_replace "no bundles"
    bench_replace "--crash-dir" --crash-dir "$WORK/crashes" ;;
  cost) bench_cost ;;
  all) bench_replace "no bundles"
    bench_replace "--crash-dir" --crash-dir "$WORK/crashes"
    bench_cost ;;
  *) say "usage: $0 [replace|cost|all]"; exit 2 ;;
esac
