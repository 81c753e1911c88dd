#!/usr/bin/env python3
"""Fault injection: obsgate in front of an upstream that fails on purpose, and in front of
radosgw killed in the middle of an upload (issue #16, item 3).

    bench/faults.py [--binary PATH] [--size 4M] [--rounds 1] [--no-rgw] [--json out.json]

Part 1, the scripted upstream: an HTTP/1.1 server in this process (asyncio, raw sockets)
that answers as the current scenario says — refuses connections, resets in the middle of
the request or of its answer, stalls, drips, truncates, sends a garbage status line, sends
more or fewer bytes than its Content-Length, never sends 100 Continue. The gateway runs
with short timeouts and a file audit trail. Each scenario is run for a GET, a PUT with a
body, an InitiateMultipartUpload and a CompleteMultipartUpload (the two POSTs are not
idempotent), each request on a connection of its own, each followed by probe GETs (one per
event loop of the gateway).

Part 2, radosgw (scripts/peers.sh start-rgw, its own directory and ports): a large
streaming PUT and an UploadPart through a second gateway; radosgw is killed (SIGKILL, the
pid peers.sh started) while both are sending, then started again with the same command.

Checks, per exchange: the client's answer is the expected S3 error (status and Code) or,
once the answer's head has gone out, a cut body and a closed connection; it comes within
the timeout the gateway waits out plus --slack, and not before that timeout; the upstream
saw as many requests as allowed (a GET may be retried once on a fresh connection, nothing
else ever); the faulted upstream connection is closed, and never carries another request;
exactly one audit record, with the status and error code the client saw. For the run: an
audit record for every exchange and none more, `obsgate audit verify` intact, the
gateway's open file descriptors back to their baseline and its RSS within
--rss-slack-mib of it, radosgw's restart served through the same gateway.

Exit code: 0 every check passed, 1 a check failed (the report is still printed), 2 error
(a process did not start, radosgw did not come up, the global timeout expired,
interrupted).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable

from benchlib import (EMPTY_SHA256, GATEWAY_KEY, MIB, REPO, BenchError, Endpoint, Processes, arm_global_timeout,
                      bench_parser, command_output, disarm_global_timeout, ensure_binary, free_ports, gateway_config,
                      human_size, machine, open_fds, parse_bench_args, proc_status, run_main, signed_headers,
                      simple_request, start_gateway)

# Short, so that every timeout scenario takes seconds; each a different key of `timeouts:`.
TIMEOUTS = {"upstream_connect": 2, "upstream_first_byte": 2, "upstream_idle": 2, "body_idle": 5,
            "request_head": 5, "client_idle": 10}
EARLY_TOLERANCE_S = 0.25      # a timeout answer this much before its configured time is still on time
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
REQUEST_ID_HEADER = "x-obsgate-request-id"

BUCKET, KEY = "faults", "object"
STORE_UPLOAD_ID = "store-upload-0001"
GET_BODY = random.Random(16).randbytes(64 * 1024)   # what the scripted store holds; probes compare it
CUT_FILLER = b"f" * 1024      # a body for answers that have none (PutObject's), when a fault must cut one
GARBAGE_STATUS = b"HTTP/1.1 9x9 Garbage\r\nContent-Length: 0\r\n\r\n"
# More bytes than the Content-Length: a whole second answer, which must never reach a client.
SURPLUS_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
RESET_AFTER_BODY_BYTES = 256 * 1024
DELIVERY_PAUSE_S = 0.2        # after what precedes a reset, so that it reaches the gateway before the RST
CONTINUE_WAIT_S = 1.0         # how long a client waits for 100 Continue before sending anyway (curl's default)
COMPLETE_BODY = (b'<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"part-etag"</ETag></Part>'
                 b'</CompleteMultipartUpload>')

# radosgw as scripts/peers.sh starts it: the shared script's main user.
RGW_ACCESS_KEY = "0555b35654ad1656d804"
RGW_SECRET = "h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=="
RGW_BUCKET = "faults-rgw"
RGW_PUT_SIZE = 1024 * MIB     # never sent whole: radosgw dies long before
RGW_PART_SIZE = 256 * MIB
RGW_KILL_AFTER = 16 * MIB     # both uploads have sent at least this much when radosgw is killed
RGW_AFTER_RESTART_SIZE = 8 * MIB
# A start takes ~15 s here. Now and then, on a loaded machine, Ceph 16's OSD sends its first
# command before its monitor client knows the cluster's fsid (the monitor logs `handle_command
# on fsid 00000000-…`, the OSD `'wrong fsid'`) and never comes up; peers.sh then waits out
# its timeout and tries once more. So: a short timeout per attempt, and peers.sh twice.
PEER_ATTEMPT_TIMEOUT_S = 60
PEER_STARTS = 2
RGW_WARM_UP_TIMEOUT_S = 120   # radosgw creates a pool on the first request that needs it: seconds each


# ---------------------------------------------------------------------------- the client

@dataclass(frozen=True)
class Body:
    """A request body: `block` repeated up to `size` bytes, sent in slices."""
    size: int = 0
    block: bytes = b""

    def slices(self, length: int = 64 * 1024):
        sent = 0
        view = memoryview(self.block)
        while sent < self.size:
            offset = sent % len(self.block)
            piece = view[offset:offset + min(length, self.size - sent)]
            sent += len(piece)
            yield piece


@dataclass(eq=False)
class Reply:
    """What the client saw of one exchange. `kind`: `answered` (a whole answer), `cut` (an
    answer's head, then the connection ended before its Content-Length), `closed` / `reset`
    (the connection ended, FIN or RST, before any answer), `hung` (nothing conclusive within
    the client's time limit), `garbage` (bytes that are not an HTTP answer), `refused` (no
    connection: the gateway is not listening). `ending`: how the
    connection ended, `closed` (FIN) or `reset` (RST), when it ended before a whole answer."""
    kind: str = "hung"
    ending: str = ""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    declared: int | None = None
    continued: bool = False
    sent: int = 0
    port: int = 0
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def code(self) -> str | None:
        m = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return m.group(1).decode() if m else None

    @property
    def outcome(self) -> str:
        """What the expectations compare: `200`, `502 BadGateway`, `200 cut`, `closed`, …"""
        if self.kind == "answered":
            return f"{self.status} {self.code}" if self.status >= 300 and self.code else str(self.status)
        if self.kind == "cut":
            return f"{self.status} cut"
        return self.kind

    def describe(self) -> str:
        if self.kind == "cut":
            return f"{self.status}, cut at {len(self.body)}/{self.declared}, {'RST' if self.ending == 'reset' else 'FIN'}"
        return {"closed": "closed, no answer", "reset": "reset, no answer"}.get(self.kind, self.outcome)


def dechunked(data: bytes) -> bytes | None:
    """The body of a whole `Transfer-Encoding: chunked` message body; None while incomplete."""
    body, at = bytearray(), 0
    while (end := data.find(b"\r\n", at)) >= 0:
        size = int(data[at:end].split(b";")[0], 16)
        start = end + 2
        if size == 0:  # the last chunk, then trailer fields (if any) and an empty line
            rest = data[start:]
            return bytes(body) if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest else None
        if len(data) < start + size + 2:
            return None
        body += data[start:start + size]
        at = start + size + 2
    return None


class ResponseReader:
    """The answer as it arrives: interim 1xx answers, then a head and a body framed by its
    Content-Length or chunked (radosgw's listings)."""

    def __init__(self):
        self.buffer = bytearray()
        self.head_seen = False
        self.continued = False
        self.garbage = False
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.declared: int | None = None

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while not self.head_seen and not self.garbage:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[:end + 4]
            m = re.fullmatch(r"HTTP/1\.[01] (\d{3})(?: .*)?", lines[0])
            if not m:
                self.garbage = True
                return
            status = int(m.group(1))
            if status < 200:
                self.continued = True
                continue
            self.head_seen, self.status = True, status
            self.headers = {name.strip().lower(): value.strip()
                            for name, _, value in (line.partition(":") for line in lines[1:])}
            length = self.headers.get("content-length")
            self.declared = int(length) if length is not None else None

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def complete(self) -> bool:
        if self.chunked:
            return self.head_seen and dechunked(bytes(self.buffer)) is not None
        return self.head_seen and self.declared is not None and len(self.buffer) >= self.declared

    @property
    def body(self) -> bytes:
        return (dechunked(bytes(self.buffer)) or b"") if self.chunked else bytes(self.buffer)

    def conclusion(self, ending: str) -> str:
        """The reply's kind once the connection ended (`closed` or `reset`)."""
        if self.garbage:
            return "garbage"
        if self.head_seen:
            return "answered" if self.complete or (self.declared is None and not self.chunked) else "cut"
        return ending


class Exchange:
    """One request on a connection of its own. The body goes out while the answer is read,
    as a careful client does it: an early answer (an error while the body is still coming)
    stops the sending and is read whole, even after the gateway closed the connection."""

    def __init__(self, port: int, head: bytes, body: Body, expect_continue: bool, io_timeout: float):
        self.port = port
        self.head = head
        self.body = body
        self.expect_continue = expect_continue
        self.io_timeout = io_timeout
        self.reply = Reply()

    def run(self) -> Reply:
        reply = self.reply
        reply.started = time.monotonic()
        response = ResponseReader()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.io_timeout) as sock:
                reply.port = sock.getsockname()[1]
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                reply.kind = self._converse(sock, response, reply.started + self.io_timeout)
        except ConnectionRefusedError:
            reply.kind = "refused"
        reply.ended = time.monotonic()
        reply.status, reply.headers, reply.declared = response.status, response.headers, response.declared
        reply.body, reply.continued = response.body, response.continued
        return reply

    def _converse(self, sock: socket.socket, response: ResponseReader, deadline: float) -> str:
        outgoing = [memoryview(self.head)]
        slices = self.body.slices()
        head_sent_at = None
        sending = True
        while time.monotonic() < deadline:
            if response.head_seen:
                sending = False  # answered: the rest of the body is not wanted
            if sending and not outgoing and self._body_may_go(response, head_sent_at):
                piece = next(slices, None)
                if piece is None:
                    sending = False
                else:
                    outgoing.append(piece)
            readable, writable, _ = select.select([sock], [sock] if sending and outgoing else [], [],
                                                  max(0.0, min(0.05, deadline - time.monotonic())))
            if readable:
                try:
                    data = sock.recv(256 * 1024)
                except ConnectionResetError:
                    self.reply.ending = "reset"
                    return response.conclusion("reset")
                if not data:
                    self.reply.ending = "closed"
                    return response.conclusion("closed")
                response.feed(data)
                if response.complete or response.garbage:
                    return "garbage" if response.garbage else "answered"
            if writable:
                try:
                    written = sock.send(outgoing[0])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    sending = False  # the gateway gave up on the request; its answer may be waiting
                    continue
                piece = outgoing[0]
                if piece.obj is not self.head:
                    self.reply.sent += written
                outgoing[0] = piece[written:]
                if not outgoing[0]:
                    outgoing.pop(0)
                    if piece.obj is self.head:
                        head_sent_at = time.monotonic()  # from now on the body may go
        return "hung"

    def _body_may_go(self, response: ResponseReader, head_sent_at: float | None) -> bool:
        if head_sent_at is None:
            return False
        return not self.expect_continue or response.continued or time.monotonic() >= head_sent_at + CONTINUE_WAIT_S


class Client:
    """Signs requests with the gateway-issued key and keeps every exchange it made, for the
    audit count."""

    def __init__(self, endpoint: Endpoint, io_timeout: float):
        self.endpoint = endpoint
        self.io_timeout = io_timeout
        self.replies: list[Reply] = []

    def exchange(self, method: str, target: str, body: Body = Body(), content_sha256: str = EMPTY_SHA256,
                 expect_continue: bool = False) -> Exchange:
        headers = signed_headers(self.endpoint, method, target, content_sha256)
        if body.size or method in ("PUT", "POST"):
            headers["Content-Length"] = str(body.size)
        if expect_continue:
            headers["Expect"] = "100-continue"
        head = (f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "\r\n").encode()
        exchange = Exchange(self.endpoint.port, head, body, expect_continue, self.io_timeout)
        self.replies.append(exchange.reply)
        return exchange

    def send(self, method: str, target: str, body: Body = Body(), content_sha256: str = EMPTY_SHA256,
             expect_continue: bool = False) -> Reply:
        return self.exchange(method, target, body, content_sha256, expect_continue).run()

    def put(self, target: str, data: bytes) -> Reply:
        return self.send("PUT", target, Body(len(data), data), hashlib.sha256(data).hexdigest())


def upload_id_in(reply: Reply) -> str:
    m = re.search(rb"<UploadId>([^<]+)</UploadId>", reply.body)
    if reply.status != 200 or not m:
        raise BenchError(f"InitiateMultipartUpload through the gateway: {reply.describe()}: {reply.body[:400]!r}")
    return m.group(1).decode()


# ---------------------------------------------------------------------------- the scripted upstream

@dataclass(eq=False)
class UpstreamConnection:
    port: int                 # the gateway's end of it
    closed: float | None = None
    # `gateway`; `upstream RST` / `upstream FIN` (a fault behaviour); `harness` (emptying the
    # gateway's pool, or the end of the run), which proves nothing about the gateway.
    closed_by: str | None = None
    requests: list[UpstreamRequest] = field(default_factory=list)
    # Left in a state no answer can follow (a stall, a drip, bytes out of step): every
    # request that arrives on it afterwards is recorded and never answered.
    out_of_step: bool = False
    drip: asyncio.Task | None = None

    def end(self, by: str) -> None:
        if self.closed is None:
            self.closed, self.closed_by = time.monotonic(), by


@dataclass(eq=False)
class UpstreamRequest:
    connection: UpstreamConnection
    method: str
    target: str
    headers: dict[str, str]
    behaviour: str

    @property
    def request_id(self) -> str | None:
        return self.headers.get(REQUEST_ID_HEADER)

    @property
    def content_length(self) -> int:
        return int(self.headers.get("content-length", "0"))

    @classmethod
    def parse(cls, head: bytes, connection: UpstreamConnection, behaviour: str) -> UpstreamRequest:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines[1:] if line)}
        return cls(connection, method, target, headers, behaviour)


def store_answer(request: UpstreamRequest) -> tuple[str, dict[str, str], bytes]:
    """What an S3 store answers to each request the harness makes: status, fields, body."""
    xml = {"Content-Type": "application/xml"}
    if request.method == "GET":
        return "200 OK", {"Content-Type": "application/octet-stream", "ETag": '"get-etag"'}, GET_BODY
    if request.method == "PUT":
        return "200 OK", {"ETag": '"put-etag"'}, b""
    if request.method == "POST" and "uploads" in request.target:
        return "200 OK", xml, (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>"
                               f"<Bucket>{BUCKET}</Bucket><Key>{KEY}</Key><UploadId>{STORE_UPLOAD_ID}</UploadId>"
                               f"</InitiateMultipartUploadResult>").encode()
    if request.method == "POST" and "uploadId=" in request.target:
        return "200 OK", xml, (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult>"
                               f"<Location>http://{request.headers.get('host')}/{BUCKET}/{KEY}</Location>"
                               f"<Bucket>{BUCKET}</Bucket><Key>{KEY}</Key><ETag>\"done-1\"</ETag>"
                               f"</CompleteMultipartUploadResult>").encode()
    return "501 Not Implemented", xml, b"<Error><Code>NotImplemented</Code></Error>"


def http_head(status: str, headers: dict[str, str], content_length: int) -> bytes:
    fields = {**headers, "Content-Length": str(content_length), "x-amz-request-id": "scripted"}
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


def answer_to_cut(request: UpstreamRequest) -> tuple[bytes, bytes]:
    """The store's answer, head and body, with a body to cut even where it has none."""
    status, headers, body = store_answer(request)
    body = body or CUT_FILLER
    return http_head(status, headers, len(body)), body


async def read_body(reader: asyncio.StreamReader, length: int) -> None:
    while length > 0:
        data = await reader.read(min(length, 256 * 1024))
        if not data:
            raise asyncio.IncompleteReadError(b"", length)
        length -= len(data)


def reset(request: UpstreamRequest, writer: asyncio.StreamWriter) -> bool:
    """Ends the connection with an RST (SO_LINGER 0), not a FIN."""
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    request.connection.end("upstream RST")
    return False


def leave_out_of_step(request: UpstreamRequest) -> bool:
    request.connection.out_of_step = True
    return True


# Behaviours: what the upstream does with a request (its head read). Each returns whether
# the connection goes on serving (or watching, when left out of step).

async def answer(request, reader, writer, send_continue: bool = True) -> bool:
    if send_continue and request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await read_body(reader, request.content_length)
    status, headers, body = store_answer(request)
    writer.write(http_head(status, headers, len(body)) + body)
    await writer.drain()
    return True


async def reset_mid_request(request, reader, writer) -> bool:
    await read_body(reader, min(request.content_length // 2, RESET_AFTER_BODY_BYTES))
    return reset(request, writer)


async def send_cut_answer(request, reader, writer, body_share: float) -> None:
    """Reads the request, then sends its answer's head and `body_share` of its body."""
    await read_body(reader, request.content_length)
    head, body = answer_to_cut(request)
    writer.write(head + body[:int(len(body) * body_share)])
    await writer.drain()


async def reset_mid_answer(request, reader, writer, body_share: float) -> bool:
    await send_cut_answer(request, reader, writer, body_share)
    await asyncio.sleep(DELIVERY_PAUSE_S)
    return reset(request, writer)


async def truncated_body(request, reader, writer) -> bool:
    await send_cut_answer(request, reader, writer, 0.5)
    writer.close()
    request.connection.end("upstream FIN")
    return False


async def stall(request, reader, writer) -> bool:
    await read_body(reader, request.content_length)
    return leave_out_of_step(request)


async def drip(request, reader, writer) -> bool:
    await read_body(reader, request.content_length)
    head, body = answer_to_cut(request)

    async def one_byte_a_second(data: bytes):
        try:
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()
                await asyncio.sleep(1)
        except ConnectionError:
            pass  # the gateway gave up and closed: what the scenario wants

    request.connection.drip = asyncio.create_task(one_byte_a_second(head + body))
    return leave_out_of_step(request)


async def garbage_status(request, reader, writer) -> bool:
    await read_body(reader, request.content_length)
    writer.write(GARBAGE_STATUS)
    await writer.drain()
    return leave_out_of_step(request)


async def length_over(request, reader, writer) -> bool:
    await read_body(reader, request.content_length)
    status, headers, body = store_answer(request)
    writer.write(http_head(status, headers, len(body)) + body + SURPLUS_ANSWER)
    await writer.drain()
    return leave_out_of_step(request)


async def length_under(request, reader, writer) -> bool:
    await send_cut_answer(request, reader, writer, 0.5)
    return leave_out_of_step(request)


BEHAVIOURS = {
    "ok": answer,
    "no-continue": functools.partial(answer, send_continue=False),
    "reset-mid-request": reset_mid_request,
    "reset-after-head": functools.partial(reset_mid_answer, body_share=0),
    "reset-mid-body": functools.partial(reset_mid_answer, body_share=0.5),
    "truncated-body": truncated_body,
    "stall": stall,
    "drip": drip,
    "garbage-status": garbage_status,
    "length-over": length_over,
    "length-under": length_under,
}


class ScriptedUpstream:
    """The upstream, on its own thread's asyncio loop. Each request is handled by the
    behaviour in force when its head arrives (`behaviour`, set by the harness between
    exchanges); every request is recorded with the gateway's request id and its connection."""

    def __init__(self, port: int):
        self.port = port
        self.behaviour = "ok"
        self.requests: list[UpstreamRequest] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="scripted-upstream", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: dict[UpstreamConnection, asyncio.StreamWriter] = {}

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def refuse_connections(self) -> None:
        """Stops listening (connections are refused) and closes every connection, so that
        the gateway has none pooled."""
        self._call(self._refuse())

    def accept_connections(self) -> None:
        self._call(self._listen())

    def close_connections(self) -> None:
        self._call(self._close_connections())

    def requests_of(self, request_id: str | None) -> list[UpstreamRequest]:
        return [r for r in self.requests if request_id and r.request_id == request_id]

    def _call(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, limit=256 * 1024)

    async def _refuse(self) -> None:
        self._server.close()
        await self._close_connections()

    async def _close_connections(self) -> None:
        for connection, writer in list(self._writers.items()):
            writer.close()
            connection.end("harness")

    async def _shutdown(self) -> None:
        self._server.close()
        await self._close_connections()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = UpstreamConnection(port=writer.get_extra_info("peername")[1])
        self._writers[connection] = writer
        try:
            while await self._serve_request(connection, reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            connection.end("gateway")
        finally:
            connection.end("harness")
            if connection.drip:
                connection.drip.cancel()
            self._writers.pop(connection, None)
            writer.close()

    async def _serve_request(self, connection, reader, writer) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            connection.end("gateway")
            return False
        request = UpstreamRequest.parse(head, connection, "ignored" if connection.out_of_step else self.behaviour)
        self.requests.append(request)
        connection.requests.append(request)
        if connection.out_of_step:
            await read_body(reader, request.content_length)
            return True
        return await BEHAVIOURS[request.behaviour](request, reader, writer)


# ---------------------------------------------------------------------------- operations and scenarios

@dataclass(frozen=True)
class Operation:
    name: str                 # as the audit record names it
    method: str
    query: str                # after /BUCKET/KEY; {upload_id} is the bound id of the run
    body: str                 # none | large (--size, unsigned) | xml (signed)
    collected: bool           # the gateway reads the store's answer whole, to rewrite it

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD")


GET_OBJECT = Operation("GetObject", "GET", "", "none", False)
PUT_OBJECT = Operation("PutObject", "PUT", "", "large", False)
INITIATE = Operation("CreateMultipartUpload", "POST", "?uploads", "none", True)
COMPLETE = Operation("CompleteMultipartUpload", "POST", "?uploadId={upload_id}", "xml", True)
OPERATIONS = (GET_OBJECT, PUT_OBJECT, INITIATE, COMPLETE)


@dataclass(frozen=True)
class Expected:
    answer: str               # Reply.outcome: `200`, `200 cut`, `502 BadGateway`, `504 GatewayTimeout`
    waits: str | None         # the key of TIMEOUTS the gateway waits out before answering; None: at once
    requests: tuple[int, int]  # upstream requests the exchange may cause, least and most
    fault: bool               # the upstream connection is unusable: closed, never reused


def answered_by_store(op: Operation) -> Expected:
    return Expected("200", None, (1, 1), False)


def refused(op: Operation) -> Expected:
    return Expected("502 BadGateway", None, (0, 0), False)


def failed_before_answer(op: Operation) -> Expected:
    # Nothing of an answer arrived: a GET may be sent again, once, on a fresh connection.
    return Expected("502 BadGateway", None, (1, 2 if op.idempotent else 1), True)


def cut_mid_answer(op: Operation) -> Expected:
    # A streamed answer's head is already the client's: only a close can tell it.
    return Expected("502 BadGateway" if op.collected else "200 cut", None, (1, 1), True)


def first_byte_timeout(op: Operation) -> Expected:
    return Expected("504 GatewayTimeout", "upstream_first_byte", (1, 1), True)


def idle_timeout(op: Operation) -> Expected:
    return Expected("504 GatewayTimeout" if op.collected else "200 cut", "upstream_idle", (1, 1), True)


def surplus_bytes(op: Operation) -> Expected:
    return Expected("200", None, (1, 1), True)


@dataclass(frozen=True)
class Scenario:
    name: str                 # also the upstream's behaviour, but for `refuse`
    what: str
    expected: Callable[[Operation], Expected]
    operations: tuple[Operation, ...] = OPERATIONS
    expect_continue: bool = False


SCENARIOS = (
    Scenario("ok", "answers as a store does (the control)", answered_by_store),
    Scenario("refuse", "nothing listens: every connection is refused", refused),
    Scenario("reset-mid-request", "reads the head and part of the body, then resets (RST)", failed_before_answer),
    Scenario("reset-after-head", "reads the request, sends its answer's head, resets", cut_mid_answer),
    Scenario("reset-mid-body", "sends the head and half the body, resets", cut_mid_answer),
    Scenario("truncated-body", "sends the head and half the body, then closes (FIN)", cut_mid_answer),
    Scenario("stall", "reads the request and never answers; the connection stays open", first_byte_timeout),
    Scenario("drip", "sends its answer one byte per second", first_byte_timeout),
    Scenario("garbage-status", "answers `HTTP/1.1 9x9 Garbage`; the connection stays open", failed_before_answer),
    Scenario("length-over", "sends a second, unasked answer after the first's Content-Length", surplus_bytes),
    Scenario("length-under", "sends half its Content-Length; the connection stays open", idle_timeout),
    Scenario("no-continue", "never sends 100 Continue (the client sent Expect: 100-continue); reads the body, "
             "answers", answered_by_store, operations=(PUT_OBJECT, COMPLETE), expect_continue=True),
)


# ---------------------------------------------------------------------------- the scripted run

@dataclass
class Case:
    """One scenario × operation: the faulted exchange and the probes after it."""
    scenario: Scenario
    operation: Operation
    round: int
    reply: Reply
    probes: list[Reply]
    upstream_requests: int = 0
    connection: str = "-"     # what became of the upstream connection: who closed it, pooled, REUSED, OPEN, -
    connections: list[dict] = field(default_factory=list)  # each one's port, closer, close time after the exchange
    audit: str = "-"
    problems: list[str] = field(default_factory=list)

    @property
    def expected(self) -> Expected:
        return self.scenario.expected(self.operation)


def request_of(op: Operation, upload_id: str, size: int) -> tuple[str, str, Body, str]:
    """Method, target, body and payload hash of the client's request for an operation."""
    target = f"/{BUCKET}/{KEY}" + op.query.format(upload_id=urllib.parse.quote(upload_id, safe=""))
    if op.body == "large":
        return op.method, target, Body(size, GET_BODY), UNSIGNED_PAYLOAD
    if op.body == "xml":
        return op.method, target, Body(len(COMPLETE_BODY), COMPLETE_BODY), hashlib.sha256(COMPLETE_BODY).hexdigest()
    return op.method, target, Body(), EMPTY_SHA256


def probe(client: Client, loops: int) -> list[Reply]:
    """A GET per event loop of the gateway: client connections are spread over the loops in
    turn, and each loop has its own upstream pool."""
    return [client.send("GET", f"/{BUCKET}/{KEY}") for _ in range(loops)]


def run_case(client: Client, upstream: ScriptedUpstream, scenario: Scenario, op: Operation, round_: int,
             upload_id: str, args) -> Case:
    method, target, body, content_sha256 = request_of(op, upload_id, args.size)
    if scenario.name == "refuse":
        upstream.refuse_connections()
        time.sleep(0.3)  # the gateway sees its pooled connections close
    else:
        upstream.behaviour = scenario.name
    try:
        reply = client.send(method, target, body, content_sha256, scenario.expect_continue)
    finally:
        upstream.behaviour = "ok"
        if scenario.name == "refuse":
            upstream.accept_connections()
    return Case(scenario, op, round_, reply, probe(client, args.loops))


@dataclass
class Resources:
    fds: dict[int, str]
    rss_kib: int


def settled_resources(pid: int, upstream: ScriptedUpstream) -> Resources:
    """The gateway's open fds and RSS with no client connection and no pooled upstream
    connection (the upstream closes its side; the gateway drops them), so that two readings
    compare."""
    upstream.close_connections()
    time.sleep(1)
    return Resources(open_fds(pid), proc_status(pid).get("VmRSS", 0))


def audit_section(path: str) -> str:
    """The gateway's audit trail as deployed: one file sink, `flush: batch`."""
    return f"audit:\n  sinks:\n    - type: file\n      path: \"{path}\"\n  flush: batch\n  batch_max_ms: 100\n"


def run_scripted(args, processes: Processes, workdir: str, binary: str) -> dict:
    upstream_port, gateway_port = free_ports(2)
    upstream = ScriptedUpstream(upstream_port)
    upstream.start()
    try:
        directory = os.path.join(workdir, "gateway-scripted")
        audit_path = os.path.join(directory, "audit.log")
        client_secret = secrets.token_urlsafe(24)
        config = gateway_config(directory, gateway_port, upstream_port, "not-checked", client_secret,
                                extra=audit_section(audit_path), timeouts=TIMEOUTS)
        gateway = start_gateway(processes, "gateway-scripted", binary, config, gateway_port)
        client = Client(Endpoint("obsgate", gateway_port, GATEWAY_KEY, client_secret), args.io_timeout)

        upload_id = upload_id_in(client.send("POST", f"/{BUCKET}/{KEY}?uploads"))
        for op in OPERATIONS:  # warm-up: every path once, before the baseline
            run_case(client, upstream, SCENARIOS[0], op, 0, upload_id, args)
        baseline = settled_resources(gateway.pid, upstream)
        cases = []
        for round_ in range(1, args.rounds + 1):
            for scenario in SCENARIOS:
                for op in scenario.operations:
                    case = run_case(client, upstream, scenario, op, round_, upload_id, args)
                    cases.append(case)
                    progress(f"round {round_} {scenario.name:18s} {op.name:24s} {case.reply.describe()} "
                             f"in {case.reply.seconds:.2f} s")
        end = settled_resources(gateway.pid, upstream)
        code = processes.stop("gateway-scripted")  # drains the audit queue into the file
    finally:
        upstream.stop()
    records = audit_records(audit_path)
    matched = match_records(client.replies, records)
    for case in cases:
        evaluate_case(case, matched, upstream, args.slack)
    failures = [f"{case_label(c)}: {p}" for c in cases for p in c.problems]
    failures += audit_totals(matched, records, "scripted gateway")
    failures += verify_audit(binary, audit_path)
    failures += resource_problems(baseline, end, args.rss_slack_mib)
    if code != 0:
        failures.append(f"the scripted gateway exited with code {code} when stopped")
    return {"cases": cases, "baseline": baseline, "end": end, "records": len(records),
            "exchanges": len(client.replies), "failures": failures}


# ---------------------------------------------------------------------------- checks

def evaluate_case(case: Case, matched: dict[Reply, list[dict]], upstream: ScriptedUpstream, slack: float) -> None:
    expected, reply = case.expected, case.reply
    check_answer(case)
    waits = TIMEOUTS[expected.waits] if expected.waits else 0
    if reply.seconds > waits + slack:
        case.problems.append(f"answered after {reply.seconds:.2f} s, limit {waits + slack:g} s"
                             + (f" ({expected.waits} {waits} s + {slack:g} s)" if waits else ""))
    if waits and reply.seconds < waits - EARLY_TOLERANCE_S:
        case.problems.append(f"answered after {reply.seconds:.2f} s, before {expected.waits} ({waits} s)")
    record = check_record(case, reply, matched[reply])
    request_id = record.get("request_id") if record else reply.headers.get(REQUEST_ID_HEADER)
    requests = upstream.requests_of(request_id)
    case.upstream_requests = len(requests)
    least, most = expected.requests
    if not least <= len(requests) <= most:
        allowed = f"{least}" if least == most else f"{least}–{most}"
        case.problems.append(f"the upstream saw {len(requests)} requests, expected {allowed}"
                             + ("" if case.operation.idempotent else " (not idempotent: never retried)"))
    check_connections(case, requests, request_id, slack)
    for probe_reply in case.probes:
        if probe_reply.outcome != "200" or probe_reply.body != GET_BODY:
            case.problems.append(f"probe GET after it: {probe_reply.describe()}"
                                 + ("" if probe_reply.body == GET_BODY else f", body {probe_reply.body[:40]!r}"))
        if len(matched[probe_reply]) != 1:
            case.problems.append(f"probe GET after it has {len(matched[probe_reply])} audit records")


def check_answer(case: Case) -> None:
    reply, op = case.reply, case.operation
    if reply.outcome != case.expected.answer:
        case.problems.append(f"client got {reply.describe()}, expected {case.expected.answer}")
    elif reply.outcome == "200" and op is GET_OBJECT and reply.body != GET_BODY:
        case.problems.append(f"GetObject's 200 carried other bytes: {reply.body[:60]!r}")
    elif reply.outcome == "200" and op.collected and b"Result>" not in reply.body:
        case.problems.append(f"{op.name}'s 200 is not its result document: {reply.body[:120]!r}")
    if case.scenario.expect_continue and not reply.continued:
        case.problems.append("no 100 Continue reached the client (it sent the body after waiting "
                             f"{CONTINUE_WAIT_S:g} s)")


def check_record(case: Case, reply: Reply, records: list[dict]) -> dict | None:
    """Exactly one audit record for the exchange, agreeing with what the client saw.
    Returns it."""
    if len(records) != 1:
        case.audit = f"{len(records)} records"
        case.problems.append(f"{len(records)} audit records for the exchange (client port {reply.port}), expected 1")
        return records[0] if records else None
    record = records[0]
    disagreements = []
    if reply.status is not None and record.get("status") != reply.status:
        disagreements.append(f"status {record.get('status')} (client got {reply.status})")
    if reply.kind == "answered" and reply.code and record.get("error_code") != reply.code:
        disagreements.append(f"error_code {record.get('error_code')} (client got {reply.code})")
    if reply.kind == "cut" and record.get("error_code") not in ("UpstreamClosedMidResponse", "UpstreamIdleTimeout"):
        disagreements.append(f"error_code {record.get('error_code')} for an answer cut short")
    if record.get("operation") != case.operation.name:
        disagreements.append(f"operation {record.get('operation')}")
    case.audit = "ok" if not disagreements else "MISMATCH"
    if disagreements:
        case.problems.append("audit record says " + ", ".join(disagreements))
    return record


def check_connections(case: Case, requests: list[UpstreamRequest], request_id: str | None, slack: float) -> None:
    """A fault's upstream connections must end by the end of the exchange + slack — closed
    by the gateway, or by the fault itself — and carry no other request: never back in the
    pool."""
    connections = list(dict.fromkeys(r.connection for r in requests))
    case.connections = [{"port": c.port, "requests": len(c.requests), "closed_by": c.closed_by,
                         "closed_after_exchange_s": None if c.closed is None else c.closed - case.reply.ended}
                        for c in connections]
    if not connections:
        return
    if not case.expected.fault:
        case.connection = "pooled"
        return
    states = []
    for connection in connections:
        # The exchange's request may have come on a pooled connection: what came before it is not reuse.
        first = next(i for i, r in enumerate(connection.requests) if r.request_id == request_id)
        others = [r for r in connection.requests[first:] if r.request_id != request_id]
        if others:
            states.append("REUSED")
            case.problems.append(f"its upstream connection (port {connection.port}) was used again: "
                                 + ", ".join(f"{r.method} {r.target.split('?')[0]}" for r in others))
        elif (connection.closed is None or connection.closed > case.reply.ended + slack
              or connection.closed_by == "harness"):
            states.append("OPEN")
            case.problems.append(f"its upstream connection (port {connection.port}) was still open "
                                 f"{slack:g} s after the exchange (then closed by: {connection.closed_by or 'nobody'})")
        else:
            states.append("gateway closed" if connection.closed_by == "gateway" else connection.closed_by)
    case.connection = "/".join(sorted(set(states)))


def audit_records(path: str) -> list[dict]:
    """The records of an audit file, its anchor line left out."""
    with open(path, "rb") as f:
        return [line for line in map(json.loads, f) if "anchor" not in line]


def client_port(record: dict) -> int:
    return int(record.get("client_address", ":0").rsplit(":", 1)[1])


def match_records(replies: list[Reply], records: list[dict]) -> dict[Reply, list[dict]]:
    """Each exchange's audit records. A record names the client's address and port; a port
    the client was given again (its earlier connection closed) has its records in the order
    of its exchanges, which the client made one after the other. Records beyond one go to
    the port's last exchange."""
    queues = defaultdict(list)
    for record in records:
        queues[client_port(record)].append(record)
    left = Counter(reply.port for reply in replies)
    matched = {}
    for reply in replies:
        left[reply.port] -= 1
        queue = queues[reply.port]
        matched[reply] = queue[:] if left[reply.port] == 0 else queue[:1]
        del queue[:len(matched[reply])]
    return matched


def audit_totals(matched: dict[Reply, list[dict]], records: list[dict], gateway: str) -> list[str]:
    """Every exchange has exactly one record and no record is of anything else."""
    missing = sum(1 for found in matched.values() if not found)
    doubled = sum(1 for found in matched.values() if len(found) > 1)
    strangers = len(records) - sum(len(found) for found in matched.values())
    if len(records) != len(matched) or missing or doubled or strangers:
        return [f"{gateway}: {len(records)} audit records for {len(matched)} exchanges ({missing} without a "
                f"record, {doubled} with several, {strangers} records of no exchange)"]
    return []


def verify_audit(binary: str, path: str) -> list[str]:
    result = subprocess.run([binary, "audit", "verify", path], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return [f"obsgate audit verify {os.path.basename(path)}: {(result.stdout + result.stderr).strip()[-400:]}"]
    return []


def resource_problems(baseline: Resources, end: Resources, rss_slack_mib: float) -> list[str]:
    problems = []
    if len(end.fds) != len(baseline.fds):
        gained = Counter(kind_of_fd(t) for t in end.fds.values()) - Counter(kind_of_fd(t) for t in baseline.fds.values())
        lost = Counter(kind_of_fd(t) for t in baseline.fds.values()) - Counter(kind_of_fd(t) for t in end.fds.values())
        problems.append(f"the gateway's open fds went from {len(baseline.fds)} to {len(end.fds)} "
                        f"(more: {dict(gained) or 'none'}; fewer: {dict(lost) or 'none'})")
    if end.rss_kib > baseline.rss_kib + rss_slack_mib * 1024:
        problems.append(f"the gateway's RSS went from {baseline.rss_kib / 1024:.1f} to {end.rss_kib / 1024:.1f} MiB "
                        f"(limit +{rss_slack_mib:g} MiB)")
    return problems


def kind_of_fd(target: str) -> str:
    """`socket`, `anon_inode:[eventfd]`, a path…: what an fd is, without its inode number."""
    return re.sub(r":\[\d+\]$", "", target)


def case_label(case: Case) -> str:
    return f"{case.scenario.name} × {case.operation.name}" + (f" (round {case.round})" if case.round > 1 else "")


# ---------------------------------------------------------------------------- radosgw killed mid-upload

@dataclass
class Radosgw:
    """A radosgw of scripts/peers.sh, in a directory and on ports of this run's own."""
    directory: str
    port: int
    mon_port: int

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, CEPH_DIR=self.directory, RGW_PORT=str(self.port), MON_PORT=str(self.mon_port),
                    PEER_START_TIMEOUT=str(PEER_ATTEMPT_TIMEOUT_S))

    def peers(self, command: str, log_path: str) -> None:
        with open(log_path, "ab") as log:
            result = subprocess.run(["bash", os.path.join(REPO, "scripts", "peers.sh"), command], env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=2 * PEER_ATTEMPT_TIMEOUT_S + 30)
        if result.returncode != 0:
            with open(log_path, "rb") as log:
                tail = log.read()[-3000:].decode("utf-8", "replace")
            raise BenchError(f"scripts/peers.sh {command} failed (exit {result.returncode}):\n{tail}")

    def start(self, log_path: str) -> None:
        for start in range(1, PEER_STARTS + 1):
            try:
                return self.peers("start-rgw", log_path)
            except BenchError as error:
                if start == PEER_STARTS:
                    raise
                progress(f"{str(error).splitlines()[0]}; once more")

    def daemon(self) -> tuple[int, list[str]]:
        """The pid peers.sh's start script recorded for radosgw, and its command line,
        checked to be this directory's radosgw."""
        with open(os.path.join(self.directory, "run", "rgw.pidx")) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        if not argv or os.path.basename(argv[0]) != "radosgw" or f"{self.directory}/ceph.conf" not in argv:
            raise BenchError(f"pid {pid} of {self.directory}/run/rgw.pidx is not this run's radosgw: {argv}")
        return pid, argv


@dataclass
class RgwResult:
    killed_pid: int = 0
    kill_after: dict[str, int] = field(default_factory=dict)
    at_kill: dict[str, Reply] = field(default_factory=dict)
    kill_time: float = 0.0
    audit: dict[str, str] = field(default_factory=dict)
    restart_listening_s: float = 0.0
    recovered_after_s: float = 0.0
    recovery_polls: int = 0
    after_restart: dict[str, Reply] = field(default_factory=dict)
    records: int = 0
    exchanges: int = 0
    failures: list[str] = field(default_factory=list)


def run_radosgw(args, processes: Processes, workdir: str, binary: str) -> RgwResult:
    rgw_port, mon_port, gateway_port = free_ports(3)
    rgw = Radosgw(os.path.join(workdir, "rgw"), rgw_port, mon_port)
    peers_log = os.path.join(workdir, "peers.log")
    result = RgwResult()
    progress(f"starting radosgw on 127.0.0.1:{rgw_port} (scripts/peers.sh start-rgw)")
    try:
        rgw.start(peers_log)
        warm_up(rgw)
        directory = os.path.join(workdir, "gateway-rgw")
        audit_path = os.path.join(directory, "audit.log")
        client_secret = secrets.token_urlsafe(24)
        config = gateway_config(directory, gateway_port, rgw_port, RGW_SECRET, client_secret,
                                extra=audit_section(audit_path), upstream_key=RGW_ACCESS_KEY, timeouts=TIMEOUTS)
        start_gateway(processes, "gateway-rgw", binary, config, gateway_port)
        client = Client(Endpoint("obsgate-rgw", gateway_port, GATEWAY_KEY, client_secret), args.io_timeout)
        argv = kill_mid_upload(client, rgw, result, args)
        restart_and_recover(client, rgw, argv, processes, result, args)
        code = processes.stop("gateway-rgw")
        if code != 0:
            result.failures.append(f"the radosgw gateway exited with code {code} when stopped")
    finally:
        progress("stopping radosgw (scripts/peers.sh stop-rgw)")
        rgw.peers("stop-rgw", peers_log)
    records = audit_records(audit_path)
    matched = match_records(client.replies, records)
    result.records, result.exchanges = len(records), len(client.replies)
    for name, reply in result.at_kill.items():
        found = matched[reply]
        result.audit[name] = "ok" if len(found) == 1 else f"{len(found)} records"
        if len(found) != 1:
            result.failures.append(f"radosgw killed, {name}: {len(found)} audit records, expected 1")
        elif reply.status is not None and found[0].get("status") != reply.status:
            result.failures.append(f"radosgw killed, {name}: audit status {found[0].get('status')}, "
                                   f"client got {reply.status}")
    result.failures += audit_totals(matched, records, "radosgw gateway")
    result.failures += verify_audit(binary, audit_path)
    return result


def warm_up(rgw: Radosgw) -> None:
    """The bucket, an object and a multipart upload, straight to radosgw with its own key:
    the first of each makes radosgw create a pool, which takes longer than the gateway's
    short timeouts; set-up, not the subject."""
    store = Endpoint("radosgw", rgw.port, RGW_ACCESS_KEY, RGW_SECRET)
    simple_request(store, "PUT", f"/{RGW_BUCKET}", RGW_WARM_UP_TIMEOUT_S, (200,))
    simple_request(store, "PUT", f"/{RGW_BUCKET}/warm-up", RGW_WARM_UP_TIMEOUT_S, (200,), body=b"warm")
    answer = simple_request(store, "POST", f"/{RGW_BUCKET}/warm-up?uploads", RGW_WARM_UP_TIMEOUT_S, (200,))
    upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", answer).group(1).decode()
    simple_request(store, "DELETE", f"/{RGW_BUCKET}/warm-up?uploadId={urllib.parse.quote(upload_id, safe='')}",
                   RGW_WARM_UP_TIMEOUT_S, (204,))


def kill_mid_upload(client: Client, rgw: Radosgw, result: RgwResult, args) -> list[str]:
    """A large PUT and an UploadPart stream through the gateway; radosgw is killed once
    both have sent RGW_KILL_AFTER bytes. Each must end in a 502/504 or a closed connection
    within --slack of the kill. Returns the command line radosgw was killed with."""
    upload_id = upload_id_in(client.send("POST", f"/{RGW_BUCKET}/part-object?uploads"))
    block = random.Random(2).randbytes(MIB)
    uploads = {
        f"PutObject {human_size(RGW_PUT_SIZE)}": client.exchange(
            "PUT", f"/{RGW_BUCKET}/large-object", Body(RGW_PUT_SIZE, block), UNSIGNED_PAYLOAD),
        f"UploadPart {human_size(RGW_PART_SIZE)}": client.exchange(
            "PUT", f"/{RGW_BUCKET}/part-object?partNumber=1&uploadId={urllib.parse.quote(upload_id, safe='')}",
            Body(RGW_PART_SIZE, block), UNSIGNED_PAYLOAD),
    }
    threads = [threading.Thread(target=e.run, name=name, daemon=True) for name, e in uploads.items()]
    pid, argv = rgw.daemon()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while any(e.reply.sent < RGW_KILL_AFTER for e in uploads.values()):
        if not all(t.is_alive() for t in threads) or time.monotonic() > deadline:
            for thread in threads:
                thread.join(args.io_timeout)
            raise BenchError("the uploads to radosgw ended or stalled before radosgw was killed: "
                             + "; ".join(f"{n}: {e.reply.describe()} after {human_size(e.reply.sent)}"
                                         for n, e in uploads.items()))
        time.sleep(0.01)
    result.kill_after = {name: e.reply.sent for name, e in uploads.items()}
    result.kill_time, result.killed_pid = time.monotonic(), pid
    os.kill(pid, signal.SIGKILL)
    progress(f"killed radosgw (pid {pid}) with "
             + ", ".join(f"{n} at {human_size(s)}" for n, s in result.kill_after.items()))
    for thread in threads:
        thread.join(args.io_timeout + 5)
    for name, exchange in uploads.items():
        reply = result.at_kill[name] = exchange.reply
        after_kill = reply.ended - result.kill_time
        progress(f"  {name}: {reply.describe()}, {after_kill:.2f} s after the kill")
        if reply.outcome not in ("502 BadGateway", "504 GatewayTimeout", "closed"):
            result.failures.append(f"radosgw killed, {name}: client got {reply.describe()}, "
                                   f"expected 502 BadGateway, 504 GatewayTimeout or a closed connection")
        if after_kill > args.slack:
            result.failures.append(f"radosgw killed, {name}: the client's answer came {after_kill:.2f} s after the "
                                   f"kill (limit {args.slack:g} s)")
    return argv


def restart_and_recover(client: Client, rgw: Radosgw, argv: list[str], processes: Processes, result: RgwResult,
                        args) -> None:
    """radosgw again, with the command line it was killed with (the cluster behind it kept
    running, so the bucket and the upload survive); then the gateway must serve."""
    started = time.monotonic()
    proc = processes.start("radosgw-restarted", argv)
    processes.wait_listening("radosgw-restarted", proc, rgw.port, timeout=60)
    result.restart_listening_s = time.monotonic() - started
    deadline = time.monotonic() + 60
    while True:
        result.recovery_polls += 1
        if client.send("GET", f"/{RGW_BUCKET}").status == 200:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"the gateway did not list {RGW_BUCKET} within 60 s of radosgw's restart")
        time.sleep(0.5)
    result.recovered_after_s = time.monotonic() - started
    upload_id = upload_id_in(client.send("POST", f"/{RGW_BUCKET}/after-restart?uploads"))
    data = random.Random(3).randbytes(MIB)
    after = result.after_restart
    after["PutObject 1 MiB"] = client.put(f"/{RGW_BUCKET}/after-restart", data)
    after["UploadPart " + human_size(RGW_AFTER_RESTART_SIZE)] = client.send(
        "PUT", f"/{RGW_BUCKET}/after-restart?partNumber=1&uploadId={urllib.parse.quote(upload_id, safe='')}",
        Body(RGW_AFTER_RESTART_SIZE, data), UNSIGNED_PAYLOAD)
    for n in range(1, args.loops + 1):
        after[f"GetObject #{n}"] = client.send("GET", f"/{RGW_BUCKET}/after-restart")
    for name, reply in after.items():
        if reply.outcome != "200" or (name.startswith("GetObject") and reply.body != data):
            result.failures.append(f"after radosgw's restart, {name}: {reply.describe()}"
                                   + ("" if reply.outcome != "200" else " (other bytes than were put)"))


# ---------------------------------------------------------------------------- the report

def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def print_report(args, binary: str, scripted: dict | None, rgw: RgwResult | None, failures: list[str],
                 seconds: float) -> None:
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(binary)))
    print(f"faults: obsgate {command_output([binary, '--version'])} ({binary}, built {built}); HEAD {git_commit()}; "
          f"{machine()['cpus']} CPUs, Linux {machine()['kernel']}; run took {seconds:.0f} s")
    print("timeouts: " + ", ".join(f"{k} {v} s" for k, v in TIMEOUTS.items())
          + f"; slack {args.slack:g} s; PUT body {human_size(args.size)}; {args.loops} probe GETs after each case")
    if scripted:
        print_scripted(scripted, args)
    if rgw:
        print_rgw(rgw)
    print()
    if failures:
        print(f"FAIL ({len(failures)}):\n" + "\n".join(f"  - {f}" for f in failures))
    print(f"verdict: {'PASS' if not failures else 'FAIL'}")


def print_scripted(scripted: dict, args) -> None:
    print("\nscripted upstream: what it does")
    for scenario in SCENARIOS:
        print(f"  {scenario.name:18s} {scenario.what}")
    print("\n  scenario           operation                client got                       time   limit  "
          "upstream  upstream conn   audit  check")
    for case in scripted["cases"]:
        expected = case.expected
        limit = (TIMEOUTS[expected.waits] if expected.waits else 0) + args.slack
        requests = str(case.upstream_requests) + (" (retry)" if case.upstream_requests > 1 else "")
        name = case.scenario.name + (f" #{case.round}" if args.rounds > 1 else "")
        print(f"  {name:18s} {case.operation.name:24s} {case.reply.describe():30s} {case.reply.seconds:6.2f}s "
              f"{limit:5.1f}s  {requests:9s} {case.connection:15s} {case.audit:6s} "
              f"{'PASS' if not case.problems else 'FAIL'}")
    baseline, end = scripted["baseline"], scripted["end"]
    print(f"\n  gateway open fds: {len(baseline.fds)} after the warm-up, {len(end.fds)} at the end "
          f"(no client or pooled upstream connection either time)")
    print(f"  gateway RSS: {baseline.rss_kib / 1024:.1f} MiB after the warm-up, {end.rss_kib / 1024:.1f} MiB at the "
          f"end (limit +{args.rss_slack_mib:g} MiB)")
    print(f"  audit: {scripted['records']} records for {scripted['exchanges']} exchanges (cases, probes, set-up)")


def print_rgw(rgw: RgwResult) -> None:
    print(f"\nradosgw killed mid-upload (SIGKILL to pid {rgw.killed_pid}) and restarted")
    for name, reply in rgw.at_kill.items():
        print(f"  {name:22s} sent {human_size(rgw.kill_after.get(name, 0)):>9s} before the kill, "
              f"{human_size(reply.sent):>9s} in all; client got {reply.describe()} "
              f"{reply.ended - rgw.kill_time:.2f} s after the kill; audit {rgw.audit.get(name, '-')}")
    print(f"  restarted with the same command: listening after {rgw.restart_listening_s:.1f} s, first 200 through "
          f"the gateway after {rgw.recovered_after_s:.1f} s ({rgw.recovery_polls} ListObjects)")
    print("  after the restart: " + ", ".join(f"{name} {reply.describe()}" for name, reply in rgw.after_restart.items()))
    print(f"  audit: {rgw.records} records for {rgw.exchanges} exchanges")


def git_commit() -> str:
    return command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])


def report_json(scripted: dict | None, rgw: RgwResult | None, failures: list[str]) -> dict:
    def reply_json(reply: Reply) -> dict:
        return {"outcome": reply.outcome, "status": reply.status, "code": reply.code, "seconds": reply.seconds,
                "body_bytes": len(reply.body), "declared": reply.declared, "sent": reply.sent}

    out: dict = {"timeouts": TIMEOUTS, "failures": failures, "verdict": "PASS" if not failures else "FAIL"}
    if scripted:
        out["scripted"] = {
            "cases": [{"scenario": c.scenario.name, "operation": c.operation.name, "round": c.round,
                       "expected": c.expected.answer, "reply": reply_json(c.reply),
                       "upstream_requests": c.upstream_requests, "upstream_connection": c.connection,
                       "upstream_connections": c.connections,
                       "audit": c.audit, "problems": c.problems} for c in scripted["cases"]],
            "fds": [len(scripted["baseline"].fds), len(scripted["end"].fds)],
            "rss_kib": [scripted["baseline"].rss_kib, scripted["end"].rss_kib],
            "audit_records": scripted["records"], "exchanges": scripted["exchanges"]}
    if rgw:
        out["radosgw"] = {"killed_pid": rgw.killed_pid, "sent_before_kill": rgw.kill_after,
                          "at_kill": {n: reply_json(r) | {"after_kill_s": r.ended - rgw.kill_time}
                                      for n, r in rgw.at_kill.items()},
                          "restart_listening_s": rgw.restart_listening_s, "recovered_after_s": rgw.recovered_after_s,
                          "after_restart": {n: reply_json(r) for n, r in rgw.after_restart.items()},
                          "audit_records": rgw.records, "exchanges": rgw.exchanges}
    return out


# ---------------------------------------------------------------------------- main

def run(args) -> int:
    binary = ensure_binary(args.binary, args.binary_given)
    if not args.no_rgw and not shutil.which("radosgw"):
        raise BenchError("radosgw not found: run scripts/install-test-deps.sh (or pass --no-rgw)")
    started = time.monotonic()
    arm_global_timeout(args.timeout)
    workdir = tempfile.mkdtemp(prefix="obsgate-faults-")
    processes = Processes(workdir)
    try:
        scripted = run_scripted(args, processes, workdir, binary)
        rgw = None if args.no_rgw else run_radosgw(args, processes, workdir, binary)
    finally:
        disarm_global_timeout()
        processes.stop_all()
        if args.keep_temp:
            print(f"temporary files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failures = scripted["failures"] + (rgw.failures if rgw else [])
    print_report(args, binary, scripted, rgw, failures, time.monotonic() - started)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report_json(scripted, rgw, failures), f, indent=2)
            f.write("\n")
    return 0 if not failures else 1


def main(argv=None) -> int:
    parser = bench_parser(__doc__, timeout=600, size="4M", size_help="the body of the scripted PUT",
                          rounds=1, rounds_help="times the scenario table runs", io_timeout=15)
    parser.add_argument("--slack", type=float, default=3,
                        help="seconds an answer may take beyond the timeout it waits out (default 3)")
    parser.add_argument("--rss-slack-mib", type=float, default=10,
                        help="how far above its baseline the gateway's RSS may end (default 10)")
    parser.add_argument("--no-rgw", action="store_true", help="leave out radosgw killed mid-upload")
    args = parse_bench_args(parser, argv)
    # Client connections are spread over the gateway's event loops (one per CPU) in turn.
    args.loops = len(os.sched_getaffinity(0))
    if args.io_timeout <= max(TIMEOUTS.values()) + args.slack:
        parser.error(f"--io-timeout must exceed the longest timeout plus --slack ({max(TIMEOUTS.values())} + "
                     f"{args.slack:g} s): it is how long the client waits before calling an exchange hung")
    return run_main("faults", run, args)


if __name__ == "__main__":
    sys.exit(main())
