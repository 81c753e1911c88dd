#!/usr/bin/env python3
"""The acceptance test of the audit trail (issue 6): a scripted session through `obsgate serve` in front of Ceph radosgw.

The script starts a TCP relay to radosgw (stopping it is how "the upstream is down" is
produced) and the gateway (as user nobody when run as root, so that file modes count) with
the policy of PolicyEnforcementTests and

    audit: {sinks: [{type: file, path: <tmp>/audit/audit.log}], flush: per-record, fail_closed: true}

Then, with boto3 and raw sockets, it makes allowed, mutated (SSE-KMS injected), denied,
refused (bad signature, SSE-C over plain HTTP, session token), failed (relay stopped → 502)
and aborted (client leaves mid-body) requests, keeping what the client saw of each, and
makes the audit directory read-only for a while (uploads and deletions → 503, reads go
on). It checks that the audit file has an anchor and exactly one record per request, in
order, with the expected operation, status, decision and upload ids; that none of the
secrets used appears in it; that /metrics parses with prometheus_client and agrees with the
file; and that `obsgate audit verify` passes on the file and names the right line after a
byte of a line is changed or a line removed.

Usage: audit_session.py --obsgate BINARY --rgw-endpoint URL --rgw-access-key AK --rgw-secret SK --policy FILE --out results.json
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import argparse
import base64
import collections
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families
from urllib3 import encode_multipart_formdata

CLIENT_KEY = "GWAUDITCLIENT0000001"
CLIENT_PRINCIPAL = "auditor"
NOBODY = 65534



class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def wait_for(what, predicate, timeout, interval=0.1):
    """Polls predicate until it returns a truthy value; raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # a scrape that fails while starting, say
            last = error
        time.sleep(interval)
    raise Failed(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """A TCP relay 127.0.0.1:port → target. stop() closes the listener and every live
    connection (the upstream is gone); start() listens again on the same port."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.lock = threading.Lock()
        self.sockets = set()
        self.listener = None
        self.accepting = None

    def start(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    listener.close()
                    raise
                time.sleep(0.1)
        listener.listen(64)
        listener.settimeout(0.2)
        self.listener = listener
        self.accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self.accepting.start()

    def _accept(self, listener):
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            for s in (source, sink):
                self._close(s)

    def _close(self, s):
        with self.lock:
            self.sockets.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def stop(self):
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        if self.accepting is not None:
            self.accepting.join(timeout=5)
        with self.lock:
            live = list(self.sockets)
        for s in live:
            self._close(s)


class Gateway:
    def __init__(self, binary, directory, config, as_nobody):
        self.binary, self.directory, self.config = binary, directory, config
        self.log_path = os.path.join(directory, "gateway.log")
        command = [binary, "serve", "--config", config]
        if as_nobody:
            command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                       "--bounding-set=-all"] + command
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError as error:
            return f"(no log: {error})"

    def stop(self, timeout=40):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                self.log.close()
                return None
        self.log.close()
        return self.process.returncode


def http_get(url, timeout=5, with_headers=False):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            result = response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        result = error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}
    return result if with_headers else result[:2]


class Session:
    """The scripted client side: every request made through the gateway, with what the
    client saw of it."""

    def __init__(self, endpoint, admin, audit_path):
        self.endpoint, self.admin, self.audit_path = endpoint, admin, audit_path
        self.requests = []  # {"label", "operation", "status", "decision", "error_code", ...}
        self.upload_ids = {}  # label of the CreateMultipartUpload → the UploadId boto3 received
        self.secrets = {}  # name → bytes that must not appear in the audit file
        self.problems = []  # client-side surprises (a status other than expected)

    def client(self, secret, token=None, signature_version=None):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=CLIENT_KEY,
                            aws_secret_access_key=secret, aws_session_token=token, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                                          request_checksum_calculation="when_required", signature_version=signature_version,
                                          connect_timeout=10, read_timeout=60))

    def note(self, label, operation, status, expected_status, decision, error_code=None, headers=None, **extra):
        """Records one request; headers: the response headers the client got (lowercase names)."""
        entry = dict(label=label, operation=operation, status=status, decision=decision, error_code=error_code, **extra)
        headers = headers or {}
        # The gateway's request id, as the client got it in x-obsgate-request-id.
        entry["request_id"] = headers.get("x-obsgate-request-id")
        # The response body the client was sent (a HEAD response's Content-Length is not one).
        if operation != "HeadObject" and "content-length" in headers:
            entry["body_bytes"] = int(headers["content-length"])
        self.requests.append(entry)
        if status != expected_status:
            self.problems.append(f"{label}: the client saw status {status}, expected {expected_status}")
        return entry

    def call(self, label, operation, function, expected_status, decision, expected_code=None, **extra):
        """Runs one boto3 call and records what the client saw."""
        try:
            response = function()
            status, code = response["ResponseMetadata"]["HTTPStatusCode"], None
        except ClientError as error:
            response = error.response
            status = response["ResponseMetadata"].get("HTTPStatusCode")
            code = response.get("Error", {}).get("Code")
        headers = {k.lower(): v for k, v in response["ResponseMetadata"].get("HTTPHeaders", {}).items()}
        self.note(label, operation, status, expected_status, decision, code if expected_code else None, headers, **extra)
        if expected_code and code != expected_code:
            self.problems.append(f"{label}: the client saw error code {code}, expected {expected_code}")
        return response

    def metrics_text(self):
        status, body = http_get(f"{self.admin}/metrics")
        check(status == 200, f"/metrics answered {status}")
        return body.decode()

    def metric(self, name):
        match = re.search(rf"^{name} (\S+)$", self.metrics_text(), re.M)
        return float(match.group(1)) if match else None

    def audit_lines(self):
        with open(self.audit_path, "rb") as f:
            return f.read().splitlines()


def scenario_session(session, relay, rgw_endpoint, suffix):
    """The scripted session. Returns a detail string; client-side surprises are collected
    in session.problems (checked by the caller)."""
    good = session.client(session.secret)
    finance, plain = f"finance-audit-{suffix}", f"plain-audit-{suffix}"
    session.buckets = [finance, plain]

    # Allowed.
    session.call("create finance bucket", "CreateBucket", lambda: good.create_bucket(Bucket=finance), 200, "allow")
    session.call("create plain bucket", "CreateBucket", lambda: good.create_bucket(Bucket=plain), 200, "allow")
    session.call("put", "PutObject", lambda: good.put_object(Bucket=plain, Key="hello.txt", Body=b"hello audit"), 200,
                 "allow")
    got = session.call("get", "GetObject", lambda: good.get_object(Bucket=plain, Key="hello.txt"), 200, "allow")
    if "Body" in got:
        body = got["Body"].read()
        if body != b"hello audit":
            session.problems.append(f"get: body {body!r}")
    presigner = session.client(session.secret, signature_version="s3v4")
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": plain, "Key": "hello.txt"}, ExpiresIn=300)
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    session.secrets["presigned GET signature"] = signature.encode()
    status, body, headers = http_get(url, timeout=30, with_headers=True)
    session.note("presigned get", "GetObject", status, 200, "allow", headers=headers)
    if status == 200 and body != b"hello audit":
        session.problems.append(f"presigned get: body {body!r}")

    # A browser form upload (POST /bucket, multipart/form-data): its credentials, policy
    # document and signature are form fields, which the record must not carry.
    post = presigner.generate_presigned_post(plain, "forms/${filename}", Fields={"Content-Type": "image/jpeg"},
                                             Conditions=[{"Content-Type": "image/jpeg"}])
    session.secrets["form signature"] = post["fields"]["x-amz-signature"].encode()
    session.secrets["form policy document"] = post["fields"]["policy"].encode()
    form_body, form_type = encode_multipart_formdata(list(post["fields"].items())
                                                     + [("file", ("photo.jpg", b"\xff\xd8 jpeg bytes", "image/jpeg"))])
    parsed = urllib.parse.urlsplit(session.endpoint)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request("POST", f"/{plain}", body=form_body, headers={"Content-Type": form_type})
        response = connection.getresponse()
        response.read()
        session.note("form upload", "PostObject", response.status, 204, "allow",
                     headers={k.lower(): v for k, v in response.getheaders()}, key="forms/photo.jpg")
    finally:
        connection.close()

    # Mutated: the policy injects SSE-KMS testkey-1 into an initiate on a finance-* bucket.
    key = "reports/q3 report+é.bin"
    created = session.call("initiate finance (KMS injected)", "CreateMultipartUpload",
                           lambda: good.create_multipart_upload(Bucket=finance, Key=key), 200, "allow-with-mutations",
                           mutated=True)
    upload_id = created.get("UploadId")
    session.upload_ids["initiate finance (KMS injected)"] = upload_id
    parts = []
    for number, size in ((1, 5 * 1024 * 1024), (2, 1024)):
        part = session.call(f"upload part {number}", "UploadPart",
                            lambda: good.upload_part(Bucket=finance, Key=key, UploadId=upload_id, PartNumber=number,
                                                     Body=os.urandom(size)), 200, "allow", upload_of="initiate finance (KMS injected)",
                            bytes_in=size)
        parts.append({"ETag": part.get("ETag"), "PartNumber": number})
    session.call("complete", "CompleteMultipartUpload",
                 lambda: good.complete_multipart_upload(Bucket=finance, Key=key, UploadId=upload_id,
                                                        MultipartUpload={"Parts": parts}), 200, "allow",
                 upload_of="initiate finance (KMS injected)")
    head = session.call("head finance object", "HeadObject", lambda: good.head_object(Bucket=finance, Key=key), 200,
                        "allow")
    if head.get("ServerSideEncryption") != "aws:kms" or "testkey-1" not in head.get("SSEKMSKeyId", ""):
        session.problems.append(f"the injected key was not applied: HEAD said {head.get('ServerSideEncryption')} "
                                f"{head.get('SSEKMSKeyId')}")
    created = session.call("initiate plain", "CreateMultipartUpload",
                           lambda: good.create_multipart_upload(Bucket=plain, Key="abandoned.bin"), 200, "allow")
    abandoned = created.get("UploadId")
    session.upload_ids["initiate plain"] = abandoned
    session.call("abort", "AbortMultipartUpload",
                 lambda: good.abort_multipart_upload(Bucket=plain, Key="abandoned.bin", UploadId=abandoned), 204,
                 "allow", upload_of="initiate plain")

    # Denied by the policy.
    session.call("put GLACIER", "PutObject",
                 lambda: good.put_object(Bucket=plain, Key="cold", Body=b"cold", StorageClass="GLACIER"), 403, "deny",
                 "AccessDenied", denied_by="no-glacier")
    session.call("initiate GLACIER", "CreateMultipartUpload",
                 lambda: good.create_multipart_upload(Bucket=plain, Key="cold2", StorageClass="GLACIER"), 403, "deny",
                 "AccessDenied", denied_by="no-glacier")

    # Refused by the gateway.
    session.secrets["wrong secret"] = session.wrong_secret.encode()
    wrong = session.client(session.wrong_secret)
    session.call("bad signature", "PutObject", lambda: wrong.put_object(Bucket=plain, Key="forged", Body=b"x"), 403,
                 "refused", "SignatureDoesNotMatch", unauthenticated=True)
    sse_key = os.urandom(32)
    session.secrets["SSE-C key (raw)"] = sse_key
    session.secrets["SSE-C key (base64)"] = base64.b64encode(sse_key)
    session.call("SSE-C over plain HTTP", "PutObject",
                 lambda: good.put_object(Bucket=plain, Key="ssec", Body=b"secret", SSECustomerAlgorithm="AES256",
                                         SSECustomerKey=sse_key), 400, "refused", sse_c=True)
    token = f"SESSIONTOKEN-{uuid.uuid4().hex}"
    session.secrets["session token"] = token.encode()
    with_token = session.client(session.secret, token=token)
    try:
        response = with_token.get_object(Bucket=plain, Key="hello.txt")
        response["Body"].read()
    except ClientError as error:
        response = error.response
    status = response["ResponseMetadata"].get("HTTPStatusCode")
    headers = {k.lower(): v for k, v in response["ResponseMetadata"].get("HTTPHeaders", {}).items()}
    # Whatever the gateway makes of it; the record must say the same and keep the token out.
    session.note("session token", "GetObject", status, status, "allow" if status == 200 else "refused", headers=headers)

    # Failed: the upstream is down.
    relay.stop()
    try:
        session.call("put, upstream stopped", "PutObject",
                     lambda: good.put_object(Bucket=plain, Key="lost", Body=b"nobody home"), 502, "allow", "BadGateway")
    finally:
        relay.start()
    wait_for("/readyz with the relay back", lambda: http_get(f"{session.admin}/readyz")[0] == 200, 20, 0.2)
    session.call("put, upstream back", "PutObject", lambda: good.put_object(Bucket=plain, Key="back", Body=b"back"), 200,
                 "allow")

    # Aborted: the client sends a head announcing 100000 bytes, 10 of them, and leaves.
    before = len(session.audit_lines())
    url = presigner.generate_presigned_url("put_object", Params={"Bucket": plain, "Key": "aborted.bin"}, ExpiresIn=300)
    session.secrets["presigned PUT signature"] = urllib.parse.parse_qs(
        urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0].encode()
    parsed = urllib.parse.urlsplit(url)
    # The gauge counts an exchange until its record is written, which may be just after the
    # client got its answer: 0 first, so that the 1 below is this upload's.
    wait_for("the earlier exchanges ended", lambda: session.metric("obsgate_requests_in_flight") == 0, 10)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as raw:
        raw.sendall(f"PUT {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
                    "Content-Length: 100000\r\nContent-Type: application/octet-stream\r\n\r\n".encode() + b"0123456789")
        # Leave once the gateway has the request in flight (forwarded, waiting for the rest).
        wait_for("the aborted upload in flight", lambda: session.metric("obsgate_requests_in_flight") == 1, 10)
    session.note("aborted put", "PutObject", None, None, "allow", "ClientDisconnected", bytes_in=10)
    # The record is written when the gateway sees the connection close; wait for it so that
    # the next request's record comes after it.
    wait_for("the aborted request's record", lambda: len(session.audit_lines()) > before, 10)

    # Fail-closed: the audit directory read-only while requests run.
    audit_dir = os.path.dirname(session.audit_path)
    os.chmod(audit_dir, 0o555)
    try:
        wait_for("obsgate_audit_healthy 0", lambda: session.metric("obsgate_audit_healthy") == 0, 15)
        session.call("put, audit trail read-only", "PutObject",
                     lambda: good.put_object(Bucket=plain, Key="unrecorded", Body=b"must not happen"), 503, "refused",
                     "ServiceUnavailable")
        session.call("initiate, audit trail read-only", "CreateMultipartUpload",
                     lambda: good.create_multipart_upload(Bucket=plain, Key="unrecorded2"), 503, "refused",
                     "ServiceUnavailable")
        session.call("delete, audit trail read-only", "DeleteObject",
                     lambda: good.delete_object(Bucket=plain, Key="hello.txt"), 503, "refused", "ServiceUnavailable")
        # The GET below finds the object: the refused deletion never reached the store. Its
        # body is read before the call returns: a client that drops an unread body can leave
        # before the gateway sends it, and its record then rightly says bytes_out 0.
        def get_and_read():
            response = good.get_object(Bucket=plain, Key="hello.txt")
            response["Body"].read()
            return response
        session.call("get, audit trail read-only", "GetObject", get_and_read, 200, "allow")
    finally:
        os.chmod(audit_dir, 0o755)
    wait_for("obsgate_audit_healthy 1", lambda: session.metric("obsgate_audit_healthy") == 1, 15)
    session.call("put, audit trail writable again", "PutObject",
                 lambda: good.put_object(Bucket=plain, Key="recorded", Body=b"recorded"), 200, "allow")
    return f"{len(session.requests)} requests"


def parse_records(lines):
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except ValueError as error:
            raise Failed(f"audit line {number} is not JSON ({error}): {line[:300]!r}")
    return records


def verify_chain_independently(raw):
    """The chain check of docs/audit.md, in Python."""
    prev_hash, next_seq = None, None
    for number, line in enumerate(raw.split(b"\n")[:-1], 1):
        d = json.loads(line)
        zeroed = line.replace(f'"hash":"{d["hash"]}"'.encode(), b'"hash":"' + b"0" * 64 + b'"')
        check(hashlib.sha256(zeroed).hexdigest() == d["hash"], f"line {number}: hash does not match")
        canonical = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        check(canonical == line, f"line {number} is not canonical JSON")
        if number == 1:
            check(d.get("anchor") == "new-chain" and d["seq"] == 0 and d["prev"] == "0" * 64,
                  f"line 1 is not a new-chain anchor: {line!r}")
            prev_hash, next_seq = "0" * 64, 0
        check((d["seq"], d["prev"]) == (next_seq, prev_hash), f"line {number}: chain broken")
        prev_hash, next_seq = hashlib.sha256(line).hexdigest(), d["seq"] + 1
    return next_seq - 1


REQUIRED = {"schema": int, "time": str, "request_id": str, "method": str, "operation": str, "decision": str,
            "rules": list, "mutations": list, "bytes_in": int, "bytes_out": int, "duration_ms": int, "seq": int,
            "prev": str, "hash": str}


def match_records(session, records):
    """Pairs each request with its record: by the request id the client got in
    x-obsgate-request-id; a request whose client saw no response, with the next unclaimed
    record without a status. Returns ([(request, record or None, line number)], [(line
    number, record) of records no request claimed])."""
    check(records and "anchor" in records[0], f"the first line is not an anchor: {records[:1]}")
    numbered = list(enumerate(records[1:], 2))
    by_id = {}
    for number, record in numbered:
        by_id.setdefault(record.get("request_id"), (number, record))
    claimed, pairs = set(), []
    for request in session.requests:
        found = by_id.get(request["request_id"]) if request["request_id"] else None
        if found is None and request["status"] is None:
            after = max(claimed, default=1)
            found = next(((n, r) for n, r in numbered if n > after and n not in claimed and "status" not in r
                          and r.get("operation") == request["operation"]), None)
        if found is not None:
            claimed.add(found[0])
        pairs.append((request, found[1] if found else None, found[0] if found else None))
    extra = [(n, r) for n, r in numbered if n not in claimed]
    return pairs, extra


def one_record_per_request(session, records):
    """Exactly one record per request the client made, in the order it made them."""
    body = records[1:]
    pairs, extra = match_records(session, records)
    problems = []
    missing = [request["label"] for request, record, _ in pairs if record is None]
    if missing:
        problems.append(f"no record for: {missing}")
    for number, record in extra:
        problems.append(f"line {number} is a record of no request the client made: {json.dumps(record)}")
    numbers = [n for _, _, n in pairs if n is not None]
    if numbers != sorted(numbers):
        problems.append(f"the records are not in the order of the requests: lines {numbers}")
    seen = [(r.get("operation"), r.get("status")) for r in body]
    made = [(q["operation"], q["status"]) for q in session.requests]
    if len(body) != len(session.requests) or seen != made:
        problems.append(f"{len(body)} records for {len(session.requests)} requests; (operation, status) "
                        f"of the client: {made}\nof the audit file: {seen}")
    check(not problems, "\n".join(problems))
    return f"anchor + {len(body)} records, one per request, in order"


def records_say_what_happened(session, records):
    """Each request's record (found by request id) has the fields the client's view implies."""
    pairs, _ = match_records(session, records)
    problems = []
    for request, record, number in pairs:
        if record is None:
            continue
        where = f"line {number} ({request['label']})"
        for field, kind in REQUIRED.items():
            if not isinstance(record.get(field), kind):
                problems.append(f"{where}: field {field} missing or not {kind.__name__}: {record}")
        if record.get("schema") != 1 or len(record.get("time", "")) != 24:
            problems.append(f"{where}: schema/time: {record}")
        if record.get("operation") != request["operation"] or record.get("status") != request["status"]:
            problems.append(f"{where}: operation {record.get('operation')} status {record.get('status')}, the client "
                            f"made {request['operation']} and saw {request['status']}")
        if record.get("decision") != request["decision"]:
            problems.append(f"{where}: decision {record.get('decision')!r}, expected {request['decision']!r}: {record}")
        if request.get("error_code") and record.get("error_code") != request["error_code"]:
            problems.append(f"{where}: error_code {record.get('error_code')!r}, expected {request['error_code']!r}: {record}")
        if request["status"] is None and "status" in record:
            problems.append(f"{where}: the client saw no response, the record has status {record['status']}")
        if "body_bytes" in request and record.get("bytes_out") != request["body_bytes"]:
            problems.append(f"{where}: bytes_out {record.get('bytes_out')}, the client was sent a body of "
                            f"{request['body_bytes']} bytes (its Content-Length): {record}")
        if "key" in request and record.get("key") != request["key"]:
            problems.append(f"{where}: key {record.get('key')!r}, expected {request['key']!r}: {record}")
        if "bytes_in" in request and record.get("bytes_in") != request["bytes_in"]:
            problems.append(f"{where}: bytes_in {record.get('bytes_in')}, expected {request['bytes_in']}")
        if record.get("access_key_id") != CLIENT_KEY:
            problems.append(f"{where}: access_key_id {record.get('access_key_id')!r}, expected {CLIENT_KEY}: {record}")
        if request.get("unauthenticated"):
            if "principal" in record:
                problems.append(f"{where}: a request whose signature did not match has a principal: {record}")
        elif record.get("principal") != CLIENT_PRINCIPAL:
            problems.append(f"{where}: principal {record.get('principal')!r}, expected {CLIENT_PRINCIPAL}: {record}")
        if not record.get("client_address", "").startswith("127.0.0.1:"):
            problems.append(f"{where}: client_address {record.get('client_address')!r}")
        if request.get("denied_by") and record.get("denied_by") != request["denied_by"]:
            problems.append(f"{where}: denied_by {record.get('denied_by')!r}, expected {request['denied_by']}: {record}")
        if request.get("denied_by") and request["denied_by"] not in record.get("rules", []):
            problems.append(f"{where}: rules {record.get('rules')} do not name {request['denied_by']}")
        if request["decision"] in ("deny", "allow-with-mutations") and not record.get("policy_version"):
            problems.append(f"{where}: no policy_version: {record}")
        if request["status"] == 502 and "upstream_request_id" in record:
            problems.append(f"{where}: nothing was forwarded but the record has an upstream_request_id: {record}")
        if request["status"] == 200 and not record.get("upstream_request_id"):
            problems.append(f"{where}: no upstream_request_id: {record}")
        if request.get("mutated"):
            mutations = {(m.get("action"), m.get("name"), m.get("value")) for m in record.get("mutations", [])}
            wanted = {("set", "x-amz-server-side-encryption", "aws:kms"),
                      ("set", "x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")}
            if not wanted <= mutations:
                problems.append(f"{where}: mutations {record.get('mutations')}, expected the SSE-KMS injection: {record}")
            if "finance-kms" not in record.get("rules", []):
                problems.append(f"{where}: rules {record.get('rules')} do not name finance-kms")
            headers = record.get("headers") or {}
            if headers.get("x-amz-server-side-encryption-aws-kms-key-id") != "testkey-1":
                problems.append(f"{where}: headers {headers} do not show the injected key")
        elif record.get("mutations"):
            problems.append(f"{where}: unexpected mutations: {record}")
        if request.get("sse_c"):
            headers = record.get("headers") or {}
            if "x-amz-server-side-encryption-customer-key-md5" not in headers:
                problems.append(f"{where}: the SSE-C key-MD5 is not recorded: {headers}")
            if headers.get("x-amz-server-side-encryption-customer-key", "[redacted]") != "[redacted]":
                problems.append(f"{where}: the SSE-C key is recorded: {headers}")
    check(not problems, "\n".join(problems))
    return f"{sum(1 for _, r, _ in pairs if r)} records checked field by field"


def compare_upload_ids(session, records):
    pairs, _ = match_records(session, records)
    problems = []
    for request, record, number in pairs:
        label = request["label"]
        if record is None:
            continue
        if label in session.upload_ids:
            expected = session.upload_ids[label]
        elif "upload_of" in request:
            expected = session.upload_ids.get(request["upload_of"])
        else:
            if "upload_id" in record:
                problems.append(f"line {number} ({label}): unexpected upload_id: {record}")
            continue
        if not expected or record.get("upload_id") != expected:
            problems.append(f"line {number} ({label}): upload_id {record.get('upload_id')!r}, boto3 received "
                            f"{expected!r}: {record}")
    check(len(session.upload_ids) == 2 and all(session.upload_ids.values()), f"upload ids received: {session.upload_ids}")
    check(not problems, "\n".join(problems))
    return f"{len(session.upload_ids)} uploads: " + ", ".join(session.upload_ids.values())


def find_secrets(raw, secrets):
    found = []
    for name, value in secrets.items():
        if value and value in raw:
            at = raw.find(value)
            found.append(f"{name} at byte {at}: ...{raw[max(0, at - 200):at + len(value) + 50]!r}...")
    return found


def scrape_requests(text):
    families = list(text_string_to_metric_families(text))
    counts = collections.Counter()
    values = {}
    for family in families:
        for sample in family.samples:
            if sample.name == "obsgate_requests_total":
                labels = sample.labels
                counts[(labels.get("operation"), labels.get("decision"), labels.get("status_class"))] += sample.value
            elif not sample.labels:
                values[sample.name] = sample.value
    return families, counts, values


def verify(binary, *files):
    run = subprocess.run([binary, "audit", "verify", *files], capture_output=True, timeout=60)
    return run.returncode, (run.stdout + run.stderr).decode(errors="replace")


def tamper_cases(raw_lines):
    """(description, lines, expected line, expected kind) for copies of the file each with
    one byte of a value changed or one line removed."""
    cases = []
    count = len(raw_lines)
    targets = sorted(set(range(1, count + 1, 3)) | {2, count})
    fields = ["time", "request_id", "hash", "prev", "operation", "seq", "bytes_out"]
    for index, number in enumerate(targets):
        line = raw_lines[number - 1]
        d = json.loads(line)
        for field in fields[index % len(fields):] + fields:
            if field not in d:
                continue
            value = json.dumps(d[field], ensure_ascii=False, separators=(",", ":")).encode()
            needle = b'"' + field.encode() + b'":' + value
            at = line.find(needle)
            if at < 0:
                continue
            # A character inside the value: the last one before a closing quote, or the last digit.
            position = at + len(needle) - (2 if value.endswith(b'"') else 1)
            old = line[position:position + 1]
            new = {b"0": b"1", b"1": b"2"}.get(old, b"0" if old != b"0" else b"1")
            if old.isalpha():
                new = b"A" if old != b"A" else b"B"
            changed = line[:position] + new + line[position + 1:]
            copy = list(raw_lines)
            copy[number - 1] = changed
            cases.append((f"line {number}: byte {position} of {field} {old.decode()}→{new.decode()}", copy, number,
                          "hash mismatch"))
            break
    for number in sorted({1, 2, count // 2, count - 1}):
        copy = raw_lines[:number - 1] + raw_lines[number:]
        cases.append((f"line {number} removed", copy, number, "schema" if number == 1 else "missing line"))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obsgate", required=True)
    parser.add_argument("--rgw-endpoint", required=True)
    parser.add_argument("--rgw-access-key", required=True)
    parser.add_argument("--rgw-secret", required=True)
    parser.add_argument("--policy", required=True,
                        help="the policy of PolicyEnforcementTests (finance-* KMS injection, no-glacier)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.obsgate)

    def terminated(signum, frame):
        raise SystemExit(128 + signum)  # so that the finally clause stops the gateway and the relay

    signal.signal(signal.SIGTERM, terminated)
    started = time.monotonic()

    results = []

    def scenario(name, function, *arguments):
        try:
            detail = function(*arguments) or "ok"
            results.append({"name": name, "ok": True, "detail": detail})
            return True
        except Exception as error:  # every scenario reports its own failure
            detail = str(error) if isinstance(error, Failed) else f"{error!r}\n{traceback.format_exc(limit=4)}"
            results.append({"name": name, "ok": False, "detail": detail})
            return False

    as_nobody = os.geteuid() == 0
    directory = tempfile.mkdtemp(prefix="obsgate-audit-session-")
    os.chmod(directory, 0o755)
    audit_dir = os.path.join(directory, "audit")
    os.mkdir(audit_dir, 0o755)
    if as_nobody:
        os.chown(audit_dir, NOBODY, NOBODY)
    audit_path = os.path.join(audit_dir, "audit.log")
    secret = f"gw-secret/{uuid.uuid4().hex}+="
    wrong_secret = f"wrong-secret/{uuid.uuid4().hex}+="
    port, admin_port = free_port(), free_port()
    rgw = urllib.parse.urlsplit(args.rgw_endpoint)
    relay = Relay(rgw.hostname, rgw.port or 80)

    def write(name, text, mode=0o644):
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    write("clients.yaml", f'version: 1\nclients:\n  - access_key: {CLIENT_KEY}\n    secret: "{secret}"\n'
                          f"    principal: {CLIENT_PRINCIPAL}\n    groups: [qa]\n")
    with open(args.policy, encoding="utf-8") as policy:
        write("policy.yaml", policy.read())
    config = write("obsgate.yaml", f"""listeners:
  - address: 127.0.0.1:{port}
admin:
  address: 127.0.0.1:{admin_port}
upstream:
  endpoint: http://127.0.0.1:{relay.port}
  region: us-east-1
  signing: v4
  addressing: path
  profiles:
    default:
      access_key: {args.rgw_access_key}
      secret_key: "{args.rgw_secret}"
credentials: clients.yaml
policy: policy.yaml
timeouts:
  drain: 5
audit:
  sinks:
    - type: file
      path: {audit_path}
  flush: per-record
  fail_closed: true
""")

    session = Session(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", audit_path)
    session.secret, session.wrong_secret = secret, wrong_secret
    session.secrets["client secret"] = secret.encode()
    session.secrets["radosgw secret"] = args.rgw_secret.encode()
    session.buckets = []
    gateway = None
    exit_status = None
    records, raw = [], b""
    try:
        relay.start()
        gateway = Gateway(binary, directory, config, as_nobody)

        def starts():
            def ready():
                check(gateway.process.poll() is None, f"the gateway exited with {gateway.process.returncode}")
                return http_get(f"{session.admin}/readyz")[0] == 200
            wait_for("/readyz", ready, 30, 0.2)
            lines = session.audit_lines()
            check(len(lines) == 1 and b'"anchor":"new-chain"' in lines[0], f"the new audit file: {lines}")
            return f"as {'nobody' if as_nobody else 'the current user'}, listening on 127.0.0.1:{port}"

        if not scenario("the gateway starts and the audit file begins with an anchor", starts):
            raise Failed("the gateway did not start")

        def session_runs():
            try:
                return scenario_session(session, relay, args.rgw_endpoint, uuid.uuid4().hex[:8])
            finally:
                check(not session.problems, "\n".join(session.problems))

        scenario("the scripted session: every request answered as expected", session_runs)

        def read_the_file():
            nonlocal records, raw
            # Every record written (the session ends with a 200 after the recovery).
            wait_for(f"{len(session.requests)} records", lambda: len(session.audit_lines()) >= len(session.requests) + 1, 15)
            # No exchange still running, nothing still queued: a stray extra record would be in the file now.
            wait_for("no request in flight and the audit queue empty",
                     lambda: session.metric("obsgate_requests_in_flight") == 0
                     and session.metric("obsgate_audit_queue_depth") == 0, 15)
            with open(audit_path, "rb") as f:
                raw = f.read()
            records = parse_records(raw.splitlines())
            return one_record_per_request(session, records)

        scenario("the audit file has exactly one record per request the client made, in order", read_the_file)
        scenario("each request's record says what the client saw and the policy decided",
                 lambda: records_say_what_happened(session, records))
        scenario("the upload ids match those boto3 received", lambda: compare_upload_ids(session, records))

        def no_secrets():
            check(raw, "no audit file read")
            patterns = dict(session.secrets)
            patterns["a Signature= parameter"] = b"Signature="
            patterns["an Authorization value"] = b"AWS4-HMAC-SHA256 Credential"
            patterns["a credential scope"] = b"Credential="
            found = find_secrets(raw, patterns)
            check(not found, "found in the audit file:\n" + "\n".join(found))
            return f"none of {len(patterns)} patterns in {len(raw)} bytes: {', '.join(patterns)}"

        scenario("grep finds none of the secrets used in the audit file", no_secrets)

        def metrics_agree():
            body = records[1:]
            check(body, "no records")
            wait_for(f"obsgate_audit_records_written_total {len(body)}",
                     lambda: session.metric("obsgate_audit_records_written_total") == len(body), 10)
            text = session.metrics_text()
            families, counts, values = scrape_requests(text)
            expected = collections.Counter(
                (r["operation"], r["decision"], f"{r['status'] // 100}xx" if "status" in r else "none") for r in body)
            check(counts == expected, f"obsgate_requests_total: {dict(counts)}\nthe audit file: {dict(expected)}")
            check(values.get("obsgate_audit_records_dropped_total") == 0, f"dropped: {values}")
            check(values.get("obsgate_audit_queue_depth") == 0, f"queue depth: {values}")
            check(values.get("obsgate_audit_healthy") == 1, f"healthy: {values}")
            check(values.get("obsgate_audit_write_errors_total", 0) >= 1,
                  f"no write error counted while the directory was read-only: {values}")
            return f"{len(families)} metric families; {sum(counts.values()):.0f} requests in {len(counts)} series"

        scenario("/metrics parses with prometheus_client and agrees with the audit file", metrics_agree)

        def no_secrets_in_log():
            gateway_log = open(gateway.log_path, "rb").read()
            patterns = dict(session.secrets)
            patterns["an Authorization value"] = b"AWS4-HMAC-SHA256 Credential"
            found = find_secrets(gateway_log, patterns)
            check(not found, "found in the gateway log:\n" + "\n".join(found))
            return f"{len(gateway_log)} bytes of log"

        scenario("the gateway log has none of the secrets either", no_secrets_in_log)

        def stops():
            nonlocal exit_status
            exit_status = gateway.stop()
            check(exit_status == 0, f"exit status {exit_status}\n{gateway.log_tail()}")
            return "exit 0 after SIGTERM"

        scenario("the gateway exits 0 on SIGTERM", stops)

        def verify_passes():
            with open(audit_path, "rb") as f:
                final = f.read()
            check(final == raw, "the audit file changed after the session was read")
            count = verify_chain_independently(final)
            status, output = verify(binary, audit_path)
            check(status == 0, f"obsgate audit verify exited {status}: {output}")
            records_in_file = len(final.splitlines()) - 1
            check(f"{audit_path}: ok, {records_in_file} records, seq 0–{count} (new chain)" in output, output)
            return output.strip()

        scenario("obsgate audit verify passes on the file", verify_passes)

        def verify_finds_tampering():
            with open(audit_path, "rb") as f:
                lines = f.read().splitlines()
            check(len(lines) > 5, f"only {len(lines)} lines")
            problems, done = [], []
            for index, (description, copy, line, kind) in enumerate(tamper_cases(lines)):
                path = os.path.join(directory, f"tampered-{index}.log")
                with open(path, "wb") as f:
                    f.write(b"\n".join(copy) + b"\n")
                status, output = verify(binary, path)
                expected = f"{path}:{line}: error: {kind}:"
                if status == 0 or expected not in output:
                    problems.append(f"{description}: exit {status}, expected '{expected}', got: {output.strip()}")
                else:
                    done.append(f"{description} → :{line}: {kind}")
            check(not problems, "\n".join(problems))
            return "; ".join(done)

        scenario("obsgate audit verify fails on the right line after a byte is changed or a line removed",
                 verify_finds_tampering)
    except Exception as error:
        results.append({"name": "the session could not run", "ok": False,
                        "detail": f"{error!r}\n{traceback.format_exc(limit=4)}"})
    finally:
        if gateway is not None and exit_status is None:
            gateway.stop(timeout=15)
        relay.stop()
        try:
            rgw_client = boto3.client("s3", endpoint_url=args.rgw_endpoint, aws_access_key_id=args.rgw_access_key,
                                      aws_secret_access_key=args.rgw_secret, region_name="us-east-1",
                                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                                                    connect_timeout=10, read_timeout=30))
            for bucket in session.buckets:
                try:
                    for upload in rgw_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                        rgw_client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                    for item in rgw_client.list_objects_v2(Bucket=bucket).get("Contents", []):
                        rgw_client.delete_object(Bucket=bucket, Key=item["Key"])
                    rgw_client.delete_bucket(Bucket=bucket)
                except ClientError:
                    pass
        except Exception as error:
            print(f"cleanup: {error!r}", file=sys.stderr)

    failed = [r for r in results if not r["ok"]]
    summary = {"scenarios": results, "seconds": round(time.monotonic() - started, 1)}
    if failed and gateway is not None:
        summary["gateway_log_tail"] = gateway.log_tail()
        print("--- gateway log (tail) ---\n" + gateway.log_tail(), file=sys.stderr)
    with open(args.out, "w") as out:
        json.dump(summary, out, indent=1)
    for result in results:
        print(("ok   " if result["ok"] else "FAIL ") + result["name"] + ": " + result["detail"])
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed in {time.monotonic() - started:.1f} s")
    if args.keep or failed:
        print(f"files kept in {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
