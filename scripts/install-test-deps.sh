#!/usr/bin/env bash
# Installs everything the test suite needs on a Debian machine (run as root; apt + PyPI only):
#   - Debian packages: the Ceph radosgw peer (radosgw ceph-mon ceph-osd), the clients
#     (curl s3cmd rclone), nginx and wrk for benchmarks, zlib headers, prometheus (the
#     server and promtool, for scripts/observability-test.py), chromium (the headless
#     browser of Tests/GatewayTests/Clients/browser_scenarios.py);
#   - the pinned Python packages of scripts/requirements-test.txt (boto3, awscli, the OBS
#     SDK, moto[server] -- the moto S3 server the bucket-configuration tests run against,
#     opentelemetry-proto -- to read the spans the tracing test receives over OTLP/HTTP,
#     matplotlib -- the plot of bench/soak.sh).
# Idempotent: a second run only inspects (dpkg-query, importlib.metadata) and takes ~1 s.
# Quiet unless something fails; on failure it names the step and prints the tail of its log.
#
# Options / environment:
#   --with-swift        also install OpenStack Swift (swift-proxy/-account/-container/-object,
#                       memcached) for `scripts/peers.sh start-swift`  (or OBSGATE_WITH_SWIFT=1)
#   PYTHON=...          interpreter whose site-packages get the Python packages (default python3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/requirements-test.txt"
PYTHON=${PYTHON:-python3}
with_swift=${OBSGATE_WITH_SWIFT:-0}
for arg in "$@"; do
  case "$arg" in
    --with-swift) with_swift=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install-test-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log=$(mktemp -t install-test-deps.XXXXXX)
policy_rc_created=0
cleanup() {
  rm -f "$log"
  if [ "$policy_rc_created" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

die() { echo "install-test-deps: FAILED: $*" >&2; exit 1; }

# run DESCRIPTION CMD...: runs CMD with its output in $log; on failure names DESCRIPTION
# and shows the last lines of what CMD printed.
run() {
  local what=$1; shift
  if ! "$@" >"$log" 2>&1; then
    echo "install-test-deps: FAILED: $what" >&2
    echo "  command: $*" >&2
    echo "  last lines of its output:" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- Debian packages
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null \
  || die "apt-get/dpkg-query not found: this script needs a Debian-based machine"
[ "$(id -u)" = 0 ] || die "must run as root (apt-get install)"

apt_pkgs=(radosgw ceph-mon ceph-osd curl s3cmd rclone nginx wrk prometheus chromium)
[ -e /usr/include/zlib.h ] || apt_pkgs+=(zlib1g-dev)
[ "$with_swift" = 1 ] && apt_pkgs+=(swift-proxy swift-account swift-container swift-object memcached)
command -v "$PYTHON" >/dev/null || { [ "$PYTHON" = python3 ] && apt_pkgs+=(python3) \
  || die "interpreter PYTHON=$PYTHON not found"; }
if command -v "$PYTHON" >/dev/null && ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  apt_pkgs+=(python3-pip)
fi

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
missing=()
for p in "${apt_pkgs[@]}"; do installed "$p" || missing+=("$p"); done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Without an init system there is nothing to start packages' services (nginx would bind :80);
  # keep postinst scripts from trying, as Debian's container images do.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    policy_rc_created=1
  fi
  run "apt-get update" apt-get update -q
  unknown=()
  for p in "${missing[@]}"; do
    [[ "$(apt-cache policy "$p" 2>/dev/null)" == *"Candidate: "[!\(]* ]] || unknown+=("$p")
  done
  [ "${#unknown[@]}" -eq 0 ] || die "not in this machine's apt sources: ${unknown[*]}"
  run "apt-get install ${missing[*]}" apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}"
  for p in "${missing[@]}"; do installed "$p" || die "apt package $p still not installed after apt-get install"; done
fi
for b in radosgw ceph-mon ceph-osd ceph radosgw-admin ceph-authtool monmaptool curl s3cmd rclone nginx wrk prometheus promtool chromium; do
  command -v "$b" >/dev/null || die "command $b not found although its package is installed"
done

# ---------------------------------------------------------------- Python packages
[ -f "$req" ] || die "missing $req"
# Prints the requirement lines (name==version) that are not satisfied or whose module
# does not import; nothing when all are there.
pycheck='
import importlib, importlib.metadata as md, re, sys
mods = {"esdk-obs-python": "obs", "awscrt": "awscrt", "botocore": "botocore",
        "moto": "moto.server",  # moto[server]: the server needs its extras (flask)
        "opentelemetry-proto": "opentelemetry.proto.collector.trace.v1.trace_service_pb2"}
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line: continue
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[A-Za-z0-9_,\-]+\])?\s*==\s*([^\s;]+)", line)
    if not m:
        print(line); continue
    name, want = m.groups()
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        print(line); continue
    if have != want:
        print(line); continue
    try:
        importlib.import_module(mods.get(name.lower(), name.replace("-", "_")))
    except Exception:
        print(line)
'
stale=$("$PYTHON" -c "$pycheck" "$req") || die "$PYTHON could not check $req"
if [ -n "$stale" ]; then
  pipflags=(--quiet --disable-pip-version-check --no-input --root-user-action=ignore)
  # Debian's own python3 is marked externally managed (PEP 668); pyenv/venv interpreters are not.
  if "$PYTHON" -c 'import os,sys,sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED")) and sys.prefix == sys.base_prefix else 1)'; then
    pipflags+=(--break-system-packages)
  fi
  run "pip install -r $req (needed: $(echo $stale))" "$PYTHON" -m pip install "${pipflags[@]}" -r "$req"
  stale=$("$PYTHON" -c "$pycheck" "$req") || die "$PYTHON could not check $req"
  [ -z "$stale" ] || die "still missing or not importable after pip install: $(echo $stale)"
fi

# ---------------------------------------------------------------- summary
v() { dpkg-query -W -f='${Version}' "$1" | sed -E 's/^[0-9]+://; s/[-+~](ds|dfsg|deb).*$//; s/-[^-]*$//'; }
pv() { "$PYTHON" -c 'import importlib.metadata as m,sys; print(m.version(sys.argv[1]))' "$1"; }
line="test dependencies ready: radosgw $(v radosgw), s3cmd $(v s3cmd), rclone $(v rclone), nginx $(v nginx), wrk $(v wrk), prometheus $(v prometheus), chromium $(v chromium)"
[ "$with_swift" = 1 ] && line+=", swift $(v swift-proxy)"
line+=", botocore $(pv botocore), esdk-obs-python $(pv esdk-obs-python), awscrt $(pv awscrt), moto $(pv moto)"
echo "$line"
