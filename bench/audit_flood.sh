#!/usr/bin/env bash
# The audit trail under a flood of unauthenticated requests (docs/audit.md, "Flooding"):
# for DURATION seconds wrk sends unsigned GETs, each with a 50 KiB header the record keeps
# (cut to 1 KiB), on CONNECTIONS connections, while a signed client keeps uploading, one
# request at a time, through obsgate in front of a fixed-answer nginx. The gateway's RSS is
# sampled every second. At the end (after a graceful stop, which writes every record out):
# requests sent, records in the audit file by kind, the suppressed count, the file's size,
# RSS first / highest / last, and whether the trail stayed healthy. Exit status 1 when a
# signed request has no record, the trail became unhealthy, or the flood wrote more records
# than its allowance (burst + rate × seconds).
#
#   bench/audit_flood.sh [BINARY]          (default .build/release/obsgate)
#   DURATION=60 CONNECTIONS=8 bench/audit_flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-60}
CONNECTIONS=${CONNECTIONS:-8}
binary=${1:-.build/release/obsgate}
# shellcheck source=bench/lib.sh
. bench/lib.sh

fixed=$(port) gw=$(port) admin=$(port)
cat > "$work/nginx.conf" <<NGINX
daemon off; worker_processes 1; pid $work/nginx.pid; error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$fixed; location / { return 200 ''; } } }
NGINX
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)

gateway_config "$work" "$gw" "$fixed" GWFLOOD0000000000001 flood-client-secret steady "admin: {address: 127.0.0.1:$admin}
audit:
  sinks: [{type: file, path: $work/audit.log}]
  fail_closed: true"
"$binary" serve --config "$work/obsgate.yaml" 2> "$work/gateway.log" & gpid=$!; pids+=("$gpid")
wait_for_port "$gw"

# RSS in KiB, once a second.
(while kill -0 "$gpid" 2>/dev/null; do awk '/^VmRSS/ {print $2}' "/proc/$gpid/status" 2>/dev/null; sleep 1; done) \
  > "$work/rss.txt" & pids+=($!)

printf 'wrk.headers["x-amz-storage-class"] = string.rep("S", 51200)\n' > "$work/flood.lua"
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/flood.lua" "http://127.0.0.1:$gw/flood/k" > "$work/wrk.txt" 2>&1 &
wrk_pid=$!; pids+=("$wrk_pid")

python3 - "$gw" "$DURATION" > "$work/steady.txt" <<'PY'
import http.client, sys, time
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, duration = int(sys.argv[1]), float(sys.argv[2])
credentials = Credentials("GWFLOOD0000000000001", "flood-client-secret")
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
sent = answered = 0
end = time.monotonic() + duration
while time.monotonic() < end:
    # No body: the fixed upstream answers without reading one.
    request = AWSRequest(method="PUT", url=f"http://127.0.0.1:{port}/flood/steady-{sent}", data=b"")
    request.headers["Host"] = f"127.0.0.1:{port}"
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    connection.request("PUT", f"/flood/steady-{sent}", body=b"", headers=dict(request.headers.items()))
    response = connection.getresponse()
    response.read()
    sent += 1
    answered += response.status == 200
print(sent, answered)
PY
wait "$wrk_pid" || true
healthy=$(python3 -c 'import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics").read().decode()
values = {l.split()[0]: l.split()[1] for l in text.splitlines() if l and not l.startswith("#")}
print(values.get("obsgate_audit_healthy", "?"), values.get("obsgate_audit_records_suppressed_total", "?"),
      values.get("obsgate_audit_records_dropped_total", "?"))' "$admin")
kill -TERM "$gpid"; wait "$gpid" 2>/dev/null || true

read -r sent answered < "$work/steady.txt"
read -r health suppressed dropped <<< "$healthy"
flood=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
python3 - "$work/audit.log" "$work/rss.txt" "$sent" "$answered" "$flood" "$health" "$suppressed" "$dropped" "$DURATION" <<'PY'
import json, os, sys
path, rss_path = sys.argv[1], sys.argv[2]
sent, answered, flood = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5] or 0)
health, suppressed, dropped, duration = sys.argv[6], sys.argv[7], sys.argv[8], float(sys.argv[9])
records = [json.loads(line) for line in open(path) if '"request_id"' in line]
steady = {r["key"] for r in records if r.get("principal") == "steady"}
refusals = [r for r in records if "principal" not in r]
rss = [int(x) for x in open(rss_path).read().split()]
allowance = 100 + 10 * duration + 1
print(f"flood: {flood} unsigned requests; steady client: {sent} sent, {answered} answered 200")
print(f"audit file: {os.path.getsize(path) / 1e6:.1f} MB, {len(records)} records: {len(steady)} steady, "
      f"{len(refusals)} refusals (allowance {allowance:.0f}), {sum(1 for r in refusals if r.get('truncated'))} cut; "
      f"suppressed {suppressed}, dropped {dropped}, healthy at the end: {health}")
print(f"gateway RSS (MiB): first {rss[0] / 1024:.1f}, highest {max(rss) / 1024:.1f}, last {rss[-1] / 1024:.1f}")
failures = []
if len(steady) != sent: failures.append(f"{sent - len(steady)} steady requests have no record")
if health != "1": failures.append("the audit trail was not healthy at the end")
if len(refusals) > allowance: failures.append("the flood wrote more records than its allowance")
print("verdict:", "ok" if not failures else "FAILED: " + "; ".join(failures))
sys.exit(1 if failures else 0)
PY
