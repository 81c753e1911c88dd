#!/usr/bin/env python3
"""Tests deploy/observability/ (the Prometheus rules and the Grafana dashboard) for real.

1. Static: `promtool check rules`; `promtool test rules` on obsgate.rules.test.yml; every
   alert of obsgate.rules.yml (each severity of it, for an alert with a rule per severity)
   has a unit test where it fires and one where it does not; the dashboard is well-formed
   JSON (ids, grid positions, a PromQL target per panel, the datasource variable); the
   example scrape configuration passes `promtool check config`.
2. Live, all on 127.0.0.1 in a temporary directory: `obsgate dev-upstream`, the gateway
   (policies/organisation.yaml, a file audit trail with fail_closed, a queue of 20 records, a
   connection cap of 8, an unauthenticated-refusal allowance of 50, a second listener with
   TLS serving a self-signed certificate that expires in 2 days), a second replica of the same
   job (replica B: the same policy with one rule changed, so another obsgate_policy_info
   version, and an audit trail with fail_closed: false)
   and Debian's `prometheus` scraping both admin listeners every second with the rules loaded
   (every `for:` shortened to 2 s). It checks that the gateway exports the process metrics,
   the connection caps, the audit queue's capacity and the fail-closed counter with the
   configured values, obsgate_ready (1 with the upstream up, 0 within 5 s of it refusing
   connections), the TLS listener's certificate expiry (its notAfter), the event-loop lag
   histogram (a `loop` label per event loop, its buckets), the upstream's own answers by
   operation and class, and the denials by principal and reason; drives allowed, denied,
   badly signed, unknown-key, unsigned, fail-closed (trail broken, queue full), fail-open
   (replica B's trail broken, writes let through),
   slow-upstream, failing-upstream (connections refused, then an upstream answering 500)
   and over-the-connection-cap traffic with botocore, stalls the gateway's process (SIGSTOP)
   for 250 ms a dozen times, lowers the gateway's soft open-files limit (prlimit) just above
   what it holds, checks the status codes the clients got, waits for each expected alert to
   fire through Prometheus's HTTP API — all 25, ObsgatePolicyVersionSkew from the two
   replicas' policies — (and for some, that they stay quiet where they should), and asserts that every series selector of the rules and of every
   dashboard query matches series in Prometheus (so every metric name and label they use is
   one the gateway really exports), that every label they group or join by exists on those
   series, that every dashboard query returns data, and that no rule failed to evaluate.
   Finally it stops the gateway and waits for ObsgateDown (ObsgateAllDown quiet while
   replica B is up), then stops replica B and waits for ObsgateAllDown.

Every process it starts is stopped on exit, error or timeout (the whole run is bounded to
150 s). Exit code 0 when everything holds, 1 otherwise (with the failing check and the tail
of each process's log).

    OBSGATE_BINARY=/path/to/obsgate scripts/observability-test.py     # default .build/debug/obsgate
    scripts/observability-test.py --static-only                      # step 1 only (no gateway)
    scripts/observability-test.py --keep                             # keep the temporary directory
"""
import argparse
import concurrent.futures
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBS = os.path.join(ROOT, "deploy", "observability")
RULES = os.path.join(OBS, "obsgate.rules.yml")
RULE_TESTS = os.path.join(OBS, "obsgate.rules.test.yml")
DASHBOARD = os.path.join(OBS, "obsgate-dashboard.json")
SCRAPE_EXAMPLE = os.path.join(OBS, "prometheus.yml")
POLICY = os.path.join(ROOT, "policies", "organisation.yaml")
BUDGET_SECONDS = 150

# Alerts the live run does not drive (they are covered by the promtool unit tests only),
# with the reason. Every alert is driven live now.
NOT_DRIVEN_LIVE = {}

checks = 0


class Failure(Exception):
    pass


def fail(message):
    raise Failure(message)


def ok(message):
    global checks
    checks += 1
    print(f"  ok   {message}", flush=True)


def step(message):
    print(f"== {message}", flush=True)


try:
    import yaml
except ImportError:
    sys.exit("observability-test: FAILED: PyYAML is not installed (scripts/install-test-deps.sh installs it with awscli)")


# ------------------------------------------------------------------------------ PromQL text

GROUPING_RE = re.compile(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)')
MATCHER_LABEL_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"')
NAME_RE = re.compile(r'[A-Za-z_:][A-Za-z0-9_:]*')
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
            "atan2", "inf", "nan", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
            "quantile", "count_values", "group"}


def strip_strings(expr):
    """The expression with string literals emptied (so their contents are not read as names)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def selectors(expr):
    """(metric name, selector text) for every vector selector of a PromQL expression: every
    name that is not a function, an operator or a keyword, outside label braces, range
    brackets, string literals and the label lists of by/without/on/ignoring/group_*."""
    out = []
    i, n = 0, len(expr)
    after_grouping_keyword = False
    while i < n:
        ch = expr[i]
        if ch == '"':
            j = i + 1
            while j < n and expr[j] != '"':
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "{[":
            i = expr.index("}" if ch == "{" else "]", i) + 1
            continue
        if ch == "(" and after_grouping_keyword:
            i = expr.index(")", i) + 1
            after_grouping_keyword = False
            continue
        m = NAME_RE.match(expr, i)
        if not m or (i > 0 and (expr[i - 1].isalnum() or expr[i - 1] in "_.")):
            if not ch.isspace():
                after_grouping_keyword = False
            i += 1
            continue
        name = m.group(0)
        j = m.end()
        while j < n and expr[j].isspace():
            j += 1
        if name in ("by", "without", "on", "ignoring", "group_left", "group_right"):
            after_grouping_keyword = True
        elif name in KEYWORDS or (j < n and expr[j] == "("):
            after_grouping_keyword = False
        else:
            selector = name
            if j < n and expr[j] == "{":
                selector = name + expr[j:expr.index("}", j) + 1]
                j = expr.index("}", j) + 1
            out.append((name, selector))
            after_grouping_keyword = False
        i = m.end() if name in KEYWORDS else j
    return out


def grouping_labels(expr):
    labels = set()
    for group in GROUPING_RE.findall(strip_strings(expr)):
        labels.update(x.strip() for x in group.split(",") if x.strip())
    return labels


def matcher_labels(selector):
    return set(MATCHER_LABEL_RE.findall(selector)) - {"__name__"}


def dashboard_expr(expr):
    """A dashboard query with Grafana's variables replaced as for the whole fleet."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
            .replace("$job", "obsgate").replace("$instance", ".+"))


# ------------------------------------------------------------------------------ static checks

def run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        fail(f"{what} failed (exit {r.returncode}):\n{r.stdout}")
    return r.stdout


def load_rules():
    """(document, alert name → its rules, record name → rule). An alert may have several
    rules, one per severity (ObsgateTLSCertificateExpiringSoon: warning and critical)."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    alerts, records = {}, {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.setdefault(rule["alert"], []).append(rule)
            else:
                records[rule["record"]] = rule
    return doc, alerts, records


def dashboard_queries():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    ids, queries = set(), []
    for panel in dash["panels"]:
        title = panel.get("title", "?")
        if panel["id"] in ids:
            fail(f"dashboard: panel id {panel['id']} used twice")
        ids.add(panel["id"])
        grid = panel.get("gridPos", {})
        if not all(k in grid for k in ("h", "w", "x", "y")) or grid["x"] + grid["w"] > 24:
            fail(f"dashboard: panel {title!r} has a bad gridPos {grid}")
        if panel["type"] in ("row", "text"):
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"dashboard: panel {title!r} does not use the datasource variable")
        if not panel.get("targets"):
            fail(f"dashboard: panel {title!r} has no query")
        for target in panel["targets"]:
            if not target.get("expr"):
                fail(f"dashboard: panel {title!r} has a target without expr")
            queries.append((title, target["expr"]))
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    if set(variables) != {"datasource", "job", "instance"} or variables["datasource"]["query"] != "prometheus":
        fail(f"dashboard: expected the variables datasource (prometheus), job, instance; got {sorted(variables)}")
    for name in ("job", "instance"):
        queries.append((f"variable {name}", variables[name]["definition"].replace("label_values(", "").rsplit(",", 1)[0]))
    return dash, queries


def static_checks(promtool):
    step("static: promtool, unit-test coverage, dashboard structure")
    out = run([promtool, "check", "rules", RULES], "promtool check rules")
    ok(f"promtool check rules: {out.strip().splitlines()[-1].strip()}")
    run([promtool, "test", "rules", RULE_TESTS], "promtool test rules")
    ok("promtool test rules obsgate.rules.test.yml: SUCCESS")
    run([promtool, "check", "config", SCRAPE_EXAMPLE], "promtool check config (example scrape configuration)")
    ok("promtool check config deploy/observability/prometheus.yml")

    _, alerts, records = load_rules()
    with open(RULE_TESTS) as f:
        tests = yaml.safe_load(f)
    fires, quiet = set(), set()
    for test in tests["tests"]:
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                fires.update((case["alertname"], a.get("exp_labels", {}).get("severity")) for a in case["exp_alerts"])
            else:
                quiet.add(case["alertname"])
    unknown = ({name for name, _ in fires} | quiet) - set(alerts)
    if unknown:
        fail(f"unit tests name alerts that do not exist: {sorted(unknown)}")
    for name, rules in alerts.items():
        for rule in rules:
            severity = rule.get("labels", {}).get("severity")
            if (name, severity) not in fires:
                fail(f"alert {name} (severity {severity}) has no unit test in which it fires")
        if name not in quiet:
            fail(f"alert {name} has no unit test in which it does not fire")
    n_rules = sum(len(r) for r in alerts.values())
    ok(f"every one of the {len(alerts)} alerts ({n_rules} rules: each severity) has a firing and a not-firing unit test")
    for name, rule in ((name, rule) for name, rules in alerts.items() for rule in rules):
        runbook = rule.get("annotations", {}).get("runbook", "")
        if not runbook.startswith("docs/operations.md#"):
            fail(f"alert {name} has no runbook annotation pointing into docs/operations.md")
        anchor = runbook.split("#", 1)[1]
        with open(os.path.join(ROOT, "docs", "operations.md")) as f:
            headings = [re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
                        for h in re.findall(r"^#+ (.*)$", f.read(), re.M)]
        if anchor not in headings:
            fail(f"alert {name}: docs/operations.md has no heading for #{anchor}")
    ok("every alert's runbook annotation names a section of docs/operations.md")

    _, queries = dashboard_queries()
    for title, expr in queries:
        names = {n for n, _ in selectors(dashboard_expr(expr))}
        if not names:
            fail(f"dashboard panel {title!r}: no metric found in {expr!r}")
        for n in names:
            if ":" in n and n not in records:
                fail(f"dashboard panel {title!r} uses recording rule {n}, which obsgate.rules.yml does not define")
    ok(f"dashboard: {len(queries)} queries, unique panel ids, datasource variable, every query names a metric")
    return alerts, records, queries


# ------------------------------------------------------------------------------ processes

def die_with_parent():
    """In the child before exec: killed when this script dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Procs:
    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, cmd, env=None):
        log = open(os.path.join(self.work, f"{name}.log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.work,
                             env={**os.environ, **(env or {})}, start_new_session=True,
                             preexec_fn=die_with_parent)
        self.procs[name] = p
        return p

    def stop(self, name, sig=signal.SIGTERM, timeout=10):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(signal.SIGCONT)
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name, timeout=5)

    def tails(self):
        for name in self.procs:
            path = os.path.join(self.work, f"{name}.log")
            try:
                lines = open(path, errors="replace").read().splitlines()[-25:]
            except OSError:
                continue
            print(f"---- last lines of {name}.log", file=sys.stderr)
            for line in lines:
                print(f"  | {line}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(what, predicate, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except (OSError, urllib.error.URLError, ValueError) as e:
            last = e
        time.sleep(interval)
    fail(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last})" if last else ""))


# ------------------------------------------------------------------------------ Prometheus API

class Prom:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.fired = set()

    def api(self, path, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        _, body = http_get(f"{self.base}/api/v1/{path}?{query}")
        doc = json.loads(body)
        if doc.get("status") != "success":
            fail(f"Prometheus API {path} {params}: {doc}")
        return doc["data"]

    def alerts(self):
        return self.api("alerts")["alerts"]

    def wait_alert(self, name, labels=None, timeout=25):
        labels = labels or {}

        def firing():
            return [a for a in self.alerts() if a["labels"].get("alertname") == name and a["state"] == "firing"
                    and all(a["labels"].get(k) == v for k, v in labels.items())]
        alerts = wait_until(f"alert {name}{labels or ''} to fire", firing, timeout)
        self.fired.add(name)
        shown = {k: v for k, v in alerts[0]["labels"].items() if k not in ("alertname", "job") and (k != "severity" or k in labels)}
        ok(f"alert {name} firing {shown}")
        return alerts[0]


# ------------------------------------------------------------------------------ S3 clients

def clients(endpoint):
    import boto3
    from botocore.config import Config
    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                    connect_timeout=5, read_timeout=20, max_pool_connections=4)

    def make(access_key, secret):
        return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access_key,
                            aws_secret_access_key=secret, config=config)
    return {
        "platform": make("GWPLATFORM0000000001", "platform-secret"),
        "ci": make("GWCIBOT0000000000001", "ci-secret"),
        "forger": make("GWCIBOT0000000000001", "not-the-secret"),
        "stranger": make("GWNOBODY000000000001", "no-such-secret"),
    }


def unsigned_get(url):
    """(HTTP status, S3 error code or None) of an unsigned GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, None
    except urllib.error.HTTPError as e:
        m = re.search(r"<Code>([^<]*)</Code>", e.read().decode(errors="replace"))
        return e.code, m.group(1) if m else None


def call(fn, **kwargs):
    """(HTTP status, S3 error code or None)."""
    from botocore.exceptions import ClientError
    try:
        r = fn(**kwargs)
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def expect(what, results, status, code=None):
    results = list(results)
    bad = [r for r in results if r != (status, code)]
    if bad:
        fail(f"{what}: expected {status} {code or ''} for all {len(results)} requests, got {sorted(set(bad))}")
    ok(f"{what}: {len(results)} × {status} {code or ''}".rstrip())


# ------------------------------------------------------------------------------ live run

def live(binary, promtool, prometheus, work, alerts, records, queries):
    procs = Procs(work)
    try:
        fired = live_steps(procs, binary, promtool, prometheus, work, alerts, records, queries)
    except BaseException:
        procs.stop_all()
        procs.tails()
        raise
    procs.stop_all()
    return fired


def late_samples(admin, loop):
    """Samples of obsgate_event_loop_lag_seconds over 50 ms on one loop."""
    text = metrics_text(admin)
    within = [v for l, v in samples(admin, "obsgate_event_loop_lag_seconds_bucket", text)
              if l.get("loop") == loop and float(l.get("le", "nan")) == 0.05]
    if len(within) != 1:
        fail(f"obsgate_event_loop_lag_seconds_bucket{{loop=\"{loop}\", le=\"0.05\"}}: {len(within)} series, expected one")
    return sample(admin, "obsgate_event_loop_lag_seconds_count", text, loop=loop) - within[0]


def metrics_text(admin):
    return http_get(f"http://127.0.0.1:{admin}/metrics")[1]


def metric_value(admin, name):
    for line in metrics_text(admin).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


SAMPLE_RE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(admin, name, text=None):
    """[(labels, value)] of the series named `name` in the gateway's /metrics."""
    out = []
    for line in (text if text is not None else metrics_text(admin)).splitlines():
        m = SAMPLE_RE.match(line)
        if m and m.group(1) == name:
            out.append((dict(LABEL_RE.findall(m.group(2) or "")), float(m.group(3))))
    return out


def sample(admin, name, text=None, **labels):
    """The value of the one series `name` with these labels (others may be there), or None."""
    found = [v for l, v in samples(admin, name, text) if all(l.get(k) == v2 for k, v2 in labels.items())]
    if len(found) > 1:
        fail(f"{name}{labels}: {len(found)} series, expected one")
    return found[0] if found else None


# An upstream that answers every request 500 InternalError (the store failing), on the port
# dev-upstream had.
FAILING_UPSTREAM = r"""
import http.server, sys
BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
        b'<Message>We encountered an internal error. Please try again.</Message>'
        b'<RequestId>failing-upstream</RequestId></Error>')
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(BODY)
        self.close_connection = True
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


# The event-loop lag buckets the alert's 50 ms and the dashboard need (at least these).
LAG_BUCKETS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, float("inf")}

# The series the gateway exports for the process (from /proc), its connection caps and its
# audit queue's capacity, with the values the test configuration gives them (None: any).
CONFIGURED_SERIES = {
    "process_cpu_seconds_total": None,
    "process_resident_memory_bytes": None,
    "process_virtual_memory_bytes": None,
    "process_open_fds": None,
    "process_start_time_seconds": None,
    'obsgate_client_connections_limit{limit="total"}': 8,
    'obsgate_client_connections_limit{limit="per_address"}': 1024,
    "obsgate_audit_queue_capacity": 20,
    "obsgate_audit_fail_closed_refusals_total": 0,
}


def live_steps(procs, binary, promtool, prometheus, work, alerts, records, queries):
    up_port, gw_port, tls_port, admin_port, prom_port, gw2_port, admin2_port = (free_port() for _ in range(7))
    step(f"live: dev-upstream :{up_port}, gateway :{gw_port} and TLS :{tls_port} (admin :{admin_port}), "
         f"replica B :{gw2_port} (admin :{admin2_port}), Prometheus :{prom_port} in {work}")

    # A self-signed certificate for the TLS listener that expires in 2 days: under both
    # thresholds of ObsgateTLSCertificateExpiringSoon.
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", os.path.join(work, "tls-key.pem"), "-out", os.path.join(work, "tls-cert.pem"), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], "openssl req (the TLS listener's certificate)")
    not_after = run(["openssl", "x509", "-in", os.path.join(work, "tls-cert.pem"), "-noout", "-enddate"], "openssl x509 -enddate")
    not_after = ssl.cert_time_to_seconds(not_after.strip().split("=", 1)[1])
    tls_listener = f"127.0.0.1:{tls_port}"

    with open(os.path.join(work, "clients.yaml"), "w") as f:
        f.write("version: 1\nclients:\n"
                "  - {access_key: GWPLATFORM0000000001, secret: platform-secret, principal: platform, groups: [platform-admins]}\n"
                "  - {access_key: GWCIBOT0000000000001, secret: ci-secret, principal: ci-bot, groups: [ci]}\n")
    policy = os.path.join(work, "policy.yaml")
    shutil.copyfile(POLICY, policy)
    audit_dir = os.path.join(work, "audit")
    os.mkdir(audit_dir)
    with open(os.path.join(work, "obsgate.yaml"), "w") as f:
        f.write(f"""listeners:
  - {{address: 127.0.0.1:{gw_port}}}
  - {{address: {tls_listener}, tls: {{certificate: tls-cert.pem, private_key: tls-key.pem}}}}
admin: {{address: 127.0.0.1:{admin_port}}}
upstream:
  endpoint: http://127.0.0.1:{up_port}
  region: us-east-1
  profiles: {{default: {{access_key: DEVUPSTREAMKEY000001, secret_key: upstream-secret}}}}
credentials: clients.yaml
policy: policy.yaml
limits: {{max_connections: 8}}
timeouts: {{drain: 1}}
audit:
  sinks: [{{type: file, path: audit/audit.log}}]
  queue_capacity: 20
  fail_closed: true
  unauthenticated_refusals: {{per_second: 1, burst: 50}}
""")

    # Replica B: a second gateway of the same job in front of the same upstream, with a
    # policy that differs by one rule (another obsgate_policy_info version:
    # ObsgatePolicyVersionSkew) and an audit trail that fails open (ObsgateAuditFailOpen).
    policy_b = os.path.join(work, "policy-b.yaml")
    original_policy = open(POLICY).read()
    changed_policy = original_policy.replace("deny: [GLACIER, DEEP_ARCHIVE]", "deny: [GLACIER, DEEP_ARCHIVE, GLACIER_IR]")
    if changed_policy == original_policy:
        fail("policies/organisation.yaml has no rule `deny: [GLACIER, DEEP_ARCHIVE]` to change for replica B")
    with open(policy_b, "w") as f:
        f.write(changed_policy)
    audit_dir_b = os.path.join(work, "audit-b")
    os.mkdir(audit_dir_b)
    with open(os.path.join(work, "obsgate-b.yaml"), "w") as f:
        f.write(f"""listeners:
  - {{address: 127.0.0.1:{gw2_port}}}
admin: {{address: 127.0.0.1:{admin2_port}}}
upstream:
  endpoint: http://127.0.0.1:{up_port}
  region: us-east-1
  profiles: {{default: {{access_key: DEVUPSTREAMKEY000001, secret_key: upstream-secret}}}}
credentials: clients.yaml
policy: policy-b.yaml
timeouts: {{drain: 1}}
audit:
  sinks: [{{type: file, path: audit-b/audit.log}}]
  queue_capacity: 20
  fail_closed: false
""")

    procs.start("dev-upstream", [binary, "dev-upstream", "--port", str(up_port)],
                env={"OBSGATE_DEV_UPSTREAM_SECRET": "upstream-secret"})
    gateway = procs.start("gateway", [binary, "serve", "--config", "obsgate.yaml"])
    gateway_b = procs.start("gateway-b", [binary, "serve", "--config", "obsgate-b.yaml"])

    def ready(proc, admin, name):
        if proc.poll() is not None:
            fail(f"{name} exited with code {proc.returncode} at start")
        return http_get(f"http://127.0.0.1:{admin}/readyz")[0] == 200
    wait_until("the gateway's /readyz (gateway and dev-upstream starting)", lambda: ready(gateway, admin_port, "the gateway"), 20)
    wait_until("replica B's /readyz", lambda: ready(gateway_b, admin2_port, "replica B"), 20)
    ok("gateway and replica B ready in front of dev-upstream")
    versions = [[l.get("version") for l, v in samples(a, "obsgate_policy_info") if v == 1] for a in (admin_port, admin2_port)]
    if any(len(v) != 1 for v in versions) or versions[0] == versions[1]:
        fail(f"obsgate_policy_info versions in force (gateway, replica B): {versions}, expected one each, different")
    ok(f"obsgate_policy_info: the gateway runs policy {versions[0][0]}, replica B {versions[1][0]}")

    first_scrape = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                    for line in metrics_text(admin_port).splitlines() if line and not line.startswith("#")}
    for series, value in CONFIGURED_SERIES.items():
        if series not in first_scrape:
            fail(f"the gateway does not export {series}")
        if value is not None and first_scrape[series] != value:
            fail(f"{series} is {first_scrape[series]:g}, expected {value} (the test's configuration)")
    if not 0 < first_scrape["process_resident_memory_bytes"] <= first_scrape["process_virtual_memory_bytes"]:
        fail(f"process_resident_memory_bytes {first_scrape['process_resident_memory_bytes']:g} is not within (0, "
             f"process_virtual_memory_bytes {first_scrape['process_virtual_memory_bytes']:g}]")
    if abs(first_scrape["process_start_time_seconds"] - time.time()) > 60:
        fail(f"process_start_time_seconds {first_scrape['process_start_time_seconds']:g} is not within a minute of now")
    soft_nofile = resource.prlimit(gateway.pid, resource.RLIMIT_NOFILE)[0]
    if soft_nofile == resource.RLIM_INFINITY:
        if "process_max_fds" in first_scrape:
            fail("process_max_fds is exported although the gateway's open-files limit is unlimited")
    elif first_scrape.get("process_max_fds") != soft_nofile:
        fail(f"process_max_fds is {first_scrape.get('process_max_fds')}, the gateway's soft open-files limit {soft_nofile}")
    ok(f"gateway exports process_* (process_max_fds = its soft open-files limit, {soft_nofile}), the connection caps "
       "(8 total, 1024 per address), the audit queue capacity (20) and the fail-closed counter (0)")

    wait_until("obsgate_ready 1 (the readiness probe runs every 5 s)", lambda: metric_value(admin_port, "obsgate_ready") == 1, 12)
    ok("obsgate_ready 1 with the upstream up")
    expiry = samples(admin_port, "obsgate_tls_certificate_expiry_timestamp_seconds")
    if expiry != [({"listener": tls_listener}, float(not_after))]:
        fail(f"obsgate_tls_certificate_expiry_timestamp_seconds is {expiry}, expected one series "
             f"{{listener=\"{tls_listener}\"}} {not_after} (the certificate's notAfter; none for the plain listener)")
    ok(f"obsgate_tls_certificate_expiry_timestamp_seconds{{listener=\"{tls_listener}\"}} is the certificate's notAfter, "
       "and the plain listener has none")
    buckets = samples(admin_port, "obsgate_event_loop_lag_seconds_bucket")
    loops = sorted({l.get("loop") for l, _ in buckets}, key=lambda x: (len(x or ""), x or ""))
    if not loops or loops != [str(i) for i in range(len(loops))]:
        fail(f"obsgate_event_loop_lag_seconds_bucket: expected a loop label 0, 1, …; got {loops}")
    bounds = {float(l["le"]) for l, _ in buckets if l.get("loop") == "0" and "le" in l}
    if not LAG_BUCKETS <= bounds:
        fail(f"obsgate_event_loop_lag_seconds buckets are {sorted(bounds)}, without {sorted(LAG_BUCKETS - bounds)}")
    for loop in loops:
        if not (sample(admin_port, "obsgate_event_loop_lag_seconds_count", loop=loop) or 0) > 0:
            fail(f"obsgate_event_loop_lag_seconds_count{{loop=\"{loop}\"}} has no samples")
    ok(f"obsgate_event_loop_lag_seconds for {len(loops)} event loops (loop {', '.join(loops)}), sampled, buckets "
       f"{', '.join(f'{b:g}' for b in sorted(bounds))}")

    # The rules as shipped, with every `for:` shortened so that alerts fire within seconds.
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    with open(os.path.join(work, "rules.yml"), "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: obsgate
    static_configs: [{{targets: ["127.0.0.1:{admin_port}", "127.0.0.1:{admin2_port}"]}}]
""")
    run([promtool, "check", "config", os.path.join(work, "prometheus.yml")], "promtool check config (test configuration)")
    prom_proc = procs.start("prometheus", [prometheus, "--config.file=prometheus.yml", "--storage.tsdb.path=data",
                                           f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"])
    prom = Prom(prom_port)

    def prom_ready():
        if prom_proc.poll() is not None:
            fail(f"Prometheus exited with code {prom_proc.returncode} at start")
        return http_get(f"{prom.base}/-/ready")[0] == 200
    wait_until("Prometheus to start (/-/ready)", prom_ready, 30)
    wait_until("Prometheus to scrape the gateway and replica B (target health up)",
               lambda: [t["health"] for t in prom.api("targets")["activeTargets"]] == ["up", "up"], 15)
    loaded = {r["name"] for g in prom.api("rules")["groups"] for r in g["rules"]}
    if loaded != set(alerts) | set(records):
        fail(f"Prometheus loaded rules {sorted(loaded)}, expected {sorted(set(alerts) | set(records))}")
    ok(f"Prometheus up, scraping the gateway and replica B every second, {len(alerts)} alerts and {len(records)} recording rules loaded")

    c = clients(f"http://127.0.0.1:{gw_port}")
    platform, ci, forger, stranger = c["platform"], c["ci"], c["forger"], c["stranger"]
    bucket = "obs-test"

    # -- allowed traffic
    step("allowed traffic")
    expect("CreateBucket by the platform team", [call(platform.create_bucket, Bucket=bucket)], 200)
    expect("PutObject by ci-bot (SSE-KMS injected)",
           [call(ci.put_object, Bucket=bucket, Key=f"k{i}", Body=b"x" * 1000) for i in range(6)], 200)
    expect("GetObject, HeadObject, ListObjectsV2 by the platform team",
           [call(platform.get_object, Bucket=bucket, Key=f"k{i}") for i in range(6)]
           + [call(platform.head_object, Bucket=bucket, Key="k0"), call(platform.list_objects_v2, Bucket=bucket)]
           + [call(ci.list_objects_v2, Bucket=bucket) for _ in range(4)], 200)
    answered = {op: sample(admin_port, "obsgate_upstream_responses_total", operation=op, status_class="2xx")
                for op in ("CreateBucket", "PutObject", "GetObject", "HeadObject", "ListObjectsV2")}
    if answered != {"CreateBucket": 1, "PutObject": 6, "GetObject": 6, "HeadObject": 1, "ListObjectsV2": 5}:
        fail(f"obsgate_upstream_responses_total{{status_class=\"2xx\"}} by operation is {answered}, expected the requests sent")
    if any(l.get("status_class") != "2xx" for l, _ in samples(admin_port, "obsgate_upstream_responses_total")):
        fail(f"obsgate_upstream_responses_total has classes other than 2xx: {samples(admin_port, 'obsgate_upstream_responses_total')}")
    ok(f"obsgate_upstream_responses_total counts the upstream's answers by operation and class: {answered}")

    # -- event loops running late: the gateway's process stopped (SIGSTOP) for 250 ms, a
    # dozen times; each time the task due every 100 ms on each loop runs 150-250 ms late.
    step("the gateway's event loops stalled (SIGSTOP 250 ms × 12)")
    late_before = {loop: late_samples(admin_port, loop) for loop in loops}
    for _ in range(12):
        gateway.send_signal(signal.SIGSTOP)
        time.sleep(0.25)
        gateway.send_signal(signal.SIGCONT)
        time.sleep(0.15)
    time.sleep(0.3)
    late = {loop: late_samples(admin_port, loop) - late_before[loop] for loop in loops}
    if any(n < 6 for n in late.values()):
        fail(f"samples over 50 ms per event loop after 12 stalls of 250 ms: {late}, expected at least 6 on each")
    ok(f"obsgate_event_loop_lag_seconds: samples over 50 ms by loop after the stalls: {late}")
    prom.wait_alert("ObsgateEventLoopLag")
    prom.wait_alert("ObsgateTLSCertificateExpiringSoon", {"severity": "warning", "listener": tls_listener})
    prom.wait_alert("ObsgateTLSCertificateExpiringSoon", {"severity": "critical", "listener": tls_listener})
    prom.wait_alert("ObsgatePolicyVersionSkew")
    time.sleep(2)  # two scrapes: counters seen before they move again

    # -- policy denials: first one, so the series exists before the burst
    step("denied traffic (policies/organisation.yaml)")
    expect("GetObject by ci-bot (access rule ci-uploads-only)", [call(ci.get_object, Bucket=bucket, Key="k0")], 403, "AccessDenied")
    expect("PutObject GLACIER (rule no-archive-classes)",
           [call(ci.put_object, Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER") for _ in range(2)], 403, "AccessDenied")
    expect("ListObjectsV2 with a bad signature", [call(forger.list_objects_v2, Bucket=bucket)], 403, "SignatureDoesNotMatch")
    expect("ListObjectsV2 with an access key the gateway does not know",
           [call(stranger.list_objects_v2, Bucket=bucket) for _ in range(3)], 403, "InvalidAccessKeyId")
    stranger.close()   # its idle connection would count against limits.max_connections (8) later
    expect("unsigned GET (no anonymous reads configured)",
           [unsigned_get(f"http://127.0.0.1:{gw_port}/{bucket}/k0") for _ in range(3)], 403, "AccessDenied")
    time.sleep(2.5)
    expect("a burst of GetObject by ci-bot", [call(ci.get_object, Bucket=bucket, Key="k1") for _ in range(70)], 403, "AccessDenied")
    expect("a burst of bad signatures", [call(forger.list_objects_v2, Bucket=bucket) for _ in range(150)], 403, "SignatureDoesNotMatch")
    # Who was refused, and why: ci-bot denied by the policy (1 + 2 + 70) and with a wrong
    # signature (the key is ci-bot's: 1 + 150), an unknown key, unsigned requests.
    expected_denials = {("ci-bot", "policy"): 73, ("ci-bot", "signature"): 151, ("unknown", "unknown_key"): 3,
                        ("anonymous", "unsigned"): 3}

    def denials():
        return {(l.get("principal"), l.get("reason")): v for l, v in samples(admin_port, "obsgate_denials_by_principal_total")}
    try:
        wait_until("obsgate_denials_by_principal_total to count the refusals", lambda: denials() == expected_denials, 5)
    except Failure:
        fail(f"obsgate_denials_by_principal_total by (principal, reason) is {denials()}, expected {expected_denials}")
    ok(f"obsgate_denials_by_principal_total: {', '.join(f'{p}/{r} {v:g}' for (p, r), v in sorted(expected_denials.items()))}")
    prom.wait_alert("ObsgatePrincipalProbing", {"principal": "ci-bot", "reason": "signature"})
    prom.wait_alert("ObsgatePrincipalProbing", {"principal": "ci-bot", "reason": "policy"})
    quiet_principals = [a["labels"] for a in prom.alerts() if a["labels"]["alertname"] == "ObsgatePrincipalProbing"
                        and a["labels"].get("principal") in ("unknown", "anonymous")]
    if quiet_principals:
        fail(f"ObsgatePrincipalProbing for 3 refusals: {quiet_principals}")
    ok("ObsgatePrincipalProbing quiet for the unknown key and the unsigned requests (3 each)")
    prom.wait_alert("ObsgatePolicyDenialBurst", {"rule": "ci-uploads-only"})
    prom.wait_alert("ObsgateRefusalBurst")
    prom.wait_alert("ObsgateUnauthenticatedFlood")
    if any(a["labels"].get("rule") == "no-archive-classes" for a in prom.alerts() if a["labels"]["alertname"] == "ObsgatePolicyDenialBurst"):
        fail("ObsgatePolicyDenialBurst fired for no-archive-classes after 2 denials")
    ok("ObsgatePolicyDenialBurst quiet for a rule with 2 denials")

    # -- reload failure
    step("a policy that does not load")
    original = open(policy).read()
    with open(policy + ".new", "w") as f:
        f.write("version: 1\nrules:\n  - id: broken\n    storage_class: {deny: [NOT_A_CLASS]\n")
    os.replace(policy + ".new", policy)
    gateway.send_signal(signal.SIGHUP)
    wait_until("obsgate_reload_failures_total to count the broken policy",
               lambda: (metric_value(admin_port, "obsgate_reload_failures_total") or 0) >= 1, 10)
    prom.wait_alert("ObsgateReloadFailed")
    with open(policy + ".new", "w") as f:
        f.write(original)
    os.replace(policy + ".new", policy)
    gateway.send_signal(signal.SIGHUP)
    wait_until("the original policy to reload", lambda: (metric_value(admin_port, "obsgate_reloads_total") or 0) >= 1, 10)
    ok("original policy reloaded")

    # -- the audit trail breaks (directory removed): fail-closed 503s and dropped records
    step("the audit trail cannot be written (directory moved away; the gateway's and replica B's)")
    os.rename(audit_dir, audit_dir + ".gone")
    os.rename(audit_dir_b, audit_dir_b + ".gone")
    wait_until("obsgate_audit_healthy 0", lambda: metric_value(admin_port, "obsgate_audit_healthy") == 0, 10)
    wait_until("replica B's obsgate_audit_healthy 0", lambda: metric_value(admin2_port, "obsgate_audit_healthy") == 0, 10)
    ci_b = clients(f"http://127.0.0.1:{gw2_port}")["ci"]
    expect("PutObject through replica B while its trail is broken (fail_closed: false)",
           [call(ci_b.put_object, Bucket=bucket, Key="unaudited", Body=b"x") for _ in range(3)], 200)
    admitted = metric_value(admin2_port, "obsgate_audit_fail_open_admissions_total")
    if admitted != 3:
        fail(f"replica B's obsgate_audit_fail_open_admissions_total is {admitted}, expected the 3 PutObject let through")
    ok("replica B's obsgate_audit_fail_open_admissions_total counts the 3 PutObject let through")
    expect("PutObject while the trail is broken (fail_closed)",
           [call(ci.put_object, Bucket=bucket, Key="blocked", Body=b"x") for _ in range(3)], 503, "ServiceUnavailable")
    time.sleep(2.5)
    expect("more PutObject while the trail is broken",
           [call(ci.put_object, Bucket=bucket, Key="blocked", Body=b"x") for _ in range(3)], 503, "ServiceUnavailable")
    refusals = metric_value(admin_port, "obsgate_audit_fail_closed_refusals_total")
    if refusals != 6:
        fail(f"obsgate_audit_fail_closed_refusals_total is {refusals}, expected the 6 PutObject answered 503")
    ok("obsgate_audit_fail_closed_refusals_total counts the 6 PutObject answered 503")
    expect("ListObjectsV2 goes on while the trail is broken (its records overflow the queue)",
           [call(platform.list_objects_v2, Bucket=bucket) for _ in range(30)], 200)
    depth = metric_value(admin_port, "obsgate_audit_queue_depth")
    if depth != 20:
        fail(f"obsgate_audit_queue_depth is {depth} after 30 unwritable records, expected the capacity 20")
    ok("obsgate_audit_queue_depth at obsgate_audit_queue_capacity (20)")
    prom.wait_alert("ObsgateAuditUnhealthy")
    prom.wait_alert("ObsgateAuditWriteErrors")
    prom.wait_alert("ObsgateAuditRecordsDropped")
    prom.wait_alert("ObsgateAuditFailClosedRefusals")
    prom.wait_alert("ObsgateAuditQueueFilling")
    prom.wait_alert("ObsgateAuditFailOpen", {"instance": f"127.0.0.1:{admin2_port}"})
    os.rename(audit_dir + ".gone", audit_dir)
    os.rename(audit_dir_b + ".gone", audit_dir_b)
    wait_until("replica B's obsgate_audit_healthy 1 again", lambda: metric_value(admin2_port, "obsgate_audit_healthy") == 1, 10)
    # Writes are admitted again once the trail is healthy and its queue has room (the
    # writer reports healthy a moment before it has written out what queued).
    wait_until("obsgate_audit_healthy 1 and an empty audit queue again",
               lambda: metric_value(admin_port, "obsgate_audit_healthy") == 1
               and metric_value(admin_port, "obsgate_audit_queue_depth") == 0, 10)
    expect("PutObject once the trail is back", [call(ci.put_object, Bucket=bucket, Key="after", Body=b"x")], 200)

    # -- over the connection cap
    step("more client connections than limits.max_connections (8)")
    sockets = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", gw_port), timeout=5)
        sockets.append(s)
    wait_until("obsgate_client_connections_refused_total{limit=\"total\"} > 0",
               lambda: re.search(r'^obsgate_client_connections_refused_total\{limit="total"\} [1-9]', metrics_text(admin_port), re.M), 10)
    # 8 of 8 held (idle connections are closed after timeouts.request_head, 10 s).
    prom.wait_alert("ObsgateConnectionsNearLimit")
    prom.wait_alert("ObsgateConnectionsRefused", {"limit": "total"})
    for s in sockets:
        s.close()

    # -- slow upstream: the dev-upstream stopped for 2.5 s under three listings
    step("a slow upstream (dev-upstream stopped for 2.5 s)")
    upstream = procs.procs["dev-upstream"]
    slow = clients(f"http://127.0.0.1:{gw_port}")
    upstream.send_signal(signal.SIGSTOP)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(call, cl.list_objects_v2, Bucket=bucket) for cl in (slow["platform"], slow["ci"], platform)]
        time.sleep(2.5)
        upstream.send_signal(signal.SIGCONT)
        expect("ListObjectsV2 while the upstream is stalled", [f.result() for f in futures], 200)
    prom.wait_alert("ObsgateUpstreamLatencyHigh")

    # -- failing upstream: dev-upstream stopped
    step("a failing upstream (dev-upstream stopped)")
    early = [a["labels"] for a in prom.alerts() if a["labels"]["alertname"] in ("ObsgateNotReady", "ObsgateNoneReady")]
    if early:
        fail(f"readiness alerts pending or firing while the upstream was up (or only stalled): {early}")
    ok("ObsgateNotReady and ObsgateNoneReady quiet while the upstream was up, also while it was stalled")
    procs.stop("dev-upstream")
    wait_until("obsgate_ready 0 (the readiness probe runs every 5 s)", lambda: metric_value(admin_port, "obsgate_ready") == 0, 12)
    ok("obsgate_ready 0 with the upstream refusing connections")
    expect("ListObjectsV2 with the upstream gone", [call(platform.list_objects_v2, Bucket=bucket) for _ in range(2)], 502, "BadGateway")
    time.sleep(2.5)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: call(platform.list_objects_v2, Bucket=bucket), range(24)))
    expect("more ListObjectsV2 with the upstream gone", results, 502, "BadGateway")
    prom.wait_alert("ObsgateGatewayUpstreamFailures")
    prom.wait_alert("ObsgateUpstreamUnreachable")
    prom.wait_alert("ObsgateNotReady")
    prom.wait_alert("ObsgateNoneReady")
    upstream_5xx = [l for l, _ in samples(admin_port, "obsgate_upstream_responses_total") if l.get("status_class") != "2xx"]
    if upstream_5xx:
        fail(f"obsgate_upstream_responses_total counts answers the upstream never sent: {upstream_5xx}")
    if any(a["labels"]["alertname"] == "ObsgateUpstreamErrors" for a in prom.alerts()):
        fail("ObsgateUpstreamErrors pending or firing for the gateway's own 502s")
    ok("the gateway's 502s are not the upstream's: obsgate_upstream_responses_total has no 5xx, ObsgateUpstreamErrors quiet")

    # -- the upstream answers 500 InternalError to everything
    step("an upstream that answers 500 (on dev-upstream's port)")
    procs.start("failing-upstream", [sys.executable, "-c", FAILING_UPSTREAM, str(up_port)])
    wait_until("obsgate_ready 1 again", lambda: metric_value(admin_port, "obsgate_ready") == 1, 12)
    ok("obsgate_ready 1 again: the upstream accepts connections")
    # Two first, so that Prometheus has the 5xx series before the burst (a series' first
    # sample is no increase).
    expect("ListObjectsV2 answered by the failing upstream", [call(platform.list_objects_v2, Bucket=bucket) for _ in range(2)],
           500, "InternalError")
    time.sleep(2.5)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: call(platform.list_objects_v2, Bucket=bucket), range(24)))
    expect("more ListObjectsV2 answered by the failing upstream", results, 500, "InternalError")
    wait_until("obsgate_upstream_responses_total{operation=\"ListObjectsV2\", status_class=\"5xx\"} 26",
               lambda: sample(admin_port, "obsgate_upstream_responses_total", operation="ListObjectsV2", status_class="5xx") == 26, 5)
    ok("obsgate_upstream_responses_total{operation=\"ListObjectsV2\", status_class=\"5xx\"} counts the 26 answers")
    prom.wait_alert("ObsgateUpstreamErrors")
    procs.stop("failing-upstream")

    # -- the open-files limit lowered (prlimit) to just above what the gateway holds: no
    # traffic now (the upstream is gone), Prometheus's scrape is the only connection.
    step("the gateway's soft open-files limit lowered to just above its open descriptors")
    original_nofile = resource.prlimit(gateway.pid, resource.RLIMIT_NOFILE)
    open_fds = metric_value(admin_port, "process_open_fds") - 1   # less this request's connection
    lowered = int(open_fds / 0.85)
    if lowered - open_fds < 3:
        fail(f"the gateway holds only {open_fds:g} descriptors: too few to lower its limit to over 80 % with room to spare")
    resource.prlimit(gateway.pid, resource.RLIMIT_NOFILE, (lowered, original_nofile[1]))
    try:
        wait_until(f"process_max_fds {lowered}", lambda: metric_value(admin_port, "process_max_fds") == lowered, 5)
        ok(f"soft open-files limit {lowered} with {open_fds:g} open")
        prom.wait_alert("ObsgateFileDescriptorsNearLimit")
    finally:
        resource.prlimit(gateway.pid, resource.RLIMIT_NOFILE, original_nofile)
    ok(f"soft open-files limit back to {original_nofile[0]}")

    # -- every metric and label the rules and the dashboard use exists
    step("every series selector, label and dashboard query against what Prometheus scraped")
    exported = metrics_text(admin_port)
    exported_names = {line.split("{")[0].split(" ")[0] for line in exported.splitlines() if line and not line.startswith("#")}
    exprs = [(f"rule {name}", rule["expr"]) for name, rules in alerts.items() for rule in rules]
    exprs += [(f"rule {name}", rule["expr"]) for name, rule in records.items()]
    exprs += [(f"dashboard {title!r}", dashboard_expr(expr)) for title, expr in queries]
    seen_selectors = {}
    for where, expr in exprs:
        label_names = set()
        sels = selectors(expr)
        for name, sel in sels:
            if ":" in name:
                if name not in records:
                    fail(f"{where}: {name} is not a recording rule of obsgate.rules.yml")
            elif name != "up" and name not in exported_names:
                fail(f"{where}: the gateway does not export {name} (not in its /metrics)")
            if sel not in seen_selectors:
                seen_selectors[sel] = prom.api("series", **{"match[]": sel, "start": str(time.time() - 600)})
            series = seen_selectors[sel]
            if not series:
                fail(f"{where}: selector {sel} matches no series in Prometheus")
            for label in matcher_labels(sel):
                if not any(label in s for s in series):
                    fail(f"{where}: label {label!r} of {sel} is on none of its series")
            for s in series:
                label_names.update(s)
        for label in grouping_labels(expr) - {"le"} if "histogram_quantile" in expr else grouping_labels(expr):
            if label not in label_names:
                fail(f"{where}: groups or joins by {label!r}, which none of its series carry ({sorted(label_names)})")
        for label in grouping_labels(expr) & {"le"}:
            if not any(name.endswith("_bucket") for name, _ in sels):
                fail(f"{where}: groups by le without a histogram bucket series")
    ok(f"{len(seen_selectors)} distinct series selectors of {len(alerts)} alerts, {len(records)} recording rules and "
       f"{len(queries)} dashboard queries all match series the gateway exports, with every label they use")
    empty = []
    for title, expr in queries:
        if not prom.api("query", query=dashboard_expr(expr))["result"]:
            empty.append(title)
    if empty:
        fail(f"dashboard queries returning no data after the traffic: {empty}")
    ok(f"all {len(queries)} dashboard queries return data")
    for record in records:
        if not prom.api("query", query=record)["result"]:
            fail(f"recording rule {record} has no data")
    ok(f"all {len(records)} recording rules have data")
    broken = [(r["name"], r.get("lastError")) for g in prom.api("rules")["groups"] for r in g["rules"] if r.get("health") != "ok"]
    if broken:
        fail(f"rules that failed to evaluate: {broken}")
    ok("every rule evaluates without error")

    # -- the gateways go away: the gateway first (ObsgateDown, replica B still up), then
    # replica B (ObsgateAllDown).
    step("the gateway stops, then replica B")
    procs.stop("gateway")
    if gateway.returncode != 0:
        fail(f"the gateway exited with code {gateway.returncode} on SIGTERM")
    prom.wait_alert("ObsgateDown", {"instance": f"127.0.0.1:{admin_port}"})
    if any(a["labels"]["alertname"] == "ObsgateAllDown" for a in prom.alerts()):
        fail("ObsgateAllDown pending or firing while replica B is up")
    ok("ObsgateAllDown quiet while replica B is up")
    procs.stop("gateway-b")
    if gateway_b.returncode != 0:
        fail(f"replica B exited with code {gateway_b.returncode} on SIGTERM")
    prom.wait_alert("ObsgateAllDown")
    # The records that were dropped were never written: the chain of the file has no gap.
    out = run([binary, "audit", "verify", os.path.join(audit_dir, "audit.log")], "obsgate audit verify after dropped records")
    ok(f"audit trail intact across the outage: {out.strip()}")
    out = run([binary, "audit", "verify", os.path.join(audit_dir_b, "audit.log")], "obsgate audit verify (replica B)")
    ok(f"replica B's audit trail intact across its fail-open outage: {out.strip()}")

    return prom.fired


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--static-only", action="store_true", help="promtool and structure checks only, no live run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, Prometheus data)")
    args = parser.parse_args()
    started = time.monotonic()

    def timeout(*_):
        raise Failure(f"the test ran out of its {BUDGET_SECONDS} s budget")
    signal.signal(signal.SIGALRM, timeout)

    def terminated(signum, _):
        raise Failure(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(BUDGET_SECONDS)

    binary = os.path.abspath(os.environ.get("OBSGATE_BINARY") or os.path.join(ROOT, ".build", "debug", "obsgate"))
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    work = None
    try:
        if not promtool or not prometheus:
            fail("promtool and prometheus are needed (Debian package prometheus: scripts/install-test-deps.sh installs it)")
        alerts, records, queries = static_checks(promtool)
        if not args.static_only:
            if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
                fail(f"no obsgate binary at {binary} (build it, or set OBSGATE_BINARY)")
            work = tempfile.mkdtemp(prefix="obsgate-observability-")
            fired = live(binary, promtool, prometheus, work, alerts, records, queries)
            missing = set(alerts) - fired - set(NOT_DRIVEN_LIVE)
            if missing:
                fail(f"alerts neither driven live nor listed as unit-test-only: {sorted(missing)}")
            ok(f"{len(fired)} of {len(alerts)} alerts fired live"
               + ("; unit tests only: " + ", ".join(f"{k} ({v})" for k, v in NOT_DRIVEN_LIVE.items())
                  if NOT_DRIVEN_LIVE else ""))
    except Failure as e:
        signal.alarm(0)
        print(f"observability-test: FAILED: {e}", file=sys.stderr)
        if work:
            print(f"observability-test: logs in {work}", file=sys.stderr)
        sys.exit(1)
    signal.alarm(0)
    if work and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"observability-test: OK, {checks} checks in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
