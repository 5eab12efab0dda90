#!/usr/bin/env bash
# Static files: mchost's plugins/static (mc_response_file(): sendfile,
# validators) against nginx serving the same directory with `root`, as
# Debian's default nginx.conf configures it (sendfile on, tcp_nopush on).
# wrk keeps its connections (keep-alive) and asks for one file per run;
# the rounds alternate the two servers. docs/performance.md records a run.
#
#   tests/bench/files.sh                   # 5 rounds of 3 s per file
#   ROUNDS=9 DURATION=5 tests/bench/files.sh
#
# ROUNDS (5), DURATION (3, seconds), CONNS (64), WORKERS (2), THREADS (wrk
# -t, 2), MCHOST_BUILD (build-release if it exists, else build). Needs wrk,
# nginx, curl and python3. Everything it starts listens on 127.0.0.1 and
# is stopped by PID at the end.
set -euo pipefail

rounds=${ROUNDS:-5}
duration=${DURATION:-3}
conns=${CONNS:-64}
workers=${WORKERS:-2}
threads=${THREADS:-2}
name=files.sh
. "$(dirname "$0")/common.sh"
bench_setup static wrk nginx curl python3

# The files: one small enough to go out with its head in one write, one
# that takes a few sendfile() calls, one that takes many.
mkdir -p "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
head -c 102400 /dev/urandom >"$tmp/www/100k.bin"
head -c 10485760 /dev/urandom >"$tmp/www/10m.bin"
sizes="1k 100k 10m"

mc_port=$(free_port)
"$mchost" --plugin "$plugin" --set "root=$tmp/www" --host 127.0.0.1 \
  --port "$mc_port" --workers "$workers" >"$tmp/mchost.log" 2>&1 &
pids+=($!)

ngx_port=$(free_port)
bench_nginx "
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$ngx_port;
        root $tmp/www;
    }"

for port in "$mc_port" "$ngx_port"; do
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/1k.bin" && break
    sleep 0.1
  done
  # Both must send the same bytes.
  for s in $sizes; do
    curl -sf "http://127.0.0.1:$port/$s.bin" | cmp -s - "$tmp/www/$s.bin" ||
      { echo "files.sh: port $port sends a wrong $s.bin" >&2; cat "$tmp/mchost.log"; exit 1; }
  done
done

# Requests per second of one wrk run.
run() {
  wrk -t"$threads" -c"$conns" -d"${duration}s" "http://127.0.0.1:$1/$2.bin" |
    sed -n 's/^Requests\/sec:[[:space:]]*//p'
}

echo "files.sh: $rounds rounds of ${duration} s, wrk -t$threads -c$conns," \
  "$workers workers each, $(nproc) CPUs, $mchost"
echo "| file | mchost req/s | nginx req/s | mchost / nginx (median) | range |"
echo "|---|---|---|---|---|"
for s in $sizes; do
  mc=()
  ng=()
  for _ in $(seq "$rounds"); do
    mc+=("$(run "$mc_port" "$s")")
    ng+=("$(run "$ngx_port" "$s")")
  done
  python3 - "$s" "${mc[*]}" "${ng[*]}" <<'EOF'
import statistics, sys
name, mc, ng = sys.argv[1], list(map(float, sys.argv[2].split())), list(map(float, sys.argv[3].split()))
ratios = [a / b for a, b in zip(mc, ng)]
print(f"| {name} | {statistics.median(mc):,.0f} | {statistics.median(ng):,.0f} | "
      f"{statistics.median(ratios):.2f} | {min(ratios):.2f}-{max(ratios):.2f} |")
EOF
done
