#!/usr/bin/env bash
# An upload's throughput: curl straight to mchost's plugins/upload against
# curl through nginx as a reverse proxy in front of it (proxy_request_
# buffering off, so nginx streams the body on as it arrives, as it would in
# production), and the worker's peak memory meanwhile. docs/uploads.md
# records a run.
#
#   tests/bench/upload.sh                     # 200 MB, 5 rounds
#   SIZE_MB=1000 ROUNDS=3 tests/bench/upload.sh
#
# SIZE_MB (200), ROUNDS (5, each round runs both, alternating), WORKERS (1),
# MCHOST_BUILD (build-release if it exists, else build). Needs curl, nginx
# (nginx-light) and sha256sum. Everything it starts runs on 127.0.0.1 and is
# stopped by PID at the end.
set -euo pipefail

size_mb=${SIZE_MB:-200}
rounds=${ROUNDS:-5}
workers=${WORKERS:-1}
name=upload.sh
. "$(dirname "$0")/common.sh"
bench_setup upload curl nginx sha256sum python3

echo "upload.sh: a body of $size_mb MB, $rounds rounds, $workers worker(s), $mchost"
head -c "${size_mb}M" /dev/urandom >"$tmp/body"
want="$(stat -c %s "$tmp/body") $(sha256sum "$tmp/body" | cut -d' ' -f1)"

"$mchost" --plugin "$plugin" --host 127.0.0.1 --port 0 --workers "$workers" \
  >"$tmp/mchost.log" 2>&1 &
pids+=($!)
mc_port=
for _ in $(seq 100); do
  mc_port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
    "$tmp/mchost.log" | head -1)
  [ -n "$mc_port" ] && curl -sf "http://127.0.0.1:$mc_port/" >/dev/null && break
  sleep 0.1
done
[ -n "$mc_port" ] || { cat "$tmp/mchost.log"; exit 1; }

ngx_port=$(free_port)
bench_nginx "
    upstream mchost { server 127.0.0.1:$mc_port; keepalive 8; }
    server {
        listen 127.0.0.1:$ngx_port;
        location / {
            client_max_body_size 0;          # the plugin sets the limit
            proxy_request_buffering off;     # stream the body on
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass http://mchost;
        }
    }"
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$ngx_port/" >/dev/null && break
  sleep 0.1
done

# One upload; prints its MB/s (curl's own clock, from the first byte sent
# to the last byte of the answer) after checking the answer.
upload() {
  local out secs
  out=$(curl -sS -T "$tmp/body" -w '\n%{time_total}' "http://127.0.0.1:$1/upload")
  secs=${out##*$'\n'}
  [ "${out%%$'\n'*}" = "$want" ] || { echo "upload.sh: bad answer: $out" >&2; exit 1; }
  python3 -c "print('%.1f' % ($size_mb / $secs))"
}

direct=()
proxied=()
for r in $(seq "$rounds"); do
  direct+=("$(upload "$mc_port")")
  proxied+=("$(upload "$ngx_port")")
  echo "round $r: mchost ${direct[-1]} MB/s, nginx -> mchost ${proxied[-1]} MB/s"
done

hwm=
for w in $(pgrep -P "${pids[0]}"); do
  hwm="$hwm $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$w/status")"
done
python3 - "${direct[*]}" "${proxied[*]}" "$hwm" <<'EOF'
import statistics, sys
d = [float(x) for x in sys.argv[1].split()]
p = [float(x) for x in sys.argv[2].split()]
md, mp = statistics.median(d), statistics.median(p)
print("| path | MB/s, median (min-max) |")
print("|---|---|")
print("| curl -> mchost | %.0f (%.0f-%.0f) |" % (md, min(d), max(d)))
print("| curl -> nginx -> mchost | %.0f (%.0f-%.0f) |" % (mp, min(p), max(p)))
print("mchost / nginx-proxied: %.2fx; worker peak RSS (VmHWM):%s" % (md / mp, sys.argv[3]))
EOF
