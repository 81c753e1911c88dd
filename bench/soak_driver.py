#!/usr/bin/env python3
"""The Python driver of bench/soak.sh (run that, not this): a soak of obsgate under mixed
traffic at ~80 % of its measured capacity, sampled every second, with a verdict.

soak.sh writes the fixed-answer nginx configuration (bench/lib.sh) into its temporary
directory and runs this driver there. The driver starts the processes, drives the traffic
and checks the result:

  gateway A   obsgate in front of the fixed-answer nginx: the soak's subject, sampled every
              second (RSS, open fds, event-loop lag, audit queue, requests/s, CPU)
  gateway B   obsgate in front of Ceph radosgw: the correctness slice (policy bypass attempts,
              judged by reading the store back with the upstream's credentials)

Both run policies/organisation.yaml and an audit file (`flush: batch`). Traffic to A: wrk
replays a mix of small requests (allowed, denied by the policy, refused for a bad or missing
signature), and threads of this driver upload objects of 1-4 MiB (UNSIGNED-PAYLOAD and
signed payloads, plus a denied, a tampered and a badly signed one). A first phase measures
what wrk gets through unthrottled beside the uploads; the soak then paces wrk at
`--load` × that rate at a constant rate (wrk's delay() hook, see `LUA_PACE`). See bench/README.md.

Exit code: 0 every check passed, 1 a check failed, 2 error (a process did not start or
died, the global timeout expired, interrupted).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import http.client
import json
import math
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

from benchlib import (DEFAULT_BINARY, EMPTY_SHA256, GATEWAY_KEY, MIB, REPO, BenchError, Endpoint, Processes,
                      arm_global_timeout, command_output, connect, cpu_seconds, disarm_global_timeout, ensure_binary,
                      find_nginx, free_ports, gateway_config, presigned_url, proc_status, run_main, run_wrk_for_result,
                      scrape_metrics, send_head, signed_headers, start_gateway, start_nginx)

try:
    import boto3
    import matplotlib
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as missing:  # pragma: no cover - told to the user, not a code path
    sys.exit(f"soak_driver.py needs {missing.name}: run scripts/install-test-deps.sh")

matplotlib.use("Agg")  # no display: the plot is written to a file
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

POLICY = os.path.join(REPO, "policies", "organisation.yaml")
BUCKET = "soak"
RGW_BUCKET = "soak-rgw"
# radosgw's `main` user, created by the shared start script (scripts/peers.sh lists it).
RGW_KEY, RGW_SECRET = "0555b35654ad1656d804", "h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=="
FORBIDDEN_CLASSES = ("GLACIER", "DEEP_ARCHIVE")  # organisation.yaml's no-archive-classes
APPROVED_KMS_KEY = "testkey-1"                   # organisation.yaml's sse-kms-only
# Header signatures carry their time and the gateway accepts them for clock_skew (900 s):
# wrk runs at most this long on one set of signatures, then starts again with fresh ones.
SEGMENT_SECONDS = 60
UPLOAD_STREAMS = 2
UPLOAD_SIZES = tuple(n * MIB for n in (1, 2, 3, 4))
# The audit file rotates under the soak (64 MiB) and keeps every rotated file, so that every
# record can be counted and the chain verified across the rotations.
AUDIT_MAX_BYTES, AUDIT_KEEP = 64 * MIB, 1000
IO_TIMEOUT = 30


# ---------------------------------------------------------------------------- what each request must get

@dataclass(frozen=True)
class Expected:
    status: int
    decisions: tuple[str, ...]
    error_code: str | None = None

    def matches(self, record: dict) -> bool:
        return (record.get("status") == self.status and record.get("decision") in self.decisions
                and record.get("error_code") == self.error_code)

    def __str__(self) -> str:
        return f"{self.status} {'/'.join(self.decisions)}" + (f" {self.error_code}" if self.error_code else "")


ALLOW, INJECT, DENY, REFUSED = ("allow",), ("allow-with-mutations",), ("deny",), ("refused",)
POLICY_DENIAL = Expected(403, DENY, "AccessDenied")

# The small requests wrk replays to gateway A, with their share of the mix (weights): about
# 70 % allowed, 15 % denied by the policy, 15 % refused before the policy.
SMALL_MIX = {
    "small/get": (4, Expected(200, ALLOW)),             # presigned GET
    "small/head": (2, Expected(200, ALLOW)),            # SigV4 header
    "small/initiate": (2, Expected(200, INJECT)),       # the policy injects SSE-KMS
    "small/put-16k": (1, Expected(200, INJECT)),        # signed payload, verified as it streams
    "small/deny-storage-class": (1, POLICY_DENIAL),     # x-amz-storage-class: GLACIER
    "small/deny-kms-key": (1, POLICY_DENIAL),           # SSE-KMS with testkey-2
    "small/bad-signature": (1, Expected(403, REFUSED, "SignatureDoesNotMatch")),
    "small/unsigned": (1, Expected(403, REFUSED, "AccessDenied")),
}
# The driver's uploads to gateway A, in the order they take turns.
STREAM_CYCLE = ("unsigned-payload", "signed-payload", "unsigned-payload", "signed-payload", "unsigned-payload",
                "signed-payload", "unsigned-payload", "deny-storage-class", "tampered", "bad-signature")
STREAM_EXPECTED = {
    "stream/unsigned-payload": Expected(200, INJECT),
    "stream/signed-payload": Expected(200, INJECT),
    "stream/deny-storage-class": POLICY_DENIAL,
    "stream/tampered": Expected(400, REFUSED, "XAmzContentSHA256Mismatch"),  # body ≠ its signed hash
    "stream/bad-signature": Expected(403, REFUSED, "SignatureDoesNotMatch"),
}
EXPECTED_A = {**{kind: expected for kind, (_, expected) in SMALL_MIX.items()}, **STREAM_EXPECTED}


def kind_of(key: str) -> str:
    """`small/get`, `stream/signed-payload/17`, `rgw/42/put-glacier` → the kind the record
    is judged by (`small/get`, `stream/signed-payload`, `rgw/put-glacier`)."""
    parts = key.split("/")
    return f"{parts[0]}/{parts[-1]}" if parts[0] == "rgw" else "/".join(parts[:2])


# ---------------------------------------------------------------------------- wrk

@dataclass
class SmallRequest:
    kind: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""


def spoil_signature(headers: dict[str, str]) -> dict[str, str]:
    """The headers with the Authorization header's signature changed in its last digit."""
    last = headers["Authorization"][-1]
    return {**headers, "Authorization": headers["Authorization"][:-1] + ("1" if last == "0" else "0")}


def small_requests(endpoint: Endpoint) -> list[SmallRequest]:
    """One request of each small kind, signed now (header signatures hold for clock_skew)."""
    def path(kind: str, query: str = "") -> str:
        return f"/{BUCKET}/{kind}{query}"

    put_body, denied_body = b"a" * 16384, b"b" * 1024
    head = signed_headers(endpoint, "HEAD", path("small/head"), EMPTY_SHA256)
    bad = spoil_signature(signed_headers(endpoint, "GET", path("small/bad-signature"), EMPTY_SHA256))
    get_url = urllib.parse.urlsplit(presigned_url(endpoint, "GET", path("small/get"), 3600))
    return [
        SmallRequest("small/get", "GET", f"{get_url.path}?{get_url.query}", {"Host": get_url.netloc}),
        SmallRequest("small/head", "HEAD", path("small/head"), head),
        SmallRequest("small/initiate", "POST", path("small/initiate", "?uploads"),
                     signed_headers(endpoint, "POST", path("small/initiate", "?uploads"), EMPTY_SHA256)),
        SmallRequest("small/put-16k", "PUT", path("small/put-16k"),
                     signed_headers(endpoint, "PUT", path("small/put-16k"), hashlib.sha256(put_body).hexdigest()),
                     put_body),
        SmallRequest("small/deny-storage-class", "PUT", path("small/deny-storage-class"),
                     signed_headers(endpoint, "PUT", path("small/deny-storage-class"), "UNSIGNED-PAYLOAD",
                                    {"x-amz-storage-class": "GLACIER"}), denied_body),
        SmallRequest("small/deny-kms-key", "POST", path("small/deny-kms-key", "?uploads"),
                     signed_headers(endpoint, "POST", path("small/deny-kms-key", "?uploads"), EMPTY_SHA256,
                                    {"x-amz-server-side-encryption": "aws:kms",
                                     "x-amz-server-side-encryption-aws-kms-key-id": "testkey-2"})),
        SmallRequest("small/bad-signature", "GET", path("small/bad-signature"), bad),
        SmallRequest("small/unsigned", "GET", path("small/unsigned"), {"Host": f"127.0.0.1:{endpoint.port}"}),
    ]


def mix_order() -> list[str]:
    """The kinds in the order wrk sends them: weighted, interleaved so that every kind
    recurs throughout a run."""
    remaining = {kind: weight for kind, (weight, _) in SMALL_MIX.items()}
    order = []
    while any(remaining.values()):
        for kind in remaining:
            if remaining[kind]:
                order.append(kind)
                remaining[kind] -= 1
    return order


LUA_RUN = r"""
local requests, counter = {}, 0
init = function(args)
  for i, s in ipairs(specs) do requests[i] = wrk.format(s[1], s[2], s[3], s[4]) end
end
request = function()
  counter = counter % #requests + 1
  return requests[counter]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,' ..
    '"write":%.0f,"timeout":%.0f,"mean_us":%.1f,"p99_us":%.0f}\n', summary.requests, summary.duration,
    e.connect, e.read, e.write, e.timeout, latency.mean, latency:percentile(99)))
end
"""
# A constant request rate, as wrk2 (not packaged) gives: wrk's delay() hook holds each
# connection until the next request of the schedule is due, request k at start + k × interval
# (LuaJIT's ffi reads the monotonic clock; wrk is built on LuaJIT). The due times are
# absolute, so rounding to wrk's whole milliseconds does not add up, and the rate does not
# depend on the gateway's latency as long as the connections suffice. A gateway that falls
# behind gets its requests late, as each connection frees up; at most a second's backlog is
# caught up afterwards (beyond that the schedule restarts from now).
LUA_PACE = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
int clock_gettime(int clock, soak_timespec *now);
]]
local CLOCK_MONOTONIC, clock = 1, ffi.new("soak_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval_ms, due = %(interval_ms).6f, nil
delay = function()
  local now = now_ms()
  if due == nil or due < now - 1000 then due = now end
  local wait = due - now
  due = due + interval_ms
  return wait > 0 and wait or 0
end
"""


def wrk_script(requests: list[SmallRequest], rate: float | None) -> str:
    by_kind = {r.kind: r for r in requests}
    lines = ["local specs = {"]
    for kind in mix_order():
        r = by_kind[kind]
        headers = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in r.headers.items())
        body = f'string.rep("{chr(r.body[0])}", {len(r.body)})' if r.body else "nil"
        lines.append(f"  {{{json.dumps(r.method)}, {json.dumps(r.target)}, {{{headers}}}, {body}}},")
    lines.append("}")
    script = "\n".join(lines) + LUA_RUN
    if rate is not None:
        script += LUA_PACE % {"interval_ms": 1000 / rate}
    return script


@dataclass
class WrkRun:
    label: str
    requests: int
    seconds: float
    socket_errors: dict[str, int]
    mean_latency_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(processes: Processes, workdir: str, endpoint: Endpoint, connections: int, seconds: int,
            label: str, rate: float | None) -> WrkRun:
    """One wrk run (one thread) of the small requests, signed now; at `rate` requests a
    second, or as fast as the connections go (None)."""
    script = os.path.join(workdir, f"{label}.lua")
    with open(script, "w") as f:
        f.write(wrk_script(small_requests(endpoint), rate))
    name = f"wrk-{label}"
    r = run_wrk_for_result(processes, name, ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                                             "-s", script, f"http://127.0.0.1:{endpoint.port}/"], seconds)
    errors = {k: int(r[k]) for k in ("connect", "read", "write", "timeout") if r[k]}
    return WrkRun(label, int(r["requests"]), r["duration_us"] / 1e6, errors, r["mean_us"] / 1000,
                  r["p99_us"] / 1000)


# ---------------------------------------------------------------------------- uploads

class Uploads:
    """`UPLOAD_STREAMS` threads uploading objects of 1-4 MiB to gateway A at `rate` uploads
    a second in all, each on a new connection, taking turns through STREAM_CYCLE. The
    status each gets is checked as it comes; the audit check judges the records again."""

    def __init__(self, endpoint: Endpoint, rate: float, stop: threading.Event):
        self.endpoint, self.rate, self.stop = endpoint, rate, stop
        self.body = os.urandom(max(UPLOAD_SIZES))
        self.sha256 = {size: hashlib.sha256(self.body[:size]).hexdigest() for size in UPLOAD_SIZES}
        self.lock = threading.Lock()
        self.numbered = 0  # uploads given a number (and so a key of their own)
        self.sent = 0      # request heads sent: each must have its audit record
        self.count: dict[str, int] = {}
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self.stream, name=f"upload-{i}", daemon=True)
                        for i in range(UPLOAD_STREAMS)]
        self.crash: BaseException | None = None

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=IO_TIMEOUT * 2)

    def number(self) -> int:
        with self.lock:
            self.numbered += 1
            return self.numbered - 1

    def stream(self) -> None:
        interval = UPLOAD_STREAMS / self.rate
        due = time.monotonic()
        try:
            while not self.stop.is_set():
                n = self.number()
                self.upload(STREAM_CYCLE[n % len(STREAM_CYCLE)], n)
                # A late upload is not made up for with a burst: the next one is due an
                # interval after the later of its schedule and now.
                due = max(due + interval, time.monotonic())
                self.stop.wait(max(0.0, due - time.monotonic()))
        except BaseException as error:  # reported by the main thread: a driver bug is an error, not a verdict
            self.crash = error

    def upload(self, kind: str, n: int) -> None:
        """One PUT of STREAM_CYCLE's `kind`, its status checked."""
        size = UPLOAD_SIZES[n % len(UPLOAD_SIZES)]
        key = f"stream/{kind}/{n}"
        path = f"/{BUCKET}/{key}"
        extra = {"x-amz-storage-class": "GLACIER"} if kind == "deny-storage-class" else None
        # tampered: the signed hash is another size's, which the gateway finds at the body's end.
        sha = {"unsigned-payload": "UNSIGNED-PAYLOAD", "deny-storage-class": "UNSIGNED-PAYLOAD",
               "tampered": self.sha256[UPLOAD_SIZES[(n + 1) % len(UPLOAD_SIZES)]]}.get(kind, self.sha256[size])
        headers = signed_headers(self.endpoint, "PUT", path, sha, extra)
        if kind == "bad-signature":
            headers = spoil_signature(headers)
        headers["Content-Length"] = str(size)
        status = None
        conn = connect(self.endpoint, IO_TIMEOUT)
        try:
            send_head(conn, "PUT", path, headers)
            with self.lock:
                self.sent += 1
            try:
                conn.send(memoryview(self.body)[:size])
            except OSError:
                # A refusal is answered before the body is read and the connection closed; the
                # answer is still there to read.
                pass
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            self.note_unexpected(f"{key}: no answer ({type(error).__name__}: {error})")
        finally:
            conn.close()
        expected = STREAM_EXPECTED[f"stream/{kind}"]
        with self.lock:
            self.count[kind] = self.count.get(kind, 0) + 1
        if status is not None and status != expected.status:
            self.note_unexpected(f"{key}: HTTP {status}, expected {expected.status}")

    def note_unexpected(self, text: str) -> None:
        with self.lock:
            self.unexpected.append(text)


# ---------------------------------------------------------------------------- radosgw

def s3_client(port: int, access_key: str, secret: str, signature: str = "s3v4",
              checksums: str = "when_required"):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=access_key, aws_secret_access_key=secret,
                        config=Config(signature_version=signature, s3={"addressing_style": "path"},
                                      retries={"max_attempts": 0}, connect_timeout=10, read_timeout=IO_TIMEOUT,
                                      request_checksum_calculation=checksums,
                                      response_checksum_validation="when_required"))


class Radosgw:
    """Ceph radosgw by scripts/peers.sh, in a directory and on ports of this run (a test
    suite's radosgw in the default directory is never touched; stop-rgw stops exactly the
    processes started from this directory)."""

    def __init__(self, workdir: str):
        self.dir = os.path.join(workdir, "rgw")
        self.port, self.mon_port = free_ports(2)
        self.env = dict(os.environ, RGW_PORT=str(self.port), MON_PORT=str(self.mon_port), CEPH_DIR=self.dir)
        self.started = False

    def peers(self, command: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", os.path.join(REPO, "scripts", "peers.sh"), command], env=self.env,
                              capture_output=True, text=True, timeout=timeout, start_new_session=True)

    def start(self) -> None:
        self.started = True  # a start cut short leaves daemons that stop() must find
        done = self.peers("start-rgw", 330)
        if done.returncode != 0:
            raise BenchError(f"radosgw did not start:\n{(done.stdout + done.stderr)[-3000:]}")
        self.add_storage_classes(FORBIDDEN_CLASSES)

    def stop(self) -> None:
        if self.started:
            self.peers("stop-rgw", 180)

    def admin(self, *argv: str) -> None:
        done = subprocess.run(["radosgw-admin", "-c", os.path.join(self.dir, "ceph.conf"), *argv],
                              capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            raise BenchError(f"radosgw-admin {' '.join(argv)}: {done.stderr[-1500:]}")

    def add_storage_classes(self, classes: tuple[str, ...]) -> None:
        """radosgw knows only STANDARD at first and answers any other class 400 itself, so a
        request the gateway let through would never be stored and reading the store back
        could not show it. With the forbidden classes defined, radosgw stores what it is
        sent, and a bypass becomes an object in GLACIER. radosgw reads its placement at
        start: it is restarted with the command line it had."""
        for storage_class in classes:
            self.admin("zonegroup", "placement", "add", "--rgw-zonegroup", "default", "--placement-id",
                       "default-placement", "--storage-class", storage_class)
            self.admin("zone", "placement", "add", "--rgw-zone", "default", "--placement-id", "default-placement",
                       "--storage-class", storage_class, "--data-pool", f"default.rgw.{storage_class.lower()}.data")
        self.restart_radosgw()

    def restart_radosgw(self) -> None:
        pid_file = os.path.join(self.dir, "run", "rgw.pidx")
        with open(pid_file) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)
        with open(os.path.join(self.dir, "log", "rgw.stdout"), "ab") as log:
            radosgw = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        with open(pid_file, "w") as f:
            f.write(str(radosgw.pid))
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        client = s3_client(self.port, RGW_KEY, RGW_SECRET)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.list_buckets()
                return
            except Exception as error:  # noqa: BLE001 - any failure means not ready yet
                if time.monotonic() > deadline:
                    raise BenchError(f"radosgw did not answer after its restart: {error}")
                time.sleep(0.5)


@dataclass(frozen=True)
class Attempt:
    """One request (or multipart sequence) to gateway B: what the gateway must answer, and
    whether an object may be in the store afterwards."""
    name: str
    expected: Expected
    stores: bool


ALLOWED_ON_RGW = Expected(200, ALLOW + INJECT)
ATTEMPTS = (
    Attempt("put-no-encryption", ALLOWED_ON_RGW, True),        # SSE-KMS testkey-1 must be injected
    Attempt("put-kms-without-key", ALLOWED_ON_RGW, True),      # testkey-1 must be added
    Attempt("put-glacier", POLICY_DENIAL, False),
    Attempt("put-deep-archive", POLICY_DENIAL, False),
    Attempt("put-obs-cold", POLICY_DENIAL, False),             # x-obs-storage-class: COLD = GLACIER
    Attempt("put-kms-testkey-2", POLICY_DENIAL, False),
    Attempt("put-sse-s3", POLICY_DENIAL, False),               # AES256
    Attempt("put-sse-c", Expected(400, REFUSED, "InvalidRequest"), False),  # customer key over plain HTTP
    Attempt("put-sigv2", ALLOWED_ON_RGW, True),
    Attempt("put-sigv2-glacier", POLICY_DENIAL, False),
    Attempt("presigned-put-glacier", POLICY_DENIAL, False),    # SigV2 query, x-amz-storage-class in the URL
    Attempt("put-checksum-trailer", ALLOWED_ON_RGW, True),     # aws-chunked body with a trailing CRC32
    Attempt("multipart-no-encryption", ALLOWED_ON_RGW, True),
    Attempt("multipart-glacier", POLICY_DENIAL, False),
    # No allowed CopyObject: radosgw 16 ignores SSE-KMS headers on a copy (it stores the copy
    # unencrypted, and refuses to copy an encrypted source), so the store could not show
    # whether the gateway injected them.
    Attempt("copy-glacier", POLICY_DENIAL, False),
)
EXPECTED_B = {f"rgw/{a.name}": a.expected for a in ATTEMPTS}
COPY_SOURCE = "source/plain"




class BypassSlice:
    """Gateway B in front of radosgw: one attempt every `interval` seconds, in turn through
    ATTEMPTS, each under a key of its own; after each, the store is read back with the
    upstream's credentials. A bypass is an object (or a multipart upload) in the store
    where the gateway refused the request, or an object without SSE-KMS under testkey-1 or
    in a forbidden storage class."""

    def __init__(self, gateway: Endpoint, rgw_port: int, interval: float, stop: threading.Event):
        self.gateway, self.interval, self.stop = gateway, interval, stop
        self.store = s3_client(rgw_port, RGW_KEY, RGW_SECRET)
        self.clients = {"v4": s3_client(gateway.port, gateway.access_key, gateway.secret),
                        "v2": s3_client(gateway.port, gateway.access_key, gateway.secret, "s3"),
                        "trailer": s3_client(gateway.port, gateway.access_key, gateway.secret, "s3v4",
                                             "when_supported")}
        for client in self.clients.values():
            client.meta.events.register("before-send.s3", self.count_request)
        self.sent = 0  # HTTP requests to gateway B, for the audit check
        self.results = {a.name: {"attempts": 0, "unexpected": 0, "bypasses": 0} for a in ATTEMPTS}
        self.unexpected: list[str] = []
        self.bypasses: list[str] = []
        self.sweep: dict[str, int] = {}
        self.crash: BaseException | None = None
        self.thread = threading.Thread(target=self.loop, name="rgw-slice", daemon=True)

    def count_request(self, **_) -> None:
        self.sent += 1

    def prepare(self) -> None:
        self.store.create_bucket(Bucket=RGW_BUCKET)
        self.store.put_object(Bucket=RGW_BUCKET, Key=COPY_SOURCE, Body=b"the source of the copies")

    def loop(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                self.attempt(ATTEMPTS[n % len(ATTEMPTS)], n)
                n += 1
                self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        except BaseException as error:  # reported by the main thread: a driver bug is an error
            self.crash = error

    def attempt(self, attempt: Attempt, n: int) -> None:
        key = f"rgw/{n}/{attempt.name}"
        counts = self.results[attempt.name]
        counts["attempts"] += 1
        try:
            status, code = getattr(self, "do_" + attempt.name.replace("-", "_"))(key)
        except Exception as error:  # noqa: BLE001 - a connection failure is an unexpected answer
            status, code = None, f"{type(error).__name__}: {error}"
        if status != attempt.expected.status or code != attempt.expected.error_code:
            counts["unexpected"] += 1
            self.unexpected.append(f"{key}: {status} {code or ''}, expected {attempt.expected}")
        try:
            problem = self.judge(key, attempt.stores)
        except Exception as error:  # noqa: BLE001
            problem = f"the store could not be read back: {type(error).__name__}: {error}"
        if problem:
            counts["bypasses"] += 1
            self.bypasses.append(f"{key}: {problem}")

    # -- judging by the store

    def stored(self, key: str) -> dict | None:
        try:
            head = self.store.head_object(Bucket=RGW_BUCKET, Key=key)
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return None
            raise
        return {"class": head.get("StorageClass", "STANDARD"), "sse": head.get("ServerSideEncryption"),
                "kms_key": head.get("SSEKMSKeyId")}

    @staticmethod
    def policy_violation(state: dict) -> str | None:
        if state["class"] in FORBIDDEN_CLASSES:
            return f"stored in storage class {state['class']}"
        if state["sse"] != "aws:kms" or APPROVED_KMS_KEY not in (state["kms_key"] or ""):
            return f"stored with encryption {state['sse']} key {state['kms_key']}, not SSE-KMS {APPROVED_KMS_KEY}"
        return None

    def judge(self, key: str, may_store: bool) -> str | None:
        state = self.stored(key)
        if state is not None:
            return self.policy_violation(state) if may_store else f"refused, yet the store holds it: {state}"
        uploads = self.store.list_multipart_uploads(Bucket=RGW_BUCKET, Prefix=key).get("Uploads", [])
        if uploads:
            return f"a multipart upload was left open in the store (storage class {uploads[0].get('StorageClass')})"
        return None

    def final_sweep(self) -> None:
        """Every object and open multipart upload in the bucket, judged once more."""
        storing = {a.name for a in ATTEMPTS if a.stores}
        objects = 0
        for page in self.store.get_paginator("list_objects_v2").paginate(Bucket=RGW_BUCKET):
            for item in page.get("Contents", []):
                if item["Key"] == COPY_SOURCE:
                    continue
                objects += 1
                if item["Key"].rsplit("/", 1)[-1] not in storing:
                    problem = "an object of an attempt the gateway must refuse"
                else:
                    problem = self.policy_violation(self.stored(item["Key"]))
                if problem:
                    self.bypasses.append(f"final sweep: {item['Key']}: {problem}")
        uploads = self.store.list_multipart_uploads(Bucket=RGW_BUCKET).get("Uploads", [])
        for upload in uploads:
            self.bypasses.append(f"final sweep: open multipart upload {upload['Key']} ({upload.get('StorageClass')})")
        self.sweep = {"objects": objects, "open_uploads": len(uploads)}

    # -- the attempts: each returns the status the client got and the S3 error code

    def call(self, client: str, operation: str, **params) -> tuple[int, str | None, dict]:
        try:
            response = getattr(self.clients[client], operation)(Bucket=RGW_BUCKET, **params)
            return response["ResponseMetadata"]["HTTPStatusCode"], None, response
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"].get("Code"), {}

    def put(self, key: str, client: str = "v4", **params) -> tuple[int, str | None]:
        return self.call(client, "put_object", Key=key, Body=os.urandom(64 * 1024), **params)[:2]

    def do_put_no_encryption(self, key):
        return self.put(key)

    def do_put_kms_without_key(self, key):
        return self.put(key, ServerSideEncryption="aws:kms")

    def do_put_glacier(self, key):
        return self.put(key, StorageClass="GLACIER")

    def do_put_deep_archive(self, key):
        return self.put(key, StorageClass="DEEP_ARCHIVE")

    def do_put_kms_testkey_2(self, key):
        return self.put(key, ServerSideEncryption="aws:kms", SSEKMSKeyId="testkey-2")

    def do_put_sse_s3(self, key):
        return self.put(key, ServerSideEncryption="AES256")

    def do_put_sse_c(self, key):
        return self.put(key, SSECustomerAlgorithm="AES256", SSECustomerKey="k" * 32)

    def do_put_sigv2(self, key):
        return self.put(key, "v2")

    def do_put_sigv2_glacier(self, key):
        return self.put(key, "v2", StorageClass="GLACIER")

    def do_put_checksum_trailer(self, key):
        return self.put(key, "trailer")

    def do_put_obs_cold(self, key):
        path = f"/{RGW_BUCKET}/{urllib.parse.quote(key)}"
        return self.raw("PUT", path, signed_headers(self.gateway, "PUT", path, "UNSIGNED-PAYLOAD",
                                                    {"x-obs-storage-class": "COLD"}))

    def do_presigned_put_glacier(self, key):
        url = urllib.parse.urlsplit(self.clients["v2"].generate_presigned_url(
            "put_object", Params={"Bucket": RGW_BUCKET, "Key": key, "StorageClass": "GLACIER"}))
        return self.raw("PUT", f"{url.path}?{url.query}", {"Host": url.netloc})

    def raw(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, str | None]:
        body = os.urandom(1024)
        conn = connect(self.gateway, IO_TIMEOUT)
        try:
            send_head(conn, method, target, {**headers, "Content-Length": str(len(body))})
            self.sent += 1
            try:
                conn.send(body)
            except OSError:
                pass  # refused before the body was read: the answer is there to read
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        code = re.search(r"<Code>([^<]+)</Code>", text)
        return response.status, code.group(1) if code else None

    def do_multipart_no_encryption(self, key):
        status, code, started = self.call("v4", "create_multipart_upload", Key=key)
        if status != 200:
            return status, code
        upload = {"Key": key, "UploadId": started["UploadId"]}
        status, code, part = self.call("v4", "upload_part", PartNumber=1, Body=os.urandom(MIB), **upload)
        if status != 200:
            return status, code
        return self.call("v4", "complete_multipart_upload", **upload,
                         MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})[:2]

    def do_multipart_glacier(self, key):
        return self.call("v4", "create_multipart_upload", Key=key, StorageClass="GLACIER")[:2]

    def do_copy_glacier(self, key):
        # REPLACE: organisation.yaml refuses any copy that keeps the source's metadata (its
        # website redirect could not be judged); this one must be refused for its class.
        return self.call("v4", "copy_object", Key=key, CopySource={"Bucket": RGW_BUCKET, "Key": COPY_SOURCE},
                         MetadataDirective="REPLACE", StorageClass="GLACIER")[:2]


# ---------------------------------------------------------------------------- sampling

@dataclass
class Sample:
    """What gateway A looked like at one instant; counters are cumulative."""
    t: float
    phase: str
    rss_mib: float | None
    fds: int | None
    cpu_s: float
    requests: float | None
    bytes_in: float | None
    lag_sum: float | None
    lag_count: float | None
    lag_buckets: dict[float, float]
    audit_queue: float | None


def metric_total(metrics: dict[str, float], name: str) -> float | None:
    """The sum of a metric over all its label sets (None when it is absent)."""
    values = [v for k, v in metrics.items() if k == name or k.startswith(name + "{")]
    return sum(values) if values else None


def lag_buckets(metrics: dict[str, float]) -> dict[float, float]:
    """obsgate_event_loop_lag_seconds' cumulative buckets, summed over the event loops."""
    buckets: dict[float, float] = {}
    for k, v in metrics.items():
        m = re.match(r'obsgate_event_loop_lag_seconds_bucket\{.*le="([^"]+)"', k)
        if m:
            le = float(m.group(1))
            buckets[le] = buckets.get(le, 0) + v
    return buckets


class Sampler:
    """Gateway A every second: RSS and open fds from /proc, CPU time, and from its admin
    /metrics the requests, body bytes received, event-loop lag and audit queue depth."""

    def __init__(self, pid: int, admin_port: int):
        self.pid, self.admin_port = pid, admin_port
        self.t0 = time.monotonic()
        self.phase = "setup"
        self.samples: list[Sample] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="sampler", daemon=True)

    def loop(self) -> None:
        due = time.monotonic()
        while not self.done.is_set():
            self.samples.append(self.sample())
            due += 1.0
            self.done.wait(max(0.0, due - time.monotonic()))

    def sample(self) -> Sample:
        rss = proc_status(self.pid).get("VmRSS")
        try:
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            fds = None
        try:
            metrics = scrape_metrics(self.admin_port, 5)
        except (OSError, http.client.HTTPException, BenchError):
            metrics = {}
        return Sample(time.monotonic() - self.t0, self.phase, rss / 1024 if rss else None, fds,
                      cpu_seconds([self.pid]), metric_total(metrics, "obsgate_requests_total"),
                      metrics.get("obsgate_bytes_received_total"),
                      metric_total(metrics, "obsgate_event_loop_lag_seconds_sum"),
                      metric_total(metrics, "obsgate_event_loop_lag_seconds_count"), lag_buckets(metrics),
                      metrics.get("obsgate_audit_queue_depth"))

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=10)


@dataclass
class Second:
    """One second of gateway A, from two consecutive samples."""
    t: float
    phase: str
    rss_mib: float | None
    fds: int | None
    requests_per_s: float | None
    mib_in_per_s: float | None
    cpu_percent: float
    lag_mean_ms: float | None
    lag_max_ms: float | None  # the upper bound of the highest lag bucket hit in the second
    audit_queue: float | None


def delta(a: float | None, b: float | None, seconds: float) -> float | None:
    return None if a is None or b is None else (b - a) / seconds


def lag_max_ms(before: Sample, after: Sample) -> float | None:
    if after.lag_count is None or before.lag_count is None or after.lag_count == before.lag_count:
        return None
    total = after.lag_count - before.lag_count
    for le in sorted(after.lag_buckets):
        if after.lag_buckets[le] - before.lag_buckets.get(le, 0) >= total:
            return le * 1000
    return math.inf


def per_second(samples: list[Sample]) -> list[Second]:
    seconds = []
    for before, after in zip(samples, samples[1:]):
        dt = after.t - before.t
        lags = delta(before.lag_count, after.lag_count, 1)
        lag_mean = 1000 * delta(before.lag_sum, after.lag_sum, lags) if lags else None
        bytes_in = delta(before.bytes_in, after.bytes_in, dt)
        seconds.append(Second(after.t, after.phase, after.rss_mib, after.fds,
                              delta(before.requests, after.requests, dt), bytes_in and bytes_in / MIB,
                              100 * (after.cpu_s - before.cpu_s) / dt, lag_mean, lag_max_ms(before, after),
                              after.audit_queue))
    return seconds


# ---------------------------------------------------------------------------- checks

# RSS and fds are "flat" when the lower quartile of the soak's last third exceeds that of its
# second third by no more than the larger of a floor and three median absolute deviations of
# the second third (the first third is warm-up: pools, allocator arenas and the audit file's
# buffers fill there). Why: under steady load RSS steps by a few MiB with allocator arenas
# and buffer pools (audit_flood.sh saw a 3.4 MiB range under a flood), and the fds move with
# the connections that open and close (wrk reconnects all its connections every run, each
# upload has its own, the upstream pool grows and shrinks with the concurrency). Whenever the
# shared 2-core machine starves the gateway, requests pile up and every one in flight holds
# an upstream connection: such episodes lift the upper part of a third's samples and leave
# its lower quartile where it was, while a leak lifts all of them. The deviation term widens
# the limit when the second third itself was noisy. At 2,000 requests/s the two thirds lie
# ~400,000 requests apart in a 10-minute soak: 4 MiB is ~10 bytes per request, 8 fds one
# descriptor per 50,000 requests.
RSS_FLOOR_MIB, FDS_FLOOR = 4.0, 8.0


@dataclass
class Trend:
    name: str
    unit: str
    second_third: float
    last_third: float
    limit: float
    slope_per_min: float

    @property
    def flat(self) -> bool:
        return self.last_third - self.second_third <= self.limit

    def line(self) -> str:
        return (f"{self.name} flat: lower quartile {self.second_third:.1f} {self.unit} in the second third, "
                f"{self.last_third:.1f} in the last ({self.last_third - self.second_third:+.1f}, limit "
                f"+{self.limit:.1f}); slope after warm-up {self.slope_per_min:+.2f} {self.unit}/min: "
                + ("PASS" if self.flat else "FAIL"))


def thirds(seconds: list[Second]) -> tuple[list[Second], list[Second], list[Second]]:
    soak = [s for s in seconds if s.phase == "soak"]
    n = len(soak) // 3
    return soak[:n], soak[n:2 * n], soak[2 * n:]


def trend(seconds: list[Second], name: str, unit: str, value: Callable[[Second], float | None],
          floor: float) -> Trend:
    _, second, last = thirds(seconds)
    middle = [v for s in second if (v := value(s)) is not None]
    end = [v for s in last if (v := value(s)) is not None]
    points = [(s.t, v) for s in second + last if (v := value(s)) is not None]
    median = statistics.median(middle)
    deviation = statistics.median(abs(v - median) for v in middle)
    slope = statistics.linear_regression([t for t, _ in points], [v for _, v in points]).slope * 60
    return Trend(name, unit, lower_quartile(middle), lower_quartile(end), max(floor, 3 * deviation), slope)


def lower_quartile(values: list[float]) -> float:
    return statistics.quantiles(values, n=4)[0]


@dataclass
class Ledger:
    """The records of one audit trail, judged by the kind their key names."""
    records: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    in_flight: int = 0  # wrk's requests cut off when it stopped (ClientDisconnected)


def audit_files(path: str) -> list[str]:
    """The audit file and its rotated predecessors, oldest first (path.N … path.1, path)."""
    rotated = [p for p in glob.glob(path + ".*") if p.rsplit(".", 1)[1].isdigit()]
    return sorted(rotated, key=lambda p: -int(p.rsplit(".", 1)[1])) + [path]


def read_ledger(files: list[str], expected: dict[str, Expected], cut_off_kinds: set[str]) -> Ledger:
    ledger = Ledger()
    for path in files:
        with open(path, "rb") as f:
            for raw in f:
                record = json.loads(raw)
                if "anchor" in record:
                    continue
                ledger.records += 1
                kind = kind_of(record.get("key", ""))
                counts = ledger.by_kind.setdefault(kind, {"records": 0, "unexpected": 0})
                counts["records"] += 1
                if record.get("error_code") == "ClientDisconnected" and kind in cut_off_kinds:
                    ledger.in_flight += 1
                elif kind not in expected or not expected[kind].matches(record):
                    counts["unexpected"] += 1
                    if len(ledger.unexpected) < 10:
                        ledger.unexpected.append(
                            f"{record.get('key')}: {record.get('status')} {record.get('decision')} "
                            f"{record.get('error_code', '')}, expected {expected.get(kind, 'no such request')}")
    return ledger


def verify_audit(binary: str, files: list[str]) -> tuple[bool, int, str]:
    """`obsgate audit verify` over the files, oldest first: (intact, records, its output)."""
    done = subprocess.run([binary, "audit", "verify", *files], capture_output=True, text=True, timeout=600)
    output = (done.stdout + done.stderr).strip()
    records = sum(int(n) for n in re.findall(r": ok, (\d+) records", output))
    return done.returncode == 0, records, output


@dataclass
class AuditCheck:
    name: str
    ledger: Ledger
    sent: int               # requests the clients sent
    in_flight_bound: int    # of those, at most this many cut off by wrk's stops
    gateway_count: float    # the gateway's own obsgate_requests_total
    metrics: dict[str, float]
    verified: tuple[bool, int, str]

    def failures(self) -> list[str]:
        f, r = [], self.ledger.records
        if not self.sent <= r <= self.sent + self.in_flight_bound:
            f.append(f"{self.name}: {r} audit records for {self.sent} requests sent "
                     f"(+ at most {self.in_flight_bound} in flight when wrk stopped)")
        if r != self.gateway_count:
            f.append(f"{self.name}: {r} audit records, but the gateway counted {self.gateway_count:.0f} requests")
        if self.ledger.in_flight > self.in_flight_bound:
            f.append(f"{self.name}: {self.ledger.in_flight} requests cut off, more than wrk's stops allow")
        for metric in ("obsgate_audit_records_dropped_total", "obsgate_audit_write_errors_total",
                       "obsgate_audit_records_suppressed_total"):
            if self.metrics.get(metric, 0):
                f.append(f"{self.name}: {metric} = {self.metrics[metric]:.0f}")
        if self.metrics.get("obsgate_audit_healthy") != 1:
            f.append(f"{self.name}: obsgate_audit_healthy = {self.metrics.get('obsgate_audit_healthy')}")
        intact, verified, output = self.verified
        if not intact or verified != r:
            f.append(f"{self.name}: `obsgate audit verify` does not confirm {r} records: {output[-600:]}")
        unexpected = sum(c["unexpected"] for c in self.ledger.by_kind.values())
        if unexpected:
            f.append(f"{self.name}: {unexpected} records with an unexpected status or decision, e.g. "
                     + "; ".join(self.ledger.unexpected[:3]))
        return f

    def line(self) -> str:
        intact, verified, _ = self.verified
        return (f"audit {self.name}: {self.ledger.records:,} records for {self.sent:,} requests sent "
                f"(+{self.ledger.records - self.sent} answered or cut off as wrk stopped, at most "
                f"{self.in_flight_bound}); the gateway counted {self.gateway_count:,.0f}; dropped "
                f"{self.metrics.get('obsgate_audit_records_dropped_total', 0):.0f}, write errors "
                f"{self.metrics.get('obsgate_audit_write_errors_total', 0):.0f}, suppressed "
                f"{self.metrics.get('obsgate_audit_records_suppressed_total', 0):.0f}; audit verify: "
                + (f"intact, {verified:,} records" if intact else "BROKEN"))


# ---------------------------------------------------------------------------- report

TABLE_SECONDS = 10   # one table row per this many samples
IDLE_AFTER_SECONDS = 5


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def cell(value: float | None, spec: str, width: int) -> str:
    return f"{'-' if value is None else format(value, spec):>{width}}"


def windows(seconds: list[Second]) -> list[list[Second]]:
    """The seconds in runs of TABLE_SECONDS, none across a change of phase."""
    rows: list[list[Second]] = []
    for s in seconds:
        if rows and rows[-1][-1].phase == s.phase and len(rows[-1]) < TABLE_SECONDS:
            rows[-1].append(s)
        else:
            rows.append([s])
    return rows


def table(seconds: list[Second]) -> list[str]:
    rows = [f"{'t s':>5} {'phase':<8} {'req/s':>7} {'MiB/s in':>8} {'CPU %':>5} {'RSS MiB':>7} {'fds':>4} "
            f"{'lag mean ms':>11} {'lag max ≤ ms':>12} {'audit queue max':>15}"]
    for window in windows(seconds):
        last = window[-1]
        lag_max = max((s.lag_max_ms for s in window if s.lag_max_ms is not None), default=None)
        queue = max((s.audit_queue for s in window if s.audit_queue is not None), default=None)
        rows.append(f"{last.t:>5.0f} {last.phase:<8} {cell(mean(s.requests_per_s for s in window), ',.0f', 7)} "
                    f"{cell(mean(s.mib_in_per_s for s in window), '.1f', 8)} "
                    f"{cell(mean(s.cpu_percent for s in window), '.0f', 5)} {cell(last.rss_mib, '.1f', 7)} "
                    f"{cell(last.fds, 'd', 4)} {cell(mean(s.lag_mean_ms for s in window), '.2f', 11)} "
                    f"{cell(lag_max, 'g', 12)} {cell(queue, '.0f', 15)}")
    return rows


def plot(seconds: list[Second], trends: list[Trend], target_rate: float, title: str, path: str) -> None:
    panels = [("requests/s", lambda s: s.requests_per_s), ("RSS MiB", lambda s: s.rss_mib),
              ("open fds", lambda s: s.fds), ("event-loop lag ms", lambda s: s.lag_mean_ms),
              ("audit queue depth", lambda s: s.audit_queue)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 13), sharex=True)
    t = [s.t for s in seconds]
    first, second, last = thirds(seconds)
    for ax, (label, value) in zip(axes, panels):
        ax.plot(t, [value(s) for s in seconds], lw=0.8, label="mean" if ax is axes[3] else None)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        capacity = [s.t for s in seconds if s.phase == "capacity"]
        if capacity:
            ax.axvspan(capacity[0] - 1, capacity[-1], color="orange", alpha=0.15)
        for part in (second, last):
            if part:
                ax.axvline(part[0].t, color="grey", ls=":", lw=1)
    axes[0].axhline(target_rate, color="green", ls="--", lw=1, label=f"target {target_rate:,.0f}/s")
    axes[0].legend(loc="lower right", fontsize=8)
    for ax, tr in zip(axes[1:3], trends):
        for part, quartile in ((second, tr.second_third), (last, tr.last_third)):
            if part:
                ax.hlines(quartile, part[0].t, part[-1].t, colors="red", lw=1.5)
        ax.hlines(tr.second_third + tr.limit, last[0].t, last[-1].t, colors="red", ls="--", lw=1,
                  label=f"lower quartiles of the thirds; limit +{tr.limit:.1f}")
        ax.legend(loc="lower right", fontsize=8)
    lag_ax = axes[3]
    lag_ax.step(t, [s.lag_max_ms for s in seconds], where="post", lw=0.6, color="tab:red", alpha=0.6,
                label="max (bucket bound)")
    lag_ax.set_yscale("log")
    lag_ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds since the gateway started (orange: capacity phase; dotted: the soak's thirds)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------------------- the run

def gateway_extra(directory: str, admin_port: int) -> str:
    return f"""policy: {POLICY}
admin:
  address: 127.0.0.1:{admin_port}
audit:
  sinks:
    - type: file
      path: "{directory}/audit.log"
      max_bytes: {AUDIT_MAX_BYTES}
      keep: {AUDIT_KEEP}
  flush: batch
  # The soak counts one record per exchange: the per-address allowance for records of
  # unauthenticated refusals (audit_flood.sh's subject) is lifted.
  unauthenticated_refusals: {{per_second: 1000000, burst: 1000000}}
"""


def send_once(endpoint: Endpoint, request: SmallRequest) -> int:
    conn = connect(endpoint, IO_TIMEOUT)
    try:
        headers = {**request.headers, **({"Content-Length": str(len(request.body))} if request.body else {})}
        send_head(conn, request.method, request.target, headers)
        if request.body:
            conn.send(request.body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def preflight(endpoint: Endpoint, uploads: Uploads) -> list[str]:
    """Each small request and each kind of upload once, before any load: a gateway that
    answers one of them wrongly fails the run at once rather than after the soak."""
    failures = []
    for request in small_requests(endpoint):
        status, expected = send_once(endpoint, request), SMALL_MIX[request.kind][1].status
        if status != expected:
            failures.append(f"preflight {request.kind}: HTTP {status}, expected {expected}")
    for kind in dict.fromkeys(STREAM_CYCLE):
        uploads.upload(kind, uploads.number())
    return failures + [f"preflight {u}" for u in uploads.unexpected]


def progress(text: str) -> None:
    print(text, flush=True)


def wait_idle(admin_port: int) -> None:
    """Until the gateway has no request in flight (wrk's last connections are closing)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not scrape_metrics(admin_port, IO_TIMEOUT).get("obsgate_requests_in_flight"):
            return
        time.sleep(0.2)


def shield_from_signals() -> None:
    """Stopping the processes must not be cut short by a second Ctrl-C, or by the SIGTERM
    soak.sh sends its driver when it is interrupted itself."""
    disarm_global_timeout()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


@dataclass
class Soak:
    """Everything the run started and measured."""
    args: argparse.Namespace
    binary: str
    processes: Processes
    stop: threading.Event
    rgw: Radosgw | None
    gateways: dict = field(default_factory=dict)
    runs: list[WrkRun] = field(default_factory=list)
    uploads: Uploads | None = None
    slice: BypassSlice | None = None
    sampler: Sampler | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check_alive(self) -> None:
        for name, (proc, _) in self.gateways.items():
            if proc.poll() is not None:
                raise BenchError(f"{name} exited during the soak (code {proc.returncode}):\n"
                                 f"{self.processes.log_tail(name)}")
        for part in (self.uploads, self.slice):
            if part and part.crash:
                raise BenchError(f"the driver's {type(part).__name__} thread failed: {part.crash!r}")


def start(s: Soak, secret: str) -> None:
    """nginx, gateway A and the sampler; radosgw and gateway B for the slice."""
    args = s.args
    start_nginx(s.processes, find_nginx(), args.fixed_conf, args.fixed_port)
    port, admin, port_b, admin_b = free_ports(4)
    directory = os.path.join(args.work, "gateway-a")
    config = gateway_config(directory, port, args.fixed_port, "unchecked-by-the-fixed-upstream", secret,
                            gateway_extra(directory, admin))
    s.gateways["gateway-a"] = (start_gateway(s.processes, "gateway-a", s.binary, config, port), admin)
    endpoint = Endpoint("gateway A", port, GATEWAY_KEY, secret)
    s.sampler = Sampler(s.gateways["gateway-a"][0].pid, admin)
    s.sampler.thread.start()
    s.uploads = Uploads(endpoint, args.upload_rate, s.stop)
    if s.rgw:
        progress("starting radosgw (scripts/peers.sh start-rgw) and gateway B in front of it …")
        s.rgw.start()
        directory = os.path.join(args.work, "gateway-b")
        config = gateway_config(directory, port_b, s.rgw.port, RGW_SECRET, secret, gateway_extra(directory, admin_b),
                                upstream_key=RGW_KEY)
        s.gateways["gateway-b"] = (start_gateway(s.processes, "gateway-b", s.binary, config, port_b), admin_b)
        s.slice = BypassSlice(Endpoint("gateway B", port_b, GATEWAY_KEY, secret), s.rgw.port,
                              args.rgw_interval, s.stop)
        s.slice.prepare()


def drive(s: Soak) -> float:
    """The capacity phase, then the paced soak; returns the target rate."""
    args, endpoint = s.args, s.uploads.endpoint
    s.sampler.phase = "capacity"
    capacity = run_wrk(s.processes, args.work, endpoint, args.connections, args.capacity_seconds, "capacity", None)
    s.runs.append(capacity)
    target = args.load * capacity.rate
    progress(f"capacity: {capacity.rate:,.0f} small requests/s unthrottled beside the uploads; "
             f"soak target {args.load:.0%} = {target:,.0f}/s")
    s.sampler.phase = "soak"
    end = time.monotonic() + args.duration
    while (remaining := int(end - time.monotonic())) >= 1:
        run = run_wrk(s.processes, args.work, endpoint, args.connections, min(SEGMENT_SECONDS, remaining),
                      f"soak-{len(s.runs)}", target)
        s.runs.append(run)
        latest = s.sampler.samples[-1]
        progress(f"{run.label}: {run.rate:,.0f} req/s for {run.seconds:.0f} s (latency mean "
                 f"{run.mean_latency_ms:.2f} ms, p99 {run.p99_ms:.1f} ms); RSS{cell(latest.rss_mib, '.1f', 6)} MiB, "
                 f"{latest.fds} fds; {s.uploads.sent} uploads"
                 + (f", {sum(r['attempts'] for r in s.slice.results.values())} radosgw attempts" if s.slice else ""))
        s.check_alive()
    return target


def wind_down(s: Soak) -> dict[str, dict[str, float]]:
    """Stops the clients, reads each gateway's metrics once it is idle, samples the idle
    gateway A a few seconds, then stops the gateways (which writes out their audit queues)."""
    s.sampler.phase = "stop"
    s.stop.set()
    s.uploads.join()
    if s.slice:
        s.slice.thread.join(timeout=IO_TIMEOUT * 3)
    s.check_alive()
    metrics = {}
    for name, (_, admin) in s.gateways.items():
        wait_idle(admin)
        metrics[name] = scrape_metrics(admin, IO_TIMEOUT)
    s.sampler.phase = "idle"
    time.sleep(IDLE_AFTER_SECONDS)
    s.sampler.stop()
    for name in s.gateways:
        code = s.processes.stop(name, grace=30)
        if code != 0:
            s.failures.append(f"{name} exited with code {code} on SIGTERM:\n{s.processes.log_tail(name)}")
    return metrics


def audit_checks(s: Soak, metrics: dict[str, dict[str, float]]) -> list[AuditCheck]:
    checks = []
    sent_a = sum(r.requests for r in s.runs) + len(SMALL_MIX) + s.uploads.sent
    files = audit_files(os.path.join(s.args.work, "gateway-a", "audit.log"))
    checks.append(AuditCheck("gateway A", read_ledger(files, EXPECTED_A, set(SMALL_MIX)), sent_a,
                             s.args.connections * len(s.runs),
                             metric_total(metrics["gateway-a"], "obsgate_requests_total") or 0,
                             metrics["gateway-a"], verify_audit(s.binary, files)))
    if s.slice:
        files = audit_files(os.path.join(s.args.work, "gateway-b", "audit.log"))
        checks.append(AuditCheck("gateway B (radosgw)", read_ledger(files, EXPECTED_B, set()), s.slice.sent, 0,
                                 metric_total(metrics["gateway-b"], "obsgate_requests_total") or 0,
                                 metrics["gateway-b"], verify_audit(s.binary, files)))
    return checks


def apply_checks(s: Soak, seconds: list[Second], checks: list[AuditCheck], target: float) -> list[Trend]:
    """Every check's failures into s.failures; returns the two trends."""
    trends = [trend(seconds, "RSS", "MiB", lambda x: x.rss_mib, RSS_FLOOR_MIB),
              trend(seconds, "fds", "fds", lambda x: x.fds, FDS_FLOOR)]
    s.failures += [t.line() for t in trends if not t.flat]
    for run in s.runs:
        if run.socket_errors:
            s.failures.append(f"wrk {run.label}: socket errors {run.socket_errors}")
    s.failures += [f"upload {u}" for u in s.uploads.unexpected]
    for check in checks:
        s.failures += check.failures()
    if s.slice:
        s.failures += [f"radosgw slice: unexpected answer {u}" for u in s.slice.unexpected[:10]]
        s.failures += [f"radosgw slice: BYPASS {b}" for b in s.slice.bypasses]
    soak_runs = [r for r in s.runs if r.label != "capacity"]
    achieved = sum(r.requests for r in soak_runs) / sum(r.seconds for r in soak_runs)
    if achieved < 0.9 * target:
        s.notes.append(f"the soak reached {achieved:,.0f} req/s, under 90 % of its target {target:,.0f}: "
                       f"the gateway did not keep up with the load the capacity phase promised")
    return trends


def report_header(s: Soak, seconds: list[Second], target: float, started: float, load_before: str) -> list[str]:
    """What ran, on what, and the load it got."""
    args, capacity, soak_runs = s.args, s.runs[0], s.runs[1:]
    idle_before = ([x for x in seconds if x.phase == "setup"] or seconds)[-1]
    idle_after = ([x for x in seconds if x.phase == "idle"] or seconds)[-1]
    return [f"obsgate soak — {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}, commit {args.commit}, "
            f"binary {s.binary} ({command_output([s.binary, '--version'])})",
            f"machine: {os.cpu_count()} CPUs, {os.uname().release}; load average before {load_before}, "
            f"after {loadavg()}; {command_output(['nginx', '-v'])}, {command_output(['wrk', '-v'])}",
            f"settings: --duration {args.duration:g} --load {args.load:g} --capacity-seconds "
            f"{args.capacity_seconds:g} --connections {args.connections} --upload-rate {args.upload_rate:g} "
            + (f"--rgw-interval {args.rgw_interval:g}" if s.rgw else "--no-rgw")
            + f"; policy policies/organisation.yaml; audit flush: batch, rotation at {AUDIT_MAX_BYTES // MIB} MiB",
            "",
            f"capacity: {capacity.rate:,.0f} small requests/s over {capacity.seconds:.0f} s, wrk unthrottled "
            f"({args.connections} connections) beside {args.upload_rate:g} uploads/s"
            + (" and the radosgw slice" if s.slice else ""),
            f"soak: target {args.load:.0%} = {target:,.0f} req/s; {len(soak_runs)} wrk runs, "
            f"{sum(r.requests for r in soak_runs) / sum(r.seconds for r in soak_runs):,.0f} req/s on average "
            f"(runs {min(r.rate for r in soak_runs):,.0f}–{max(r.rate for r in soak_runs):,.0f}), "
            f"latency mean {mean(r.mean_latency_ms for r in soak_runs):.2f} ms, p99 up to "
            f"{max(r.p99_ms for r in soak_runs):.1f} ms",
            f"uploads: {s.uploads.sent:,} of 1–4 MiB (" + ", ".join(f"{k} {v:,}" for k, v in s.uploads.count.items())
            + f"); {len(s.uploads.unexpected)} unexpected answers",
            f"gateway A idle before the load: RSS {idle_before.rss_mib:.1f} MiB, {idle_before.fds} fds; "
            f"idle after: RSS {idle_after.rss_mib:.1f} MiB, {idle_after.fds} fds"]


def kinds_section(ledger: Ledger) -> list[str]:
    lines = ["gateway A's audit records by kind:",
             f"  {'kind':<28} {'expected':<36} {'records':>10} {'unexpected':>10}"]
    for kind, counts in sorted(ledger.by_kind.items()):
        lines.append(f"  {kind:<28} {str(EXPECTED_A.get(kind, '?')):<36} {counts['records']:>10,} "
                     f"{counts['unexpected']:>10,}")
    return lines + [f"  ({ledger.in_flight} of the small requests cut off when a wrk run stopped: "
                    f"ClientDisconnected)"]


def slice_section(bypass_slice: BypassSlice, interval: float) -> list[str]:
    lines = [f"radosgw slice (gateway B): one attempt every {interval:g} s, each read back from the store with "
             f"the upstream's credentials",
             f"  {'attempt':<26} {'gateway must answer':<36} {'attempts':>8} {'unexpected':>10} {'bypasses':>8}"]
    for attempt in ATTEMPTS:
        r = bypass_slice.results[attempt.name]
        lines.append(f"  {attempt.name:<26} {str(attempt.expected):<36} {r['attempts']:>8} "
                     f"{r['unexpected']:>10} {r['bypasses']:>8}")
    return lines + [f"  final sweep: {bypass_slice.sweep.get('objects', 0)} objects in the store, all SSE-KMS "
                    f"{APPROVED_KMS_KEY} and no archive class unless listed as bypasses; "
                    f"{bypass_slice.sweep.get('open_uploads', 0)} open multipart uploads"]


def checks_section(s: Soak, trends: list[Trend], checks: list[AuditCheck], started: float) -> list[str]:
    unexpected = sum(c["unexpected"] for c in checks[0].ledger.by_kind.values()) + len(s.uploads.unexpected) \
        + (len(s.slice.unexpected) if s.slice else 0)
    lines = ["checks:", *("  " + t.line() for t in trends), *("  " + c.line() for c in checks),
             f"  unexpected statuses: {unexpected}; wrk socket errors: "
             f"{sum(sum(r.socket_errors.values()) for r in s.runs)}",
             "  policy bypasses in the radosgw slice: "
             + (f"{len(s.slice.bypasses)} in {sum(r['attempts'] for r in s.slice.results.values())} attempts"
                if s.slice else "not run (--no-rgw)")]
    lines += [f"note: {n}" for n in s.notes]
    lines += [f"FAIL: {f}" for f in s.failures]
    return lines + [f"verdict: {'PASS' if not s.failures else 'FAIL'} (run time {time.time() - started:.0f} s)"]


def report(s: Soak, seconds: list[Second], trends: list[Trend], checks: list[AuditCheck], target: float,
           started: float, load_before: str) -> list[str]:
    lines = report_header(s, seconds, target, started, load_before)
    lines += ["", f"gateway A, every {TABLE_SECONDS} s (means over the rows' seconds; RSS and fds at the row's "
                  f"last second; lag max: the bound of the highest event-loop lag bucket hit):"]
    lines += ["  " + row for row in table(seconds)]
    lines += ["", *kinds_section(checks[0].ledger)]
    if s.slice:
        lines += ["", *slice_section(s.slice, s.args.rgw_interval)]
    return lines + ["", *checks_section(s, trends, checks, started)]


def soak(s: Soak) -> int:
    started, load_before = time.time(), loadavg()
    start(s, secrets.token_urlsafe(24))
    failures = preflight(s.uploads.endpoint, s.uploads)
    if failures:
        progress("\n".join(f"FAIL: {f}" for f in failures) + "\nverdict: FAIL (before the soak)")
        return 1
    s.uploads.start()
    if s.slice:
        s.slice.thread.start()
    target = drive(s)
    metrics = wind_down(s)
    if s.slice:
        s.slice.final_sweep()
    progress("checking the audit trails …")
    checks = audit_checks(s, metrics)
    seconds = per_second(s.sampler.samples)
    trends = apply_checks(s, seconds, checks, target)
    lines = report(s, seconds, trends, checks, target, started, load_before)
    os.makedirs(os.path.dirname(os.path.abspath(s.args.out)), exist_ok=True)
    with open(s.args.out + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(seconds, trends, target, f"obsgate soak: {lines[0][len('obsgate soak — '):]}", s.args.out + ".png")
    progress("\n" + "\n".join(lines) + f"\n\nreport: {s.args.out}.txt, plot: {s.args.out}.png")
    return 1 if s.failures else 0


def run(args) -> int:
    binary = ensure_binary(args.binary, args.binary_given)
    arm_global_timeout(args.timeout)
    s = Soak(args, binary, Processes(args.work), threading.Event(), Radosgw(args.work) if args.rgw else None)
    try:
        return soak(s)
    finally:
        shield_from_signals()
        s.stop.set()
        s.processes.stop_all()
        if s.rgw:
            s.rgw.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="soak.sh's temporary directory")
    parser.add_argument("--fixed-conf", required=True, help="the fixed-answer nginx configuration (bench/lib.sh)")
    parser.add_argument("--fixed-port", type=int, required=True, help="the port it listens on")
    parser.add_argument("--binary", help=f"the obsgate binary (default {DEFAULT_BINARY}, built when missing)")
    parser.add_argument("--duration", type=int, default=600, help="seconds of the paced soak (default 600)")
    parser.add_argument("--load", type=float, default=0.8, help="share of the measured capacity (default 0.8)")
    parser.add_argument("--capacity-seconds", type=int, default=20,
                        help="seconds of the unthrottled phase that measures capacity (default 20)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections (default 16)")
    parser.add_argument("--upload-rate", type=float, default=4, help="uploads per second in all (default 4)")
    parser.add_argument("--rgw-interval", type=float, default=0.5,
                        help="seconds between two attempts of the radosgw slice (default 0.5)")
    parser.add_argument("--no-rgw", dest="rgw", action="store_false", help="leave out radosgw and gateway B")
    parser.add_argument("--out", help="report prefix: PREFIX.txt and PREFIX.png "
                                      "(default bench/results/soak-COMMIT)")
    parser.add_argument("--timeout", type=float,
                        help="global time limit in seconds (default: duration + capacity phase + 600)")
    args = parser.parse_args(argv)
    if args.duration < 30 or args.capacity_seconds < 5 or not 0 < args.load <= 1 or args.connections < 1 \
            or args.upload_rate <= 0 or args.rgw_interval < 0:
        parser.error("--duration ≥ 30, --capacity-seconds ≥ 5, 0 < --load ≤ 1, --connections ≥ 1, "
                     "--upload-rate > 0, --rgw-interval ≥ 0")
    args.binary_given = args.binary is not None
    args.binary = args.binary or DEFAULT_BINARY
    # Read once, at the start: others may commit while the soak runs.
    args.commit = command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    args.out = args.out or os.path.join(REPO, "bench", "results", f"soak-{args.commit}")
    args.timeout = args.timeout or args.duration + args.capacity_seconds + 600
    return run_main("soak", run, args)


if __name__ == "__main__":
    sys.exit(main())
