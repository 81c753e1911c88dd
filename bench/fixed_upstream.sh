#!/usr/bin/env bash
# Small requests through obsgate in front of an upstream that is never the bottleneck:
# nginx answering `return 200` with a fixed body (it checks no signature). Two kinds:
# presigned GETs, and Initiate Multipart Upload (`POST /bench/k?uploads`) signed with a
# SigV4 Authorization header (one signature, replayed within the allowed clock skew).
# Side by side in one run: straight to the fixed upstream, through nginx proxy_pass (one
# worker), and through each obsgate binary given (pinned to one CPU); beside them, the
# framework's floor (a SwiftNIO HTTP server of the same binary answering 403, and a bare
# SwiftNIO server and proxy from bench/micro when built); for each, wrk's
# requests/s and latency, and the proxy's CPU-µs per request (utime+stime from
# /proc/PID/stat over the run ÷ requests). Compare builds: pass several binaries.
#
#   bench/fixed_upstream.sh [BINARY ...]     (default .build/release/obsgate)
#   DURATION=10 CONNECTIONS=16 bench/fixed_upstream.sh /tmp/obsgate-before /tmp/obsgate-after
#   GATEWAY_EXTRA=$'tracing:\n  otlp: {endpoint: http://127.0.0.1:4318}' bench/fixed_upstream.sh   (extra configuration)
#   PERF=1 bench/fixed_upstream.sh      (each gateway's initiate under `perf record -g`, then
#                                        where its CPU went: bench/perf_categories.py)
#   ROUNDS=3 bench/fixed_upstream.sh old new   (the gateways measured three times, interleaved,
#                                        then each one's median and lowest CPU-µs per request)
#   SYSCALLS=1 bench/fixed_upstream.sh  (system calls per request of every process measured,
#                                        counted with perf's syscall tracepoints: a number this
#                                        VM's noise does not move)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-1}
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(.build/release/obsgate)
if { [ "${PERF:-0}" = 1 ] || [ "${SYSCALLS:-0}" = 1 ]; } && ! command -v perf > /dev/null; then
  echo "PERF=1 and SYSCALLS=1 need perf (Debian: linux-perf)" >&2; exit 2
fi
syscalls=epoll_ctl,epoll_wait,read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg,close,accept4
syscall_events=$(tr ',' '\n' <<< "$syscalls" | sed 's/^/syscalls:sys_enter_/' | paste -sd,)
# shellcheck source=bench/lib.sh
. bench/lib.sh
fixed=$(port) proxy=$(port)
fixed_upstream_conf "$work/fixed" "$fixed"
start_nginx "$work/fixed" "$fixed"; fixed_worker=$nginx_worker
proxy_pass_conf "$work/proxy" "$proxy" "$fixed"
start_nginx "$work/proxy" "$proxy"; proxy_worker=$nginx_worker

# One wrk run: prints "label req/s p50 p99 cpu-us-per-request" (cpu for PID, or - ), leaves
# the last in $cpu_per_request and appends "label<TAB>cpu<TAB>req/s" to $work/results.tsv.
# SCRIPT (optional, a wrk Lua file) sets the method and headers. PERF_DATA (optional): PID is
# recorded with `perf record -g` into it during the run. With SYSCALLS=1, PID's system calls
# are counted during the run and printed per request.
measure() {
  local label=$1 url=$2 pid=${3:-} script=${4:-} perf_data=${5:-}
  local args=(-t1 -c"$CONNECTIONS"); [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" -d1s "$url" > /dev/null 2>&1 || true
  local recorder='' counter=''
  if [ -n "$perf_data" ]; then
    perf record -F 2999 -g -p "$pid" -o "$perf_data" -- sleep "$DURATION" > /dev/null 2>&1 & recorder=$!
  fi
  if [ "${SYSCALLS:-0}" = 1 ] && [ -n "$pid" ]; then
    perf stat -x, -e "$syscall_events" -p "$pid" -o "$work/syscalls.txt" -- sleep "$DURATION" > /dev/null 2>&1 & counter=$!
  fi
  local before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  wrk "${args[@]}" -d"${DURATION}s" --latency "$url" > "$work/wrk.txt" 2>&1
  local after=0; [ -n "$pid" ] && after=$(cpu_ticks "$pid")
  [ -n "$recorder" ] && wait "$recorder"
  [ -n "$counter" ] && wait "$counter"
  local requests rate p50 p99 cpu=-
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $4}' "$work/wrk.txt")
  [ -n "$pid" ] && cpu=$(python3 -c "print(round(($after-$before)/$hz*1e6/$requests,1))")
  printf '%-28s %10s req/s  p50 %8s  p99 %8s  CPU-µs/req %7s%s\n' "$label" "$rate" "$p50" "$p99" "$cpu" \
    "${non2xx:+  NON-2xx: $non2xx}"
  if [ -n "$counter" ]; then
    awk -F, -v r="$requests" '/syscalls:sys_enter_/ { sub("syscalls:sys_enter_", "", $3); if ($1 > 0) line = line sprintf(" %s %.3f", $3, $1 / r) }
      END { print "  system calls per request:" line }' "$work/syscalls.txt"
  fi
  printf '%s\t%s\t%s\n' "$label" "$cpu" "$rate" >> "$work/results.tsv"
  cpu_per_request=$cpu
}

# A wrk script sending the initiate with the headers given as NAME=VALUE lines on stdin.
initiate_script() {
  { echo 'wrk.method = "POST"'
    while IFS='=' read -r name value; do printf 'wrk.headers["%s"] = "%s"\n' "$name" "$value"; done
  } > "$1"
}
printf 'Host=127.0.0.1:%s\n' "$fixed" | initiate_script "$work/direct.lua"

measure "GET direct (fixed upstream)" "http://127.0.0.1:$fixed/bench/k" "$fixed_worker"
measure "GET nginx proxy_pass" "http://127.0.0.1:$proxy/bench/k" "$proxy_worker"
measure "POST direct (fixed upstream)" "http://127.0.0.1:$fixed/bench/k?uploads" "$fixed_worker" "$work/direct.lua"
measure "POST nginx proxy_pass" "http://127.0.0.1:$proxy/bench/k?uploads" "$proxy_worker" "$work/direct.lua"

# The framework's floor: a SwiftNIO HTTP/1.1 server of the same binary (the development
# store) answering every unsigned request with a small 403, pinned like the gateway. A
# proxy pays this once for its client and roughly once more for its upstream connection.
floor=$(port)
OBSGATE_DEV_UPSTREAM_SECRET=floor-secret taskset -c 1 "${binaries[0]}" dev-upstream --port "$floor" --access-key FLOOR \
  2> "$work/floor.log" & floor_pid=$!; pids+=("$floor_pid")
wait_for_port "$floor"
measure "GET NIO floor (403, 1 CPU)" "http://127.0.0.1:$floor/bench/k" "$floor_pid"
kill "$floor_pid"; wait "$floor_pid" 2>/dev/null || true

# Below that, when bench/micro has built it (`swift build -c release --product nio-floor`
# there): a bare SwiftNIO server and a bare SwiftNIO proxy with the gateway's pipeline shape
# and no work of their own — what any NIOHTTP1 proxy pays before it does anything.
nio_floor=${NIO_FLOOR:-bench/micro/.build/release/nio-floor}
if [ -x "$nio_floor" ]; then
  for mode in server proxy; do
    bare=$(port)
    args=("$mode" "$bare"); [ "$mode" = proxy ] && args+=("$fixed")
    taskset -c 1 "$nio_floor" "${args[@]}" > "$work/nio-floor-$mode.log" 2>&1 & bare_pid=$!; pids+=("$bare_pid")
    wait_for_port "$bare"
    measure "POST bare NIO $mode (1 CPU)" "http://127.0.0.1:$bare/bench/k?uploads" "$bare_pid" "$work/direct.lua"
    kill "$bare_pid"; wait "$bare_pid" 2>/dev/null || true
  done
else
  echo "(no $nio_floor: build it in bench/micro for the bare NIO server and proxy lines)"
fi

# One gateway binary: started on a port of its own, its presigned GET and signed initiate
# measured, then stopped.
measure_gateway() {
  local binary=$1 gw dir gpid url perf_data
  gw=$(port)
  dir="$work/gw-$gw"; mkdir -p "$dir"
  gateway_config "$dir" "$gw" "$fixed" GWBENCH0000000000001 bench-client-secret bench "${GATEWAY_EXTRA:-}"
  taskset -c 1 "$binary" serve --config "$dir/obsgate.yaml" 2> "$dir/log" & gpid=$!; pids+=("$gpid")
  wait_for_port "$gw"
  url=$(python3 - "$gw" <<'PY'
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="GWBENCH0000000000001", aws_secret_access_key="bench-client-secret",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "k"}, ExpiresIn=3600))
PY
)
  measure "GET obsgate $(basename "$binary")" "$url" "$gpid"
  python3 - "$gw" <<'PY' | initiate_script "$dir/initiate.lua"
import sys
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
request = AWSRequest(method="POST", url=f"http://127.0.0.1:{sys.argv[1]}/bench/k?uploads", data=b"")
request.headers["Host"] = f"127.0.0.1:{sys.argv[1]}"
S3SigV4Auth(Credentials("GWBENCH0000000000001", "bench-client-secret"), "s3", "us-east-1").add_auth(request)
for name, value in request.headers.items():
    print(f"{name}={value}")
PY
  perf_data=; [ "${PERF:-0}" = 1 ] && perf_data="$dir/perf.data"
  measure "POST obsgate $(basename "$binary")" "http://127.0.0.1:$gw/bench/k?uploads" "$gpid" "$dir/initiate.lua" "$perf_data"
  if [ -n "$perf_data" ]; then
    perf script -i "$perf_data" -F comm,ip,sym --no-demangle 2> /dev/null | bench/perf_categories.py "$cpu_per_request"
  fi
  kill "$gpid"; wait "$gpid" 2>/dev/null || true
}

for _ in $(seq "$ROUNDS"); do
  for binary in "${binaries[@]}"; do measure_gateway "$binary"; done
done

if [ "$ROUNDS" -gt 1 ]; then
  echo "== over $ROUNDS rounds (CPU-µs per request: median, lowest; req/s: median)"
  grep 'obsgate' "$work/results.tsv" | python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    label, cpu, rate = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append((float(cpu), float(rate)))
for label, runs in rows.items():
    cpus = [cpu for cpu, _ in runs]
    print(f"{label:28s} CPU-µs/req {statistics.median(cpus):7.1f} median {min(cpus):7.1f} lowest "
          f"({len(runs)} runs)  {statistics.median([rate for _, rate in runs]):10.1f} req/s median")
'
fi
