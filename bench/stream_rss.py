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

import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - told to the user, not a code path
    sys.exit("stream_rss.py needs botocore: run scripts/install-test-deps.sh")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = ".build-bench/release/obsgate"
BUILD_COMMAND = ["swift", "build", "-c", "release", "--product", "obsgate", "--scratch-path",
                 os.path.join(REPO, ".build-bench")]
MIB = 1024 * 1024
BLOCK = 1 * MIB
REGION = "us-east-1"
BUCKET = "bench-stream"
UPSTREAM_KEY = "BENCHUPSTREAMKEY0001"
GATEWAY_KEY = "GWBENCHCLIENTKEY0001"
PATHS = ("direct", "nginx", "obsgate")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class BenchError(Exception):
    """A failure that ends the run with exit code 2."""


class GlobalTimeout(BenchError):
    pass


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with K/M/G/T, e.g. 2G, 512M)")
    factor = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    size = int(float(m.group(1)) * factor)
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return size


def human_size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.2f} {unit}"
    return f"{n} B"


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


# ---------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Every subprocess the run starts, each in its own process group so that stopping it
    also stops its children (nginx workers); `stop_all` is called on every way out."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.started: list[tuple[str, subprocess.Popen, str]] = []

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log_path = os.path.join(self.workdir, f"{name}.log")
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, cwd=self.workdir, start_new_session=True)
        finally:
            log.close()
        self.started.append((name, proc, log_path))
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        for n, _, path in self.started:
            if n == name:
                try:
                    with open(path, "rb") as f:
                        text = f.read()[-8192:].decode("utf-8", "replace")
                except OSError:
                    return ""
                return "\n".join(text.splitlines()[-lines:])
        return ""

    def wait_listening(self, name: str, proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with code {proc.returncode} before listening:\n{self.log_tail(name)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{self.log_tail(name)}")

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.started):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for _, proc, _ in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # The whole group, also when the leader is gone but a child lingers.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process in KiB (empty once it is gone)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return values


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


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


# ---------------------------------------------------------------------------- the S3 client

@dataclass
class Endpoint:
    name: str
    port: int
    access_key: str
    secret: str


def signed_headers(endpoint: Endpoint, method: str, path: str, content_sha256: str) -> dict[str, str]:
    """SigV4 header signature by botocore over host, x-amz-date and x-amz-content-sha256
    (Content-Length is added after signing, so no proxy's framing can break it)."""
    url = f"http://127.0.0.1:{endpoint.port}{path}"
    request = AWSRequest(method=method, url=url, headers={"x-amz-content-sha256": content_sha256})
    SigV4Auth(Credentials(endpoint.access_key, endpoint.secret), "s3", REGION).add_auth(request)
    headers = {k: v for k, v in request.headers.items()}
    headers["Host"] = f"127.0.0.1:{endpoint.port}"
    return headers


def connect(endpoint: Endpoint, io_timeout: float) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=io_timeout)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def send_head(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]) -> None:
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()


def expect_status(response: http.client.HTTPResponse, statuses: tuple[int, ...], what: str) -> bytes:
    body = response.read()
    if response.status not in statuses:
        raise BenchError(f"{what}: HTTP {response.status} {response.reason}: {body[:600].decode('utf-8', 'replace')}")
    return body


def simple_request(endpoint: Endpoint, method: str, path: str, io_timeout: float, statuses=(200, 204)) -> None:
    conn = connect(endpoint, io_timeout)
    try:
        headers = signed_headers(endpoint, method, path, EMPTY_SHA256)
        headers["Content-Length"] = "0"
        send_head(conn, method, path, headers)
        expect_status(conn.getresponse(), statuses, f"{method} {path} via {endpoint.name}")
    finally:
        conn.close()


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


# ---------------------------------------------------------------------------- set-up

def ensure_binary(binary: str, explicit: bool) -> str:
    path = binary if os.path.isabs(binary) else os.path.join(REPO, binary)
    if os.path.exists(path):
        return path
    if explicit and os.path.normpath(path) != os.path.normpath(os.path.join(REPO, DEFAULT_BINARY)):
        raise BenchError(f"--binary {binary}: no such file")
    print(f"{path} is missing; building it (several minutes): {' '.join(BUILD_COMMAND)}", flush=True)
    try:
        subprocess.run(BUILD_COMMAND, cwd=REPO, check=True, timeout=3600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as error:
        raise BenchError(f"building the release binary failed: {error}")
    if not os.path.exists(path):
        raise BenchError(f"the build finished but {path} is missing")
    return path


def write(path: str, text: str, mode: int = 0o600) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def gateway_config(workdir: str, port: int, upstream_port: int, upstream_secret: str, client_secret: str) -> str:
    write(os.path.join(workdir, "clients.yaml"), f"""version: 1
clients:
  - access_key: {GATEWAY_KEY}
    secret: {client_secret}
    principal: bench
""")
    return write(os.path.join(workdir, "obsgate.yaml"), f"""listeners:
  - address: 127.0.0.1:{port}
upstream:
  endpoint: http://127.0.0.1:{upstream_port}
  region: {REGION}
  profiles:
    default:
      access_key: {UPSTREAM_KEY}
      secret_key: {upstream_secret}
credentials: clients.yaml
timeouts:
  drain: 2
log_level: warning
""")


def nginx_config(workdir: str, port: int, upstream_port: int) -> str:
    prefix = os.path.join(workdir, "nginx")
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    # As root the master would hand its workers to `nobody`; keep them as the current user.
    user = ""
    if os.geteuid() == 0:
        import grp
        import pwd
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    return write(os.path.join(prefix, "nginx.conf"), f"""{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
""", 0o644)


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise BenchError("nginx not found: run scripts/install-test-deps.sh")


def command_output(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - informational only
        return "?"


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

    def on_alarm(signum, frame):
        raise GlobalTimeout(f"the global timeout of {args.timeout:.0f} s expired")

    def on_term(signum, frame):
        raise BenchError(f"stopped by signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    # Ctrl-C stops the run (and its processes) also when started from a shell that had
    # SIGINT ignored for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)

    workdir = tempfile.mkdtemp(prefix="obsgate-bench-")
    processes = Processes(workdir)
    sampler = RssSampler(0.1)
    try:
        print(f"preparing {human_size(payload_size)} of data (sha256 of what will be sent) ...", flush=True)
        payload = Payload(payload_size)

        upstream_secret = secrets.token_urlsafe(24)
        client_secret = secrets.token_urlsafe(24)
        upstream_port, nginx_port, gateway_port = free_port(), free_port(), free_port()
        while len({upstream_port, nginx_port, gateway_port}) < 3:
            nginx_port, gateway_port = free_port(), free_port()

        env = dict(os.environ, OBSGATE_DEV_UPSTREAM_SECRET=upstream_secret)
        upstream = processes.start("dev-upstream", [binary, "dev-upstream", "--port", str(upstream_port),
                                                    "--access-key", UPSTREAM_KEY], env)
        processes.wait_listening("dev-upstream", upstream, upstream_port)

        config = gateway_config(workdir, gateway_port, upstream_port, upstream_secret, client_secret)
        gateway_env = {k: v for k, v in os.environ.items() if k != "OBSGATE_DEV_UPSTREAM_SECRET"}
        gateway = processes.start("obsgate", [binary, "serve", "--config", config], gateway_env)
        processes.wait_listening("obsgate", gateway, gateway_port)

        nginx_conf = nginx_config(workdir, nginx_port, upstream_port)
        nginx_prefix = os.path.dirname(nginx_conf)
        nginx_master = processes.start("nginx", [nginx, "-p", nginx_prefix, "-c", nginx_conf,
                                                 "-e", os.path.join(nginx_prefix, "error.log")])
        processes.wait_listening("nginx", nginx_master, nginx_port)
        nginx_workers = []
        for _ in range(50):
            nginx_workers = children_of(nginx_master.pid)
            if nginx_workers:
                break
            time.sleep(0.05)
        if not nginx_workers:
            raise BenchError("nginx started without a worker process")

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
        signal.setitimer(signal.ITIMER_REAL, 0)
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
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=None,
                        help=f"the obsgate binary (default {DEFAULT_BINARY}, built with "
                             f"`swift build -c release --product obsgate --scratch-path .build-bench` if missing)")
    parser.add_argument("--size", type=parse_size, default=parse_size("2G"),
                        help="object size: bytes, or with K/M/G/T (binary units), e.g. 2G, 512M (default 2G)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--rounds", type=int, default=1,
                        help="round trips per path, interleaved; throughput is the median (default 1)")
    parser.add_argument("--rss-limit-mib", type=float, default=150, help="gateway peak RSS limit (default 150)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="global time limit of the run in seconds, after the build (default 900)")
    parser.add_argument("--io-timeout", type=float, default=120,
                        help="longest wait for any single socket read or write in seconds (default 120)")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (configs, logs)")
    args = parser.parse_args(argv)
    args.binary_given = args.binary is not None
    args.binary = args.binary or DEFAULT_BINARY
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; every process stopped", file=sys.stderr)
        return 2
    except BenchError as error:
        print(f"\nstream_rss: error: {error}", file=sys.stderr)
        return 2
    except (OSError, http.client.HTTPException) as error:
        print(f"\nstream_rss: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
