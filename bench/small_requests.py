#!/usr/bin/env python3
"""Requests per second for a small object through obsgate, with and without its audit
trail, side by side with the same GETs straight to the upstream and through nginx
`proxy_pass`.

    bench/small_requests.py [--size 4K] [--rounds 3] [--duration 10] [--json out.json]

Everything runs on loopback, in one run on one machine (see bench/README.md):

  direct                    `obsgate dev-upstream` (in-memory S3 store, its own key)
  nginx                     `proxy_pass` to the store, upstream keep-alive (clients sign with the store's key)
  obsgate                   `obsgate serve` in front of the store (clients sign with a gateway-issued key)
  obsgate+audit             the same, with a file audit sink, `flush: batch`
  obsgate+audit-per-record  the same, with `flush: per-record` (leave out with --no-per-record)

wrk (fixed threads and connections, keep-alive) GETs one presigned URL per path for
--duration seconds; the paths take turns, their order rotating each round. Reported per
path: requests/s, p50/p99 latency (medians over rounds) and the CPU time the proxy spent
per request; then the ratios obsgate/direct, obsgate/nginx, obsgate+audit/obsgate.

Checks: before timing, one GET of each presigned URL returns 200 and the exact bytes;
wrk counts no status >= 400, no socket error and no short response; afterwards each audit
gateway is stopped and its file must hold one record per request wrk completed (plus at
most one per connection and wrk run for the requests in flight when wrk stopped; records
the gateway dropped for a full queue count, and fail the run with `flush: batch`), and
pass `obsgate audit verify`.

Exit code: 0 every check passed, 1 a check failed (the table is still printed), 2 error
(a process did not start, the preflight GET failed, the global timeout expired,
interrupted).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field

from benchlib import (GATEWAY_KEY, UPSTREAM_KEY, BenchError, Endpoint, Processes, arm_global_timeout,
                      bench_parser, command_output, connect, cpu_seconds, disarm_global_timeout, ensure_binary,
                      expect_status, find_nginx, free_ports, gateway_config, human_size, machine, nginx_config,
                      parse_bench_args, presigned_url, run_main, run_wrk_for_result, scrape_metrics, send_head, simple_request,
                      start_gateway, start_nginx, start_upstream, write)

BUCKET = "bench-small"
GATEWAYS = ("obsgate", "obsgate+audit", "obsgate+audit-per-record")
AUDIT_FLUSH = {"obsgate+audit": "batch", "obsgate+audit-per-record": "per-record"}
URL_EXPIRES = 7 * 24 * 3600  # the most SigV4 allows; one URL serves the whole run
NGINX_UPSTREAM_KEEPALIVE = 32

# wrk's `done` hook: one line of JSON with the counts and the latency percentiles (µs).
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class Sample:
    """One wrk run against one path."""
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    proxy_cpu_s: float
    store_cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class PathState:
    name: str
    endpoint: Endpoint
    url: str = ""
    proxy_pids: list[int] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    requests_sent: int = 0      # responses counted by wrk (warm-up and rounds) plus the preflight GET
    wrk_runs: int = 0


# ---------------------------------------------------------------------------- wrk

def find_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise BenchError("wrk not found: run scripts/install-test-deps.sh")
    return path


def run_wrk(processes: Processes, wrk: str, script: str, state: PathState, label: str, args,
            failures: list[str]) -> dict:
    """One wrk run of `args.duration` (or the warm-up) seconds on the path's URL; returns
    wrk's counts. Error statuses, socket errors and short responses become failures."""
    duration = args.warmup if label == "warmup" else args.duration
    name = f"wrk-{state.name}-{label}"
    argv = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration:g}s", "--timeout", "5s",
            "-s", script, state.url]
    result = run_wrk_for_result(processes, name, argv, duration)
    state.requests_sent += result["requests"]
    state.wrk_runs += 1
    errors = {k: result[k] for k in ("status", "connect", "read", "write", "timeout") if result[k]}
    if errors:
        failures.append(f"{state.name} ({label}): wrk counted errors {errors} "
                        f"(status = responses with a status >= 400) in {result['requests']} requests")
    if result["requests"] and result["bytes"] < result["requests"] * args.size:
        failures.append(f"{state.name} ({label}): wrk read {result['bytes']} bytes for {result['requests']} "
                        f"responses of a {args.size}-byte object")
    return result


def check_get(state: PathState, body: bytes, io_timeout: float) -> None:
    """One GET of the presigned URL wrk will use: 200 and exactly the object's bytes."""
    target = urllib.parse.urlsplit(state.url)
    conn = connect(state.endpoint, io_timeout)
    try:
        send_head(conn, "GET", f"{target.path}?{target.query}", {"Host": target.netloc})
        got = expect_status(conn.getresponse(), (200,), f"GET of the presigned URL via {state.name}")
    finally:
        conn.close()
    if got != body:
        raise BenchError(f"GET via {state.name}: {len(got)} bytes that differ from the {len(body)} bytes put")
    state.requests_sent += 1


# ---------------------------------------------------------------------------- the audit check

def check_audit(binary: str, state: PathState, audit_path: str, metrics: dict[str, float], args,
                failures: list[str]) -> dict:
    """After the gateway stopped (its queue drained): one record per request. wrk counts
    the responses it read; when its time is up it closes its connections with at most one
    request each still in flight, which the gateway may have answered (a 200 record wrk
    never counted) or seen aborted (`ClientDisconnected`). So the file holds between
    `sent` and `sent + connections × wrk runs` records, and every record beyond `sent`
    that is not a whole 200 is such an in-flight one.

    A record the writer gave up (its queue full) is not in the file but counted in
    `obsgate_audit_records_dropped_total`: the count above is of records + dropped, so
    none may be missing unaccounted. With `flush: batch` (the default) a drop fails the
    check; with `per-record` the writer fsyncs every line, and a request rate above the
    disk's fsync rate fills its queue — reported, as the mode's documented limit."""
    flush = AUDIT_FLUSH[state.name]
    records = []
    with open(audit_path, "rb") as f:
        for number, raw in enumerate(f, 1):
            line = json.loads(raw)
            if "anchor" in line:
                if number != 1:
                    failures.append(f"{state.name}: audit anchor on line {number}")
                continue
            records.append(line)
    whole, others = 0, {}
    for r in records:
        if (r.get("operation"), r.get("status"), r.get("error_code"), r.get("bytes_out")) == \
                ("GetObject", 200, None, args.size):
            whole += 1
        else:
            kind = f"{r.get('operation')} {r.get('status', 'no status')} {r.get('error_code', '')}".strip()
            others[kind] = others.get(kind, 0) + 1
    dropped = metrics.get("obsgate_audit_records_dropped_total")
    write_errors = metrics.get("obsgate_audit_write_errors_total")
    sent, bound = state.requests_sent, args.connections * state.wrk_runs
    accounted = len(records) + int(dropped or 0)
    in_flight = accounted - sent
    verify = subprocess.run([binary, "audit", "verify", audit_path], capture_output=True, text=True, timeout=120)
    verify_text = (verify.stdout + verify.stderr).strip()
    m = re.search(r"ok, (\d+) records", verify_text)
    result = {
        "flush": flush,
        "records": len(records),
        "dropped": dropped,
        "write_errors": write_errors,
        "requests_counted": sent,
        "in_flight_at_wrk_stop": in_flight,
        "in_flight_bound": bound,
        "records_whole_200": whole,
        "records_other": others,
        "verify": verify_text,
        "verify_ok": verify.returncode == 0 and m is not None and int(m.group(1)) == len(records),
    }
    if dropped is None or write_errors is None:
        failures.append(f"{state.name}: /metrics has no obsgate_audit_records_dropped_total or "
                        f"obsgate_audit_write_errors_total")
    if not 0 <= in_flight <= bound:
        failures.append(f"{state.name}: {len(records)} audit records + {dropped or 0:.0f} dropped for {sent} requests "
                        f"counted by wrk and the preflight GET; expected {sent} to {sent + bound} "
                        f"({args.connections} connections × {state.wrk_runs} wrk runs in flight at most)")
    elif whole + (dropped or 0) < sent:
        failures.append(f"{state.name}: only {whole} whole 200 GetObject records (+ {dropped or 0:.0f} dropped) for "
                        f"{sent} completed requests (others: {others})")
    if write_errors:
        failures.append(f"{state.name}: the gateway counted {write_errors:.0f} audit write errors")
    if dropped and flush == "batch":
        failures.append(f"{state.name}: the gateway dropped {dropped:.0f} audit records (queue full)")
    if not result["verify_ok"]:
        failures.append(f"{state.name}: `obsgate audit verify` (exit {verify.returncode}) does not confirm "
                        f"{len(records)} records: {verify_text[-600:]}")
    return result


# ---------------------------------------------------------------------------- the run

def run(args) -> int:
    binary = ensure_binary(args.binary, args.binary_given)
    nginx = find_nginx()
    wrk = find_wrk()
    gateways = [g for g in GATEWAYS if not (args.no_per_record and g == "obsgate+audit-per-record")]
    names = ["direct", "nginx", *gateways]

    arm_global_timeout(args.timeout)
    workdir = tempfile.mkdtemp(prefix="obsgate-bench-")
    processes = Processes(workdir)
    failures: list[str] = []
    try:
        body = os.urandom(args.size)
        upstream_secret = secrets.token_urlsafe(24)
        client_secret = secrets.token_urlsafe(24)
        ports = dict(zip(["upstream", "nginx", *gateways, *(f"{g}:admin" for g in gateways)],
                         free_ports(2 + 2 * len(gateways))))
        upstream = start_upstream(processes, binary, ports["upstream"], upstream_secret)
        gateway_procs, audit_paths = {}, {}
        for name in gateways:
            directory = os.path.join(workdir, name)
            extra = ""
            if name in AUDIT_FLUSH:
                audit_paths[name] = os.path.join(directory, "audit.log")
                extra = (f"admin:\n  address: 127.0.0.1:{ports[name + ':admin']}\n"
                         f"audit:\n  sinks:\n    - type: file\n      path: \"{audit_paths[name]}\"\n"
                         f"  flush: {AUDIT_FLUSH[name]}\n"
                         + ("  batch_max_ms: 100\n" if AUDIT_FLUSH[name] == "batch" else ""))
            config = gateway_config(directory, ports[name], ports["upstream"], upstream_secret, client_secret, extra)
            gateway_procs[name] = start_gateway(processes, name, binary, config, ports[name])
        # As many workers as obsgate has event loops (one per CPU), keep-alive to the store
        # as obsgate's upstream pool: the fair peer for many small requests.
        workers = os.cpu_count() or 1
        conf = nginx_config(workdir, ports["nginx"], ports["upstream"], workers=workers,
                            upstream_keepalive=NGINX_UPSTREAM_KEEPALIVE)
        _, nginx_workers = start_nginx(processes, nginx, conf, ports["nginx"], workers)

        direct = Endpoint("direct", ports["upstream"], UPSTREAM_KEY, upstream_secret)
        states = {"direct": PathState("direct", direct),
                  "nginx": PathState("nginx", Endpoint("nginx", ports["nginx"], UPSTREAM_KEY, upstream_secret),
                                     proxy_pids=nginx_workers)}
        for name in gateways:
            states[name] = PathState(name, Endpoint(name, ports[name], GATEWAY_KEY, client_secret),
                                     proxy_pids=[gateway_procs[name].pid])
        key = f"/{BUCKET}/object-{args.size}.bin"
        simple_request(direct, "PUT", f"/{BUCKET}", args.io_timeout)
        simple_request(direct, "PUT", key, args.io_timeout, (200,), body=body)
        for name in names:
            states[name].url = presigned_url(states[name].endpoint, "GET", key, URL_EXPIRES)
            check_get(states[name], body, args.io_timeout)
        print(f"preflight: GET of each presigned URL returned the {human_size(args.size)} put", flush=True)

        script = write(os.path.join(workdir, "report.lua"), WRK_SCRIPT, 0o644)
        for name in names:
            if args.warmup > 0:
                run_wrk(processes, wrk, script, states[name], "warmup", args, failures)
        for round_index in range(1, args.rounds + 1):
            # The order rotates from round to round, so no path is always the first.
            shift = (round_index - 1) % len(names)
            for name in names[shift:] + names[:shift]:
                state = states[name]
                before = cpu_seconds(state.proxy_pids), cpu_seconds([upstream.pid])
                result = run_wrk(processes, wrk, script, state, f"round{round_index}", args, failures)
                after = cpu_seconds(state.proxy_pids), cpu_seconds([upstream.pid])
                sample = Sample(result["requests"], result["duration_us"] / 1e6, result["p50_us"] / 1000,
                                result["p99_us"] / 1000, after[0] - before[0], after[1] - before[1])
                state.samples.append(sample)
                print(f"round {round_index}/{args.rounds}  {name:24s} {sample.rate:9.0f} req/s   "
                      f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms", flush=True)
                for gateway, proc in gateway_procs.items():
                    if proc.poll() is not None:
                        raise BenchError(f"{gateway} exited during the run (code {proc.returncode}):\n"
                                         f"{processes.log_tail(gateway)}")

        audits = {}
        for name in audit_paths:
            metrics = scrape_metrics(ports[name + ":admin"], args.io_timeout)
            code = processes.stop(name)  # drains its audit queue
            if code != 0:
                failures.append(f"{name} exited with code {code} when stopped:\n{processes.log_tail(name)}")
            audits[name] = check_audit(binary, states[name], audit_paths[name], metrics, args, failures)

        report = build_report(args, names, states, audits, failures, binary, nginx, wrk)
        print_report(report)
        for name in gateways:
            log = processes.log_tail(name, 10)
            if log.strip():
                print(f"\n{name} log (warnings and errors, last lines):\n"
                      + "\n".join("  " + line for line in log.splitlines()))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
            print(f"results written to {args.json}")
        return 0 if not failures else 1
    finally:
        disarm_global_timeout()
        processes.stop_all()
        if args.keep_temp:
            print(f"temporary files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def build_report(args, names, states, audits, failures, binary, nginx, wrk) -> dict:
    paths = {}
    for name in names:
        samples = states[name].samples
        paths[name] = {
            "requests_per_s": median([s.rate for s in samples]),
            "p50_ms": median([s.p50_ms for s in samples]),
            "p99_ms": median([s.p99_ms for s in samples]),
            "proxy_cpu_us_per_request": (median([s.proxy_cpu_s / s.requests * 1e6 for s in samples if s.requests])
                                         if name != "direct" else None),
            "store_cpu_us_per_request": median([s.store_cpu_s / s.requests * 1e6 for s in samples if s.requests]),
            "rounds": [s.__dict__ | {"requests_per_s": s.rate} for s in samples],
        }

    def ratio(a, b, key="requests_per_s"):
        x, y = paths.get(a, {}).get(key), paths.get(b, {}).get(key)
        return x / y if x and y else None

    def added_cpu(name):
        x, y = (paths.get(n, {}).get("proxy_cpu_us_per_request") for n in (name, "obsgate"))
        return x - y if x is not None and y is not None else None

    ratios = {
        "obsgate_vs_direct": ratio("obsgate", "direct"),
        "obsgate_vs_nginx": ratio("obsgate", "nginx"),
        "audit_vs_obsgate": ratio("obsgate+audit", "obsgate"),
        "audit_per_record_vs_obsgate": ratio("obsgate+audit-per-record", "obsgate"),
        "proxy_cpu_obsgate_vs_nginx": ratio("obsgate", "nginx", "proxy_cpu_us_per_request"),
        "proxy_cpu_audit_vs_obsgate": ratio("obsgate+audit", "obsgate", "proxy_cpu_us_per_request"),
        "proxy_cpu_audit_per_record_vs_obsgate": ratio("obsgate+audit-per-record", "obsgate",
                                                       "proxy_cpu_us_per_request"),
        "audit_proxy_cpu_us_added": added_cpu("obsgate+audit"),
        "audit_per_record_proxy_cpu_us_added": added_cpu("obsgate+audit-per-record"),
    }
    return {
        "benchmark": "small_requests",
        "object_bytes": args.size,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "threads": args.threads,
        "machine": machine(),
        "versions": {"obsgate": command_output([binary, "--version"]), "nginx": command_output([nginx, "-v"]),
                     "wrk": command_output([wrk, "--version"])},
        "paths": paths,
        "ratios": ratios,
        "audit": audits,
        "failures": failures,
        "verdict": "PASS" if not failures else "FAIL",
    }


def print_report(r: dict) -> None:
    def fmt(v, spec):
        return format(v, spec) if v is not None else format("-", ">" + spec.split(".")[0])

    print()
    print(f"small_requests: GET of a {human_size(r['object_bytes'])} object by presigned URL, wrk {r['threads']} "
          f"threads × {r['connections']} connections, {r['duration_s']:g} s per path and round, {r['rounds']} "
          f"round(s), loopback, {r['machine']['cpus']} CPUs; {r['versions']['obsgate']}, {r['versions']['nginx']}")
    print("medians over rounds; CPU-µs per request: user + system time of the process / requests")
    print(f"  {'path':26s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'CPU-µs/req proxy':>17s} {'store':>6s}")
    for name, p in r["paths"].items():
        print(f"  {name:26s} {fmt(p['requests_per_s'], '8.0f')} {fmt(p['p50_ms'], '7.2f')} {fmt(p['p99_ms'], '7.2f')} "
              f"{fmt(p['proxy_cpu_us_per_request'], '17.0f')} {fmt(p['store_cpu_us_per_request'], '6.0f')}")
    ra = r["ratios"]
    print("ratios (requests/s; proxy CPU per request)")
    rows = [("obsgate / direct", "obsgate_vs_direct", None, None),
            ("obsgate / nginx", "obsgate_vs_nginx", "proxy_cpu_obsgate_vs_nginx", None),
            ("obsgate+audit / obsgate", "audit_vs_obsgate", "proxy_cpu_audit_vs_obsgate", "audit_proxy_cpu_us_added"),
            ("per-record / obsgate", "audit_per_record_vs_obsgate", "proxy_cpu_audit_per_record_vs_obsgate",
             "audit_per_record_proxy_cpu_us_added")]
    for label, rate_key, cpu_key, added_key in rows:
        if ra[rate_key] is None:
            continue
        cpu = f"   CPU/req {ra[cpu_key]:.2f}" if cpu_key and ra[cpu_key] is not None else ""
        if added_key and ra[added_key] is not None:
            cpu += f" (+{ra[added_key]:.0f} µs)"
        print(f"  {label:26s} {ra[rate_key]:8.2f}{cpu}")
    for name, a in r["audit"].items():
        dropped = f" + {a['dropped']:.0f} dropped (queue full)" if a["dropped"] else ""
        print(f"audit {name} (flush: {a['flush']}): {a['records']} records{dropped} for {a['requests_counted']} "
              f"requests completed (+{a['in_flight_at_wrk_stop']} in flight when wrk stopped, at most "
              f"{a['in_flight_bound']}); {a['records_whole_200']} whole 200s, others {a['records_other'] or 'none'}; "
              f"audit verify: {a['verify'].splitlines()[-1].split(': ', 1)[-1] if a['verify'] else '?'}")
        if a["dropped"] and a["flush"] == "per-record":
            share = a["dropped"] / (a["records"] + a["dropped"])
            print(f"  note: {share:.0%} of {name}'s records were dropped: fsync per record is slower than the "
                  f"request rate, so its queue (queue_capacity) filled; its req/s is not the cost of writing "
                  f"every record")
    print()
    if r["failures"]:
        print("FAIL:\n" + "\n".join(f"  - {f}" for f in r["failures"]))
    else:
        print("checks: preflight bytes, wrk 2xx only, audit one record per request and verify: PASS")


def main(argv=None) -> int:
    parser = bench_parser(__doc__, timeout=600, size="4K", size_help="at most 64M, e.g. 4K, 1M",
                          rounds=3, rounds_help="wrk runs per path, interleaved; the results are medians",
                          io_timeout=30)
    parser.add_argument("--duration", type=float, default=10, help="seconds of each wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2,
                        help="seconds of an unmeasured wrk run per path before the rounds; 0: none (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-per-record", action="store_true", help="leave out the obsgate+audit-per-record path")
    args = parse_bench_args(parser, argv)
    if args.size > 64 * 1024 * 1024:
        parser.error("--size: this benchmark is for small objects (at most 64M; see stream_rss.py)")
    if args.duration <= 0 or args.warmup < 0 or args.threads < 1 or args.connections < args.threads:
        parser.error("--duration must be positive, --warmup not negative, --connections at least --threads ≥ 1")
    return run_main("small_requests", run, args)


if __name__ == "__main__":
    sys.exit(main())
