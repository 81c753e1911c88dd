# shellcheck shell=bash
# Shared by the shell benchmarks (sourced, not run): a temporary directory whose processes
# are stopped on exit (also on Ctrl-C, SIGTERM and a global timeout: exit status 2), free
# loopback ports, CPU time from /proc, a fixed-answer nginx upstream and an nginx
# proxy_pass in front of it, and a gateway configuration with one gateway-issued key.
work=$(mktemp -d)
pids=()
# KEEP_TEMP=1 keeps the directory (configurations, logs) and says where it is.
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ -n "${KEEP_TEMP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "interrupted: stopping everything" >&2; exit 2' INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for_port PORT: until something listens there (at most 10 s).
wait_for_port() {
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# global_timeout SECONDS: after SECONDS the script gets SIGTERM, which stops everything it
# started (the trap above) and exits with status 2. Call it once, after any build.
global_timeout() {
  ( trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$1" & sleeper=$!
    wait "$sleeper" && { echo "global timeout of $1 s expired" >&2; kill -TERM $$; } ) &
  pids+=($!)
}

# cpu_ticks PID: user + system CPU time of the process (all its threads), in clock ticks;
# $hz ticks make one second.
# shellcheck disable=SC2034 # used by the scripts that source this file
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# The fixed upstream's answer to every request.
fixed_body='<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>'

# nginx_conf DIR SERVER_BLOCK: DIR/nginx.conf for one worker with SERVER_BLOCK inside `http`.
# As root the master would hand its worker to `nobody`, which cannot enter the temporary
# directory: the worker keeps the current user.
nginx_conf() {
  local user=""
  [ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
  mkdir -p "$1"
  cat > "$1/nginx.conf" <<NGINX
$user
daemon off; master_process on; worker_processes 1; pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $1; proxy_temp_path $1;
  fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
  $2
}
NGINX
}

# fixed_upstream_conf DIR PORT: nginx answering every request `200` with $fixed_body, without
# looking at a signature. A PUT is answered once its whole body has been read, as a store
# does (`return` alone answers at once, and a proxy that gets the answer while it still
# sends the body may close the client's connection): the mirror module reads the body
# first (one internal subrequest), then a 404/405 of the missing file becomes the 200. A
# HEAD is answered with `Content-Length: 0`: wrk 4.1 waits for the body a HEAD answer's
# Content-Length announces.
fixed_upstream_conf() {
  nginx_conf "$1" "server { listen 127.0.0.1:$2; client_max_body_size 0; client_body_buffer_size 128k;
    location / {
      if (\$request_method = HEAD) { return 200; }
      if (\$request_method = PUT) { rewrite ^ /read-body-first last; }
      default_type application/xml; return 200 '$fixed_body'; }
    location = /read-body-first { internal; mirror /body-read; mirror_request_body on;
      root $1/none; error_page 404 405 =200 @fixed; }
    location @fixed { default_type application/xml; return 200 '$fixed_body'; }
    location = /body-read { internal; return 204; } }"
}

# proxy_pass_conf DIR PORT UPSTREAM_PORT: nginx proxy_pass to the upstream, request and
# response unbuffered, keep-alive upstream connections (as obsgate pools its own).
proxy_pass_conf() {
  nginx_conf "$1" "upstream fixed { server 127.0.0.1:$3; keepalive 64; }
  server { listen 127.0.0.1:$2; client_max_body_size 0; location / {
    proxy_pass http://fixed; proxy_http_version 1.1; proxy_set_header Connection \"\";
    proxy_set_header Host \$http_host; proxy_request_buffering off; proxy_buffering off; } }"
}

nginx_worker=""
# start_nginx DIR PORT [CPU]: runs nginx with DIR/nginx.conf (pinned to CPU when given),
# waits for PORT and sets nginx_worker to its worker's PID.
start_nginx() {
  if [ -n "${3:-}" ]; then taskset -c "$3" nginx -c "$1/nginx.conf" -p "$1" 2>> "$1/error.log" &
  else nginx -c "$1/nginx.conf" -p "$1" 2>> "$1/error.log" & fi
  local master=$!; pids+=("$master")
  wait_for_port "$2" || { echo "nginx on port $2 did not start: $(tail -5 "$1/error.log")" >&2; exit 2; }
  nginx_worker=""
  for _ in $(seq 50); do nginx_worker=$(pgrep -P "$master" | head -1) && [ -n "$nginx_worker" ] && return 0; sleep 0.1; done
  echo "nginx on port $2 has no worker" >&2; exit 2
}

# gateway_config DIR LISTEN_PORT UPSTREAM_PORT ACCESS_KEY SECRET PRINCIPAL [MORE_YAML]:
# DIR/clients.yaml and DIR/obsgate.yaml; MORE_YAML is appended at the top level.
gateway_config() {
  cat > "$1/clients.yaml" <<YAML
version: 1
clients:
  - {access_key: $4, secret: $5, principal: $6}
YAML
  cat > "$1/obsgate.yaml" <<YAML
listeners: [{address: 127.0.0.1:$2}]
upstream: {endpoint: http://127.0.0.1:$3, region: us-east-1, profiles: {default: {access_key: UP, secret_key: up-secret}}}
credentials: clients.yaml
log_level: warning
${7:-}
YAML
}

# ensure_binary PATH DEFAULT: PATH must be an executable; when it is the DEFAULT release
# binary and missing, it is built first (several minutes).
ensure_binary() {
  [ -x "$1" ] && return 0
  if [ "$1" = "$2" ]; then
    echo "$1 is missing; building it (several minutes): swift build -c release --product obsgate --scratch-path .build-bench" >&2
    swift build -c release --product obsgate --scratch-path .build-bench >&2 || { echo "the build failed" >&2; exit 2; }
    [ -x "$1" ] && return 0
  fi
  echo "no obsgate binary at $1" >&2; exit 2
}
