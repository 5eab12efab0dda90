# common.sh - what the shell benchmarks share (sourced by upload.sh and
# files.sh, which set `name` first):
#   bench_setup PLUGIN TOOL...  sets here, build, mchost and plugin (the
#                               plugin's .so in MCHOST_BUILD: build-release
#                               if it exists, else build), checks that they
#                               and the tools are there, and makes $tmp,
#                               removed at exit with every process in $pids
#                               (stopped by PID);
#   free_port                   a free TCP port on 127.0.0.1;
#   bench_nginx DIRECTIVES      starts nginx (WORKERS workers, everything
#                               under $tmp/nginx, the workers run as the
#                               caller) with DIRECTIVES in its http block,
#                               and adds it to $pids.

bench_setup() {
  local f tool
  here=$(cd "$(dirname "$0")/../.." && pwd)
  build=${MCHOST_BUILD:-}
  if [ -z "$build" ]; then
    build=build-release
    [ -x "$here/$build/mchost" ] || build=build
  fi
  mchost="$here/$build/mchost"
  plugin="$here/$build/plugins/$1.so"
  shift
  for f in "$mchost" "$plugin"; do
    [ -e "$f" ] || { echo "$name: $f is missing (make build)" >&2; exit 2; }
  done
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: needs $tool" >&2; exit 2; }
  done
  tmp=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_nginx() {
  local user=
  [ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
  mkdir -p "$tmp/nginx/tmp"
  cat >"$tmp/nginx/nginx.conf" <<EOF
$user
worker_processes $workers;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path       $tmp/nginx/tmp/proxy;
    fastcgi_temp_path     $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path       $tmp/nginx/tmp/uwsgi;
    scgi_temp_path        $tmp/nginx/tmp/scgi;
$1
}
EOF
  nginx -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" &
  pids+=($!)
}
