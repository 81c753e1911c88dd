"""What the benchmarks in bench/ share: the release binary, the processes they start and
stop (dev-upstream, obsgate, nginx), ports, SigV4 signing with botocore, CPU accounting
from /proc, the global timeout and the exit codes. See bench/README.md.

Not a script: `bench/stream_rss.py`, `bench/small_requests.py` and `bench/faults.py` import
it (their directory is on `sys.path` when they run).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

try:
    from botocore.auth import S3SigV4QueryAuth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - told to the user, not a code path
    sys.exit(f"{os.path.basename(sys.argv[0])} needs botocore: run scripts/install-test-deps.sh")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = ".build-bench/release/obsgate"
BUILD_COMMAND = ["swift", "build", "-c", "release", "--product", "obsgate", "--scratch-path",
                 os.path.join(REPO, ".build-bench")]
MIB = 1024 * 1024
REGION = "us-east-1"
UPSTREAM_KEY = "BENCHUPSTREAMKEY0001"
GATEWAY_KEY = "GWBENCHCLIENTKEY0001"
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


# ---------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` different free loopback ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


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

    def log_path(self, name: str) -> str:
        for n, _, path in reversed(self.started):
            if n == name:
                return path
        raise KeyError(name)

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            with open(self.log_path(name), "rb") as f:
                text = f.read()[-8192:].decode("utf-8", "replace")
        except (KeyError, OSError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

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

    def stop(self, name: str, grace: float = 10) -> int | None:
        """SIGTERM to one process's group and wait for the leader (it may drain first);
        SIGKILL after `grace` seconds. Returns its exit code."""
        for n, proc, _ in self.started:
            if n == name:
                return self._stop([proc], grace)[0]
        raise KeyError(name)

    def stop_all(self) -> None:
        self._stop([proc for _, proc, _ in reversed(self.started)], 5)

    @staticmethod
    def _stop(procs: list[subprocess.Popen], grace: float) -> list[int | None]:
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for proc in procs:
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
        return [proc.returncode for proc in procs]


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


def open_fds(pid: int) -> dict[int, str]:
    """A process's open file descriptors and what each is (`socket:[inode]`, a path, …);
    empty once it is gone."""
    fds = {}
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return fds
    for entry in entries:
        try:
            fds[int(entry)] = os.readlink(f"/proc/{pid}/fd/{entry}")
        except OSError:
            pass  # closed between the listing and the look
    return fds


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after `pid (comm)` (comm may hold spaces and
    parentheses): state, ppid, …; empty once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2:].split()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        fields = stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(entry)
            if len(fields) > 1 and int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


# ---------------------------------------------------------------------------- the S3 client

@dataclass
class Endpoint:
    name: str
    port: int
    access_key: str
    secret: str


def signed_headers(endpoint: Endpoint, method: str, path: str, content_sha256: str,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    """SigV4 header signature by botocore over host, x-amz-date, x-amz-content-sha256 and
    the `extra` headers (Content-Length is added after signing, so no proxy's framing can
    break it)."""
    url = f"http://127.0.0.1:{endpoint.port}{path}"
    request = AWSRequest(method=method, url=url, headers={**(extra or {}), "x-amz-content-sha256": content_sha256})
    SigV4Auth(Credentials(endpoint.access_key, endpoint.secret), "s3", REGION).add_auth(request)
    headers = {k: v for k, v in request.headers.items()}
    headers["Host"] = f"127.0.0.1:{endpoint.port}"
    return headers


def presigned_url(endpoint: Endpoint, method: str, path: str, expires: int) -> str:
    """A SigV4 presigned URL by botocore (signed header: host = 127.0.0.1:PORT, payload
    UNSIGNED-PAYLOAD), valid for `expires` seconds and any number of requests."""
    request = AWSRequest(method=method, url=f"http://127.0.0.1:{endpoint.port}{path}")
    S3SigV4QueryAuth(Credentials(endpoint.access_key, endpoint.secret), "s3", REGION,
                     expires=expires).add_auth(request)
    return request.url


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


def simple_request(endpoint: Endpoint, method: str, path: str, io_timeout: float, statuses=(200, 204),
                   body: bytes = b"") -> bytes:
    """One header-signed request with a small body (signed payload hash); returns the
    response body."""
    conn = connect(endpoint, io_timeout)
    try:
        headers = signed_headers(endpoint, method, path, hashlib.sha256(body).hexdigest())
        headers["Content-Length"] = str(len(body))
        send_head(conn, method, path, headers)
        if body:
            conn.send(body)
        return expect_status(conn.getresponse(), statuses, f"{method} {path} via {endpoint.name}")
    finally:
        conn.close()


def scrape_metrics(port: int, io_timeout: float) -> dict[str, float]:
    """A gateway's admin `/metrics`: every sample line of the Prometheus text as
    {`name` or `name{labels}` as the gateway wrote them: value}."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=io_timeout)
    try:
        conn.request("GET", "/metrics")
        text = expect_status(conn.getresponse(), (200,), "GET /metrics").decode("utf-8", "replace")
    finally:
        conn.close()
    values = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)$", line)
        if m:
            try:
                values[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return values


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


def gateway_config(directory: str, port: int, upstream_port: int, upstream_secret: str, client_secret: str,
                   extra: str = "", upstream_key: str = UPSTREAM_KEY, timeouts: dict[str, float] | None = None) -> str:
    """obsgate.yaml (and its clients.yaml) in `directory`: the store as upstream with its
    key (`upstream_key`, the dev-upstream's by default), one client with the gateway-issued
    key, `log_level: warning`; `timeouts` (seconds by key of the `timeouts:` section) are set
    beside `drain: 2`; `extra` is YAML appended as is (an `audit:` or `admin:` section)."""
    os.makedirs(directory, exist_ok=True)
    timeout_lines = "".join(f"  {name}: {seconds:g}\n" for name, seconds in {"drain": 2, **(timeouts or {})}.items())
    write(os.path.join(directory, "clients.yaml"), f"""version: 1
clients:
  - access_key: {GATEWAY_KEY}
    secret: {client_secret}
    principal: bench
""")
    return write(os.path.join(directory, "obsgate.yaml"), f"""listeners:
  - address: 127.0.0.1:{port}
upstream:
  endpoint: http://127.0.0.1:{upstream_port}
  region: {REGION}
  profiles:
    default:
      access_key: {upstream_key}
      secret_key: "{upstream_secret}"
credentials: clients.yaml
timeouts:
{timeout_lines}log_level: warning
{extra}""")


def nginx_config(workdir: str, port: int, upstream_port: int, workers: int = 1, upstream_keepalive: int = 0) -> str:
    """`proxy_pass` to the store, unbuffered both ways, with `workers` worker processes.
    `upstream_keepalive` > 0 keeps that many idle connections to the store per worker (as
    obsgate pools its upstream connections); 0 opens one per request."""
    prefix = os.path.join(workdir, "nginx")
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    # As root the master would hand its workers to `nobody`; keep them as the current user.
    user = ""
    if os.geteuid() == 0:
        import grp
        import pwd
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    if upstream_keepalive > 0:
        upstream_block = f"upstream store {{ server 127.0.0.1:{upstream_port}; keepalive {upstream_keepalive}; }}"
        target = "http://store"
    else:
        upstream_block, target = "", f"http://127.0.0.1:{upstream_port}"
    return write(os.path.join(prefix, "nginx.conf"), f"""{user}
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {upstream_block}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass {target};
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


def machine() -> dict:
    return {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}


def start_upstream(processes: Processes, binary: str, port: int, secret: str) -> subprocess.Popen:
    """`obsgate dev-upstream` with the upstream key (its secret only in its environment)."""
    env = dict(os.environ, OBSGATE_DEV_UPSTREAM_SECRET=secret)
    upstream = processes.start("dev-upstream", [binary, "dev-upstream", "--port", str(port),
                                                "--access-key", UPSTREAM_KEY], env)
    processes.wait_listening("dev-upstream", upstream, port)
    return upstream


def start_gateway(processes: Processes, name: str, binary: str, config: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "OBSGATE_DEV_UPSTREAM_SECRET"}
    gateway = processes.start(name, [binary, "serve", "--config", config], env)
    processes.wait_listening(name, gateway, port)
    return gateway


def start_nginx(processes: Processes, nginx: str, nginx_conf: str, port: int,
                workers: int = 1) -> tuple[subprocess.Popen, list[int]]:
    """nginx in the foreground; returns the master and the pids of its `workers` workers
    (as many as its configuration starts)."""
    prefix = os.path.dirname(nginx_conf)
    master = processes.start("nginx", [nginx, "-p", prefix, "-c", nginx_conf, "-e", os.path.join(prefix, "error.log")])
    processes.wait_listening("nginx", master, port)
    pids: list[int] = []
    for _ in range(100):
        pids = children_of(master.pid)
        if len(pids) >= workers:
            return master, pids
        time.sleep(0.05)
    raise BenchError(f"nginx started {len(pids)} worker processes, not {workers}")


# ---------------------------------------------------------------------------- the run

def run_wrk_for_result(processes: Processes, name: str, argv: list[str], seconds: float) -> dict:
    """Runs wrk (`argv`, with a script whose done() prints `WRK_RESULT {json}`) under
    `processes` as `name`, waits up to `seconds` + 30, and returns that JSON."""
    proc = processes.start(name, argv)
    try:
        proc.wait(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{name} did not finish within {seconds + 30:g} s")
    with open(processes.log_path(name), encoding="utf-8", errors="replace") as f:
        output = f.read()
    m = re.search(r"^WRK_RESULT (\{.*\})$", output, re.M)
    if proc.returncode != 0 or not m:
        raise BenchError(f"{name} failed (exit code {proc.returncode}):\n{output[-2000:]}")
    return json.loads(m.group(1))


def arm_global_timeout(seconds: float) -> None:
    """SIGALRM after `seconds` and SIGTERM / SIGHUP raise a BenchError in the main thread,
    Ctrl-C a KeyboardInterrupt: the caller's `finally` stops every process."""

    def on_alarm(signum, frame):
        raise GlobalTimeout(f"the global timeout of {seconds:.0f} s expired")

    def on_term(signum, frame):
        raise BenchError(f"stopped by signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    # Ctrl-C stops the run (and its processes) also when started from a shell that had
    # SIGINT ignored for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def disarm_global_timeout() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def bench_parser(doc: str, *, timeout: float, size: str, size_help: str, rounds: int, rounds_help: str,
                 io_timeout: float) -> argparse.ArgumentParser:
    """The options every benchmark has; the caller adds its own and calls `parse_args`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=None,
                        help=f"the obsgate binary (default {DEFAULT_BINARY}, built with "
                             f"`swift build -c release --product obsgate --scratch-path .build-bench` if missing)")
    parser.add_argument("--size", type=parse_size, default=parse_size(size),
                        help=f"object size: bytes, or with K/M/G/T (binary units), {size_help} (default {size})")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--rounds", type=int, default=rounds, help=f"{rounds_help} (default {rounds})")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help=f"global time limit of the run in seconds, after the build (default {timeout:.0f})")
    parser.add_argument("--io-timeout", type=float, default=io_timeout,
                        help=f"longest wait for any single socket read or write of the script's own requests, "
                             f"in seconds (default {io_timeout:.0f})")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (configs, logs)")
    return parser


def parse_bench_args(parser: argparse.ArgumentParser, argv):
    args = parser.parse_args(argv)
    args.binary_given = args.binary is not None
    args.binary = args.binary or DEFAULT_BINARY
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def run_main(name: str, run, args) -> int:
    """`run(args)`, with every failure turned into a message and exit code 2."""
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; every process stopped", file=sys.stderr)
        return 2
    except BenchError as error:
        print(f"\n{name}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, http.client.HTTPException) as error:
        print(f"\n{name}: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
