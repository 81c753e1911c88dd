#!/usr/bin/env python3
"""Real S3 clients against a running obsgate (or any S3 endpoint): a scenario matrix.

Usage:
  client_matrix.py --endpoint http://127.0.0.1:PORT --access-key AK --secret SK
                   [--region us-east-1] [--bucket-prefix P] [--only NAME[,NAME...]]
                   [--list] [--scenario-timeout S] --out results.json

Writes {"scenarios": [{"name", "client", "ok", "detail", "seconds"}...], ...} to --out
and exits 0 only if every scenario that ran is ok (1 otherwise, 2 on bad usage).
--only takes scenario names or name prefixes (comma-separated); --list prints them.

Clients: awscli (run as `python -m awscli` of this interpreter), boto3/botocore
in-process, s3cmd, rclone, and raw http.client requests signed with botocore's
primitives. Every scenario uses its own bucket (<prefix><tag>), deletes what it made
(objects, multipart uploads, bucket) even when it fails, runs under a deadline
(SIGALRM; subprocesses get their own timeouts), and checks outcomes: sha256 of the
bytes read back against the bytes written, exact key listings, exact S3 error codes and
HTTP statuses. No client touches ~/.aws, ~/.s3cfg or ~/.config/rclone: configuration
files live in a temporary directory, HOME points there for subprocesses, and
AWS_* variables of the caller are dropped.

The scenarios need only the endpoint to speak S3; against a plain store (e.g. radosgw
directly, with its own keys) every positive scenario should pass too, which tells a
gateway bug from a client or script problem. The negative and integrity scenarios
expect obsgate's answers (docs/configuration.md, "Errors the gateway answers itself").

Needs: boto3/botocore/awscli/awscrt (scripts/requirements-test.txt), s3cmd, rclone
(scripts/install-test-deps.sh).
"""
import argparse
import base64
import contextlib
import datetime
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024
BIG_SIZE = 40 * MiB
PART_SIZE = 5 * MiB
BIG_PARTS = BIG_SIZE // PART_SIZE
# Keys with space, '+', '%', '=', ':', '@' and non-ASCII.
SPECIAL_KEY = "dir/a b+c%d=e:f@g-é日本.bin"
SMALL_KEY = "dir/small x+y%z=w:v@u-ü中.txt"
COPY_KEY = "copy/c o+p%y=1:2@3-ñ文.bin"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SUBPROCESS_TIMEOUT = 240


class Failure(Exception):
    """A check failed: the scenario is not ok."""


class ScenarioTimeout(Exception):
    pass


def sha(data):
    return hashlib.sha256(data).hexdigest()


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def check(condition, message):
    if not condition:
        raise Failure(message)


def short(text, limit=600):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + f"...[{len(text) - limit} more]"


# --------------------------------------------------------------------------- context

class Matrix:
    """Shared state: endpoint, credentials, temp dir, test files, client factories."""

    def __init__(self, args, tmp):
        self.endpoint = args.endpoint.rstrip("/")
        parsed = urllib.parse.urlsplit(self.endpoint)
        check(parsed.scheme in ("http", "https") and parsed.hostname, f"bad --endpoint {args.endpoint!r}")
        self.scheme = parsed.scheme
        self.netloc = parsed.netloc
        self.host = parsed.hostname
        self.port = parsed.port or (443 if self.scheme == "https" else 80)
        self.ak = args.access_key
        self.sk = args.secret
        self.region = args.region
        self.prefix = args.bucket_prefix
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home)
        # In-process botocore: empty config/credentials files, nothing from the caller.
        for name in list(os.environ):
            if name.startswith("AWS_") or name.startswith("BOTO_"):
                del os.environ[name]
        self.boto_config_file = self.write("boto/config", "")
        self.boto_credentials_file = self.write("boto/credentials", "")
        os.environ.update(AWS_CONFIG_FILE=self.boto_config_file,
                          AWS_SHARED_CREDENTIALS_FILE=self.boto_credentials_file,
                          AWS_EC2_METADATA_DISABLED="true")
        self.big_path = os.path.join(tmp, "big.bin")
        with open(self.big_path, "wb") as f:
            for _ in range(BIG_SIZE // MiB):
                f.write(os.urandom(MiB))
        self.big_sha = sha_file(self.big_path)

    def write(self, relative, text, mode=0o600):
        path = os.path.join(self.tmp, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def bucket(self, tag):
        name = (self.prefix + tag).lower()
        check(3 <= len(name) <= 63, f"bucket name {name!r} is not 3..63 characters (shorten --bucket-prefix)")
        return name

    def url(self, bucket, key=None):
        path = "/" + urllib.parse.quote(bucket, safe="")
        if key is not None:
            path += "/" + urllib.parse.quote(key, safe="/~")
        return self.endpoint + path

    def client(self, signature_version="s3v4", access_key=None, secret=None, s3=None, **extra):
        s3cfg = {"addressing_style": "path"}
        s3cfg.update(s3 or {})
        config = Config(signature_version=signature_version, region_name=self.region, s3=s3cfg,
                        retries={"total_max_attempts": 1, "mode": "standard"},
                        connect_timeout=10, read_timeout=120, **extra)
        session = boto3.session.Session()
        kwargs = {}
        if signature_version is not botocore.UNSIGNED:
            kwargs = dict(aws_access_key_id=access_key or self.ak, aws_secret_access_key=secret or self.sk)
        return session.client("s3", endpoint_url=self.endpoint, config=config, **kwargs)

    def subprocess_env(self, extra=None, drop=()):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("BOTO_") and k not in drop}
        env.update(HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                   XDG_CACHE_HOME=os.path.join(self.home, ".cache"),
                   AWS_EC2_METADATA_DISABLED="true", LC_ALL="C.UTF-8", LANG="C.UTF-8",
                   PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
        env.update(extra or {})
        return env

    def run(self, argv, env, timeout=SUBPROCESS_TIMEOUT, what=None, ok_codes=(0,)):
        what = what or os.path.basename(argv[0])
        try:
            cp = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=timeout, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            raise Failure(f"{what}: timed out after {timeout} s: {short(redact(argv, self.sk))}")
        out = cp.stdout.decode("utf-8", "replace")
        err = cp.stderr.decode("utf-8", "replace")
        if cp.returncode not in ok_codes:
            raise Failure(f"{what}: exit {cp.returncode}: {short(redact(argv, self.sk))}\n"
                          f"stderr: {short(err[-1500:], 1500)}\nstdout: {short(out[-400:], 400)}")
        return out, err

    # -- cleanup ------------------------------------------------------------------
    def cleanup_bucket(self, bucket):
        """Aborts every multipart upload, deletes every object, then the bucket.
        Returns None, or what went wrong."""
        c = self.client()
        try:
            try:
                c.head_bucket(Bucket=bucket)
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
            for page in c.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                for u in page.get("Uploads", []):
                    c.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    r = c.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                    if r.get("Errors"):
                        return f"delete_objects errors: {r['Errors']}"
            c.delete_bucket(Bucket=bucket)
            return None
        except Exception as e:  # noqa: BLE001 - reported, not raised
            return f"cleanup of {bucket} failed: {type(e).__name__}: {short(str(e), 300)}"


def redact(argv, secret):
    return " ".join("***" if secret and secret in a else a for a in map(str, argv))


class Steps:
    """Records the checks a scenario passed; the detail of a failure names the step."""

    def __init__(self):
        self.done = []
        self.current = None

    def __call__(self, name):
        if self.current:
            self.done.append(self.current)
        self.current = name

    def note(self, text):
        self.done.append(text)

    def summary(self):
        done = self.done + ([self.current] if self.current else [])
        return "; ".join(done)


def expect_error(fn, code, status, what):
    """Calls fn, which must raise ClientError with this code and HTTP status."""
    try:
        fn()
    except ClientError as e:
        got_code = e.response.get("Error", {}).get("Code")
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        check((got_code, got_status) == (code, status),
              f"{what}: expected {code} {status}, got {got_code} {got_status}: {short(str(e), 300)}")
        return
    raise Failure(f"{what}: expected {code} {status}, but the request succeeded")


def expect_absent(client, bucket, key, what):
    try:
        r = client.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        check(status == 404, f"{what}: HEAD expected 404, got {status}: {short(str(e), 200)}")
        return
    raise Failure(f"{what}: HEAD found the object ({r.get('ContentLength')} bytes) although the upload was refused")


def get_bytes(client, bucket, key, **kw):
    r = client.get_object(Bucket=bucket, Key=key, **kw)
    return r["Body"].read(), r


def check_roundtrip(client, bucket, key, data, what):
    got, _ = get_bytes(client, bucket, key)
    check(sha(got) == sha(data), f"{what}: downloaded {len(got)} bytes sha256 {sha(got)[:16]}, "
                                 f"uploaded {len(data)} bytes sha256 {sha(data)[:16]}")


def list_keys(client, bucket, prefix=""):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def http_fetch(url, method="GET", data=None, headers=None, timeout=120):
    """urllib request; returns (status, body bytes, headers). HTTP errors are returned too."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def error_code(body):
    try:
        return ET.fromstring(body).findtext("Code")
    except ET.ParseError:
        return None


def multipart_etag_parts(etag):
    m = re.fullmatch(r'"?[0-9a-f]{32}-(\d+)"?', etag or "")
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- raw signed requests

class _FixedPayloadAuth(botocore.auth.S3SigV4Auth):
    """botocore's pure-Python S3 SigV4 signer with a given x-amz-content-sha256 value."""

    def __init__(self, credentials, region, payload_value):
        super().__init__(credentials, "s3", region)
        self.payload_value = payload_value

    def payload(self, request):
        return self.payload_value


def sign_raw(m, method, bucket, key, headers, payload_value=None, body_for_hash=b"", secret=None):
    """Signs a request with botocore's S3SigV4Auth (pure Python). Returns (auth, request)
    where request.url has the encoded path and request.headers the signed headers."""
    creds = botocore.credentials.Credentials(m.ak, secret or m.sk)
    req = botocore.awsrequest.AWSRequest(method=method, url=m.url(bucket, key), data=body_for_hash,
                                         headers=dict(headers))
    req.headers["Host"] = m.netloc
    if payload_value is None:
        auth = botocore.auth.S3SigV4Auth(creds, "s3", m.region)
    else:
        auth = _FixedPayloadAuth(creds, m.region, payload_value)
    auth.add_auth(req)
    return auth, req


def raw_send(m, method, url, headers, body, timeout=60):
    """Sends exactly these headers and body with http.client; returns (status, body, headers)."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (("?" + parts.query) if parts.query else "")
    cls = http.client.HTTPSConnection if m.scheme == "https" else http.client.HTTPConnection
    conn = cls(m.host, m.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may refuse and close before reading everything
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def aws_chunked(auth, request, chunks, corrupt=None, trailer=None):
    """Frames STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] chunks chained from the seed
    signature in request's Authorization, signed with botocore's key derivation.
    corrupt=(chunk index, byte offset) flips one data byte after signing.
    trailer=(name, value) appends a signed trailer."""
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    timestamp = request.context["timestamp"]
    scope = auth.credential_scope(request)
    prev, out = seed, []
    for index, chunk in enumerate(list(chunks) + [b""]):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, prev, EMPTY_SHA256, sha(chunk)])
        prev = auth.signature(sts, request)
        data = chunk
        if corrupt and corrupt[0] == index:
            data = bytearray(chunk)
            data[corrupt[1]] ^= 0x01
            data = bytes(data)
        out.append(b"%x;chunk-signature=%s\r\n" % (len(chunk), prev.encode()))
        if chunk:
            out.append(data + b"\r\n")
    if trailer:
        canonical = f"{trailer[0]}:{trailer[1]}\n".encode()
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, prev, sha(canonical)])
        tsig = auth.signature(sts, request)
        out.append(f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{tsig}\r\n".encode())
    out.append(b"\r\n")
    return b"".join(out)


def framed_length(chunks, trailer=None):
    fake = b"".join(b"%x;chunk-signature=%s\r\n" % (len(c), b"0" * 64) + (c + b"\r\n" if c else b"")
                    for c in list(chunks) + [b""])
    if trailer:
        fake += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{'0' * 64}\r\n".encode()
    return len(fake) + 2


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# --------------------------------------------------------------------------- header capture

class Captured:
    """Records the headers botocore actually sends (before-send hook) per operation."""

    def __init__(self, client):
        self.requests = []
        client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **_):
        self.requests.append((request.method, request.url,
                              {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                               for k, v in request.headers.items()}))

    def last(self, method=None):
        for r in reversed(self.requests):
            if method is None or r[0] == method:
                return r
        raise Failure(f"no {method} request captured")

    @staticmethod
    def describe(req):
        method, url, headers = req
        keep = ("x-amz-content-sha256", "content-encoding", "transfer-encoding", "x-amz-trailer",
                "x-amz-decoded-content-length", "content-length", "expect", "x-amz-sdk-checksum-algorithm")
        shown = {k: headers[k] for k in keep if k in headers}
        shown.update({k: v for k, v in headers.items() if k.startswith("x-amz-checksum-")})
        return f"{method} {urllib.parse.urlsplit(url).path} {shown}"


# =========================================================================== scenarios

SCENARIOS = []


def scenario(name, client, tag, timeout=300):
    def register(fn):
        SCENARIOS.append({"name": name, "client": client, "tag": tag, "fn": fn, "timeout": timeout})
        return fn
    return register


# ---------------------------------------------------------------- 1. awscli

@scenario("awscli-sigv4", "awscli", "awscli", timeout=420)
def s_awscli(m, bucket, steps):
    cfg = m.write("awscli/config", f"""[default]
region = {m.region}
output = json
s3 =
  addressing_style = path
  multipart_threshold = 5MB
  multipart_chunksize = 5MB
""")
    creds = m.write("awscli/credentials", f"""[default]
aws_access_key_id = {m.ak}
aws_secret_access_key = {m.sk}
""")
    env = m.subprocess_env({"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": creds})

    def aws(*args, what=None):
        out, _ = m.run([sys.executable, "-m", "awscli", "--endpoint-url", m.endpoint, "--region", m.region,
                        *args], env, what=what or "aws " + " ".join(args[:2]))
        return out

    def api(*args):
        out = aws("s3api", *args, "--output", "json")
        return json.loads(out) if out.strip() else {}

    steps("aws s3 mb")
    aws("s3", "mb", f"s3://{bucket}")
    steps("aws s3 cp 40 MiB (5 MiB parts) to special key")
    aws("s3", "cp", "--only-show-errors", m.big_path, f"s3://{bucket}/{SPECIAL_KEY}")
    head = api("head-object", "--bucket", bucket, "--key", SPECIAL_KEY)
    check(head.get("ContentLength") == BIG_SIZE, f"head-object ContentLength {head.get('ContentLength')}")
    parts = multipart_etag_parts(head.get("ETag"))
    check(parts == BIG_PARTS, f"ETag {head.get('ETag')} is not an {BIG_PARTS}-part multipart ETag")
    steps("aws s3 cp download + sha256")
    down = os.path.join(m.tmp, "awscli-down.bin")
    aws("s3", "cp", "--only-show-errors", f"s3://{bucket}/{SPECIAL_KEY}", down)
    check(sha_file(down) == m.big_sha, "downloaded 40 MiB object differs from the upload")
    os.unlink(down)

    steps("s3api put-object small")
    small = os.urandom(1000)
    small_path = os.path.join(m.tmp, "awscli-small.bin")
    with open(small_path, "wb") as f:
        f.write(small)
    put = api("put-object", "--bucket", bucket, "--key", SMALL_KEY, "--body", small_path)
    check(put.get("ETag", "").strip('"') == hashlib.md5(small).hexdigest(), f"put-object ETag {put.get('ETag')}")
    steps("s3api get-object --range bytes=100-199")
    ranged = os.path.join(m.tmp, "awscli-range.bin")
    got = api("get-object", "--bucket", bucket, "--key", SMALL_KEY, "--range", "bytes=100-199", ranged)
    with open(ranged, "rb") as f:
        part = f.read()
    check(part == small[100:200], f"range: got {len(part)} bytes that differ from bytes 100-199")
    check(got.get("ContentRange") == "bytes 100-199/1000", f"ContentRange {got.get('ContentRange')}")

    steps("aws s3 presign GET + urllib")
    url = aws("s3", "presign", f"s3://{bucket}/{SPECIAL_KEY}", "--expires-in", "300").strip()
    status, body, _ = http_fetch(url)
    check(status == 200, f"presigned GET status {status}: {short(body, 300)}")
    check(sha(body) == m.big_sha, "presigned GET bytes differ from the upload")

    steps("s3api copy-object")
    api("copy-object", "--bucket", bucket, "--key", COPY_KEY, "--copy-source", f"{bucket}/{SPECIAL_KEY}")
    copied = os.path.join(m.tmp, "awscli-copy.bin")
    api("get-object", "--bucket", bucket, "--key", COPY_KEY, copied)
    check(sha_file(copied) == m.big_sha, "copied object differs from the source")
    os.unlink(copied)

    steps("s3api list-objects-v2 --prefix dir/")
    listed = api("list-objects-v2", "--bucket", bucket, "--prefix", "dir/")
    keys = sorted(o["Key"] for o in listed.get("Contents", []))
    check(keys == sorted([SPECIAL_KEY, SMALL_KEY]), f"listed {keys}")

    steps("s3api delete-objects")
    delete_file = m.write("awscli/delete.json", json.dumps(
        {"Objects": [{"Key": k} for k in (SPECIAL_KEY, SMALL_KEY, COPY_KEY)]}, ensure_ascii=False))
    deleted = api("delete-objects", "--bucket", bucket, "--delete", "file://" + delete_file)
    check(not deleted.get("Errors"), f"delete-objects errors {deleted.get('Errors')}")
    check(sorted(d["Key"] for d in deleted.get("Deleted", [])) == sorted([SPECIAL_KEY, SMALL_KEY, COPY_KEY]),
          f"deleted {deleted.get('Deleted')}")
    steps("final list empty")
    final = api("list-objects-v2", "--bucket", bucket)
    check(not final.get("Contents"), f"bucket not empty: {final.get('Contents')}")
    steps("aws s3 rb")
    aws("s3", "rb", f"s3://{bucket}")


# ---------------------------------------------------------------- 2. boto3 SigV4

def boto3_full(m, bucket, steps, client):
    cap = Captured(client)
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    steps("put/get/head special key")
    data = os.urandom(300 * 1024)
    client.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=data)
    steps.note("put sent " + Captured.describe(cap.last("PUT")))
    check_roundtrip(client, bucket, SPECIAL_KEY, data, "get_object")
    head = client.head_object(Bucket=bucket, Key=SPECIAL_KEY)
    check(head["ContentLength"] == len(data), f"head ContentLength {head['ContentLength']}")
    check(head["ETag"].strip('"') == hashlib.md5(data).hexdigest(), f"head ETag {head['ETag']}")

    steps("upstream errors pass through: NoSuchKey, NoSuchBucket")
    expect_error(lambda: client.get_object(Bucket=bucket, Key=SPECIAL_KEY + ".missing"), "NoSuchKey", 404, "get missing")
    expect_error(lambda: client.list_objects_v2(Bucket=bucket + "-missing"), "NoSuchBucket", 404, "list missing bucket")

    steps("upload_fileobj 40 MiB, 5 MiB parts")
    tc = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=4)
    with open(m.big_path, "rb") as f:
        client.upload_fileobj(f, bucket, "dir/big " + SPECIAL_KEY[4:], Config=tc)
    big_key = "dir/big " + SPECIAL_KEY[4:]
    steps.note("part sent " + Captured.describe(cap.last("PUT")))
    head = client.head_object(Bucket=bucket, Key=big_key)
    check(multipart_etag_parts(head["ETag"]) == BIG_PARTS, f"ETag {head['ETag']} is not {BIG_PARTS}-part")
    buf = io.BytesIO()
    client.download_fileobj(bucket, big_key, buf, Config=tc)
    check(sha(buf.getvalue()) == m.big_sha, "downloaded multipart object differs")
    del buf

    steps("presigned GET (urllib)")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": SPECIAL_KEY}, ExpiresIn=300)
    status, body, _ = http_fetch(url)
    check(status == 200 and sha(body) == sha(data), f"presigned GET status {status}, {len(body)} bytes: {short(body, 200)}")

    steps("presigned PUT (urllib)")
    put_key = "dir/presigned " + SMALL_KEY[4:]
    put_data = os.urandom(70000)
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": put_key}, ExpiresIn=300)
    status, body, _ = http_fetch(url, method="PUT", data=put_data, headers={"Content-Type": "application/octet-stream"})
    check(status == 200, f"presigned PUT status {status}: {short(body, 300)}")
    check_roundtrip(client, bucket, put_key, put_data, "presigned PUT object")

    steps("copy_object")
    client.copy_object(Bucket=bucket, Key=COPY_KEY, CopySource={"Bucket": bucket, "Key": SPECIAL_KEY})
    check_roundtrip(client, bucket, COPY_KEY, data, "copy")

    steps("list_objects_v2 prefix dir/")
    expected = sorted([SPECIAL_KEY, big_key, put_key])
    keys = list_keys(client, bucket, "dir/")
    check(keys == expected, f"listed {keys}, expected {expected}")

    steps("delete_objects")
    everything = expected + [COPY_KEY]
    r = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in everything]})
    check(not r.get("Errors"), f"errors {r.get('Errors')}")
    check(sorted(d["Key"] for d in r.get("Deleted", [])) == sorted(everything), f"deleted {r.get('Deleted')}")
    check(list_keys(client, bucket) == [], "bucket not empty after delete_objects")
    steps("delete_bucket")
    client.delete_bucket(Bucket=bucket)


@scenario("boto3-sigv4-signed-payload", "boto3", "b3v4s")
def s_boto3_signed(m, bucket, steps):
    client = m.client()
    boto3_full(m, bucket, steps, client)


@scenario("boto3-sigv4-unsigned-payload", "boto3", "b3v4u")
def s_boto3_unsigned(m, bucket, steps):
    client = m.client(s3={"payload_signing_enabled": False})
    cap = Captured(client)
    boto3_full(m, bucket, steps, client)
    sent = [r for r in cap.requests if r[0] == "PUT" and r[2].get("content-length", "0") != "0"]
    check(sent and all(r[2].get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD" for r in sent),
          "payload_signing_enabled=False did not send UNSIGNED-PAYLOAD: "
          + "; ".join(Captured.describe(r) for r in sent[:3]))


# ---------------------------------------------------------------- 3. checksums

ALGORITHMS = ("CRC32", "CRC32C", "SHA256")


def force_trailer(params, **_):
    """botocore puts flexible checksums in a trailer only over https
    (httpchecksum.resolve_request_checksum_algorithm); make it do so over http too."""
    algorithm = params.get("context", {}).get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


@scenario("boto3-checksum-header", "boto3", "b3ckh")
def s_checksum_header(m, bucket, steps):
    client = m.client(request_checksum_calculation="when_supported")
    cap = Captured(client)
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    for algo in ALGORITHMS:
        steps(f"put_object ChecksumAlgorithm={algo}")
        key = f"dir/{algo} " + SPECIAL_KEY[4:]
        data = os.urandom(200 * 1024 + 17)
        client.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algo)
        req = cap.last("PUT")
        check(f"x-amz-checksum-{algo.lower()}" in req[2], f"no checksum header sent: {Captured.describe(req)}")
        steps.note(Captured.describe(req))
        check_roundtrip(client, bucket, key, data, algo)
    steps("bucket cleanup by scenario")


@scenario("boto3-checksum-trailer", "boto3", "b3ckt")
def s_checksum_trailer(m, bucket, steps):
    for signing in (True, False):
        client = m.client(request_checksum_calculation="when_supported",
                          s3={"payload_signing_enabled": signing})
        client.meta.events.register("before-call.s3.PutObject", force_trailer)
        client.meta.events.register("before-call.s3.UploadPart", force_trailer)
        cap = Captured(client)
        if signing:
            steps("create_bucket")
            client.create_bucket(Bucket=bucket)
        for algo in ALGORITHMS:
            steps(f"put_object trailer {algo} (payload_signing_enabled={signing})")
            key = f"dir/{algo}-{signing} " + SPECIAL_KEY[4:]
            data = os.urandom(300 * 1024 + 5)
            client.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algo)
            req = cap.last("PUT")
            h = req[2]
            check(h.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
                  and h.get("x-amz-trailer") == f"x-amz-checksum-{algo.lower()}",
                  f"botocore did not use the unsigned-trailer form: {Captured.describe(req)}")
            if algo == "CRC32":
                steps.note(Captured.describe(req))
            check_roundtrip(client, bucket, key, data, algo)
    steps("multipart upload_fileobj 12 MiB, parts with CRC32C trailers")
    key = "dir/multipart " + SPECIAL_KEY[4:]
    data = os.urandom(12 * MiB)
    tc = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=2)
    client.upload_fileobj(io.BytesIO(data), bucket, key, Config=tc, ExtraArgs={"ChecksumAlgorithm": "CRC32C"})
    part_req = [r for r in cap.requests if r[0] == "PUT" and "partNumber=" in r[1]]
    check(part_req and all(r[2].get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" for r in part_req),
          "parts did not use trailers: " + "; ".join(Captured.describe(r) for r in part_req[:2]))
    head = client.head_object(Bucket=bucket, Key=key)
    check(multipart_etag_parts(head["ETag"]) == 3, f"ETag {head['ETag']} is not a 3-part ETag")
    check_roundtrip(client, bucket, key, data, "multipart with trailers")
    steps("bucket cleanup by scenario")


@scenario("checksum-trailer-bad-digest", "http.client+botocore-signer", "ckbad")
def s_checksum_bad_digest(m, bucket, steps):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER whose trailing CRC32 does not match → 400 BadDigest."""
    client = m.client()
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    data = os.urandom(100 * 1024)
    for name, value, expect in (("wrong crc32", crc32_b64(data + b"x"), (400, "BadDigest")),
                                ("right crc32", crc32_b64(data), (200, None))):
        steps(f"unsigned-trailer PUT with {name}")
        key = f"dir/trailer {name} " + SPECIAL_KEY[4:]
        body = (b"%x\r\n" % len(data)) + data + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{value}\r\n\r\n".encode()
        headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "x-amz-trailer": "x-amz-checksum-crc32", "Content-Length": str(len(body))}
        _, req = sign_raw(m, "PUT", bucket, key, headers, payload_value="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        status, rbody, _ = raw_send(m, "PUT", req.url, dict(req.headers), body)
        if expect[1]:
            check((status, error_code(rbody)) == expect, f"expected {expect}, got {status} {short(rbody, 300)}")
            expect_absent(client, bucket, key, name)
        else:
            check(status == 200, f"expected 200, got {status} {short(rbody, 300)}")
            check_roundtrip(client, bucket, key, data, name)
    steps("bucket cleanup by scenario")


# ---------------------------------------------------------------- 4. Expect: 100-continue

@scenario("boto3-expect-100-continue", "boto3+socket", "b3exp")
def s_expect(m, bucket, steps):
    client = m.client()
    cap = Captured(client)
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    # botocore (handlers.add_expect_header) adds Expect: 100-continue to every PUT/POST whose
    # body is file-like, whatever its size; PutObject/UploadPart bodies always are (bytes are
    # wrapped in BytesIO by convert_body_to_file_like_object).
    steps("put_object 20 MiB body with Expect: 100-continue")
    key = "dir/expect " + SPECIAL_KEY[4:]
    with open(m.big_path, "rb") as f:
        data = f.read(20 * MiB)
    t0 = time.monotonic()
    client.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(data))
    elapsed = time.monotonic() - t0
    req = cap.last("PUT")
    check(req[2].get("expect") == "100-continue", f"botocore sent no Expect header: {Captured.describe(req)}")
    steps.note(f"put with Expect took {elapsed:.2f} s")
    check_roundtrip(client, bucket, key, data, "Expect upload")

    # The gateway must answer 100 Continue itself once the request is authenticated (botocore
    # would send the body after 1 s anyway, so check on the wire).
    steps("put_object 0-byte body (botocore still sends Expect)")
    key0 = "dir/expect-empty " + SPECIAL_KEY[4:]
    client.put_object(Bucket=bucket, Key=key0, Body=b"")
    req = cap.last("PUT")
    check(req[2].get("expect") == "100-continue" and req[2].get("content-length") == "0",
          f"unexpected request: {Captured.describe(req)}")
    head = client.head_object(Bucket=bucket, Key=key0)
    check(head["ContentLength"] == 0, f"empty object has {head['ContentLength']} bytes")
    check_roundtrip(client, bucket, key0, b"", "empty object")

    steps("raw socket: Expect → 100 Continue before the body")
    key2 = "dir/expect-raw " + SPECIAL_KEY[4:]
    body = os.urandom(2 * MiB)
    _, req = sign_raw(m, "PUT", bucket, key2, {"Content-Length": str(len(body)), "Expect": "100-continue"},
                      body_for_hash=body)
    status, interim, final_status, final_body = expect_exchange(m, req, body)
    check(interim == 100, f"expected an interim 100 Continue, got first status {status}")
    check(final_status == 200, f"after 100 Continue: {final_status} {short(final_body, 300)}")
    check_roundtrip(client, bucket, key2, body, "raw Expect upload")

    steps("raw socket: Expect with a bad signature → 403, no 100, body never needed")
    key3 = "dir/expect-bad " + SPECIAL_KEY[4:]
    _, req = sign_raw(m, "PUT", bucket, key3, {"Content-Length": str(len(body)), "Expect": "100-continue"},
                      body_for_hash=body, secret=m.sk + "x")
    status, interim, final_status, final_body = expect_exchange(m, req, body)
    check(interim is None and status == 403 and error_code(final_body) == "SignatureDoesNotMatch",
          f"expected a final 403 SignatureDoesNotMatch without 100, got first {status} interim {interim} "
          f"final {final_status} {short(final_body, 200)}")
    expect_absent(client, bucket, key3, "refused Expect upload")
    steps("bucket cleanup by scenario")


def expect_exchange(m, req, body, wait=5.0):
    """Sends the head, waits up to `wait` s for the first status line. On 100 sends the
    body and reads the final response. Returns (first status, 100 or None, final status, final body)."""
    parts = urllib.parse.urlsplit(req.url)
    sock = socket.create_connection((m.host, m.port), timeout=wait)
    try:
        head = f"PUT {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
        sock.sendall(head.encode("latin-1"))
        f = sock.makefile("rb")
        line = f.readline()
        check(line.startswith(b"HTTP/1.1 "), f"no response within {wait} s to the Expect head (got {line!r})")
        first = int(line.split()[1])
        if first == 100:
            while f.readline() not in (b"\r\n", b""):
                pass
            sock.settimeout(60)
            sock.sendall(body)
            resp = http.client.HTTPResponse(sock, method="PUT")
            resp.begin()
            return first, 100, resp.status, resp.read()
        # a final answer: parse it from the status line we already read
        headers = {}
        while True:
            h = f.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        payload = f.read(int(headers.get("content-length", "0")))
        return first, None, first, payload
    finally:
        sock.close()


# ---------------------------------------------------------------- 5. boto3 SigV2

@scenario("boto3-sigv2", "boto3", "b3v2")
def s_boto3_sigv2(m, bucket, steps):
    client = m.client(signature_version="s3")
    cap = Captured(client)
    steps("create_bucket (SigV2)")
    client.create_bucket(Bucket=bucket)
    check(cap.last("PUT")[2].get("authorization", "").startswith("AWS "), "not signed with SigV2")
    steps("list_buckets")
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    check(bucket in names, f"{bucket} not in list_buckets")
    steps("head_bucket / get_bucket_location")
    client.head_bucket(Bucket=bucket)
    client.get_bucket_location(Bucket=bucket)
    steps("put/get/head special key")
    data = os.urandom(150 * 1024)
    client.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=data)
    client.put_object(Bucket=bucket, Key=SMALL_KEY, Body=b"small")
    check_roundtrip(client, bucket, SPECIAL_KEY, data, "get_object")
    got, _ = get_bytes(client, bucket, SPECIAL_KEY, Range="bytes=10-19")
    check(got == data[10:20], "ranged get differs")
    head = client.head_object(Bucket=bucket, Key=SPECIAL_KEY)
    check(head["ContentLength"] == len(data), f"head ContentLength {head['ContentLength']}")
    steps("presigned GET (SigV2 query)")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": SPECIAL_KEY}, ExpiresIn=300)
    check("Signature=" in url and "AWSAccessKeyId=" in url, f"not a SigV2 presigned URL: {url[:80]}")
    status, body, _ = http_fetch(url)
    check(status == 200 and sha(body) == sha(data), f"presigned GET {status} {short(body, 200)}")
    steps("copy_object")
    client.copy_object(Bucket=bucket, Key=COPY_KEY, CopySource={"Bucket": bucket, "Key": SPECIAL_KEY})
    check_roundtrip(client, bucket, COPY_KEY, data, "copy")
    steps("list_objects (v1) + list_objects_v2 with prefix")
    v1 = sorted(o["Key"] for o in client.list_objects(Bucket=bucket, Prefix="dir/").get("Contents", []))
    check(v1 == sorted([SPECIAL_KEY, SMALL_KEY]), f"list_objects {v1}")
    v2 = list_keys(client, bucket, "dir/")
    check(v2 == sorted([SPECIAL_KEY, SMALL_KEY]), f"list_objects_v2 {v2}")
    steps("multipart upload (create/upload_part/complete)")
    mp_key = "dir/mp " + SPECIAL_KEY[4:]
    parts_data = [os.urandom(PART_SIZE), os.urandom(1000)]
    up = client.create_multipart_upload(Bucket=bucket, Key=mp_key)
    parts = []
    for i, p in enumerate(parts_data, 1):
        r = client.upload_part(Bucket=bucket, Key=mp_key, UploadId=up["UploadId"], PartNumber=i, Body=p)
        parts.append({"ETag": r["ETag"], "PartNumber": i})
    client.complete_multipart_upload(Bucket=bucket, Key=mp_key, UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": parts})
    check_roundtrip(client, bucket, mp_key, b"".join(parts_data), "multipart")
    steps("delete_object + delete_objects")
    client.delete_object(Bucket=bucket, Key=COPY_KEY)
    r = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in (SPECIAL_KEY, SMALL_KEY, mp_key)]})
    check(not r.get("Errors") and len(r.get("Deleted", [])) == 3, f"delete_objects {r.get('Errors')} {r.get('Deleted')}")
    check(list_keys(client, bucket) == [], "bucket not empty")
    steps("delete_bucket")
    client.delete_bucket(Bucket=bucket)
    expect_error(lambda: client.head_bucket(Bucket=bucket), "404", 404, "head_bucket after delete")


# ---------------------------------------------------------------- 6. s3cmd

def s3cmd_scenario(m, bucket, steps, v2):
    name = "v2" if v2 else "v4"
    cfg = m.write(f"s3cmd/{name}.cfg", f"""[default]
access_key = {m.ak}
secret_key = {m.sk}
host_base = {m.netloc}
host_bucket = {m.netloc}
bucket_location = {m.region}
use_https = {m.scheme == 'https'}
check_ssl_certificate = False
signature_v2 = {v2}
multipart_chunk_size_mb = 15
socket_timeout = 60
max_retries = 1
""")
    env = m.subprocess_env()
    s3cmd = shutil.which("s3cmd")
    check(s3cmd, "s3cmd not found")

    def run(*args):
        flags = ["--signature-v2"] if v2 else []
        out, _ = m.run([s3cmd, "-c", cfg, "--no-progress", *flags, *args], env, what="s3cmd " + args[0])
        return out

    def listed(prefix):
        out = run("ls", f"s3://{bucket}/{prefix}")
        keys = []
        for line in out.splitlines():
            i = line.find(f"s3://{bucket}/")
            if i >= 0 and not line.lstrip().startswith("DIR"):
                keys.append(line[i + len(f"s3://{bucket}/"):])
        return sorted(keys)

    client = m.client()
    steps(f"s3cmd mb ({'--signature-v2' if v2 else 'SigV4'})")
    run("mb", f"s3://{bucket}")
    steps("put small, special key")
    data = os.urandom(123457)
    src = os.path.join(m.tmp, f"s3cmd-{name}.bin")
    with open(src, "wb") as f:
        f.write(data)
    run("put", src, f"s3://{bucket}/{SPECIAL_KEY}")
    steps("get + sha256")
    dst = src + ".down"
    run("get", "--force", f"s3://{bucket}/{SPECIAL_KEY}", dst)
    check(sha_file(dst) == sha(data), "s3cmd get bytes differ")
    steps("put 40 MiB --multipart-chunk-size-mb=5")
    big_key = "dir/big " + SPECIAL_KEY[4:]
    run("put", "--multipart-chunk-size-mb=5", m.big_path, f"s3://{bucket}/{big_key}")
    head = client.head_object(Bucket=bucket, Key=big_key)
    check(multipart_etag_parts(head["ETag"]) == BIG_PARTS, f"ETag {head['ETag']} is not {BIG_PARTS}-part")
    run("get", "--force", f"s3://{bucket}/{big_key}", dst)
    check(sha_file(dst) == m.big_sha, "s3cmd get of the multipart object differs")
    steps("ls")
    keys = listed("dir/")
    check(keys == sorted([SPECIAL_KEY, big_key]), f"s3cmd ls: {keys}")
    steps("del")
    run("del", f"s3://{bucket}/{SPECIAL_KEY}")
    run("del", f"s3://{bucket}/{big_key}")
    check(listed("") == [], "bucket not empty after s3cmd del")
    check(list_keys(client, bucket) == [], "bucket not empty after s3cmd del (boto3 list)")
    steps("rb")
    run("rb", f"s3://{bucket}")
    for p in (src, dst):
        if os.path.exists(p):
            os.unlink(p)


@scenario("s3cmd-sigv2", "s3cmd", "s3cv2", timeout=360)
def s_s3cmd_v2(m, bucket, steps):
    s3cmd_scenario(m, bucket, steps, v2=True)


@scenario("s3cmd-sigv4", "s3cmd", "s3cv4", timeout=360)
def s_s3cmd_v4(m, bucket, steps):
    s3cmd_scenario(m, bucket, steps, v2=False)


# ---------------------------------------------------------------- 7. rclone

@scenario("rclone-sigv4", "rclone", "rclone")
def s_rclone(m, bucket, steps):
    rclone = shutil.which("rclone")
    check(rclone, "rclone not found")
    cfg = m.write("rclone/rclone.conf", f"""[gw]
type = s3
provider = Other
access_key_id = {m.ak}
secret_access_key = {m.sk}
endpoint = {m.endpoint}
region = {m.region}
force_path_style = true
v2_auth = false
""")
    env = m.subprocess_env(drop=("AWS_CA_BUNDLE",))

    def run(*args):
        out, _ = m.run([rclone, "--config", cfg, "--retries", "1", "--low-level-retries", "1",
                        "--contimeout", "10s", "--timeout", "60s", *args], env, what="rclone " + args[0])
        return out

    client = m.client()
    steps("rclone mkdir")
    run("mkdir", f"gw:{bucket}")
    steps("copyto small, special key")
    data = os.urandom(234567)
    src = os.path.join(m.tmp, "rclone-src.bin")
    with open(src, "wb") as f:
        f.write(data)
    run("copyto", src, f"gw:{bucket}/{SPECIAL_KEY}")
    steps("copyto 12 MiB multipart (--s3-upload-cutoff 5M --s3-chunk-size 5M)")
    mp_key = "dir/mp " + SPECIAL_KEY[4:]
    mp_src = os.path.join(m.tmp, "rclone-mp.bin")
    with open(m.big_path, "rb") as f, open(mp_src, "wb") as g:
        mp_data = f.read(12 * MiB)
        g.write(mp_data)
    run("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", mp_src, f"gw:{bucket}/{mp_key}")
    head = client.head_object(Bucket=bucket, Key=mp_key)
    check(multipart_etag_parts(head["ETag"]) == 3, f"ETag {head['ETag']} is not a 3-part ETag")
    steps("lsf")
    out = run("lsf", "-R", f"gw:{bucket}")
    keys = sorted(line for line in out.splitlines() if line and not line.endswith("/"))
    check(keys == sorted([SPECIAL_KEY, mp_key]), f"rclone lsf: {keys}")
    steps("copyto back + sha256")
    dst = os.path.join(m.tmp, "rclone-down.bin")
    run("copyto", f"gw:{bucket}/{SPECIAL_KEY}", dst)
    check(sha_file(dst) == sha(data), "rclone download differs")
    run("copyto", f"gw:{bucket}/{mp_key}", dst)
    check(sha_file(dst) == sha(mp_data), "rclone download of the multipart object differs")
    steps("deletefile + rmdir")
    run("deletefile", f"gw:{bucket}/{SPECIAL_KEY}")
    run("deletefile", f"gw:{bucket}/{mp_key}")
    check(list_keys(client, bucket) == [], "bucket not empty after rclone deletefile")
    run("rmdir", f"gw:{bucket}")
    for p in (src, mp_src, dst):
        os.unlink(p)


# ---------------------------------------------------------------- 8. negative

@scenario("negative-wrong-secret", "boto3", "nsec")
def s_wrong_secret(m, bucket, steps):
    good = m.client()
    steps("create_bucket")
    good.create_bucket(Bucket=bucket)
    bad = m.client(secret=m.sk + "x")
    steps("list_objects_v2 with a wrong secret")
    expect_error(lambda: bad.list_objects_v2(Bucket=bucket), "SignatureDoesNotMatch", 403, "list")
    steps("put_object with a wrong secret")
    expect_error(lambda: bad.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=b"x" * 1000),
                 "SignatureDoesNotMatch", 403, "put")
    expect_absent(good, bucket, SPECIAL_KEY, "put with wrong secret")
    steps("SigV2 with a wrong secret")
    bad2 = m.client(signature_version="s3", secret=m.sk + "x")
    expect_error(lambda: bad2.list_objects(Bucket=bucket), "SignatureDoesNotMatch", 403, "SigV2 list")
    steps("bucket cleanup by scenario")


@scenario("negative-unknown-key", "boto3", "nkey")
def s_unknown_key(m, bucket, steps):
    good = m.client()
    steps("create_bucket")
    good.create_bucket(Bucket=bucket)
    steps("list_objects_v2 with an unknown access key")
    bad = m.client(access_key="GWUNKNOWN" + secrets.token_hex(6).upper())
    expect_error(lambda: bad.list_objects_v2(Bucket=bucket), "InvalidAccessKeyId", 403, "SigV4 list")
    steps("SigV2 with an unknown access key")
    bad2 = m.client(signature_version="s3", access_key="GWUNKNOWN" + secrets.token_hex(6).upper())
    expect_error(lambda: bad2.list_objects(Bucket=bucket), "InvalidAccessKeyId", 403, "SigV2 list")
    steps("bucket cleanup by scenario")


@scenario("negative-expired-presigned", "boto3+urllib", "nexp")
def s_expired(m, bucket, steps):
    client = m.client()
    steps("create_bucket + put")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=b"secret bytes")
    steps("presign SigV4 + SigV2 with ExpiresIn=1")
    url4 = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": SPECIAL_KEY}, ExpiresIn=1)
    url2 = m.client(signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": SPECIAL_KEY}, ExpiresIn=1)
    time.sleep(2.2)
    for label, url in (("SigV4", url4), ("SigV2", url2)):
        steps(f"expired {label} presigned GET")
        status, body, _ = http_fetch(url)
        check((status, error_code(body)) == (403, "AccessDenied"),
              f"expected 403 AccessDenied, got {status} {short(body, 300)}")
    steps("bucket cleanup by scenario")


@contextlib.contextmanager
def clock_ahead(delta):
    """botocore's SigV4 signers take the time from get_current_datetime, imported into
    botocore.auth and botocore.crt.auth (the awscrt signer used when awscrt is installed);
    SigV2 (HmacV1Auth) from email.utils.formatdate imported into botocore.auth."""
    import botocore.compat
    real = botocore.compat.get_current_datetime
    modules = [botocore.auth]
    try:
        import botocore.crt.auth
        modules.append(botocore.crt.auth)
    except ImportError:
        pass

    def skewed(remove_tzinfo=True):
        return real(remove_tzinfo) + delta

    real_formatdate = botocore.auth.formatdate

    def skewed_formatdate(timeval=None, localtime=False, usegmt=False):   # HmacV1Auth's Date
        return real_formatdate((time.time() if timeval is None else timeval) + delta.total_seconds(),
                               localtime, usegmt)

    saved = [(mod, mod.get_current_datetime) for mod in modules]
    try:
        for mod in modules:
            mod.get_current_datetime = skewed
        botocore.auth.formatdate = skewed_formatdate
        yield
    finally:
        for mod, fn in saved:
            mod.get_current_datetime = fn
        botocore.auth.formatdate = real_formatdate


@scenario("negative-skewed-clock", "boto3", "nskew")
def s_skewed(m, bucket, steps):
    client = m.client()
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    for label, sig in (("SigV4", "s3v4"), ("SigV2", "s3")):
        steps(f"{label} list_objects_v2 signed 20 minutes ahead")
        skewed = m.client(signature_version=sig)
        cap = Captured(skewed)
        with clock_ahead(datetime.timedelta(minutes=20)):
            expect_error(lambda: skewed.list_objects_v2(Bucket=bucket), "RequestTimeTooSkewed", 403, label)
        sent = cap.last("GET")[2]
        steps.note(f"{label} sent date {sent.get('x-amz-date') or sent.get('date')}")
        steps(f"{label} put_object signed 20 minutes behind")
        with clock_ahead(datetime.timedelta(minutes=-20)):
            expect_error(lambda: skewed.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=b"x"),
                         "RequestTimeTooSkewed", 403, label)
        expect_absent(client, bucket, SPECIAL_KEY, f"{label} skewed put")
    steps("bucket cleanup by scenario")


@scenario("negative-unsigned", "boto3+urllib", "nuns")
def s_unsigned(m, bucket, steps):
    client = m.client()
    steps("create_bucket + put")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=b"not public")
    anon = m.client(signature_version=botocore.UNSIGNED)
    steps("unsigned list_objects_v2")
    expect_error(lambda: anon.list_objects_v2(Bucket=bucket), "AccessDenied", 403, "unsigned list")
    steps("unsigned get_object")
    expect_error(lambda: anon.get_object(Bucket=bucket, Key=SPECIAL_KEY), "AccessDenied", 403, "unsigned get")
    steps("unsigned put_object")
    expect_error(lambda: anon.put_object(Bucket=bucket, Key=SMALL_KEY, Body=b"x" * 100),
                 "AccessDenied", 403, "unsigned put")
    expect_absent(client, bucket, SMALL_KEY, "unsigned put")
    steps("plain urllib GET")
    status, body, _ = http_fetch(m.url(bucket, SPECIAL_KEY))
    check((status, error_code(body)) == (403, "AccessDenied"), f"got {status} {short(body, 200)}")
    steps("bucket cleanup by scenario")


# ---------------------------------------------------------------- 9. integrity

@scenario("integrity-sha256-mismatch", "http.client+botocore-signer", "isha")
def s_sha_mismatch(m, bucket, steps):
    client = m.client()
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    steps("PUT signed for body A, sending body B of the same length")
    body_a = os.urandom(256 * 1024)
    body_b = bytearray(body_a)
    body_b[len(body_b) // 2] ^= 0xFF
    body_b = bytes(body_b)
    _, req = sign_raw(m, "PUT", bucket, SPECIAL_KEY, {"Content-Length": str(len(body_a))}, body_for_hash=body_a)
    check(req.headers["X-Amz-Content-SHA256"] == sha(body_a), "botocore did not sign the payload hash")
    status, body, _ = raw_send(m, "PUT", req.url, dict(req.headers), body_b)
    check((status, error_code(body)) == (400, "XAmzContentSHA256Mismatch"),
          f"expected 400 XAmzContentSHA256Mismatch, got {status} {short(body, 300)}")
    steps("HEAD → 404")
    expect_absent(client, bucket, SPECIAL_KEY, "mismatched body")
    steps("same signed request with body A → 200")
    status, body, _ = raw_send(m, "PUT", req.url, dict(req.headers), body_a)
    check(status == 200, f"expected 200, got {status} {short(body, 300)}")
    check_roundtrip(client, bucket, SPECIAL_KEY, body_a, "body A")
    steps("bucket cleanup by scenario")


def chunked_put(m, bucket, key, payload, chunk_size, corrupt=None, trailer_algo=False):
    chunks = [payload[i:i + chunk_size] for i in range(0, len(payload), chunk_size)]
    trailer = ("x-amz-checksum-crc32", crc32_b64(payload)) if trailer_algo else None
    form = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
               "Content-Length": str(framed_length(chunks, trailer))}
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    auth, req = sign_raw(m, "PUT", bucket, key, headers, payload_value=form)
    body = aws_chunked(auth, req, chunks, corrupt=corrupt, trailer=trailer)
    check(len(body) == int(headers["Content-Length"]), "framing length mismatch (script bug)")
    return raw_send(m, "PUT", req.url, dict(req.headers), body)


@scenario("integrity-aws-chunked", "http.client+botocore-signer", "ichk")
def s_chunked(m, bucket, steps):
    client = m.client()
    steps("create_bucket")
    client.create_bucket(Bucket=bucket)
    payload = os.urandom(3 * 64 * 1024 + 1234)
    chunk = 64 * 1024
    steps("signed aws-chunked, one byte of chunk 2 corrupted → 403 SignatureDoesNotMatch")
    key = "dir/chunked-bad " + SPECIAL_KEY[4:]
    status, body, _ = chunked_put(m, bucket, key, payload, chunk, corrupt=(1, 777))
    check((status, error_code(body)) == (403, "SignatureDoesNotMatch"),
          f"expected 403 SignatureDoesNotMatch, got {status} {short(body, 300)}")
    steps("HEAD corrupted → 404")
    expect_absent(client, bucket, key, "corrupted aws-chunked")
    steps("corrupted last (partial) chunk → 403")
    key_last = "dir/chunked-bad-last " + SPECIAL_KEY[4:]
    status, body, _ = chunked_put(m, bucket, key_last, payload, chunk, corrupt=(3, 0))
    check((status, error_code(body)) == (403, "SignatureDoesNotMatch"),
          f"expected 403 SignatureDoesNotMatch, got {status} {short(body, 300)}")
    expect_absent(client, bucket, key_last, "corrupted last chunk")
    steps("valid signed aws-chunked → 200 and round-trip")
    key_ok = "dir/chunked-ok " + SPECIAL_KEY[4:]
    status, body, _ = chunked_put(m, bucket, key_ok, payload, chunk)
    check(status == 200, f"expected 200, got {status} {short(body, 300)}")
    check_roundtrip(client, bucket, key_ok, payload, "aws-chunked")
    head = client.head_object(Bucket=bucket, Key=key_ok)
    check(head["ContentLength"] == len(payload), f"stored {head['ContentLength']} bytes, sent {len(payload)}")
    steps("valid signed aws-chunked with signed CRC32 trailer → 200 and round-trip")
    key_tr = "dir/chunked-trailer " + SPECIAL_KEY[4:]
    status, body, _ = chunked_put(m, bucket, key_tr, payload, chunk, trailer_algo=True)
    check(status == 200, f"expected 200, got {status} {short(body, 300)}")
    check_roundtrip(client, bucket, key_tr, payload, "aws-chunked with trailer")
    steps("signed trailer, chunk 1 corrupted → 403")
    key_trb = "dir/chunked-trailer-bad " + SPECIAL_KEY[4:]
    status, body, _ = chunked_put(m, bucket, key_trb, payload, chunk, corrupt=(0, 5), trailer_algo=True)
    check((status, error_code(body)) == (403, "SignatureDoesNotMatch"),
          f"expected 403 SignatureDoesNotMatch, got {status} {short(body, 300)}")
    expect_absent(client, bucket, key_trb, "corrupted aws-chunked with trailer")
    steps("bucket cleanup by scenario")


# =========================================================================== runner

def run_scenario(m, sc):
    bucket = m.bucket(sc["tag"])
    steps = Steps()
    started = time.monotonic()
    ok, detail = True, ""

    def on_alarm(signum, frame):
        raise ScenarioTimeout(f"scenario exceeded its {sc['timeout']} s deadline")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, sc["timeout"])
    try:
        sc["fn"](m, bucket, steps)
    except Failure as e:
        ok, detail = False, f"FAILED at step '{steps.current}': {e}"
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        ok, detail = False, (f"FAILED at step '{steps.current}': {e.response.get('Error', {}).get('Code')} "
                             f"HTTP {meta.get('HTTPStatusCode')}: {short(str(e), 400)}")
    except ScenarioTimeout as e:
        ok, detail = False, f"FAILED at step '{steps.current}': {e}"
    except Exception as e:  # noqa: BLE001 - every failure is a result
        tb = traceback.format_exc(limit=4)
        ok, detail = False, f"FAILED at step '{steps.current}': {type(e).__name__}: {short(str(e), 400)}\n{short(tb, 1200)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # Cleanup under its own deadline.
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 120)
    try:
        problem = m.cleanup_bucket(bucket)
    except ScenarioTimeout:
        problem = "cleanup timed out"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if ok:
        detail = "ok: " + steps.summary()
    else:
        detail += "\npassed before: " + "; ".join(steps.done)
    if problem:
        ok = False
        detail += f"\ncleanup: {problem}"
    return {"name": sc["name"], "client": sc["client"], "ok": ok, "detail": detail,
            "seconds": round(time.monotonic() - started, 2)}


def select(only):
    if not only:
        return list(SCENARIOS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [s for s in SCENARIOS if any(s["name"] == w or s["name"].startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(s["name"] == w or s["name"].startswith(w) for s in SCENARIOS)]
    if unknown:
        print(f"client_matrix: unknown scenario(s): {', '.join(unknown)} (see --list)", file=sys.stderr)
        sys.exit(2)
    return chosen


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", help="e.g. http://127.0.0.1:9000")
    p.add_argument("--access-key")
    p.add_argument("--secret")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--bucket-prefix", default=None, help="default obsgate-cm-<random>-")
    p.add_argument("--only", help="comma-separated scenario names or prefixes")
    p.add_argument("--out", help="results JSON file")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--scenario-timeout", type=float, default=None, help="override every scenario's deadline (s)")
    args = p.parse_args()
    if args.list:
        for s in SCENARIOS:
            print(f"{s['name']:32} {s['client']}")
        return 0
    missing = [n for n in ("endpoint", "access_key", "secret", "out") if not getattr(args, n)]
    if missing:
        p.error("missing: " + ", ".join("--" + n.replace("_", "-") for n in missing))
    if args.bucket_prefix is None:
        args.bucket_prefix = f"obsgate-cm-{secrets.token_hex(3)}-"
    chosen = select(args.only)
    if args.scenario_timeout:
        for s in chosen:
            s["timeout"] = args.scenario_timeout

    t0 = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="client-matrix-") as tmp:
        m = Matrix(args, tmp)
        for sc in chosen:
            r = run_scenario(m, sc)
            results.append(r)
            first = r["detail"].splitlines()[0] if r["detail"] else ""
            print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['name']:32} {r['seconds']:7.1f}s  {short(first, 300)}",
                  flush=True)
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump({"endpoint": m.endpoint, "scenarios": results}, f, indent=2, ensure_ascii=False)
    total = round(time.monotonic() - t0, 1)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"endpoint": args.endpoint, "seconds": total, "scenarios": results}, f, indent=2,
                  ensure_ascii=False)
    failed = [r["name"] for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} scenarios ok in {total} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
