#!/usr/bin/env bash
# Soak test (issue #16 item 4): obsgate for DURATION seconds (default 10 minutes) under mixed
# traffic at ~80 % of its measured capacity, with the audit trail on (`flush: batch`).
#
#   gateway A  in front of the fixed-answer nginx (bench/lib.sh): wrk replays small requests
#              (allowed, denied by the policy, refused for a bad or missing signature) and the
#              Python driver uploads 1-4 MiB objects (UNSIGNED-PAYLOAD and signed payloads).
#              A first phase measures what wrk gets through unthrottled beside the uploads;
#              the soak paces wrk at LOAD × that. Sampled every second: RSS, open fds,
#              event-loop lag, audit queue, requests/s, CPU.
#   gateway B  in front of Ceph radosgw (scripts/peers.sh, in this run's own directory):
#              policy bypass attempts (forbidden storage classes, KMS keys, SSE-C, missing
#              SSE-KMS; SigV4, SigV2, presigned, OBS headers, multipart, copy), each judged by
#              reading the store back with radosgw's own credentials.
#
# Prints a table (one row per 10 s), writes it with the checks to OUT.txt and a plot to
# OUT.png, and a verdict: RSS and fds flat (the last third's lower quartile against the
# second third's), no unexpected status, one audit record per request, `obsgate audit verify`
# intact, no policy bypass. See bench/README.md.
#
#   bench/soak.sh [--duration S] [--binary PATH] [--out PREFIX] [driver options]
#   DURATION=120 BINARY=/tmp/obsgate bench/soak.sh
#   bench/soak.sh --help-driver        (every option of bench/soak_driver.py)
#
# Settings (environment, or the driver's option of the same name; the option wins):
#   BINARY (.build-bench/release/obsgate, built when missing)  DURATION (600)  LOAD (0.8)
#   CAPACITY_SECONDS (20)  CONNECTIONS (16)  UPLOAD_RATE (4)  RGW_INTERVAL (0.5)
#   OUT (bench/results/soak-COMMIT)  TIMEOUT (DURATION + CAPACITY_SECONDS + 600)
#   NO_RGW=1 leaves out radosgw and gateway B; KEEP_TEMP=1 keeps the temporary directory.
#
# Exit status: 0 PASS, 1 FAIL (a check failed; the report is still written), 2 error (a
# process did not start or died, the global timeout expired, interrupted).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  --help-driver) exec python3 "$here/soak_driver.py" --help ;;
esac
for tool in nginx wrk python3; do
  command -v "$tool" > /dev/null || { echo "$tool is missing: run scripts/install-test-deps.sh" >&2; exit 2; }
done
# $work (removed at exit unless KEEP_TEMP=1) and its trap; port; fixed_upstream_conf.
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

driver_args=()
for setting in BINARY:--binary DURATION:--duration LOAD:--load CAPACITY_SECONDS:--capacity-seconds \
    CONNECTIONS:--connections UPLOAD_RATE:--upload-rate RGW_INTERVAL:--rgw-interval OUT:--out TIMEOUT:--timeout; do
  name=${setting%%:*}
  [ -z "${!name:-}" ] || driver_args+=("${setting#*:}" "${!name}")
done
[ -z "${NO_RGW:-}" ] || driver_args+=(--no-rgw)

fixed=$(port)
fixed_upstream_conf "$work/fixed" "$fixed"

# In the background, so that the traps above run at once on a signal; lib.sh's cleanup then
# sends the driver SIGTERM and waits while it stops everything it started.
python3 "$here/soak_driver.py" --work "$work" --fixed-conf "$work/fixed/nginx.conf" --fixed-port "$fixed" \
  "${driver_args[@]}" "$@" &
driver=$!; pids+=("$driver")
status=0; wait "$driver" || status=$?
exit "$status"
