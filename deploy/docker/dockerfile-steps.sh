#!/usr/bin/env bash
# Replays deploy/docker/Dockerfile without a Docker engine, so that a broken step or a
# wrong library list is caught on a machine (or CI) where `docker build` cannot run.
#
#   deploy/docker/dockerfile-steps.sh                       # runs the real `swift build -c release` (~10 min on 2 cores)
#   OBSGATE_BINARY=.build/debug/obsgate deploy/docker/dockerfile-steps.sh   # reuses a built binary (~1 min)
#
# What it does, in a fresh temporary directory:
#  1. Build stage: runs the stage's instructions as written — COPY from the repository,
#     ARG values, and every RUN command verbatim with `sh -c` in the stage's WORKDIR (so
#     `swift package resolve`, the release build and the runtime-layout RUN are the
#     Dockerfile's own commands). With OBSGATE_BINARY set, the `swift build` RUN is skipped
#     and that binary is put where the build would have left it (.build/release/obsgate).
#  2. Runtime stage, assembled into a temporary root filesystem: the apt-get RUN is
#     emulated by downloading the same Debian packages ($RUNTIME_PACKAGES and
#     $RUNTIME_DATA_PACKAGES, read from the Dockerfile's ARG lines) with `apt-get download`
#     and unpacking them (`dpkg-deb -x`); its groupadd/useradd by writing /etc/passwd and
#     /etc/group, its `install -d` in the root; COPY --from=build copies what step 1
#     produced (with --chown);
#     ENV, WORKDIR and USER are applied; exec-form RUNs run inside the root (chroot).
#  3. Libraries: `ldd` of the binary must list exactly the Swift libraries of
#     SWIFT_RUNTIME_LIBS (those it resolves from the toolchain's usr/lib/swift/linux) and
#     exactly the Debian packages of RUNTIME_PACKAGES (the packages owning every other
#     library, by `dpkg -S`): nothing missing, nothing unneeded. Then the binary's
#     libraries must all resolve inside the assembled root, with LD_LIBRARY_PATH as the
#     image's ENV sets it, and nothing else: once with `ldd` from outside, once with the
#     root's own loader inside a chroot that holds only the listed packages.
#  4. The container: ENTRYPOINT + CMD run inside the root as the image's USER, in a private
#     mount namespace that makes the root read-only (docker run --read-only), with tmpfs
#     on /tmp and /var/log/obsgate and the configuration mounted read-only at /etc/obsgate,
#     in front of `obsgate dev-upstream` on loopback; the Dockerfile's HEALTHCHECK command
#     must succeed, /readyz must answer 200, the S3 port must answer an unsigned request
#     with the gateway's 403 AccessDenied, /metrics must carry the mounted policy's
#     SHA-256, and SIGTERM must stop it with exit code 0.
#
# A debug binary (OBSGATE_BINARY=.build/debug/obsgate, which CI has already built) links
# one library a release build does not, libswiftSwiftOnoneSupport.so: it is added to the
# layout and left out of the comparison, and the script says so. Every other library must
# match. The image itself always builds -c release.
#
# Needs: root (chroot, mount namespace, apt-get download), a Debian host of the runtime
# image's release (bookworm), the Swift toolchain of the build image's version, python3.
# Environment: OBSGATE_BINARY (see above); OBSGATE_DOCKERFILE another Dockerfile to replay
# (the script's own tests); KEEP_TEMP=1 keeps the temporary directory.
# Exit code 0 when every step and check passed; non-zero, naming the step, otherwise.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dockerfile=${OBSGATE_DOCKERFILE:-"$repo/deploy/docker/Dockerfile"}
PYTHON=${PYTHON:-python3}

say() { printf '== %s\n' "$*"; }
die() { printf 'dockerfile-steps: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (chroot, unshare --mount, apt-get download)"
for c in "$PYTHON" swift swiftc ldd readelf dpkg dpkg-deb apt-get apt-cache chroot unshare mount; do
  command -v "$c" >/dev/null || die "command not found: $c"
done
[ -f "$dockerfile" ] || die "missing $dockerfile"

tmp=$(mktemp -d -t obsgate-dockerfile-steps.XXXXXX)
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

# ------------------------------------------------------------------ parse the Dockerfile
# Writes $tmp/plan/<stage>.tsv: one instruction per line, "OP<TAB>base64(arguments)", and
# $tmp/plan/stages: "<name> <image>" per stage. A line continuation (backslash-newline) is
# removed and the lines joined, and comment lines (also inside a continued instruction)
# are dropped, as Docker does.
mkdir -p "$tmp/plan"
"$PYTHON" - "$dockerfile" "$tmp/plan" <<'PY'
import base64, re, sys
path, out = sys.argv[1], sys.argv[2]
instructions, current = [], None
for raw in open(path, encoding="utf-8"):
    line = raw.rstrip("\n")
    if re.match(r"^\s*#", line) or (current is None and not line.strip()):
        continue
    text = line.rstrip()
    cont = text.endswith("\\")
    if cont:
        text = text[:-1]
    current = text if current is None else current + text
    if not cont:
        instructions.append(current)
        current = None
if current is not None:
    sys.exit(f"{path}: the last instruction ends with a line continuation")
stages, files = [], {}
for ins in instructions:
    m = re.match(r"\s*([A-Za-z]+)\s*(.*)", ins, re.S)
    op, args = m.group(1).upper(), m.group(2).strip()
    if op == "FROM":
        f = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", args, re.I)
        if not f:
            sys.exit(f"{path}: cannot read FROM {args}")
        name = f.group(2) or str(len(stages))
        stages.append((name, f.group(1)))
        files[name] = []
        continue
    if not stages:
        continue            # global ARGs before the first FROM: none are used
    files[stages[-1][0]].append((op, args))
with open(f"{out}/stages", "w") as fh:
    for name, image in stages:
        fh.write(f"{name} {image}\n")
for name, rows in files.items():
    with open(f"{out}/{name}.tsv", "w") as fh:
        for op, args in rows:
            fh.write(op + "\t" + base64.b64encode(args.encode()).decode() + "\n")
PY
read -r build_stage build_image < <(sed -n 1p "$tmp/plan/stages")
read -r runtime_stage runtime_image < <(sed -n 2p "$tmp/plan/stages")
[ "$(wc -l < "$tmp/plan/stages")" = 2 ] || die "expected two stages (build, runtime) in the Dockerfile"
say "Dockerfile: stage '$build_stage' FROM $build_image, stage '$runtime_stage' FROM $runtime_image"

# The host stands in for both images: it must be their Debian release and Swift version.
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ "$runtime_image" == *"$codename"* && "$build_image" == *"-$codename"* ]] \
  || die "this host is Debian '$codename', the Dockerfile's images are $build_image / $runtime_image: the apt packages and libraries would not be the image's"
swift_tag=${build_image#*:}; swift_tag=${swift_tag%%-*}
swift_version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -1)
[ "$swift_version" = "$swift_tag" ] \
  || die "host Swift is $swift_version, the build image is $build_image: the runtime libraries could differ"

# ARG NAME="value" → the value (shell-unquoted).
arg_value() { "$PYTHON" -c 'import shlex,sys; n,v=sys.argv[1].split("=",1); print(shlex.split(v)[0] if v else "")' "$1"; }
# Expands $NAME / ${NAME} from the stage's ARG/ENV values (exported variables).
expand() { "$PYTHON" -c 'import os,sys; print(os.path.expandvars(sys.argv[1]))' "$1"; }

# ------------------------------------------------------------------ 1. build stage
say "1. build stage, replayed in $tmp/build-root"
build_root="$tmp/build-root"
mkdir -p "$build_root"
workdir=/
swift_runtime_libs=""
ran_swift_build=0
while IFS=$'\t' read -r op b64; do
  args=$(printf '%s' "$b64" | base64 -d)
  case "$op" in
    WORKDIR)
      [[ "$args" == /* ]] || die "build stage: WORKDIR $args is not absolute"
      workdir=$args; mkdir -p "$build_root$workdir" ;;
    ARG)
      name=${args%%=*}
      value=$(arg_value "$args")
      export "$name=$value"
      [ "$name" = SWIFT_RUNTIME_LIBS ] && swift_runtime_libs=$value
      echo "   ARG $name" ;;
    ENV)
      "$PYTHON" -c 'import shlex,sys; [print(t) for t in shlex.split(sys.argv[1])]' "$args" > "$tmp/env.tmp"
      while IFS= read -r kv; do export "${kv?}"; done < "$tmp/env.tmp" ;;
    COPY)
      read -r -a words <<< "$args"
      [[ "${words[0]}" != --* ]] || die "build stage: COPY flags are not replayed: COPY $args"
      dest=${words[-1]}
      [[ "$dest" == /* ]] || dest="$workdir/$dest"
      for src in "${words[@]:0:${#words[@]}-1}"; do
        [ -e "$repo/$src" ] || die "build stage: COPY $src: not in the repository"
        if [ -d "$repo/$src" ]; then
          mkdir -p "$build_root$dest"
          (cd "$repo/$src" && tar --exclude=__pycache__ -cf - .) | (cd "$build_root$dest" && tar -xf -)
        else
          mkdir -p "$(dirname "$build_root$dest/x")"
          cp -a "$repo/$src" "$build_root$dest/"
        fi
      done
      echo "   COPY $args" ;;
    RUN)
      [[ "$args" != \[* ]] || die "build stage: exec-form RUN is not replayed: $args"
      if [[ "$args" =~ ^swift[[:space:]]+build([[:space:]]|$) ]] && [ -n "${OBSGATE_BINARY:-}" ]; then
        [ -x "$OBSGATE_BINARY" ] || die "OBSGATE_BINARY=$OBSGATE_BINARY is not an executable file"
        echo "   RUN $args   -- skipped: OBSGATE_BINARY=$OBSGATE_BINARY is put at .build/release/obsgate"
        mkdir -p "$build_root$workdir/.build/release"
        cp "$OBSGATE_BINARY" "$build_root$workdir/.build/release/obsgate"
        continue
      fi
      [[ "$args" =~ ^swift[[:space:]]+build([[:space:]]|$) ]] && ran_swift_build=1
      short=$(printf '%s' "$args" | tr -s ' ')
      [ "${#short}" -le 90 ] || short="${short:0:87}..."
      echo "   RUN $short"
      log="$tmp/run.log"
      start=$SECONDS
      # TMPDIR inside the temporary directory: SwiftPM leaves lock files there.
      mkdir -p "$tmp/tmpdir"
      if ! (cd "$build_root$workdir" && TMPDIR="$tmp/tmpdir" sh -c "$args") >"$log" 2>&1; then
        tail -n 40 "$log" | sed 's/^/   | /' >&2
        die "build stage: RUN failed: $args"
      fi
      echo "     ok ($((SECONDS - start)) s)" ;;
    *) die "build stage: instruction $op is not replayed by this script (update it)" ;;
  esac
done < "$tmp/plan/$build_stage.tsv"
[ -n "$swift_runtime_libs" ] || die "the build stage has no ARG SWIFT_RUNTIME_LIBS"
[ -n "${OBSGATE_BINARY:-}" ] || [ "$ran_swift_build" = 1 ] || die "the build stage has no 'RUN swift build'"
build_workdir=$workdir

# ------------------------------------------------------------------ 2. runtime stage
say "2. runtime stage, assembled in $tmp/rootfs"
root="$tmp/rootfs"
mkdir -p "$root" "$tmp/debs"
# Variables of the build stage must not leak into the runtime stage.
for v in $(sed -n 's/^ARG\t//p' "$tmp/plan/$build_stage.tsv" | while read -r b; do printf '%s' "$b" | base64 -d | cut -d= -f1; echo; done); do unset "$v"; done
runtime_packages=""; runtime_data_packages=""
image_env=(); user=""; container_workdir=/; healthcheck=""; entrypoint=""; cmd=""
toolchain_lib_dir="$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift/linux"
debug_only=()
# A debug (-Onone) binary also needs libswiftSwiftOnoneSupport.so, which no release build
# links: it goes into the layout's LD_LIBRARY_PATH directory (once that ENV is known) and is
# left out of the comparison with the Dockerfile's list.
add_debug_libs() {
  local b="$root/usr/local/bin/obsgate" dir=""
  [ "${#debug_only[@]}" = 0 ] && [ -x "$b" ] || return 0
  readelf -d "$b" | grep -q 'NEEDED.*\[libswiftSwiftOnoneSupport\.so\]' || return 0
  for kv in "${image_env[@]}"; do [[ "$kv" == LD_LIBRARY_PATH=* ]] && dir=${kv#LD_LIBRARY_PATH=}; done
  [ -n "$dir" ] || return 0
  debug_only=(libswiftSwiftOnoneSupport.so)
  install -m 0644 "$toolchain_lib_dir/libswiftSwiftOnoneSupport.so" "$root$dir/"
  echo "   note: a debug (-Onone) binary: libswiftSwiftOnoneSupport.so added to $dir and left out of"
  echo "         the library comparison (the image's release build does not link it)"
}
# Runs an exec-form command (JSON array) inside the root with the image's ENV, as the
# image's USER once USER has been seen (as root before, like a RUN above USER), in a private
# mount namespace with /proc (the Swift runtime reads its arguments from /proc/self).
run_in_root() {
  local -a argv ids=()
  mapfile -t argv < <("$PYTHON" -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])]' "$1")
  [ -n "$user" ] && ids=(--setgid="${user#*:}" --setuid="${user%:*}")
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${image_env[@]}" \
    unshare --mount -- "$(command -v bash)" -c 'mount -t proc proc "$1/proc" && exec unshare --root="$1" --wd=/ "${@:2}"' _ \
    "$root" "${ids[@]}" "${argv[@]}"
}
while IFS=$'\t' read -r op b64; do
  args=$(printf '%s' "$b64" | base64 -d)
  case "$op" in
    ARG)
      name=${args%%=*}; value=$(arg_value "$args"); export "$name=$value"
      case "$name" in
        RUNTIME_PACKAGES) runtime_packages=$value ;;
        RUNTIME_DATA_PACKAGES) runtime_data_packages=$value ;;
      esac
      echo "   ARG $name=$value" ;;
    SHELL) ;;
    RUN)
      if [[ "$args" == \[* ]]; then
        add_debug_libs
        echo "   RUN $args   (in the root)"
        mkdir -p "$root/proc"
        if ! run_in_root "$args" > "$tmp/run.log" 2>&1; then
          sed 's/^/   | /' "$tmp/run.log" >&2
          grep -q 'error while loading shared libraries' "$tmp/run.log" \
            && echo "   a library the binary needs is in neither SWIFT_RUNTIME_LIBS nor a package of RUNTIME_PACKAGES" >&2
          die "runtime stage: RUN $args failed inside the assembled root"
        fi
        sed 's/^/   | /' "$tmp/run.log"
        continue
      fi
      # The shell-form RUN: apt-get install, groupadd/useradd; anything else is unknown here.
      echo "   RUN (apt-get install, accounts) — emulated"
      "$PYTHON" - "$args" > "$tmp/runtime-run.txt" <<'PY' || die "runtime stage: cannot emulate RUN: $args"
import os, re, shlex, sys
text = sys.argv[1]
packages, uid, gid, user, group, dirs = [], None, None, None, None, []
for step in re.split(r"&&|;", text):
    words = shlex.split(os.path.expandvars(step))
    if not words:
        continue
    if words[:2] == ["apt-get", "update"] or words[:2] == ["rm", "-rf"]:
        continue
    if words[:2] == ["apt-get", "install"]:
        packages += [w for w in words[2:] if not w.startswith("-")]
    elif words[0] == "groupadd":
        group = words[-1]
        gid = words[words.index("--gid") + 1]
    elif words[0] == "useradd":
        user = words[-1]
        uid = words[words.index("--uid") + 1]
    elif words[:2] == ["install", "-d"]:
        opts, rest, i = {"-o": "0", "-g": "0", "-m": "0755"}, [], 2
        while i < len(words):
            if words[i] in opts:
                opts[words[i]] = words[i + 1]; i += 2
            else:
                rest.append(words[i]); i += 1
        dirs += [f"{opts['-m']} {opts['-o']}:{opts['-g']} {d}" for d in rest]
    else:
        sys.exit(f"not emulated: {' '.join(words)}")
print(" ".join(packages)); print(user or ""); print(uid or ""); print(group or ""); print(gid or "")
for d in dirs:
    print(d)
PY
      { read -r apt_packages; read -r acct_user; read -r acct_uid; read -r acct_group; read -r acct_gid
        mapfile -t install_dirs; } < "$tmp/runtime-run.txt"
      [ -n "$apt_packages" ] || die "runtime stage: the RUN installs no package"
      # The RUN must install the ARG lists, so that the lists checked below are what is installed.
      read -r -a want_install <<< "$runtime_packages $runtime_data_packages"
      [ "$apt_packages" = "${want_install[*]}" ] \
        || die "runtime stage: apt-get installs '$apt_packages', not \$RUNTIME_PACKAGES \$RUNTIME_DATA_PACKAGES"
      read -r -a apt_list <<< "$apt_packages"
      if ! apt-cache show "${apt_list[@]}" >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1 || die "apt-get update failed"
      fi
      (cd "$tmp/debs" && apt-get download -q -o APT::Sandbox::User=root "${apt_list[@]}") > "$tmp/apt.log" 2>&1 \
        || { tail -n 20 "$tmp/apt.log" >&2; die "apt-get download $apt_packages"; }
      for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
      echo "     unpacked: $(cd "$tmp/debs" && printf '%s ' *.deb)"
      mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/dev"
      chmod 1777 "$root/tmp"
      printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$acct_user" "$acct_uid" "$acct_gid" > "$root/etc/passwd"
      printf 'root:x:0:\n%s:x:%s:\n' "$acct_group" "$acct_gid" > "$root/etc/group"
      echo "     account: $acct_user ($acct_uid:$acct_gid)"
      for d in "${install_dirs[@]}"; do
        read -r mode owner path <<< "$d"
        install -d -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$root$path"
        echo "     directory: $path ($owner, $mode)"
      done ;;
    COPY)
      read -r -a words <<< "$args"
      from=""; chown=""
      while [[ "${words[0]}" == --* ]]; do
        case "${words[0]}" in
          --from=*) from=${words[0]#--from=} ;;
          --chown=*) chown=${words[0]#--chown=} ;;
          *) die "runtime stage: COPY flag ${words[0]} is not replayed" ;;
        esac
        words=("${words[@]:1}")
      done
      [ "$from" = "$build_stage" ] || die "runtime stage: COPY without --from=$build_stage is not replayed: COPY $args"
      [ "${#words[@]}" = 2 ] || die "runtime stage: COPY with one source only: COPY $args"
      src=${words[0]}; dest=${words[1]}
      [[ "$src" == "$build_workdir"/* ]] || die "runtime stage: COPY source $src is outside the build stage's WORKDIR $build_workdir"
      [ -e "$build_root$src" ] || die "runtime stage: COPY --from=$from $src: the build stage did not produce it"
      mkdir -p "$root$dest"
      if [ -d "$build_root$src" ]; then cp -a "$build_root${src%/}/." "$root$dest"; else cp -a "$build_root$src" "$root$dest"; fi
      if [ -n "$chown" ]; then
        if [ -d "$build_root$src" ]; then chown -R "$chown" "$root$dest"; else chown "$chown" "$root$dest/$(basename "$src")"; fi
      fi
      echo "   COPY $args" ;;
    ENV)
      "$PYTHON" -c 'import shlex,sys; [print(t) for t in shlex.split(sys.argv[1])]' "$args" > "$tmp/env.tmp"
      while IFS= read -r kv; do image_env+=("$kv"); done < "$tmp/env.tmp"
      echo "   ENV $(tr -s ' ' <<< "$args")" ;;
    USER) user=$args; [[ "$user" =~ ^[0-9]+:[0-9]+$ ]] || die "runtime stage: USER must be numeric uid:gid (runAsUser needs it): $user"; echo "   USER $user" ;;
    WORKDIR) container_workdir=$args; mkdir -p "$root$args"; echo "   WORKDIR $args" ;;
    EXPOSE) echo "   EXPOSE $args" ;;
    HEALTHCHECK)
      healthcheck=$("$PYTHON" -c 'import re,sys; m=re.search(r"\bCMD\s+(\[.*\])\s*$", sys.argv[1], re.S); print(m.group(1) if m else "")' "$args")
      [ -n "$healthcheck" ] || die "runtime stage: HEALTHCHECK must use the exec form CMD [...]"
      echo "   HEALTHCHECK (exec form)" ;;
    ENTRYPOINT) entrypoint=$args; echo "   ENTRYPOINT $args" ;;
    CMD) cmd=$args; echo "   CMD $args" ;;
    *) die "runtime stage: instruction $op is not replayed by this script (update it)" ;;
  esac
done < "$tmp/plan/$runtime_stage.tsv"
[ -n "$runtime_packages" ] || die "the runtime stage has no ARG RUNTIME_PACKAGES"
{ [ -n "$user" ] && [ -n "$healthcheck" ] && [ -n "$entrypoint" ] && [ -n "$cmd" ]; } \
  || die "the runtime stage needs USER, HEALTHCHECK, ENTRYPOINT and CMD"
bin="$root/usr/local/bin/obsgate"
[ -x "$bin" ] || die "the runtime root has no /usr/local/bin/obsgate"
ld_library_path=""
for kv in "${image_env[@]}"; do [[ "$kv" == LD_LIBRARY_PATH=* ]] && ld_library_path=${kv#LD_LIBRARY_PATH=}; done
[ -n "$ld_library_path" ] || die "the runtime stage sets no LD_LIBRARY_PATH"

# ------------------------------------------------------------------ 3. libraries
say "3. libraries: ldd against the Dockerfile's lists"
add_debug_libs
# ldd of the binary as built (its RUNPATH names the toolchain), outside the layout.
ldd "$bin" > "$tmp/ldd.txt" || die "ldd $bin"
! grep -q 'not found' "$tmp/ldd.txt" || { cat "$tmp/ldd.txt" >&2; die "ldd: a library is not found even on the build machine"; }
swift_found=(); system_paths=()
while read -r name arrow path _; do
  case "$name" in linux-vdso.so.*) continue ;; esac
  if [ "$arrow" != "=>" ]; then path=$name; name=$(basename "$name"); fi
  if [[ "$(readlink -f "$path")" == "$(readlink -f "$toolchain_lib_dir")"/* ]]; then
    swift_found+=("$name")
  else
    system_paths+=("$path")
  fi
done < <(sed 's/ (0x[0-9a-f]*)$//' "$tmp/ldd.txt")
owner() {          # the Debian package owning a library path (trying the /usr-merged twin)
  local p=$1 alt
  for alt in "$p" "$(readlink -f "$p")" "${p#/usr}" "/usr$p"; do
    dpkg -S "$alt" 2>/dev/null | head -1 | cut -d: -f1 && return 0
  done
  return 1
}
pkgs_found=()
for p in "${system_paths[@]}"; do
  pkg=$(owner "$p") || die "no Debian package owns $p (ldd of the binary)"
  pkgs_found+=("$pkg")
  printf '   %-34s %s\n' "$(basename "$p")" "$pkg"
done
sorted() { tr ' ' '\n' | sed '/^$/d' | sort -u; }
want_swift=$(echo "$swift_runtime_libs" | sorted)
have_swift=$(echo "${swift_found[@]}" | sorted | grep -vxF -f <(printf '%s\n' "${debug_only[@]}" "") || true)
want_pkgs=$(echo "$runtime_packages" | sorted)
have_pkgs=$(echo "${pkgs_found[@]}" | sorted)
bad=0
report() {   # report WHAT LIST-IN-DOCKERFILE LIST-FROM-LDD
  local missing unneeded
  missing=$(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')
  unneeded=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
  if [ -n "$missing" ]; then echo "   $1: MISSING from the Dockerfile (ldd needs them): $missing" >&2; bad=1; fi
  if [ -n "$unneeded" ]; then echo "   $1: UNNEEDED in the Dockerfile (ldd does not list them): $unneeded" >&2; bad=1; fi
  if [ -z "$missing$unneeded" ]; then echo "   $1: $(echo "$2" | wc -l) — the Dockerfile's list matches ldd"; fi
}
report "SWIFT_RUNTIME_LIBS" "$want_swift" "$have_swift"
report "RUNTIME_PACKAGES" "$want_pkgs" "$have_pkgs"
[ "$bad" = 0 ] || die "the Dockerfile's library lists do not match ldd of the binary (fix the ARG lines in $dockerfile)"
for p in $runtime_data_packages; do
  [ -n "$(ls "$tmp"/debs/"${p}"_*.deb 2>/dev/null)" ] || die "RUNTIME_DATA_PACKAGES: $p was not downloaded"
done
echo "   RUNTIME_DATA_PACKAGES: $runtime_data_packages (not libraries; present)"

# Every library from the layout, with the image's LD_LIBRARY_PATH, seen from outside…
LD_LIBRARY_PATH="$root$ld_library_path" ldd "$bin" > "$tmp/ldd-layout.txt" || die "ldd in the layout"
! grep -q 'not found' "$tmp/ldd-layout.txt" || { cat "$tmp/ldd-layout.txt" >&2; die "a library is missing from the layout"; }
for lib in $swift_runtime_libs "${debug_only[@]}"; do
  grep -q "^[[:space:]]*$lib => $root$ld_library_path/$lib " "$tmp/ldd-layout.txt" \
    || die "$lib does not resolve from the layout's $ld_library_path"
done
# …and inside the root, with its own loader: only what the image would hold exists there.
run_in_root '["/lib64/ld-linux-x86-64.so.2", "--list", "/usr/local/bin/obsgate"]' > "$tmp/ldd-root.txt" 2>&1 \
  || { cat "$tmp/ldd-root.txt" >&2; die "the root's loader cannot load the binary"; }
! grep -q 'not found' "$tmp/ldd-root.txt" || { cat "$tmp/ldd-root.txt" >&2; die "a library is missing from the runtime root"; }
echo "   every library resolves inside the runtime root ($(grep -c '=>' "$tmp/ldd-root.txt") libraries, loader $(readlink "$root/lib64/ld-linux-x86-64.so.2"))"

# ------------------------------------------------------------------ 4. the container
say "4. the container: ENTRYPOINT + CMD in the read-only root, as USER $user"
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); s3_port=$(free_port); admin_port=$(free_port)
while [ "$s3_port" = "$up_port" ] || [ "$admin_port" = "$up_port" ] || [ "$admin_port" = "$s3_port" ]; do
  s3_port=$(free_port); admin_port=$(free_port)
done
# The configuration the container gets mounted at /etc/obsgate: the shipped deploy/config
# files, with loopback ports and the development store as the upstream.
confdir="$tmp/etc-obsgate"
mkdir -p "$confdir"
cp "$repo/deploy/config/clients.yaml" "$repo/deploy/config/policy.yaml" "$confdir/"
"$PYTHON" - "$repo/deploy/config/obsgate.yaml" "$confdir/obsgate.yaml" "$s3_port" "$admin_port" "$up_port" <<'PY'
import sys, yaml
src, dst, s3, admin, up = sys.argv[1:]
c = yaml.safe_load(open(src))
c["listeners"] = [{"address": f"127.0.0.1:{s3}"}]
c["admin"] = {"address": f"127.0.0.1:{admin}"}
c["upstream"]["endpoint"] = f"http://127.0.0.1:{up}"
c["upstream"]["addressing"] = "path"
yaml.safe_dump(c, open(dst, "w"), sort_keys=False)
PY
chmod -R a+rX "$confdir"
container_cmd=$("$PYTHON" -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]) + json.loads(sys.argv[2])))' "$entrypoint" "$cmd")
echo "   command: $container_cmd"
secrets=(OBSGATE_UPSTREAM_ACCESS_KEY=DEVUPSTREAMKEY OBSGATE_UPSTREAM_SECRET_KEY=dev-upstream-secret
         OBSGATE_CLIENT_APP_SECRET=app-secret OBSGATE_CLIENT_BACKUP_SECRET=backup-secret
         OBSGATE_DEV_UPSTREAM_SECRET=dev-upstream-secret OBSGATE_UPLOAD_KEY_1=binding-key-for-the-deployment-test-0123456789)
# docker run --read-only --tmpfs /tmp --tmpfs /var/log/obsgate -v CONF:/etc/obsgate:ro:
# a private mount namespace (the mounts vanish with the process) in which the root is
# bound read-only, with docker's /proc and /dev device files, then the command runs with
# the root as / , in WORKDIR, as USER (uid:gid, no supplementary groups).
for d in null zero full random urandom; do : > "$root/dev/$d"; done
mkdir -p "$root/var/log/obsgate" "$root/etc/obsgate"
container() {
  local -a argv
  mapfile -t argv < <("$PYTHON" -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])]' "$1")
  # Started in the background: exec, so that $! is the gateway itself (every step execs).
  exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent \
    "${image_env[@]}" "${secrets[@]}" \
    unshare --mount -- "$(command -v bash)" -c '
      set -e; root=$1; conf=$2; uid=${3%:*}; gid=${3#*:}; wd=$4; shift 4
      mount --bind "$root" "$root"
      mount -o remount,bind,ro "$root"
      mount -t proc proc "$root/proc"
      for d in null zero full random urandom; do mount --bind "/dev/$d" "$root/dev/$d"; done
      mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
      mount -t tmpfs -o "mode=0750,uid=$uid,gid=$gid,size=64m" tmpfs "$root/var/log/obsgate"
      mount --bind "$conf" "$root/etc/obsgate"
      mount -o remount,bind,ro "$root/etc/obsgate"
      exec unshare --root="$root" --wd="$wd" --setgid="$gid" --setuid="$uid" "$@"
    ' _ "$root" "$confdir" "$user" "$container_workdir" "${argv[@]}"
}

container '["obsgate", "dev-upstream", "--port", "'"$up_port"'", "--access-key", "DEVUPSTREAMKEY", "--secret-env", "OBSGATE_DEV_UPSTREAM_SECRET"]' \
  > "$tmp/dev-upstream.log" 2>&1 &
pids+=($!)
container "$container_cmd" > "$tmp/gateway.log" 2>&1 &
gw=$!
pids+=("$gw")
# shellcheck source=deploy/readiness.sh
source "$repo/deploy/readiness.sh"
ready=$(wait_ready "$gw" "$admin_port" "the container's command" "$tmp/gateway.log" "$tmp/dev-upstream.log")
echo "   /readyz: $ready"
hc_argv=()
mapfile -t hc_argv < <("$PYTHON" -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])]' "$healthcheck")
OBSGATE_ADMIN_PORT=$admin_port timeout 5 "${hc_argv[@]}" || die "the Dockerfile's HEALTHCHECK command failed against the running gateway"
echo "   HEALTHCHECK command: exit 0 (admin port $admin_port)"
# The S3 listener answers as the image's unprivileged user: an unsigned request is refused
# by the gateway itself (403 AccessDenied, S3 XML), which needs the whole client pipeline.
s3_answer=$(http_get "$s3_port" /some-bucket/some-key)
[[ "$s3_answer" == "403 "*"<Code>AccessDenied</Code>"* ]] || {
  sed 's/^/   | /' "$tmp/gateway.log" | tail -n 5 >&2
  die "the S3 listener (port $s3_port) did not answer an unsigned GET with 403 AccessDenied: $s3_answer${s3_answer:+ }(a connection closed without an answer, as user $user, typically means a socket option an unprivileged process may not set)"
}
echo "   S3 listener: unsigned GET → 403 AccessDenied (served as $user)"
metrics=$(http_get "$admin_port" /metrics)
[[ "$metrics" == *"obsgate_policy_info{version=\"$(sha256sum "$confdir/policy.yaml" | cut -d' ' -f1)\"} 1"* ]] \
  || die "/metrics does not report the mounted policy's version: $metrics"
echo "   /metrics: obsgate_policy_info carries the mounted policy's SHA-256"
# Nothing written outside the volumes: the root is read-only, so any attempt would have failed;
# check the gateway did not log one.
! grep -qi 'read-only file system' "$tmp/gateway.log" || die "the gateway tried to write to the read-only root"
kill -TERM "$gw"
rc=0; wait "$gw" || rc=$?
unset "pids[${#pids[@]}-1]"
[ "$rc" = 0 ] || { sed 's/^/   | /' "$tmp/gateway.log" >&2; die "SIGTERM: the gateway exited with $rc, not 0"; }
echo "   SIGTERM: drained and exited 0"
if OBSGATE_ADMIN_PORT=$admin_port timeout 5 "${hc_argv[@]}" 2>/dev/null; then
  die "the HEALTHCHECK command still succeeds with the gateway stopped"
fi
echo "   HEALTHCHECK command: fails once the gateway is stopped"
say "dockerfile-steps: ok — build stage replayed$( [ -n "${OBSGATE_BINARY:-}" ] && echo " (swift build reused $OBSGATE_BINARY)"), library lists match ldd, runtime root runs the gateway"
