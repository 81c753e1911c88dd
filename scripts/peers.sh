#!/usr/bin/env bash
# Starts and stops the real S3 peers the integration tests run against, on loopback only,
# by way of the shared peer scripts (${OBSGATE_SHARED:-<repo>/../shared}/peers/).
#
#   scripts/peers.sh start-rgw     Ceph radosgw 16 (1 mon, 1 memstore OSD) on 127.0.0.1:$RGW_PORT
#   scripts/peers.sh stop-rgw
#   scripts/peers.sh start-swift   OpenStack Swift s3api+tempauth on 127.0.0.1:$PROXY_PORT
#   scripts/peers.sh stop-swift    (needs scripts/install-test-deps.sh --with-swift)
#
# A start first stops whatever a previous run left in the same directory, starts afresh,
# and returns once the peer answers an authenticated S3 request (ListBuckets, SigV4), or
# fails after $PEER_START_TIMEOUT seconds with the tail of the peer's logs and nothing left
# running. Install the packages first with scripts/install-test-deps.sh.
#
# Environment (defaults):
#   RGW_PORT=8000 MON_PORT=6789 CEPH_DIR=${TMPDIR:-/tmp}/obsgate-rgw
#   PROXY_PORT=8080 SWIFT_DIR=${TMPDIR:-/tmp}/obsgate-swift
#   PEER_START_TIMEOUT=120   PYTHON=python3 (with botocore, for the readiness probe)
#
# S3 credentials (fixed by the shared scripts):
#   rgw   main 0555b35654ad1656d804 / h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==
#         alt  NOPQRSTUVWXYZABCDEFG / nopqrstuvwxyzabcdefghijklmnabcdefghijklm; KMS keys testkey-1, testkey-2
#   swift test:tester / testing (also test2:tester2/testing2, test3:tester3/testing3)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${OBSGATE_SHARED:-$repo/../shared}
PYTHON=${PYTHON:-python3}
timeout_s=${PEER_START_TIMEOUT:-120}
export RGW_PORT=${RGW_PORT:-8000} MON_PORT=${MON_PORT:-6789} PROXY_PORT=${PROXY_PORT:-8080}
export CEPH_DIR=${CEPH_DIR:-${TMPDIR:-/tmp}/obsgate-rgw}
export SWIFT_DIR=${SWIFT_DIR:-${TMPDIR:-/tmp}/obsgate-swift}

die() { echo "peers.sh: $*" >&2; exit 1; }

peer_script() {
  local f="$shared/peers/$1"
  [ -f "$f" ] || die "shared peer script not found: $f (set OBSGATE_SHARED to the shared/ folder)"
  printf '%s\n' "$f"
}

# Pids of live processes started from a peer's directory: ceph daemons and tools run with
# "-c DIR/ceph.conf", swift servers with "DIR/NAME-server.conf", memcached with its pid file
# in DIR/run. This finds daemons of a previous run even when their pid files are gone. The
# callers of this script are never matched.
pids_of() {
  local kind=$1 dir=$2 p cmd ancestors=" " a=$$
  while [ -n "$a" ] && [ "$a" != 0 ]; do
    ancestors+="$a "
    a=$(awk '/^PPid:/{print $2}' "/proc/$a/status" 2>/dev/null) || break
  done
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    case "$ancestors" in *" $p "*) continue ;; esac
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    case "$kind:$cmd" in
      rgw:*"-c $dir/ceph.conf"*) echo "$p" ;;
      swift:*"$dir/"*-server.conf*|swift:*"$dir/run/memcached.pid"*) echo "$p" ;;
    esac
  done
}

# Stops a peer: every process started from its directory (see pids_of), then removes the
# directory. The shared stop_peer.sh is not used: it sends TERM and KILLs after 1 s, and a
# TERMed ceph-osd first writes its whole memstore into DIR/osd, which is slow and, when a
# start follows at once, lands the old cluster's superblock in the new directory ("wrong
# fsid", the OSD never comes up). Ceph keeps nothing here, so its daemons get KILL at once.
stop_peer() {
  local kind=$1 dir=$2 sig=TERM pids i
  [ "$kind" = rgw ] && sig=KILL
  pids=$(pids_of "$kind" "$dir")
  if [ -n "$pids" ]; then
    kill -"$sig" $pids 2>/dev/null || true
    for i in $(seq 40); do pids=$(pids_of "$kind" "$dir"); [ -z "$pids" ] && break; sleep 0.25; done
    if [ -n "$pids" ]; then
      kill -KILL $pids 2>/dev/null || true
      for i in $(seq 20); do pids=$(pids_of "$kind" "$dir"); [ -z "$pids" ] && break; sleep 0.25; done
    fi
    [ -z "$pids" ] || die "could not stop $kind processes: $pids"
  fi
  rm -rf "$dir"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# s3_ready ENDPOINT ACCESS_KEY SECRET: one SigV4 ListBuckets; 0 when it succeeds.
s3_ready() {
  "$PYTHON" - "$@" <<'EOF' >/dev/null 2>&1
import sys, botocore.session
from botocore.config import Config
ep, ak, sk = sys.argv[1:4]
c = botocore.session.get_session().create_client(
    "s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk,
    config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1},
                  s3={"addressing_style": "path"}))
c.list_buckets()
EOF
}

# tail_logs DIR: the last lines of every log a peer wrote.
tail_logs() {
  local f
  for f in $(find "$1" -maxdepth 3 -type f \( -name '*.log' -o -name '*.stdout' -o -name '*.out' \) 2>/dev/null | sort); do
    echo "----- tail of $f" >&2
    tail -n 30 "$f" >&2
  done
}

# start_peer KIND DIR SCRIPT PORT ACCESS_KEY SECRET [PORT...]: the common start sequence.
start_peer() {
  local kind=$1 dir=$2 script=$3 port=$4 ak=$5 sk=$6; shift 6
  local p t0 deadline out rc
  "$PYTHON" -c 'import botocore' 2>/dev/null \
    || die "$PYTHON cannot import botocore (needed to probe $kind): run scripts/install-test-deps.sh"
  stop_peer "$kind" "$dir"
  for p in "$port" "$@"; do
    port_free "$p" || die "127.0.0.1:$p is already in use by another program: cannot start $kind there"
  done
  # Three attempts: a single-node Ceph now and then comes up with its OSD refused by the
  # monitor. The OSD's first command reaches the monitor before the OSD has the monitor map,
  # with a zero fsid ("handle_command on fsid 00000000-… != …" in mon.a.log, "wrong fsid" in
  # the OSD's log), and the OSD exits. Seen in CI runs, twice in a row once; a start in a
  # clean directory is tried again before giving up.
  local attempt attempts=3
  for attempt in $(seq "$attempts"); do
    mkdir -p "$dir"
    out="$dir/start.out"
    t0=$SECONDS; deadline=$((SECONDS + timeout_s))
    rc=0; timeout "$timeout_s" bash "$script" >"$out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
      rc=1
      while [ "$SECONDS" -lt "$deadline" ]; do
        if s3_ready "http://127.0.0.1:$port" "$ak" "$sk"; then rc=0; break; fi
        sleep 1
      done
    else
      echo "peers.sh: $(basename "$script") exited with status $rc$([ "$rc" = 124 ] && echo " (timed out after ${timeout_s}s)")" >&2
      rc=1
    fi
    [ "$rc" = 0 ] && break
    echo "peers.sh: $kind did not answer an authenticated S3 request on 127.0.0.1:$port within ${timeout_s}s (attempt $attempt of $attempts)" >&2
    tail_logs "$dir"
    stop_peer "$kind" "$dir"
    [ "$attempt" = "$attempts" ] && exit 1
    sleep 3
  done
  echo "$kind ready on http://127.0.0.1:$port in $((SECONDS - t0)) s ($dir)"
}

case "${1:-}" in
  start-rgw)
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
      command -v "$b" >/dev/null || die "$b not found: run scripts/install-test-deps.sh"
    done
    script=$(peer_script start_rgw.sh)
    # Keys as the shared script prints them ("S3 users: main AK / SECRET ...").
    ak=0555b35654ad1656d804 sk='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='
    keys=$(sed -n 's/.*S3 users: main \([^ ]*\) \/ \([^ ]*\) .*/\1 \2/p' "$script" | head -n 1)
    if [ -n "$keys" ] && [[ "$keys" != *'$'* ]]; then ak=${keys%% *} sk=${keys#* }; fi
    start_peer rgw "$CEPH_DIR" "$script" "$RGW_PORT" "$ak" "$sk" "$MON_PORT"
    ;;
  stop-rgw)
    stop_peer rgw "$CEPH_DIR"
    echo "rgw stopped"
    ;;
  start-swift)
    for b in swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder memcached curl; do
      command -v "$b" >/dev/null || die "$b not found: run scripts/install-test-deps.sh --with-swift"
    done
    script=$(peer_script start_swift_s3api.sh)
    # The proxy's cache filter expects memcached on 127.0.0.1:11211, which the shared script
    # does not start: start it first, with its pid file in $SWIFT_DIR/run, by which
    # stop_peer finds it (and so does the shared stop_peer.sh).
    ak='test:tester' sk=testing
    wrapper=$(mktemp -t obsgate-swift-start.XXXXXX)
    trap 'rm -f "$wrapper"' EXIT
    cat > "$wrapper" <<EOF
set -e
mkdir -p "\$SWIFT_DIR/run"
memcached -u root -l 127.0.0.1 -p 11211 -d -P "\$SWIFT_DIR/run/memcached.pid"
exec bash "$script"
EOF
    start_peer swift "$SWIFT_DIR" "$wrapper" "$PROXY_PORT" "$ak" "$sk" 6200 6201 6202 11211
    ;;
  stop-swift)
    stop_peer swift "$SWIFT_DIR"
    echo "swift stopped"
    ;;
  *)
    sed -n '2,22p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
