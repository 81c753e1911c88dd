# shellcheck shell=bash
# Sourced by deploy/docker/dockerfile-steps.sh and deploy/systemd/run-like-unit.sh: probing
# a gateway they started. The caller defines PYTHON and die.

# http_get PORT PATH → "STATUS BODY" (STATUS 000 when nothing answered)
http_get() {
  "$PYTHON" - "$1" "$2" <<'PY'
import http.client, sys
try:
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=3)
    c.request("GET", sys.argv[2]); r = c.getresponse(); print(r.status, r.read().decode(errors="replace").strip().replace("\n", " | "))
except Exception as e:
    print("000", e)
PY
}

# wait_ready PID ADMIN_PORT WHAT LOG...: waits (20 s at most) until /readyz answers 200 and
# prints the answer; dies with the logs when the process exits or it never does. Call it as
# ready=$(wait_ready …) under `set -e`.
wait_ready() {
  local pid=$1 port=$2 what=$3 ready=""
  shift 3
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { sed 's/^/   | /' "$@" >&2; die "$what exited at start"; }
    ready=$(http_get "$port" /readyz)
    if [[ "$ready" == 200* ]]; then echo "$ready"; return 0; fi
    sleep 0.2
  done
  sed 's/^/   | /' "$@" >&2
  die "/readyz did not answer 200: $ready"
}
