#!/usr/bin/env bash
# Follows deploy/README.md's systemd section on a machine where systemd is not PID 1 (a
# container, CI): installs obsgate as the README says, but into a temporary root, and
# runs the unit's own command lines — read from deploy/systemd/obsgate.service — with the
# unit's environment and the sandbox systemd would set up, in front of the development
# store (`obsgate dev-upstream`) instead of OBS:
#
#   OBSGATE_BIN=.build/debug/obsgate deploy/systemd/run-like-unit.sh
#
# Install (README steps, under $ROOT): the binary to $ROOT/usr/local/bin/obsgate and the Swift
# libraries of the Dockerfile's SWIFT_RUNTIME_LIBS to $ROOT/usr/lib/swift/linux; the user
# from obsgate.sysusers with `systemd-sysusers --root=$ROOT`; deploy/config/* to
# $ROOT/etc/obsgate (root:obsgate 0640), obsgate.env from obsgate.env.example (0600) with
# the development store's key and test client secrets; the LogsDirectory. The edits a
# user makes to obsgate.yaml are made with sed on the shipped file: the endpoint (here
# http://localhost:PORT, the development store, which takes virtual-hosted requests as
# <bucket>.localhost) and its region (us-east-1, the only one the store signs for),
# loopback ports for the listener and the admin listener, and the audit file's path
# (/var/log/obsgate/audit.log → the LogsDirectory under $ROOT).
#
# The unit's settings, emulated without systemd (what the unit says → what runs here):
#   User=/Group=                       setpriv --reuid/--regid of the sysusers account, --clear-groups
#   NoNewPrivileges=yes                setpriv --no-new-privs
#   CapabilityBoundingSet= (empty)     setpriv --bounding-set=-all --inh-caps=-all
#   ProtectSystem=strict               every mount read-only in a private mount namespace,
#                                      except /proc, /sys, /dev, the private /tmp and
#   ReadWritePaths=, LogsDirectory=    … these, bound writable
#   PrivateTmp=yes                     fresh tmpfs on /tmp and /var/tmp
#   ProtectHome=yes                    empty read-only tmpfs on /home, /root, /run/user
#   UMask=, LimitNOFILE=               umask, ulimit -n
#   Environment=, EnvironmentFile=     read as systemd does (KEY=VALUE, # and ; comments)
#   ExecStartPre=, ExecStart=          run verbatim, absolute paths of the install under $ROOT
#   ExecReload=                        run verbatim with $MAINPID (after a policy edit: the
#                                      new policy's SHA-256 must appear in /metrics)
#   KillSignal=SIGTERM, TimeoutStopSec= the gateway must exit 0 within TimeoutStopSec
# Not emulated (no systemd to apply them): SystemCallFilter=, RestrictAddressFamilies=,
# MemoryDenyWriteExecute=, RestrictNamespaces= and the other seccomp/kernel-level settings;
# `systemd-analyze verify` and `systemd-analyze security` check them statically
# (scripts/check-deploy.sh).
#
# Checks: ExecStartPre (--check-config) exits 0; /readyz answers 200; with botocore
# importable, an S3 round trip through the gateway (CreateBucket, PutObject with the
# policy's SSE-KMS and storage-class defaults injected, GetObject, a public-read upload
# refused by the policy); ExecReload swaps the policy and, after the audit file was moved
# away as logrotate does (obsgate.logrotate: rename, nocreate), the gateway writes a new one;
# SIGTERM stops it with exit code 0; `obsgate audit verify audit.log.1 audit.log` finds the
# chain intact across the rotation.
# Needs root (mount namespace, setpriv). KEEP_TEMP=1 keeps the temporary root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
unit="$repo/deploy/systemd/obsgate.service"
PYTHON=${PYTHON:-python3}
bin=${OBSGATE_BIN:-$repo/.build/debug/obsgate}

say() { printf '== %s\n' "$*"; }
die() { printf 'run-like-unit: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (mount namespace, setpriv)"
[ -x "$bin" ] || die "no obsgate binary at $bin (build it, or set OBSGATE_BIN)"
for c in "$PYTHON" unshare setpriv mount systemd-sysusers sed; do command -v "$c" >/dev/null || die "command not found: $c"; done

tmp=$(mktemp -d -t obsgate-run-like-unit.XXXXXX)
ROOT="$tmp/root"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_TEMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ the unit
# [Service] settings as KEY<TAB>VALUE lines (repeated keys kept in order).
"$PYTHON" - "$unit" > "$tmp/unit.tsv" <<'PY'
import sys
section = None
for raw in open(sys.argv[1]):
    line = raw.strip()
    if not line or line[0] in "#;":
        continue
    if line.startswith("["):
        section = line.strip("[]"); continue
    if section == "Service":
        k, v = line.split("=", 1)
        print(f"{k.strip()}\t{v.strip()}")
PY
get() { awk -F'\t' -v k="$1" '$1==k {print $2}' "$tmp/unit.tsv"; }
exec_start=$(get ExecStart); exec_start_pre=$(get ExecStartPre); exec_reload=$(get ExecReload)
env_file=$(get EnvironmentFile); timeout_stop=$(get TimeoutStopSec); umask_value=$(get UMask)
limit_nofile=$(get LimitNOFILE); kill_signal=$(get KillSignal)
rw_paths=$(get ReadWritePaths | tr '\n' ' '); logs_dir=$(get LogsDirectory)
{ [ -n "$exec_start" ] && [ -n "$env_file" ] && [ -n "$timeout_stop" ]; } || die "the unit lacks ExecStart, EnvironmentFile or TimeoutStopSec"
[ "$(get User)" = obsgate ] || die "the unit's User= is not obsgate (update this script and the README)"
for want in "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "CapabilityBoundingSet="; do
  grep -qxF "$(printf '%s\t%s' "${want%%=*}" "${want#*=}")" "$tmp/unit.tsv" || die "the unit no longer says $want (update this script)"
done
[ "${kill_signal:-SIGTERM}" = SIGTERM ] || die "KillSignal=$kill_signal: this script stops with SIGTERM"
timeout_stop=${timeout_stop%s}

# An installed path (/etc/obsgate…, /usr/local/bin/obsgate, /usr/lib/swift/linux, /var/log/obsgate…)
# → under $ROOT.
in_root() { case "$1" in /etc/obsgate*|/usr/local/bin/obsgate*|/var/log/obsgate*|/usr/lib/swift/linux*) echo "$ROOT$1" ;; *) echo "$1" ;; esac; }
# A unit command line → one argument per line, installed paths under $ROOT, $MAINPID replaced.
argv_of() {
  "$PYTHON" -c '
import shlex, sys
line, mainpid = sys.argv[1], sys.argv[2]
line = line.lstrip("-@:+!")
for word in shlex.split(line):
    print(word.replace("$MAINPID", mainpid).replace("${MAINPID}", mainpid))' "$1" "${2:-}" |
  while IFS= read -r w; do in_root "$w"; done
}

# ------------------------------------------------------------------ install (README steps)
say "install into $ROOT (README: VMs with systemd)"
install -D -m 0755 "$bin" "$ROOT/usr/local/bin/obsgate"
# The Swift runtime libraries: the Dockerfile's list (SWIFT_RUNTIME_LIBS), from this toolchain.
swift_libs=$(sed -n 's/^ARG SWIFT_RUNTIME_LIBS="\(.*\)"$/\1/p' "$repo/deploy/docker/Dockerfile")
[ -n "$swift_libs" ] || die "no ARG SWIFT_RUNTIME_LIBS line in deploy/docker/Dockerfile"
toolchain_lib_dir="$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift/linux"
install -d "$ROOT/usr/lib/swift/linux"
for lib in $swift_libs; do install -m 0644 "$toolchain_lib_dir/$lib" "$ROOT/usr/lib/swift/linux/"; done
echo "   /usr/local/bin/obsgate, /usr/lib/swift/linux ($(wc -w <<< "$swift_libs") libraries of the Dockerfile's list)"
mkdir -p "$ROOT/etc"
systemd-sysusers --root="$ROOT" "$repo/deploy/systemd/obsgate.sysusers" 2>&1 | sed 's/^/   /'
uid=$(awk -F: '$1=="obsgate" {print $3}' "$ROOT/etc/passwd"); gid=$(awk -F: '$1=="obsgate" {print $3}' "$ROOT/etc/group")
{ [ -n "$uid" ] && [ -n "$gid" ]; } || die "systemd-sysusers created no obsgate user/group"
echo "   user obsgate: uid $uid, gid $gid (in $ROOT/etc/passwd)"
install -d -m 0750 -o root -g "$gid" "$ROOT/etc/obsgate"
for f in obsgate.yaml clients.yaml policy.yaml; do
  install -m 0640 -o root -g "$gid" "$repo/deploy/config/$f" "$ROOT/etc/obsgate/$f"
done
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); s3_port=$(free_port); admin_port=$(free_port)
while [ "$s3_port" = "$up_port" ] || [ "$admin_port" = "$up_port" ] || [ "$admin_port" = "$s3_port" ]; do
  s3_port=$(free_port); admin_port=$(free_port)
done
# The user's edits of obsgate.yaml: endpoint, listener and admin addresses.
conf="$ROOT/etc/obsgate/obsgate.yaml"
edit() {
  grep -qF -- "$1" "$conf" || die "deploy/config/obsgate.yaml no longer contains '$1' (update this script)"
  sed -i "s#$1#$2#" "$conf"; echo "   edited obsgate.yaml: $1 → $2"
}
edit "endpoint: https://obs.cn-north-4.myhuaweicloud.com" "endpoint: http://localhost:$up_port"
edit "  region: cn-north-4" "  region: us-east-1"     # the development store's region (clients keep cn-north-4)
edit "address: 0.0.0.0:9000" "address: 127.0.0.1:$s3_port"
edit "address: 127.0.0.1:9001" "address: 127.0.0.1:$admin_port"
edit "path: /var/log/obsgate/audit.log" "path: $ROOT/var/log/obsgate/audit.log"
audit_dir="$ROOT/var/log/obsgate"
env_path=$(in_root "$env_file")
install -D -m 0600 -o root -g root "$repo/deploy/systemd/obsgate.env.example" "$env_path"
sed -i -e "s#^OBSGATE_UPSTREAM_ACCESS_KEY=.*#OBSGATE_UPSTREAM_ACCESS_KEY=DEVUPSTREAMKEY#" \
       -e "s#^OBSGATE_UPSTREAM_SECRET_KEY=.*#OBSGATE_UPSTREAM_SECRET_KEY=dev-upstream-secret#" \
       -e "s#^OBSGATE_CLIENT_APP_SECRET=.*#OBSGATE_CLIENT_APP_SECRET=app-secret-for-the-test#" \
       -e "s#^OBSGATE_CLIENT_BACKUP_SECRET=.*#OBSGATE_CLIENT_BACKUP_SECRET=backup-secret-for-the-test#" \
       -e "s#^OBSGATE_UPLOAD_KEY_1=.*#OBSGATE_UPLOAD_KEY_1=binding-key-for-the-deployment-test-0123456789#" "$env_path"
! grep -q 'CHANGE-ME' "$env_path" || die "obsgate.env.example has a variable this script does not fill: $(grep CHANGE-ME "$env_path")"
echo "   $env_file from obsgate.env.example (0600, test values)"
if [ -n "$logs_dir" ]; then
  install -d -m "$(get LogsDirectoryMode || echo 0755)" -o "$uid" -g "$gid" "$ROOT/var/log/$logs_dir"
  echo "   LogsDirectory: /var/log/$logs_dir (owned by obsgate)"
fi

# The unit's environment: systemd's own variables for a User= service, then EnvironmentFile.
unit_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin USER=obsgate LOGNAME=obsgate
          HOME=/ SHELL=/usr/sbin/nologin)
[ -n "$logs_dir" ] && unit_env+=("LOGS_DIRECTORY=/var/log/$logs_dir")
# Environment= lines (installed paths in their values under $ROOT).
while IFS= read -r kv; do
  [ -n "$kv" ] || continue
  unit_env+=("${kv%%=*}=$(in_root "${kv#*=}")")
done < <(get Environment | "$PYTHON" -c 'import shlex,sys; [print(w) for l in sys.stdin for w in shlex.split(l)]')
while IFS= read -r kv; do unit_env+=("$kv"); done < <("$PYTHON" - "$env_path" <<'PY'
import shlex, sys
for raw in open(sys.argv[1]):
    line = raw.strip()
    if not line or line[0] in "#;":
        continue
    k, v = line.split("=", 1)
    v = v.strip()
    if v[:1] in "\"'":
        v = shlex.split(v)[0]
    print(f"{k.strip()}={v}")
PY
)

writable=()
for p in $rw_paths; do writable+=("$(in_root "$p")"); done
[ -n "$logs_dir" ] && writable+=("$ROOT/var/log/$logs_dir")

# unit_exec CMD...: CMD in the unit's sandbox; exec all the way, so that when started in
# the background $! is the process itself (systemd's MAINPID).
unit_exec() {
  exec env -i "${unit_env[@]}" unshare --mount -- "$(command -v bash)" -c '
    set -e
    root=$1 uid=$2 gid=$3 um=$4 nofile=$5 nrw=$6; shift 6
    rw=("${@:1:nrw}"); shift "$nrw"
    mount --make-rprivate /
    # PrivateTmp=yes: new /tmp and /var/tmp. $root lives in /tmp: keep it through an fd.
    exec 9<"$root"
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    [ -d /var/tmp ] && mount -t tmpfs -o mode=1777 tmpfs /var/tmp
    mkdir -p "$root"
    mount --no-canonicalize --bind "/proc/$$/fd/9" "$root"
    exec 9<&-
    # ReadWritePaths= / LogsDirectory=: their own mounts, left writable below.
    for p in "${rw[@]}"; do mount --bind "$p" "$p"; done
    # ProtectHome=yes
    for h in /home /root /run/user; do [ -d "$h" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$h"; done
    # ProtectSystem=strict: every other mount read-only.
    while read -r _ _ _ _ mp _; do
      case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/tmp|/var/tmp) continue ;; esac
      skip=0; for p in "${rw[@]}"; do [ "$mp" = "$p" ] && skip=1; done
      [ "$skip" = 1 ] || mount -o remount,bind,ro "$mp" 2>/dev/null || true
    done < /proc/self/mountinfo
    umask "$um"
    # LimitNOFILE=: as much of it as the hard limit here allows (systemd, as PID 1, could raise it).
    hard=$(ulimit -Hn); [ "$hard" = unlimited ] || [ "$nofile" -le "$hard" ] || nofile=$hard
    ulimit -n "$nofile"
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
      --inh-caps=-all --bounding-set=-all -- "$@"
  ' _ "$ROOT" "$uid" "$gid" "${umask_value:-0022}" "${limit_nofile:-1024}" "${#writable[@]}" "${writable[@]}" "$@"
}

# ------------------------------------------------------------------ start
say "obsgate dev-upstream on 127.0.0.1:$up_port (stands in for OBS)"
OBSGATE_DEV_UPSTREAM_SECRET=dev-upstream-secret "$bin" dev-upstream --port "$up_port" \
  --access-key DEVUPSTREAMKEY --secret-env OBSGATE_DEV_UPSTREAM_SECRET > "$tmp/dev-upstream.log" 2>&1 &
pids+=($!)

if [ -n "$exec_start_pre" ]; then
  mapfile -t pre < <(argv_of "$exec_start_pre")
  say "ExecStartPre: ${pre[*]}"
  ( unit_exec "${pre[@]}" ) > "$tmp/pre.log" 2>&1 || { sed 's/^/   | /' "$tmp/pre.log" >&2; die "ExecStartPre failed"; }
  sed 's/^/   | /' "$tmp/pre.log"
fi
mapfile -t start < <(argv_of "$exec_start")
say "ExecStart: ${start[*]}"
unit_exec "${start[@]}" > "$tmp/gateway.log" 2>&1 &
mainpid=$!
pids+=("$mainpid")
# shellcheck source=deploy/readiness.sh
source "$repo/deploy/readiness.sh"
ready=$(wait_ready "$mainpid" "$admin_port" "ExecStart" "$tmp/gateway.log")
echo "   GET http://127.0.0.1:$admin_port/readyz → $ready"
echo "   process $mainpid: uid:gid $(awk '/^Uid:/ {print $2}' /proc/$mainpid/status):$(awk '/^Gid:/ {print $2}' /proc/$mainpid/status) (obsgate), NoNewPrivs=$(awk '/^NoNewPrivs:/ {print $2}' /proc/$mainpid/status), CapEff=$(awk '/^CapEff:/ {print $2}' /proc/$mainpid/status), CapBnd=$(awk '/^CapBnd:/ {print $2}' /proc/$mainpid/status)"
[ "$(awk '/^Uid:/ {print $2}' /proc/$mainpid/status)" = "$uid" ] || die "the gateway does not run as the obsgate user"
# Environment=LD_LIBRARY_PATH: the Swift runtime comes from the installed libraries.
core=$(awk '/libswiftCore\.so/ {print $6; exit}' "/proc/$mainpid/maps")
[[ "$core" == "$ROOT/usr/lib/swift/linux/"* ]] || die "libswiftCore.so is loaded from $core, not from /usr/lib/swift/linux"
echo "   libswiftCore.so loaded from /usr/lib/swift/linux (Environment=LD_LIBRARY_PATH)"

# ------------------------------------------------------------------ S3 through it
if "$PYTHON" -c 'import botocore' 2>/dev/null; then
  say "S3 round trip through the gateway (botocore, client key of deploy/config/clients.yaml)"
  "$PYTHON" - "$s3_port" <<'PY' || { sed 's/^/   | /' "$tmp/gateway.log" | tail -n 5 >&2; die "S3 round trip through the gateway (its log above)"; }
import sys, uuid
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
port = sys.argv[1]
def fail(what, e):
    hint = ""
    if "closed before" in str(e):
        hint = (" — the gateway accepted the connection and closed it without an answer; as an"
                " unprivileged user that is typically a socket option it may not set (see its log,"
                " or strace -f -e trace=setsockopt)")
    sys.exit(f"   {what}: {e}{hint}")
s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="cn-north-4",
    aws_access_key_id="GWAPP00000000000001", aws_secret_access_key="app-secret-for-the-test",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
# Buckets are the ops group's (the policy's access rule ops-manage-buckets): the backup key
# creates it; the app key gets 403 for that.
ops = botocore.session.get_session().create_client(
    "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="cn-north-4",
    aws_access_key_id="GWBACKUP000000000001", aws_secret_access_key="backup-secret-for-the-test",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
bucket = "unit-" + uuid.uuid4().hex[:8]
try:
    s3.create_bucket(Bucket=bucket)
    sys.exit("the app key created a bucket")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response["Error"]
try:
    ops.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from run-like-unit\n")
    head = s3.head_object(Bucket=bucket, Key="hello.txt")
except (BotoCoreError, ClientError) as e:
    fail("CreateBucket/PutObject/HeadObject", e)
assert head.get("ServerSideEncryption") == "aws:kms", head
assert head.get("SSEKMSKeyId", "").startswith("cn-north-4:"), head
body = s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read()
assert body == b"hello from run-like-unit\n", body
print(f"   CreateBucket (ops; 403 for app), PutObject, HeadObject (SSE-KMS {head['SSEKMSKeyId']} injected by the policy), GetObject: ok")
try:
    s3.put_object(Bucket=bucket, Key="public.txt", Body=b"x", ACL="public-read")
    sys.exit("a public-read upload was accepted")
except BotoCoreError as e:
    fail("PutObject with public-read", e)
except ClientError as e:
    err = e.response["Error"]
    assert err["Code"] == "AccessDenied" and "no-public-acls" in err.get("Message", ""), err
    print(f"   PutObject with public-read: 403 {err['Code']}: {err['Message']}")
PY
else
  say "S3 round trip skipped: botocore is not installed (scripts/install-test-deps.sh installs it)"
fi

# ------------------------------------------------------------------ reload
if [ -n "$exec_reload" ]; then
  say "ExecReload after a policy change"
  policy="$ROOT/etc/obsgate/policy.yaml"
  printf '\n# edited by run-like-unit.sh\n' >> "$policy"
  want=$(sha256sum "$policy" | cut -d' ' -f1)
  # logrotate's part of obsgate.logrotate first: rename the audit file, create none.
  if [ -f "$audit_dir/audit.log" ]; then
    mv "$audit_dir/audit.log" "$audit_dir/audit.log.1"
    echo "   logrotate: /var/log/obsgate/audit.log → audit.log.1 (nocreate)"
  fi
  mapfile -t reload < <(argv_of "$exec_reload" "$mainpid")
  echo "   ${reload[*]}"
  "${reload[@]}" || die "ExecReload failed"
  seen=""
  for _ in $(seq 1 50); do
    seen=$(http_get "$admin_port" /metrics)
    [[ "$seen" == *"obsgate_policy_info{version=\"$want\"} 1"* ]] && break
    sleep 0.1
  done
  [[ "$seen" == *"obsgate_policy_info{version=\"$want\"} 1"* ]] || die "/metrics does not show the new policy $want: $seen"
  [[ "$seen" == *"obsgate_reload_failures_total 0"* ]] || die "a reload failed: $seen"
  echo "   /metrics: obsgate_policy_info{version=\"${want:0:16}…\"} 1, obsgate_reload_failures_total 0"
  # One more request after the reload, so that its record lands in the reopened file.
  refused=$(http_get "$s3_port" /some-bucket/after-reload)
  [[ "$refused" == 403* ]] || die "an unsigned GET after the reload was not answered 403: $refused"
fi

# ------------------------------------------------------------------ stop
say "systemctl stop: SIGTERM, TimeoutStopSec=${timeout_stop}s"
start_stop=$SECONDS
kill -TERM "$mainpid"
rc=""
for _ in $(seq 1 $((timeout_stop * 10))); do
  if ! kill -0 "$mainpid" 2>/dev/null; then rc=0; wait "$mainpid" || rc=$?; break; fi
  sleep 0.1
done
[ -n "$rc" ] || die "the gateway did not stop within TimeoutStopSec=${timeout_stop}s"
unset "pids[${#pids[@]}-1]"
[ "$rc" = 0 ] || { sed 's/^/   | /' "$tmp/gateway.log" >&2; die "the gateway exited with $rc after SIGTERM"; }
echo "   exited 0 after $((SECONDS - start_stop)) s"
! grep -qi 'read-only file system\|permission denied' "$tmp/gateway.log" || die "the gateway hit the sandbox: $(grep -i 'read-only\|permission denied' "$tmp/gateway.log")"
# ------------------------------------------------------------------ the audit trail
say "the audit trail in /var/log/obsgate (deploy/config/obsgate.yaml's file sink)"
[ -f "$audit_dir/audit.log" ] || die "no /var/log/obsgate/audit.log after the gateway ran: $(ls -la "$audit_dir")"
[ "$(stat -c %u "$audit_dir/audit.log")" = "$uid" ] || die "audit.log is not owned by the obsgate user"
audit_files=()
[ -f "$audit_dir/audit.log.1" ] && audit_files+=("$audit_dir/audit.log.1")
audit_files+=("$audit_dir/audit.log")
"$bin" audit verify "${audit_files[@]}" > "$tmp/verify.log" 2>&1 \
  || { sed 's/^/   | /' "$tmp/verify.log" >&2; die "obsgate audit verify ${audit_files[*]#"$ROOT"}"; }
sed -e "s#$ROOT##g" -e 's/^/   /' "$tmp/verify.log"
records=$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "records,") n += $i} END {print n + 0}' "$tmp/verify.log")
[ "$records" -gt 0 ] || die "the audit files hold no record after the requests made here"
echo "   $records records, chain intact across the rotation"
echo "   the gateway's log (stderr, the journal under systemd):"
sed 's/^/   | /' "$tmp/gateway.log" | tail -n 8
say "run-like-unit: ok"
