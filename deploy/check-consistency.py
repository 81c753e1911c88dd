#!/usr/bin/env python3
"""Cross-file checks of deploy/ that no schema catches (run by scripts/check-deploy.sh).

Schema validation says each manifest is well-formed; this says they fit together and with
the gateway's configuration, the Dockerfile and the systemd unit: names and keys that
refer to each other exist, ports agree everywhere, the grace periods are longer than the
drain time, the security settings the README promises are there, the copies of the
policy do not drift, and each deployment's audit sinks write where it may write (the
unit's writable paths and logrotate, the pod's `audit` volume and its size limit). Prints one line per check group; exits 1 naming every failure.

usage: deploy/check-consistency.py [REPO]   (needs PyYAML)
"""
import fnmatch
import json
import os
import re
import shlex
import sys

import yaml

repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
k8s_dir = os.path.join(repo, "deploy", "kubernetes")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def read(*parts):
    with open(os.path.join(repo, *parts), encoding="utf-8") as f:
        return f.read()


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# ------------------------------------------------------------------ manifests and kustomization
docs = {}        # (kind, name) -> document
files = sorted(f for f in os.listdir(k8s_dir) if f.endswith(".yaml") and f != "kustomization.yaml")
for f in files:
    loaded = [d for d in yaml.safe_load_all(read("deploy", "kubernetes", f)) if d]
    check(loaded, f"{f}: no Kubernetes object in the file")
    for d in loaded:
        key = (d.get("kind"), d.get("metadata", {}).get("name"))
        check(key not in docs, f"{f}: {key[0]}/{key[1]} is defined twice")
        docs[key] = d
kust = yaml.safe_load(read("deploy", "kubernetes", "kustomization.yaml"))
check(kust.get("kind") == "Kustomization" and kust.get("apiVersion", "").startswith("kustomize.config.k8s.io/"),
      "kustomization.yaml: not a Kustomization")
resources = kust.get("resources", [])
check(sorted(resources) == files,
      f"kustomization.yaml resources {sorted(resources)} != the manifests in deploy/kubernetes {files}")
namespace = kust.get("namespace")
for (kind, name), d in docs.items():
    if kind != "Namespace":
        check(d["metadata"].get("namespace") == namespace,
              f"{kind}/{name}: namespace {d['metadata'].get('namespace')} != the kustomization's {namespace}")
check(("Namespace", namespace) in docs, f"no Namespace {namespace} manifest")
print(f"kustomization: {len(files)} files, {len(docs)} objects, namespace {namespace}")


def get(kind, name=None):
    found = [d for (k, n), d in docs.items() if k == kind and (name is None or n == name)]
    check(len(found) == 1, f"expected exactly one {kind}{'/' + name if name else ''}, found {len(found)}")
    return found[0] if found else {}


def secret_keys(name):
    s = get("Secret", name)
    return set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())


def secret_value(name, key):
    s = get("Secret", name)
    return (s.get("stringData") or {}).get(key)


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


dep = get("Deployment")
pod = dep["spec"]["template"]
pod_labels = pod["metadata"]["labels"]
containers = pod["spec"]["containers"]
check(len(containers) == 1, "the Deployment should have exactly one container (obsgate, no sidecar)")
c = containers[0]
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
cm = get("ConfigMap", "obsgate-config")
config = yaml.safe_load(cm["data"]["obsgate.yaml"])

# ------------------------------------------------------------------ the Deployment and its configuration
config_mounts = {}
for vm in c.get("volumeMounts", []):
    vol = next((v for v in pod["spec"].get("volumes", []) if v["name"] == vm["name"]), None)
    check(vol is not None, f"volumeMount {vm['name']} has no volume")
    if vol is None:
        continue
    check("subPath" not in vm, f"volumeMount {vm['name']} uses subPath: updates would not reach the pod (no hot reload)")
    if "configMap" in vol:
        check(("ConfigMap", vol["configMap"]["name"]) in docs, f"volume {vol['name']}: no ConfigMap {vol['configMap']['name']}")
        config_mounts[vm["mountPath"]] = ("ConfigMap", vol["configMap"]["name"])
    if "secret" in vol:
        check(("Secret", vol["secret"]["secretName"]) in docs, f"volume {vol['name']}: no Secret {vol['secret']['secretName']}")
        config_mounts[vm["mountPath"]] = ("Secret", vol["secret"]["secretName"])
args = c.get("args", [])
check("--config" in args, "the container's args do not name --config")
config_path = args[args.index("--config") + 1] if "--config" in args else ""
config_dir = os.path.dirname(config_path)
check(config_mounts.get(config_dir) == ("ConfigMap", "obsgate-config") and os.path.basename(config_path) in cm["data"],
      f"--config {config_path} is not a key of the ConfigMap mounted at {config_dir}")


def resolve(path):
    return path if path.startswith("/") else os.path.join(config_dir, path)


def source_of(path):
    """(kind, name, key) of the ConfigMap/Secret key a mounted path comes from."""
    d, key = os.path.split(resolve(path))
    src = config_mounts.get(d)
    return (src[0], src[1], key) if src else (None, None, key)


kind, name, key = source_of(config["credentials"])
check(kind == "Secret" and key in secret_keys(name),
      f"credentials {config['credentials']}: not a key of a mounted Secret")
if kind == "Secret" and key in secret_keys(name):
    clients = yaml.safe_load(secret_value(name, key))
    for cl in clients.get("clients", []):
        check("secret" not in cl, f"client {cl.get('principal')}: an inline secret in the Secret's {key}")
        if "secret_file" in cl:
            check(cl["secret_file"] in secret_keys(name),
                  f"client {cl.get('principal')}: secret_file {cl['secret_file']} is not a key of Secret {name}")
if "policy" in config:
    kind, name, key = source_of(config["policy"])
    check(kind == "ConfigMap" and key in cm["data"], f"policy {config['policy']}: not a key of the mounted ConfigMap")
check(cm["data"].get("policy.yaml") == read("deploy", "config", "policy.yaml"),
      "the ConfigMap's policy.yaml differs from deploy/config/policy.yaml (keep them equal)")

env_names = {e["name"] for e in c.get("env", [])}
for e in c.get("env", []):
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        check(ref["key"] in secret_keys(ref["name"]), f"env {e['name']}: Secret {ref['name']} has no key {ref['key']}")
for pname, profile in config["upstream"]["profiles"].items():
    for k, v in profile.items():
        if k.endswith("_env"):
            check(v in env_names, f"upstream profile {pname}: {k} {v} is not set in the container's env")
        check(not k.endswith(("access_key", "secret_key")) or k.endswith("_env") or k.endswith("_file"),
              f"upstream profile {pname}: an inline {k} in the ConfigMap")
# Replicas must share the upload binding keys: from the environment, never made at start.
binding_keys = config.get("upload_binding", {}).get("keys", [])
check(binding_keys, "the ConfigMap has no upload_binding keys: each replica would bind upload ids with a key of its own")
for key in binding_keys:
    check("secret_env" in key and key["secret_env"] in env_names,
          f"upload_binding key {key.get('id')}: its secret_env is not set in the container's env")

s3_port = port_of(config["listeners"][0]["address"])
admin_port = port_of(config["admin"]["address"])
check(ports.get("s3") == s3_port, f"container port s3 {ports.get('s3')} != the listener's {s3_port}")
check(ports.get("admin") == admin_port, f"container port admin {ports.get('admin')} != admin.address's {admin_port}")
ann = pod["metadata"].get("annotations", {})
check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(admin_port)
      and ann.get("prometheus.io/path") == "/metrics", "Prometheus scrape annotations do not point at the admin /metrics")
rp, lp = c.get("readinessProbe", {}).get("httpGet", {}), c.get("livenessProbe", {}).get("httpGet", {})
check(rp.get("path") == "/readyz" and rp.get("port") in ("admin", admin_port), "readinessProbe is not GET /readyz on the admin port")
check(lp.get("path") == "/healthz" and lp.get("port") in ("admin", admin_port), "livenessProbe is not GET /healthz on the admin port")
drain = config.get("timeouts", {}).get("drain", 25)
pre = c.get("lifecycle", {}).get("preStop", {})
pre_sleep = int(pre["exec"]["command"][-1]) if "exec" in pre else int(pre.get("sleep", {}).get("seconds", 0))
grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
check(grace > pre_sleep + drain,
      f"terminationGracePeriodSeconds {grace} is not more than preStop {pre_sleep} s + timeouts.drain {drain} s")
check(dep["spec"].get("replicas", 1) >= 2, "the Deployment has fewer than 2 replicas")
print(f"deployment: ports s3 {s3_port} admin {admin_port}, grace {grace} s vs preStop {pre_sleep} s + drain {drain} s, "
      f"config from ConfigMap, clients from Secret, {len(env_names)} env")

# Security settings the README promises (restricted Pod Security Standard).
psc, csc = pod["spec"].get("securityContext", {}), c.get("securityContext", {})
check(psc.get("runAsNonRoot") and csc.get("runAsNonRoot", True), "runAsNonRoot is not set")
check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
check(csc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities are not drop: [ALL]")
check((csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", "seccompProfile is not RuntimeDefault")
check(pod["spec"].get("automountServiceAccountToken") is False, "the service account token is mounted")
check("/tmp" in [m["mountPath"] for m in c.get("volumeMounts", [])], "no volume on /tmp with a read-only root filesystem")
quantity = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
for section in ("requests", "limits"):
    res = c.get("resources", {}).get(section, {})
    check("cpu" in res and "memory" in res, f"resources.{section} lacks cpu or memory")
    for k, v in res.items():
        check(bool(quantity.match(str(v))), f"resources.{section}.{k}: '{v}' is not a quantity")
run_as = pod["spec"].get("securityContext", {}).get("runAsUser")
print(f"security: non-root uid {run_as}, read-only root, no privilege escalation, capabilities dropped, RuntimeDefault seccomp")

# ------------------------------------------------------------------ Service, HPA, PDB, NetworkPolicy
svc = get("Service")
check(matches(svc["spec"]["selector"], pod_labels), "the Service's selector does not select the pods")
svc_ports = svc["spec"]["ports"]
check(any(p.get("targetPort") in ("s3", s3_port) for p in svc_ports), "the Service does not target the s3 port")
check(not any(p.get("targetPort") in ("admin", admin_port) or p.get("port") == admin_port for p in svc_ports),
      "the Service exposes the admin port")
hpa = get("HorizontalPodAutoscaler")
check(hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"] and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment",
      "the HPA does not scale the Deployment")
check(hpa["spec"].get("minReplicas", 1) >= 2, "the HPA's minReplicas is below 2")
pdb = get("PodDisruptionBudget")
check(matches(pdb["spec"]["selector"]["matchLabels"], pod_labels), "the PDB's selector does not select the pods")
check(matches(dep["spec"]["selector"]["matchLabels"], pod_labels), "the Deployment's selector does not select its pods")
np = get("NetworkPolicy")
check(matches(np["spec"]["podSelector"]["matchLabels"], pod_labels), "the NetworkPolicy does not select the pods")
check(set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}, "the NetworkPolicy does not restrict both directions")
ingress_ports = {}
for rule in np["spec"].get("ingress", []):
    for p in rule.get("ports", []):
        ingress_ports.setdefault(p["port"], []).append(rule.get("from", []))
check(s3_port in ingress_ports, "the NetworkPolicy does not admit the S3 port")
admin_from = ingress_ports.get(admin_port, [])
check(admin_from and all(f and all("namespaceSelector" in x and x["namespaceSelector"].get("matchLabels") for x in f) for f in admin_from),
      "the admin port is admitted from more than a labelled (monitoring) namespace")
egress_ports = {p["port"] for rule in np["spec"].get("egress", []) for p in rule.get("ports", [])}
upstream = config["upstream"]["endpoint"]
up_port = int(re.match(r"^\w+://[^/:]+(?::(\d+))?", upstream).group(1) or (443 if upstream.startswith("https") else 80))
check(53 in egress_ports and up_port in egress_ports, f"egress lacks DNS (53) or the upstream's port {up_port}")
print(f"service/hpa/pdb/networkpolicy: selectors match, admin port {admin_port} only from a labelled namespace, "
      f"egress DNS + {up_port}")

# ------------------------------------------------------------------ the Dockerfile
dockerfile = read("deploy", "docker", "Dockerfile")
expose = re.search(r"^EXPOSE\s+(.+)$", dockerfile, re.M)
check(expose and {int(p) for p in expose.group(1).split()} == {s3_port, admin_port},
      f"Dockerfile EXPOSE {expose.group(1) if expose else None} != the Kubernetes ports {s3_port} {admin_port}")
hc = re.search(r"OBSGATE_ADMIN_PORT:-(\d+)", dockerfile)
check(hc and int(hc.group(1)) == admin_port, "the Dockerfile HEALTHCHECK's default port is not the admin port")
user = re.search(r"^USER\s+(\d+):(\d+)\s*$", dockerfile, re.M)
check(user and int(user.group(1)) == run_as, f"Dockerfile USER {user.group(0) if user else None} != runAsUser {run_as}")
cmd = re.search(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.M)
check(cmd and json.loads(cmd.group(1)) == args, f"the Deployment's args {args} != the Dockerfile's CMD")
check(c.get("image", "").split(":")[0] in [i["name"] for i in kust.get("images", [])],
      "the kustomization's images: does not name the Deployment's image")
ignore = read("deploy", "docker", "Dockerfile.dockerignore").splitlines()
allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
for m in re.finditer(r"^COPY\s+(?!--from)(.+)$", dockerfile, re.M):
    for src in shlex.split(m.group(1))[:-1]:
        check(src.rstrip("/") in allowed, f"Dockerfile COPY {src}: excluded by Dockerfile.dockerignore")
print(f"dockerfile: EXPOSE, HEALTHCHECK port, USER, CMD and the build context agree with the manifests")

# ------------------------------------------------------------------ the VM configuration and the systemd unit
vm = yaml.safe_load(read("deploy", "config", "obsgate.yaml"))
vm_clients = yaml.safe_load(read("deploy", "config", "clients.yaml"))
env_example = {line.split("=", 1)[0] for line in read("deploy", "systemd", "obsgate.env.example").splitlines()
               if "=" in line and not line.lstrip().startswith(("#", ";"))}
needed = {v for p in vm["upstream"]["profiles"].values() for k, v in p.items() if k.endswith("_env")}
needed |= {cl["secret_env"] for cl in vm_clients.get("clients", []) if "secret_env" in cl}
needed |= {key["secret_env"] for key in vm.get("upload_binding", {}).get("keys", []) if "secret_env" in key}
for cl in vm_clients.get("clients", []):
    check("secret" not in cl, f"deploy/config/clients.yaml: client {cl.get('principal')} has an inline secret")
check(needed <= env_example, f"obsgate.env.example lacks {sorted(needed - env_example)}")
check(env_example <= needed, f"obsgate.env.example sets variables nothing reads: {sorted(env_example - needed)}")
unit = {}
for line in read("deploy", "systemd", "obsgate.service").splitlines():
    if "=" in line and not line.startswith(("#", ";", "[")):
        k, v = line.split("=", 1)
        unit.setdefault(k, []).append(v)
stop = int(unit.get("TimeoutStopSec", ["90"])[0].rstrip("s"))
vm_drain = vm.get("timeouts", {}).get("drain", 25)
check(stop > vm_drain, f"TimeoutStopSec {stop} is not more than timeouts.drain {vm_drain}")
check(unit.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], "ExecReload does not send SIGHUP")
check(unit.get("ExecStart", [""])[0].split()[:3] == ["/usr/local/bin/obsgate", "serve", "--config"], "ExecStart is not obsgate serve --config")
for k, v in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
             "CapabilityBoundingSet": "", "Restart": "on-failure"}.items():
    check(unit.get(k) == [v], f"obsgate.service: {k}={v} is missing")
check("/var/log/obsgate" in " ".join(unit.get("ReadWritePaths", [])) or unit.get("LogsDirectory") == ["obsgate"],
      "obsgate.service: /var/log/obsgate is not writable")
rotate = read("deploy", "systemd", "obsgate.logrotate")
check("/var/log/obsgate/" in rotate and "systemctl reload obsgate" in rotate,
      "obsgate.logrotate does not rotate /var/log/obsgate with a reload (SIGHUP)")
print(f"systemd: TimeoutStopSec {stop} s vs drain {vm_drain} s, SIGHUP reload, hardening, "
      f"obsgate.env.example sets exactly {sorted(needed)}")

# ------------------------------------------------------------------ the audit trail
# Where each deployment writes its audit records, and that it may write there: on a VM the
# file sink's directory is writable under the unit's sandbox (ReadWritePaths= or
# LogsDirectory=) and rotated by logrotate alone; in Kubernetes records go to stdout, and
# the file sink commented out in the ConfigMap (the sidecar-free alternative) names the
# writable `audit` volume's mount path and fits in its sizeLimit.
def bytes_of(q):
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(q))
    if not m:
        return None
    scale = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}[m.group(2)]
    return int(m.group(1)) * scale


def file_sinks(audit):
    return [s for s in (audit or {}).get("sinks", []) if isinstance(s, dict) and s.get("type") == "file"]


def under(path, directory):
    return os.path.normpath(path).startswith(os.path.normpath(directory).rstrip("/") + "/")


vm_audit = vm.get("audit")
check(isinstance(vm_audit, dict) and vm_audit.get("sinks"), "deploy/config/obsgate.yaml has no audit: section with sinks")
check((vm_audit or {}).get("fail_closed") is True, "deploy/config/obsgate.yaml: audit.fail_closed is not true")
exec_start = unit.get("ExecStart", [""])[0].split()
vm_config_dir = os.path.dirname(exec_start[3]) if len(exec_start) > 3 else "/etc/obsgate"   # --config FILE
unit_writable = {p.lstrip("-") for line in unit.get("ReadWritePaths", []) for p in line.split()}
unit_writable = sorted(unit_writable | {f"/var/log/{d}" for line in unit.get("LogsDirectory", []) for d in line.split()})
rotate_globs = re.findall(r"^(/\S+)\s*\{", rotate, re.M)
rotate_body = re.sub(r"#.*", "", rotate)
check(re.search(r"^\s*nocreate\s*$", rotate_body, re.M) and not re.search(r"^\s*copytruncate\b", rotate_body, re.M),
      "obsgate.logrotate must use nocreate and no copytruncate (the gateway reopens the file on SIGHUP)")
vm_files = []
for sink in file_sinks(vm_audit):
    path = sink["path"] if sink["path"].startswith("/") else os.path.join(vm_config_dir, sink["path"])
    vm_files.append(path)
    check(any(under(path, w) for w in unit_writable),
          f"VM audit file {path} is not under the unit's ReadWritePaths/LogsDirectory {unit_writable}")
    rotated = any(fnmatch.fnmatch(path, g) for g in rotate_globs)
    check(rotated, f"VM audit file {path} is not matched by obsgate.logrotate ({rotate_globs})")
    # Without max_bytes the gateway rotates at its default size: logrotate needs max_bytes: 0.
    check(not (rotated and sink.get("max_bytes") != 0),
          f"VM audit file {path}: the gateway's own rotation (max_bytes absent or above 0) and logrotate would "
          f"both rotate it (docs/audit.md: not both; set max_bytes: 0)")
    # The same file from the image (docker run with deploy/config mounted): the directory
    # exists and belongs to the image's USER, so that a named volume there inherits it.
    dirs = re.findall(r"install -d -o (\d+) -g (\d+) -m \d+ (\S+)", dockerfile)
    check(any(d == os.path.dirname(path) and int(o) == run_as for o, _, d in dirs),
          f"the Dockerfile does not create {os.path.dirname(path)} owned by uid {run_as}")
check(vm_files, "deploy/config/obsgate.yaml: no audit file sink (the VM install writes /var/log/obsgate)")

k8s_audit = config.get("audit")
check(isinstance(k8s_audit, dict) and {"type": "stdout"} in k8s_audit.get("sinks", []),
      "the ConfigMap's obsgate.yaml: no audit stdout sink (records for the cluster's log pipeline)")
check((k8s_audit or {}).get("fail_closed") is True, "the ConfigMap's obsgate.yaml: audit.fail_closed is not true")
writable_mounts = {}
for mnt in c.get("volumeMounts", []):
    vol = next((v for v in pod["spec"].get("volumes", []) if v["name"] == mnt["name"]), {})
    if not mnt.get("readOnly") and not ({"configMap", "secret", "projected"} & set(vol)):
        writable_mounts[mnt["mountPath"]] = vol
commented = re.findall(r"^\s*#\s*(-\s*\{\s*type:\s*file\b.*\})\s*$", cm["data"]["obsgate.yaml"], re.M)
check(len(commented) == 1, f"the ConfigMap's obsgate.yaml: expected one commented-out audit file sink (the "
      f"sidecar-free alternative deploy/README.md documents), found {len(commented)}")
k8s_files = [(s, "") for s in file_sinks(k8s_audit)] + [(yaml.safe_load(x)[0], "commented ") for x in commented]
for sink, how in k8s_files:
    path = resolve(sink.get("path", ""))
    mount = os.path.dirname(path)
    vol = writable_mounts.get(mount)
    if not check(vol is not None, f"the ConfigMap's {how}audit file sink {path}: {mount} is not a writable volumeMount "
                 f"of the Deployment ({sorted(writable_mounts)})"):
        continue
    check(sink.get("max_bytes") != 0, f"the ConfigMap's {how}audit file sink {path}: max_bytes: 0 turns rotation off "
          f"(no logrotate runs in a pod)")
    limit = bytes_of(vol.get("emptyDir", {}).get("sizeLimit", "")) if "emptyDir" in vol else None
    if sink.get("max_bytes") != 0 and limit:
        need = (int(sink.get("keep", 5)) + 1) * int(sink.get("max_bytes", 268435456))
        check(need <= limit, f"the ConfigMap's {how}audit file sink {path}: (keep + 1) × max_bytes = {need} bytes "
              f"exceeds the volume's sizeLimit {vol['emptyDir']['sizeLimit']} (the kubelet would evict the pod)")
if commented:
    enabled = yaml.safe_load(cm["data"]["obsgate.yaml"].replace("# " + commented[0], commented[0]))
    check(len(file_sinks(enabled.get("audit"))) == len(file_sinks(k8s_audit)) + 1,
          "uncommenting the ConfigMap's audit file sink does not yield a configuration with that sink")
print(f"audit: VM file {', '.join(vm_files) or '-'} (writable by the unit, rotated by logrotate only), "
      f"Kubernetes stdout + {len(commented)} commented file sink on {', '.join(sorted(writable_mounts))}")

if failures:
    print(f"\n{len(failures)} consistency failure(s):", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)
print("consistency: ok")
