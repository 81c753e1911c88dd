#!/usr/bin/env bash
# Small S3 requests through obsgate against an upstream that is never the bottleneck
# (issue #14): nginx answering every request `return 200` with an
# InitiateMultipartUploadResult body. Five operations, each signed once with botocore and
# replayed by wrk (1 thread): Initiate Multipart Upload (SigV4 Authorization header), a
# 64 KiB UploadPart with UNSIGNED-PAYLOAD, a 16 KiB PutObject whose x-amz-content-sha256 is
# the body's hash, a HEAD and a presigned GET. Four paths side by side in one run: straight
# to the fixed upstream (direct), nginx proxy_pass (one worker), obsgate and obsgate with an
# audit file (`flush: batch`); both proxies pinned to CPU 1, wrk and the fixed upstream to
# CPU 0; the gateways enforce policies/encryption.yaml. For each operation × connection
# count × path: requests/s, p50/p99/p99.9, the CPU-µs per request of the proxy (of the fixed
# upstream's worker for direct), and the ratios obsgate/nginx, obsgate/direct,
# audit/obsgate. Any answer that is not 2xx fails the run. See bench/README.md.
#
#   bench/initiate.sh [--json FILE]
#   BINARY=/tmp/obsgate DURATION=2 CONNECTIONS="16" OPERATIONS="initiate head" bench/initiate.sh
#
# Exit status: 0 every request answered 2xx and the checks passed, 1 a check failed (a
# non-2xx answer or a socket error, the policy not applied, audit records missing or
# dropped), 2 error (a process did not start, the global timeout expired, interrupted).
set -eEuo pipefail
default_binary=.build-bench/release/obsgate
BINARY=${BINARY:-$default_binary}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-1 16 64 256}
OPERATIONS=${OPERATIONS:-initiate upload-part put head presigned-get}
TIMEOUT=${TIMEOUT:-auto}
JSON=${JSON:-}
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) [ $# -ge 2 ] || { echo "--json needs a file" >&2; exit 2; }; JSON=$2; shift 2 ;;
    --json=*) JSON=${1#--json=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (bench/initiate.sh --help)" >&2; exit 2 ;;
  esac
done
[ -z "$JSON" ] || JSON=$(realpath -m "$JSON")
[ "$BINARY" = "$default_binary" ] || BINARY=$(realpath -m "$BINARY")
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap 'echo "error: line $LINENO: a command failed (status $?)" >&2; exit 2' ERR

read -ra operations <<< "$OPERATIONS"; read -ra connections <<< "$CONNECTIONS"
if [ ${#operations[@]} -eq 0 ] || [ ${#connections[@]} -eq 0 ]; then
  echo "OPERATIONS and CONNECTIONS must not be empty" >&2; exit 2
fi
for op in "${operations[@]}"; do
  case $op in initiate|upload-part|put|head|presigned-get) ;;
    *) echo "unknown operation $op (initiate upload-part put head presigned-get)" >&2; exit 2 ;; esac
done
for c in "${connections[@]}"; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || { echo "CONNECTIONS: $c is not a positive number" >&2; exit 2; }
done
for v in DURATION WARMUP TIMEOUT; do
  [ "$v" = TIMEOUT ] && [ "$TIMEOUT" = auto ] &&
    TIMEOUT=$(( ${#operations[@]} * ${#connections[@]} * 4 * (DURATION + WARMUP + 1) + 120 ))
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$v: ${!v} is not a number of seconds" >&2; exit 2; }
done
[ "$DURATION" -gt 0 ] || { echo "DURATION must be at least 1" >&2; exit 2; }
for tool in nginx wrk taskset python3; do
  command -v "$tool" > /dev/null || { echo "$tool is missing: run scripts/install-test-deps.sh" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (0: wrk and the upstream, 1: the proxy)" >&2; exit 2; }
ensure_binary "$BINARY" "$default_binary"
global_timeout "$TIMEOUT"
started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

paths=(direct nginx obsgate obsgate+audit)
key=GWBENCH0000000000001 secret=bench-client-secret
fixed=$(port) proxy=$(port) gw=$(port) gwa=$(port) admin=$(port) admina=$(port)

fixed_upstream_conf "$work/fixed" "$fixed"
start_nginx "$work/fixed" "$fixed" 0; fixed_worker=$nginx_worker
proxy_pass_conf "$work/nginx" "$proxy" "$fixed"
start_nginx "$work/nginx" "$proxy" 1; proxy_worker=$nginx_worker

# start_gateway NAME PORT ADMIN_PORT [MORE_YAML]: sets gateway_pid.
start_gateway() {
  local dir="$work/$1"; mkdir -p "$dir"
  gateway_config "$dir" "$2" "$fixed" "$key" "$secret" bench "policy: $PWD/policies/encryption.yaml
admin: {address: 127.0.0.1:$3}
${4:-}"
  taskset -c 1 "$BINARY" serve --config "$dir/obsgate.yaml" 2> "$dir/log" & gateway_pid=$!; pids+=("$gateway_pid")
  wait_for_port "$2" || { echo "$1 did not start:" >&2; tail -20 "$dir/log" >&2; exit 2; }
}
start_gateway obsgate "$gw" "$admin"; obsgate_pid=$gateway_pid
start_gateway obsgate+audit "$gwa" "$admina" "audit:
  sinks: [{type: file, path: $work/obsgate+audit/audit.log}]
  flush: batch"
audit_pid=$gateway_pid

declare -A port_of=([direct]=$fixed [nginx]=$proxy [obsgate]=$gw [obsgate+audit]=$gwa)
declare -A proxy_of=([direct]=$fixed_worker [nginx]=$proxy_worker [obsgate]=$obsgate_pid [obsgate+audit]=$audit_pid)

echo "obsgate $("$BINARY" --version 2>&1 | head -1) ($BINARY), $DURATION s per run after $WARMUP s of warm-up;" \
  "CPU 0: wrk + fixed upstream, CPU 1: nginx proxy_pass / obsgate; load average $load_before"
echo "CPU-µs/req: the proxy's (the fixed upstream worker's for direct) user + system time / requests"

# prepare OPERATION...: signs each operation's request once per path (same key, that path's
# Host; only the gateways check the signature), writes it as a wrk Lua script with a `done`
# hook, and sends it once through each path with Python: an answer that is not 2xx stops
# the run (status 1) with its body. Run for all operations before the measurement, and
# again for each operation before its runs, so that no signature is replayed for longer
# than one operation's runs (the gateway allows clock_skew, 900 s).
mkdir -p "$work/lua"
cat > "$work/prepare.py" <<'PY'
import hashlib, http.client, json, os, re, sys
sys.path.insert(0, "bench")
from benchlib import Endpoint, presigned_url, signed_headers

out, key, secret, operations = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
targets = dict(arg.split("=") for arg in sys.argv[5:])
EMPTY = hashlib.sha256(b"").hexdigest()
PART, PUT = 64 * 1024, 16 * 1024
# name: (method, path, body filler, body bytes, x-amz-content-sha256 or None for presigned)
OPS = {
    "initiate": ("POST", "/bench/k?uploads", "", 0, EMPTY),
    "upload-part": ("PUT", "/bench/k?partNumber=1&uploadId=u", "a", PART, "UNSIGNED-PAYLOAD"),
    "put": ("PUT", "/bench/k", "b", PUT, hashlib.sha256(b"b" * PUT).hexdigest()),
    "head": ("HEAD", "/bench/k", "", 0, EMPTY),
    "presigned-get": ("GET", "/bench/k", "", 0, None),
}
DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"p50_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"""


def bound_upload_id(endpoint, port):
    """A gateway answers UploadPart only for an upload id it issued (upload binding): the
    id of an initiate through it, which the fixed upstream answers."""
    path = OPS["initiate"][1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, headers=signed_headers(endpoint, "POST", path, EMPTY))
    answer = conn.getresponse().read().decode()
    conn.close()
    return re.search(r"<UploadId>([^<]+)</UploadId>", answer).group(1)


failed = []
for op in operations:
    method, path, filler, size, sha = OPS[op]
    body = filler.encode() * size
    for name, port in targets.items():
        endpoint = Endpoint(name, int(port), key, secret)
        request_path = path
        if op == "upload-part" and name.startswith("obsgate"):
            request_path = path.replace("uploadId=u", "uploadId=" + bound_upload_id(endpoint, int(port)))
        if sha is None:
            url = presigned_url(endpoint, method, request_path, 3600)
            target, headers = url[url.index("/", len("http://")):], {"Host": f"127.0.0.1:{port}"}
        else:
            target, headers = request_path, signed_headers(endpoint, method, request_path, sha)
        lua = [f"wrk.method = {json.dumps(method)}", f"wrk.path = {json.dumps(target)}"]
        lua += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
        if size:
            lua.append(f'wrk.body = string.rep("{filler}", {size})')
        with open(f"{out}/{op}.{name}.lua", "w") as f:
            f.write("\n".join(lua) + "\n" + DONE)
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request(method, target, body=body if size else None, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        if not 200 <= response.status < 300:
            failed.append(op)
            print(f"FAIL: preflight {op} via {name}: {response.status} {response.reason}\n"
                  f"  {answer.decode(errors='replace')[:2000]}")
if failed or not os.environ.get("PREPARE_QUIET"):
    print(f"signed and sent once through each path: {' '.join(operations)}: "
          + ("all 2xx" if not failed else f"non-2xx for {', '.join(sorted(set(failed)))}"))
sys.exit(1 if failed else 0)
PY
preflights=0
prepare() {
  local status=0
  python3 "$work/prepare.py" "$work/lua" "$key" "$secret" "$*" \
    "direct=$fixed" "nginx=$proxy" "obsgate=$gw" "obsgate+audit=$gwa" || status=$?
  preflights=$((preflights + $#))
  [ "$status" -eq 0 ] && return 0
  [ "$status" -eq 1 ] && { echo "FAIL: a path refused a request before its measurement (above)"; exit 1; }
  echo "error: signing or the preflight failed (status $status)" >&2; exit 2
}
prepare "${operations[@]}"

# run_wrk LUA CONNECTIONS SECONDS URL: wrk's WRK_RESULT line (JSON).
run_wrk() {
  local out
  out=$(taskset -c 0 wrk -t1 -c"$2" -d"${3}s" --timeout 5s -s "$1" "$4" 2>&1) || true
  local line; line=$(sed -n 's/^WRK_RESULT //p' <<< "$out")
  [ -n "$line" ] || { echo "error: wrk gave no result for $1, $2 connections:" >&2; echo "$out" >&2; exit 2; }
  echo "$line"
}

# measure OP CONNECTIONS PATH: appends one JSON line to results.jsonl.
measure() {
  local lua="$work/lua/$1.$3.lua" url="http://127.0.0.1:${port_of[$3]}/" pid=${proxy_of[$3]}
  local warm='null' run p0 p1 u0 u1
  [ "$WARMUP" -gt 0 ] && warm=$(run_wrk "$lua" "$2" "$WARMUP" "$url")
  p0=$(cpu_ticks "$pid"); u0=$(cpu_ticks "$fixed_worker")
  run=$(run_wrk "$lua" "$2" "$DURATION" "$url")
  p1=$(cpu_ticks "$pid"); u1=$(cpu_ticks "$fixed_worker")
  printf '{"operation":"%s","connections":%s,"path":"%s","proxy_ticks":%s,"upstream_ticks":%s,"warmup":%s,"run":%s}\n' \
    "$1" "$2" "$3" $((p1 - p0)) $((u1 - u0)) "$warm" "$run" >> "$work/results.jsonl"
}

# The report: one table per operation × connection count, the summary, the checks, JSON.
cat > "$work/report.py" <<'PY'
import json, os, subprocess, sys, time, urllib.request

work, hz = os.environ["work"], int(os.environ["hz"])
PATHS = ["direct", "nginx", "obsgate", "obsgate+audit"]
TITLES = {
    "initiate": "initiate: POST /bench/k?uploads, SigV4 header; the policy injects SSE-KMS",
    "upload-part": "upload-part: PUT /bench/k?partNumber=1&uploadId=ID (through obsgate an id it bound), 64 KiB, UNSIGNED-PAYLOAD",
    "put": "put: PUT /bench/k, 16 KiB, signed payload (x-amz-content-sha256 = the body's sha256); the policy injects SSE-KMS",
    "head": "head: HEAD /bench/k, SigV4 header",
    "presigned-get": "presigned-get: GET /bench/k, SigV4 presigned URL",
}
rows = [json.loads(l) for l in open(f"{work}/results.jsonl")] if os.path.exists(f"{work}/results.jsonl") else []
for r in rows:
    w = r["run"]
    r["rps"] = w["requests"] / (w["duration_us"] / 1e6)
    r["cpu_us"] = r["proxy_ticks"] / hz * 1e6 / w["requests"] if w["requests"] else None
    r["upstream_cpu_us"] = r["upstream_ticks"] / hz * 1e6 / w["requests"] if w["requests"] else None
    r["cpu_share"] = r["proxy_ticks"] / hz / (w["duration_us"] / 1e6)
    r["errors"] = {k: w[k] for k in ("status", "connect", "read", "write", "timeout") if w[k]}
    if r["warmup"]:
        for k in ("status", "connect", "read", "write", "timeout"):
            if r["warmup"][k]:
                r["errors"][f"warm-up {k}"] = r["warmup"][k]

def ratio(a, b):
    return a / b if a is not None and b else None

def group(op, c):
    return {r["path"]: r for r in rows if r["operation"] == op and r["connections"] == c}

def ratios(g):
    get = lambda p, k: g[p][k] if p in g else None
    return {
        "obsgate_vs_nginx": ratio(get("obsgate", "rps"), get("nginx", "rps")),
        "obsgate_vs_direct": ratio(get("obsgate", "rps"), get("direct", "rps")),
        "audit_vs_obsgate": ratio(get("obsgate+audit", "rps"), get("obsgate", "rps")),
        "audit_vs_nginx": ratio(get("obsgate+audit", "rps"), get("nginx", "rps")),
        "cpu_obsgate_vs_nginx": ratio(get("obsgate", "cpu_us"), get("nginx", "cpu_us")),
        "cpu_audit_vs_obsgate": ratio(get("obsgate+audit", "cpu_us"), get("obsgate", "cpu_us")),
        "audit_cpu_us_added": (get("obsgate+audit", "cpu_us") - get("obsgate", "cpu_us"))
        if get("obsgate+audit", "cpu_us") is not None and get("obsgate", "cpu_us") is not None else None,
    }

f2 = lambda x: "-" if x is None else f"{x:.2f}"
ms = lambda us: f"{us / 1000:.2f}"

def print_group(op, c):
    g = group(op, c)
    print(f"\n{TITLES[op]} — {c} connection{'s' if c > 1 else ''}")
    print(f"  {'path':<14} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'CPU-µs/req':>10} {'CPU %':>5} {'upstream CPU-µs/req':>19}")
    for p in PATHS:
        if p not in g:
            continue
        r, w = g[p], g[p]["run"]
        err = "  ERRORS " + ", ".join(f"{k} {v}" for k, v in r["errors"].items()) if r["errors"] else ""
        print(f"  {p:<14} {r['rps']:>8,.0f} {ms(w['p50_us']):>7} {ms(w['p99_us']):>7} {ms(w['p999_us']):>8}"
              f" {r['cpu_us']:>10.1f} {100 * r['cpu_share']:>5.0f} {r['upstream_cpu_us']:>19.1f}{err}")
    x = ratios(g)
    added = "" if x["audit_cpu_us_added"] is None else f" ({x['audit_cpu_us_added']:+.0f} µs)"
    print(f"  ratios  req/s: obsgate/nginx {f2(x['obsgate_vs_nginx'])}  obsgate/direct {f2(x['obsgate_vs_direct'])}"
          f"  audit/obsgate {f2(x['audit_vs_obsgate'])}   CPU-µs: obsgate/nginx {f2(x['cpu_obsgate_vs_nginx'])}"
          f"  audit/obsgate {f2(x['cpu_audit_vs_obsgate'])}{added}")

def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values

def labels(name):
    inner = name[name.index("{") + 1:name.rindex("}")]
    return dict((kv.split("=", 1)[0], kv.split("=", 1)[1].strip('"')) for kv in inner.split(","))

def final():
    operations = os.environ["OPERATIONS"].split()
    connections = [int(c) for c in os.environ["CONNECTIONS"].split()]
    failures = []
    for r in rows:
        if r["errors"]:
            failures.append(f"{r['operation']} via {r['path']} at {r['connections']} connections: "
                            + ", ".join(f"{k} errors {v}" for k, v in r["errors"].items())
                            + " (status = answers ≥ 400)")
    # The gateways' own count: every request 2xx, and the policy applied where it must.
    expect_mutated = {"CreateMultipartUpload", "PutObject"}
    op_names = {"initiate": "CreateMultipartUpload", "upload-part": "UploadPart", "put": "PutObject",
                "head": "HeadObject", "presigned-get": "GetObject"}
    gateway_counts = {}
    for path, port in (("obsgate", os.environ["admin"]), ("obsgate+audit", os.environ["admina"])):
        counts = {}
        for name, value in metrics(port).items():
            if name.startswith("obsgate_requests_total{"):
                l = labels(name)
                counts[f"{l['operation']} {l['decision']} {l['status_class']}"] = int(value)
        gateway_counts[path] = counts
        for k, v in counts.items():
            operation, decision, status = k.split()
            if status != "2xx" and status != "none":
                failures.append(f"{path} answered {v} {operation} request(s) {status} (decision {decision})")
            if operation in expect_mutated and decision != "allow-with-mutations":
                failures.append(f"{path}: {v} {operation} request(s) {decision}, not allow-with-mutations: "
                                "the encryption policy was not applied")
        for op in operations:
            name = op_names[op]
            if not any(k.startswith(name + " ") and k.endswith(" 2xx") for k in counts):
                failures.append(f"{path} counted no 2xx {name}")
    # The audit trail: one record per request, none dropped, no write error.
    audit = {}
    runs = [r for r in rows if r["path"] == "obsgate+audit"]
    if runs:
        sent = sum(r["run"]["requests"] + (r["warmup"]["requests"] if r["warmup"] else 0) for r in runs) + int(os.environ["preflights"])
        bound = sum(r["connections"] * (2 if r["warmup"] else 1) for r in runs)
        for _ in range(50):
            m = metrics(os.environ["admina"])
            if m.get("obsgate_audit_queue_depth", 0) == 0:
                break
            time.sleep(0.1)
        written = int(m.get("obsgate_audit_records_written_total", 0))
        dropped = int(m.get("obsgate_audit_records_dropped_total", 0))
        errors = int(m.get("obsgate_audit_write_errors_total", 0))
        audit = {"records_written": written, "dropped": dropped, "write_errors": errors,
                 "requests_completed": sent, "in_flight_bound": bound,
                 "healthy": int(m.get("obsgate_audit_healthy", 0))}
        print(f"\naudit (obsgate+audit, flush: batch): {written:,} records written for {sent:,} requests completed "
              f"(+ at most {bound:,} in flight when wrk stopped), {dropped} dropped, {errors} write errors")
        if written < sent or written > sent + bound:
            failures.append(f"audit: {written} records for {sent} completed requests (+{bound} in flight at most)")
        if dropped or errors or not audit["healthy"]:
            failures.append(f"audit: {dropped} dropped, {errors} write errors, healthy {audit['healthy']}")
    for path, counts in gateway_counts.items():
        print(f"{path} requests (operation decision status): "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    # Summary: every connection count, the ratios and the proxies' CPU per request.
    print("\nsummary: req/s ratios (obsgate/nginx, obsgate/direct, audit/obsgate), CPU-µs per request"
          " of each proxy and their ratio obsgate/nginx")
    print(f"  {'operation':<14} {'conns':>5}  {'obs/ngx':>7} {'obs/dir':>7} {'aud/obs':>7}  "
          f"{'nginx':>6} {'obsgate':>7} {'+audit':>6} {'cpu o/n':>7}")
    summary = []
    for op in operations:
        for c in connections:
            g = group(op, c)
            if not g:
                continue
            x = ratios(g)
            cpu = {p: (round(g[p]["cpu_us"], 1) if p in g else None) for p in PATHS}
            summary.append({"operation": op, "connections": c, "ratios": x,
                            "cpu_us_per_request": cpu, "requests_per_s": {p: round(g[p]["rps"]) for p in g}})
            c1 = lambda v: "-" if v is None else f"{v:.0f}"
            print(f"  {op:<14} {c:>5}  {f2(x['obsgate_vs_nginx']):>7} {f2(x['obsgate_vs_direct']):>7}"
                  f" {f2(x['audit_vs_obsgate']):>7}  {c1(cpu['nginx']):>6} {c1(cpu['obsgate']):>7}"
                  f" {c1(cpu['obsgate+audit']):>6} {f2(x['cpu_obsgate_vs_nginx']):>7}")
    elapsed = time.time() - float(os.environ["started"])
    load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"\nrun time {elapsed:.0f} s; load average before {os.environ['load_before']}, after {load_after}")
    for f in failures:
        print("FAIL:", f)
    print("checks: every answer 2xx, policy applied, audit one record per request:",
          "PASS" if not failures else "FAIL")
    if os.environ.get("JSON"):
        def version(argv):
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (p.stdout + p.stderr).strip().splitlines()[0]
            except Exception as error:
                return str(error)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        doc = {
            "commit": commit, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "binary": os.environ["BINARY"],
            "machine": {"uname": " ".join(os.uname()), "cpus": os.cpu_count(),
                        "load_before": os.environ["load_before"], "load_after": load_after},
            "versions": {"obsgate": version([os.environ["BINARY"], "--version"]), "nginx": version(["nginx", "-v"]),
                         "wrk": version(["wrk", "-v"])},
            "duration_s": int(os.environ["DURATION"]), "warmup_s": int(os.environ["WARMUP"]),
            "connections": connections, "operations": operations, "run_time_s": round(elapsed, 1),
            "results": [{"operation": r["operation"], "connections": r["connections"], "path": r["path"],
                         "requests": r["run"]["requests"], "seconds": r["run"]["duration_us"] / 1e6,
                         "requests_per_s": round(r["rps"], 1), "p50_ms": r["run"]["p50_us"] / 1000,
                         "p99_ms": r["run"]["p99_us"] / 1000, "p99_9_ms": r["run"]["p999_us"] / 1000,
                         "max_ms": r["run"]["max_us"] / 1000,
                         "cpu_us_per_request": round(r["cpu_us"], 2),
                         "cpu_share": round(r["cpu_share"], 3),
                         "upstream_cpu_us_per_request": round(r["upstream_cpu_us"], 2),
                         "errors": r["errors"]} for r in rows],
            "summary": summary, "gateway_requests": gateway_counts, "audit": audit,
            "failures": failures, "verdict": "PASS" if not failures else "FAIL",
        }
        with open(os.environ["JSON"], "w") as f:
            json.dump(doc, f, indent=2)
        print(f"JSON: {os.environ['JSON']}")
    sys.exit(1 if failures else 0)

if sys.argv[1] == "group":
    print_group(sys.argv[2], int(sys.argv[3]))
else:
    final()
PY

export work hz admin admina preflights started load_before OPERATIONS CONNECTIONS DURATION WARMUP BINARY JSON
for op in "${operations[@]}"; do
  PREPARE_QUIET=1 prepare "$op"
  for c in "${connections[@]}"; do
    for path in "${paths[@]}"; do measure "$op" "$c" "$path"; done
    python3 "$work/report.py" group "$op" "$c"
  done
done
final_status=0
python3 "$work/report.py" final || final_status=$?
[ "$final_status" -le 1 ] || { echo "error: the report failed (status $final_status)" >&2; exit 2; }
exit "$final_status"
