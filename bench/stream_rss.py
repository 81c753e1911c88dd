#!/usr/bin/env python3
"""Streams one large object up and down through obsgate, side by side with the same
transfer straight to the upstream and through nginx `proxy_pass`, and measures the
gateway's peak RSS.

    bench/stream_rss.py [--size 2G] [--binary .build-bench/release/obsgate] [--json out.json]

Everything runs on loopback, in one run on one machine (see bench/README.md):

  upstream  `obsgate dev-upstream` (in-memory S3 store, its own key)
  nginx     `proxy_pass` to the upstream, unbuffered both ways (clients sign with the upstream key)
  obsgate   `obsgate serve` in front of the upstream (clients sign with a gateway-issued key)

For each path: a streaming PUT of --size bytes (UNSIGNED-PAYLOAD, SigV4 by botocore), a
streaming GET whose byte count and sha256 are checked against what was sent, then a
DELETE (the store holds objects in memory). Throughputs are compared as ratios
obsgate/direct and obsgate/nginx. The gateway's VmRSS is sampled every 100 ms and its
VmHWM (peak) read at the end; the run ends with

    gateway peak RSS: N MiB (limit 150 MiB): PASS|FAIL

Exit code: 0 PASS, 1 FAIL (peak RSS over the limit), 2 error (a transfer failed, a
process did not start, the global timeout expired, interrupted).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from benchlib import (EMPTY_SHA256, GATEWAY_KEY, MIB, UPSTREAM_KEY, BenchError, Endpoint, Processes,
                      arm_global_timeout, bench_parser, command_output, connect, cpu_seconds,
                      disarm_global_timeout, ensure_binary, expect_status, find_nginx, free_ports, gateway_config,
                      human_size, machine, nginx_config, own_cpu_seconds, parse_bench_args, proc_status, run_main,
                      send_head, signed_headers, simple_request, start_gateway, start_nginx, start_upstream)

BLOCK = 1 * MIB
BUCKET = "bench-stream"
PATHS = ("direct", "nginx", "obsgate")


# ---------------------------------------------------------------------------- the payload

class Payload:
    """Deterministic, incompressible data of `size` bytes, produced in 1 MiB blocks without
    holding the object: one random 1 MiB block whose first 8 bytes are overwritten with the
    block's index, so every block differs (a dropped, doubled or reordered block changes the
    sha256) at the cost of an 8-byte write per MiB."""

    def __init__(self, size: int):
        self.size = size
        self._block = bytearray(os.urandom(BLOCK))
        self.sha256 = self._digest()

    def blocks(self):
        view = memoryview(self._block)
        remaining, index = self.size, 0
        while remaining > 0:
            struct.pack_into("<Q", self._block, 0, index)
            n = min(BLOCK, remaining)
            yield view[:n]
            remaining -= n
            index += 1

    def _digest(self) -> str:
        h = hashlib.sha256()
        for block in self.blocks():
            h.update(block)
        return h.hexdigest()


class RssSampler(threading.Thread):
    """Samples VmRSS of the watched processes every `interval` seconds and keeps, per
    process and per phase, the largest sample (KiB) and the number of samples."""

    def __init__(self, interval: float = 0.1):
        super().__init__(name="rss-sampler", daemon=True)
        self.interval = interval
        self.watched: dict[str, list[int]] = {}
        self.phase = "idle"
        self.peaks: dict[tuple[str, str], int] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def watch(self, name: str, pids: list[int]) -> None:
        with self._lock:
            self.watched[name] = list(pids)

    def sample_now(self) -> dict[str, int]:
        """One sample of every watched process (the largest RSS among a name's pids)."""
        with self._lock:
            watched = dict(self.watched)
            phase = self.phase
        current = {}
        for name, pids in watched.items():
            rss = max((proc_status(pid).get("VmRSS", 0) for pid in pids), default=0)
            current[name] = rss
            key = (name, phase)
            with self._lock:
                self.peaks[key] = max(self.peaks.get(key, 0), rss)
                self.counts[key] = self.counts.get(key, 0) + 1
        return current

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self.phase = phase

    def peak(self, name: str, phase_prefix: str = "") -> int:
        with self._lock:
            values = [v for (n, p), v in self.peaks.items() if n == name and p.startswith(phase_prefix)]
        return max(values, default=0)

    def samples(self, name: str, phase_prefix: str = "") -> int:
        with self._lock:
            return sum(v for (n, p), v in self.counts.items() if n == name and p.startswith(phase_prefix))

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample_now()

    def stop(self) -> None:
        self._halt.set()


def upload(endpoint: Endpoint, path: str, payload: Payload, io_timeout: float) -> float:
    """A streaming PutObject; returns the seconds from the first byte sent to the response."""
    headers = signed_headers(endpoint, "PUT", path, "UNSIGNED-PAYLOAD")
    headers["Content-Length"] = str(payload.size)
    headers["Content-Type"] = "application/octet-stream"
    conn = connect(endpoint, io_timeout)
    try:
        started = time.perf_counter()
        send_head(conn, "PUT", path, headers)
        sock = conn.sock
        try:
            for block in payload.blocks():
                sock.sendall(block)
        except (BrokenPipeError, ConnectionResetError) as error:
            # Refused before the body ended (the server answered and closed): show the answer.
            try:
                response = conn.getresponse()
            except (OSError, http.client.HTTPException):
                raise BenchError(f"PUT {path} via {endpoint.name}: the connection closed while sending: {error}")
            expect_status(response, (200,), f"PUT {path} via {endpoint.name}")
            raise BenchError(f"PUT {path} via {endpoint.name}: HTTP {response.status} before the body was sent")
        expect_status(conn.getresponse(), (200,), f"PUT {path} via {endpoint.name}")
        return time.perf_counter() - started
    finally:
        conn.close()


def download(endpoint: Endpoint, path: str, payload: Payload, io_timeout: float) -> float:
    """A streaming GetObject read in 1 MiB blocks and discarded; checks the byte count and
    the sha256. Returns the seconds from the request to the last byte."""
    headers = signed_headers(endpoint, "GET", path, EMPTY_SHA256)
    conn = connect(endpoint, io_timeout)
    try:
        started = time.perf_counter()
        send_head(conn, "GET", path, headers)
        response = conn.getresponse()
        if response.status != 200:
            expect_status(response, (200,), f"GET {path} via {endpoint.name}")
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        digest = hashlib.sha256()
        received = 0
        while True:
            n = response.readinto(view)
            if not n:
                break
            digest.update(view[:n])
            received += n
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    if received != payload.size:
        raise BenchError(f"GET {path} via {endpoint.name}: received {received} bytes, sent {payload.size}")
    if digest.hexdigest() != payload.sha256:
        raise BenchError(f"GET {path} via {endpoint.name}: sha256 {digest.hexdigest()} differs from what was sent "
                         f"({payload.sha256})")
    return elapsed


# ---------------------------------------------------------------------------- the run

@dataclass
class PathResult:
    upload_seconds: list[float] = field(default_factory=list)
    download_seconds: list[float] = field(default_factory=list)
    # CPU seconds per transfer, by role: "proxy" (nginx worker / gateway), "store", "client".
    upload_cpu: list[dict[str, float]] = field(default_factory=list)
    download_cpu: list[dict[str, float]] = field(default_factory=list)

    @staticmethod
    def rate(size: int, seconds: list[float]) -> float | None:
        if not seconds:
            return None
        return size / MIB / statistics.median(seconds)


def cpu_per_gib(samples: list[dict[str, float]], size: int) -> dict[str, float]:
    """Median CPU seconds per GiB moved, by role."""
    if not samples:
        return {}
    return {role: statistics.median(s[role] for s in samples) / (size / (1 << 30)) for role in samples[0]}


def mib(kib: int) -> float:
    return kib / 1024


def run(args) -> int:
    payload_size = args.size
    binary = ensure_binary(args.binary, args.binary_given)
    nginx = find_nginx()

    arm_global_timeout(args.timeout)
    workdir = tempfile.mkdtemp(prefix="obsgate-bench-")
    processes = Processes(workdir)
    sampler = RssSampler(0.1)
    try:
        print(f"preparing {human_size(payload_size)} of data (sha256 of what will be sent) ...", flush=True)
        payload = Payload(payload_size)

        upstream_secret = secrets.token_urlsafe(24)
        client_secret = secrets.token_urlsafe(24)
        upstream_port, nginx_port, gateway_port = free_ports(3)
        upstream = start_upstream(processes, binary, upstream_port, upstream_secret)
        config = gateway_config(workdir, gateway_port, upstream_port, upstream_secret, client_secret)
        gateway = start_gateway(processes, "obsgate", binary, config, gateway_port)
        _, nginx_workers = start_nginx(processes, nginx, nginx_config(workdir, nginx_port, upstream_port), nginx_port)

        endpoints = {
            "direct": Endpoint("direct", upstream_port, UPSTREAM_KEY, upstream_secret),
            "nginx": Endpoint("nginx", nginx_port, UPSTREAM_KEY, upstream_secret),
            "obsgate": Endpoint("obsgate", gateway_port, GATEWAY_KEY, client_secret),
        }
        simple_request(endpoints["direct"], "PUT", f"/{BUCKET}", args.io_timeout)
        # A first small request through each proxy: connection set-up and first-use costs
        # stay out of the measurement.
        for name in ("nginx", "obsgate"):
            simple_request(endpoints[name], "GET", f"/{BUCKET}?list-type=2", args.io_timeout, (200,))

        sampler.watch("obsgate", [gateway.pid])
        sampler.watch("nginx-worker", nginx_workers)
        sampler.watch("dev-upstream", [upstream.pid])
        idle = sampler.sample_now()
        gateway_idle_kib = idle["obsgate"]
        sampler.start()

        proxy_pids = {"direct": [], "nginx": nginx_workers, "obsgate": [gateway.pid]}

        def cpu_snapshot(path_name: str) -> dict[str, float]:
            return {"proxy": cpu_seconds(proxy_pids[path_name]), "store": cpu_seconds([upstream.pid]),
                    "client": own_cpu_seconds()}

        def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: b[k] - a[k] for k in a}

        results = {name: PathResult() for name in PATHS}
        for round_index in range(1, args.rounds + 1):
            # The order rotates from round to round, so no path is always the first.
            shift = (round_index - 1) % len(PATHS)
            for name in PATHS[shift:] + PATHS[:shift]:
                endpoint = endpoints[name]
                key = f"/{BUCKET}/stream-{name}-{round_index}.bin"
                print(f"round {round_index}/{args.rounds}  {name:8s} PUT {human_size(payload_size)} ...", end="", flush=True)
                sampler.set_phase(f"{name}:upload")
                before = cpu_snapshot(name)
                up = upload(endpoint, key, payload, args.io_timeout)
                results[name].upload_cpu.append(cpu_delta(before, cpu_snapshot(name)))
                print(f" {payload_size / MIB / up:8.1f} MiB/s   GET ...", end="", flush=True)
                sampler.set_phase(f"{name}:download")
                before = cpu_snapshot(name)
                down = download(endpoint, key, payload, args.io_timeout)
                results[name].download_cpu.append(cpu_delta(before, cpu_snapshot(name)))
                print(f" {payload_size / MIB / down:8.1f} MiB/s   (sha256 ok)", flush=True)
                sampler.set_phase("idle")
                simple_request(endpoint, "DELETE", key, args.io_timeout)
                results[name].upload_seconds.append(up)
                results[name].download_seconds.append(down)

        time.sleep(0.3)  # let the gateway settle before the "after" sample
        after = sampler.sample_now()
        sampler.stop()
        gateway_status = proc_status(gateway.pid)
        worker_hwm = max((proc_status(pid).get("VmHWM", 0) for pid in nginx_workers), default=0)
        upstream_hwm = proc_status(upstream.pid).get("VmHWM", 0)
        if gateway.poll() is not None or "VmHWM" not in gateway_status:
            raise BenchError(f"the gateway exited during the run (code {gateway.returncode}):\n"
                             f"{processes.log_tail('obsgate')}")
        gateway_hwm = gateway_status["VmHWM"]

        report = build_report(args, payload, results, sampler, gateway_idle_kib, after, gateway_hwm, worker_hwm,
                              upstream_hwm, binary, nginx)
        print_report(report)
        gateway_log = processes.log_tail("obsgate", 10)
        if gateway_log.strip():
            print("\ngateway log (warnings and errors, last lines):\n" + "\n".join("  " + l for l in gateway_log.splitlines()))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
            print(f"results written to {args.json}")
        return 0 if report["verdict"] == "PASS" else 1
    finally:
        disarm_global_timeout()
        sampler.stop()
        processes.stop_all()
        if args.keep_temp:
            print(f"temporary files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def build_report(args, payload, results, sampler, gateway_idle_kib, after, gateway_hwm, worker_hwm, upstream_hwm,
                 binary, nginx) -> dict:
    size = payload.size
    paths = {}
    for name, result in results.items():
        paths[name] = {
            "upload_mib_s": PathResult.rate(size, result.upload_seconds),
            "download_mib_s": PathResult.rate(size, result.download_seconds),
            "upload_seconds": result.upload_seconds,
            "download_seconds": result.download_seconds,
            "upload_cpu_s_per_gib": cpu_per_gib(result.upload_cpu, size),
            "download_cpu_s_per_gib": cpu_per_gib(result.download_cpu, size),
        }

    def ratio(a, b, key):
        x, y = paths[a][key], paths[b][key]
        return x / y if x and y else None

    def cpu_ratio(paths, key):
        x, y = paths["obsgate"][key].get("proxy"), paths["nginx"][key].get("proxy")
        return x / y if x and y else None

    limit = args.rss_limit_mib
    peak_mib = mib(gateway_hwm)
    return {
        "benchmark": "stream_rss",
        "size_bytes": size,
        "rounds": args.rounds,
        "sha256": payload.sha256,
        "machine": machine(),
        "versions": {"obsgate": command_output([binary, "--version"]), "nginx": command_output([nginx, "-v"])},
        "paths": paths,
        "ratios": {
            "upload_obsgate_vs_direct": ratio("obsgate", "direct", "upload_mib_s"),
            "upload_obsgate_vs_nginx": ratio("obsgate", "nginx", "upload_mib_s"),
            "download_obsgate_vs_direct": ratio("obsgate", "direct", "download_mib_s"),
            "download_obsgate_vs_nginx": ratio("obsgate", "nginx", "download_mib_s"),
            "upload_cpu_obsgate_vs_nginx": cpu_ratio(paths, "upload_cpu_s_per_gib"),
            "download_cpu_obsgate_vs_nginx": cpu_ratio(paths, "download_cpu_s_per_gib"),
        },
        "rss_mib": {
            "gateway_idle_before": mib(gateway_idle_kib),
            "gateway_sampled_max_upload": mib(sampler.peak("obsgate", "obsgate:upload")),
            "gateway_sampled_max_download": mib(sampler.peak("obsgate", "obsgate:download")),
            "gateway_after": mib(after.get("obsgate", 0)),
            "gateway_peak_vmhwm": peak_mib,
            "gateway_samples_during_transfers": sampler.samples("obsgate", "obsgate:"),
            "nginx_worker_sampled_max": mib(sampler.peak("nginx-worker", "nginx:")),
            "nginx_worker_peak_vmhwm": mib(worker_hwm),
            "dev_upstream_peak_vmhwm": mib(upstream_hwm),
        },
        "rss_limit_mib": limit,
        "verdict": "PASS" if peak_mib <= limit else "FAIL",
    }


def print_report(r: dict) -> None:
    def fmt(v, spec="8.1f"):
        return format(v, spec) if v is not None else "       -"

    print()
    print(f"stream_rss: {human_size(r['size_bytes'])} object, {r['rounds']} round(s), loopback, "
          f"{r['machine']['cpus']} CPUs; {r['versions']['obsgate']}, {r['versions']['nginx']}")
    print("throughput (MiB/s, median over rounds; client = Python, sha256-checked download)")
    print(f"  {'path':10s} {'upload':>8s} {'download':>9s}")
    for name in PATHS:
        p = r["paths"][name]
        print(f"  {name:10s} {fmt(p['upload_mib_s'])} {fmt(p['download_mib_s'], '9.1f')}")
    ra = r["ratios"]
    print("ratios (obsgate throughput / other; 1.00 = as fast)")
    print(f"  {'':10s} {'upload':>8s} {'download':>9s}")
    print(f"  {'vs direct':10s} {fmt(ra['upload_obsgate_vs_direct'], '8.2f')} {fmt(ra['download_obsgate_vs_direct'], '9.2f')}")
    print(f"  {'vs nginx':10s} {fmt(ra['upload_obsgate_vs_nginx'], '8.2f')} {fmt(ra['download_obsgate_vs_nginx'], '9.2f')}")
    m = r["rss_mib"]
    print("CPU seconds per GiB moved (median; 2 CPUs = at most 2 s of CPU per wall second)")
    print(f"  {'':10s} {'upload: proxy':>13s} {'store':>6s} {'client':>6s}   {'download: proxy':>15s} {'store':>6s} {'client':>6s}")
    for name in PATHS:
        up, down = r["paths"][name]["upload_cpu_s_per_gib"], r["paths"][name]["download_cpu_s_per_gib"]
        proxy_up = fmt(up.get("proxy"), "13.2f") if name != "direct" else f"{'-':>13s}"
        proxy_down = fmt(down.get("proxy"), "15.2f") if name != "direct" else f"{'-':>15s}"
        print(f"  {name:10s} {proxy_up} {fmt(up.get('store'), '6.2f')} {fmt(up.get('client'), '6.2f')}   "
              f"{proxy_down} {fmt(down.get('store'), '6.2f')} {fmt(down.get('client'), '6.2f')}")
    print(f"  proxy CPU obsgate/nginx: upload {fmt(ra['upload_cpu_obsgate_vs_nginx'], '.2f')}, "
          f"download {fmt(ra['download_cpu_obsgate_vs_nginx'], '.2f')}  (lower is cheaper)")
    print("memory (MiB)")
    print(f"  gateway RSS idle before         {m['gateway_idle_before']:8.1f}")
    print(f"  gateway RSS max during upload   {m['gateway_sampled_max_upload']:8.1f}   (sampled every 100 ms)")
    print(f"  gateway RSS max during download {m['gateway_sampled_max_download']:8.1f}")
    print(f"  gateway RSS after the transfers {m['gateway_after']:8.1f}")
    print(f"  gateway peak (VmHWM)            {m['gateway_peak_vmhwm']:8.1f}   ({m['gateway_samples_during_transfers']} samples during its transfers)")
    print(f"  nginx worker peak (VmHWM)       {m['nginx_worker_peak_vmhwm']:8.1f}   (sampled max during its transfers {m['nginx_worker_sampled_max']:.1f})")
    print(f"  dev-upstream peak (VmHWM)       {m['dev_upstream_peak_vmhwm']:8.1f}   (holds the object in memory)")
    print()
    print(f"gateway peak RSS: {m['gateway_peak_vmhwm']:.0f} MiB (limit {r['rss_limit_mib']:.0f} MiB): {r['verdict']}")


def main(argv=None) -> int:
    parser = bench_parser(__doc__, timeout=900, size="2G", size_help="e.g. 2G, 512M",
                          rounds=1, rounds_help="round trips per path, interleaved; throughput is the median",
                          io_timeout=120)
    parser.add_argument("--rss-limit-mib", type=float, default=150, help="gateway peak RSS limit (default 150)")
    return run_main("stream_rss", run, parse_bench_args(parser, argv))


if __name__ == "__main__":
    sys.exit(main())
