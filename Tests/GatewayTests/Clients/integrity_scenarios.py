#!/usr/bin/env python3
"""Enforcement-integrity scenarios (issue 11) through a running gateway in front of Ceph radosgw.

Each scenario sends one crafted request shape through the gateway with the client key --
signed here with botocore's signers (S3SigV4Auth, HmacV1Auth, presigned SigV2) over an
AWSRequest, and written byte for byte on a raw socket, so Connection tokens, header names
with '_', doubled fields and control characters reach the gateway exactly as written --
then reads what the store holds with the UPSTREAM credentials (radosgw's own key):
HEAD (ServerSideEncryption, SSEKMSKeyId, StorageClass, WebsiteRedirectLocation) and
GetObjectAcl. A scenario passes iff the store holds nothing that breaks the policy: the
object is absent, or present and compliant. The gateway's answer is recorded, and used
only to tell who answered: unless --store-only, a shape that reached radosgw and was
refused there by radosgw itself fails too (radosgw refuses 1,025-byte keys, doubled
headers under the gateway's signature and unknown upload ids on its own, so for those
shapes "nothing stored" says nothing about the gateway). The gateway's own answers carry
its request id as x-amz-request-id; forwarded ones keep the store's (radosgw: tx...).

The gateway must run with the policy of Tests/GatewayTests/Live/PolicyEnforcementTests.swift
(`finance-*`: SSE-KMS with testkey-1 only, injected when absent; no GLACIER/DEEP_ARCHIVE;
relative redirects only; canned ACLs private/bucket-owner-full-control only). radosgw's
KMS test keys are testkey-1 and testkey-2.

The anonymous-read scenario runs only with --anonymous-bucket NAME, and the gateway must
then be configured with `anonymous: {read_buckets: [NAME]}`; the script creates NAME when
it does not exist (and removes it again when it created it).

Usage: integrity_scenarios.py --endpoint URL --access-key AK --secret SK
           --upstream-endpoint URL --upstream-access-key AK --upstream-secret SK
           [--anonymous-bucket NAME] [--store-only] --out results.json
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import base64
import datetime
import email.header
import hashlib
import hmac
import http.client
import json
import re
import socket
import sys
import urllib.parse
import uuid

import boto3
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from urllib3 import encode_multipart_formdata
from scenario_support import delete_bucket, finish, run_checks, scenario_arguments

REGION = "us-east-1"
KMS_KEY = "testkey-1"
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
FORBIDDEN_CLASSES = ("GLACIER", "DEEP_ARCHIVE")


def s3_client(endpoint, access_key, secret, signature_version=None):
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required",
                    **({"signature_version": signature_version} if signature_version else {}))
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret,
                        region_name=REGION, config=config)


# ---------------------------------------------------------------------------- raw requests

class Answer:
    """What the gateway answered to a raw request (only recorded, never the verdict)."""

    def __init__(self, status, headers=(), body=b"", error=None):
        self.status, self.headers, self.body, self.error = status, list(headers), body, error

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def code(self):
        found = re.search(rb"<Code>([^<]*)</Code>", self.body or b"")
        return found.group(1).decode() if found else ""

    @property
    def from_upstream(self):
        """Whether the store answered (the gateway passed it on): the gateway's own answers
        carry its request id as x-amz-request-id; a forwarded answer keeps the store's."""
        store_id = self.header("x-amz-request-id")
        return store_id is not None and store_id != self.header("x-obsgate-request-id")

    def __str__(self):
        if self.status is None:
            return f"no answer ({self.error})"
        source = " (the store's answer)" if self.from_upstream else " (the gateway's own)"
        return f"{self.status}{' ' + self.code if self.code else ''}{source}"


class Gateway:
    """Signs requests with the client key (botocore's signers) and sends them on a raw socket."""

    def __init__(self, endpoint, access_key, secret):
        parsed = urllib.parse.urlsplit(endpoint)
        self.endpoint = endpoint.rstrip("/")
        self.netloc = parsed.netloc
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.credentials = Credentials(access_key, secret)

    def sign(self, method, target, headers=(), body=b"", auth="v4"):
        """The header list botocore produces for `target` (path?query, already encoded), in
        order; repeated names stay repeated (AWSRequest's headers are an HTTPMessage)."""
        request = AWSRequest(method=method, url=self.endpoint + target, data=body)
        request.headers["Host"] = self.netloc
        for name, value in headers:
            request.headers[name] = value  # appends
        if body or method in ("PUT", "POST"):
            request.headers["Content-Length"] = str(len(body))
        if auth == "v4":
            S3SigV4Auth(self.credentials, "s3", REGION).add_auth(request)
        elif auth == "v2":
            HmacV1Auth(self.credentials).add_auth(request)
        elif auth is not None:
            raise ValueError(auth)
        return list(request.headers.items())

    def raw(self, method, target, headers, body=b""):
        """Writes the request exactly as given and reads one response."""
        head = f"{method} {target} HTTP/1.1\r\n".encode()
        for name, value in headers:
            head += name.encode("latin-1") + b": " + (value.encode("utf-8") if isinstance(value, str) else value) + b"\r\n"
        sock = socket.create_connection((self.host, self.port), timeout=30)
        try:
            try:
                sock.sendall(head + b"\r\n" + body)
            except OSError as error:  # the gateway may answer and close before reading the body
                sent_error = error
            else:
                sent_error = None
            response = http.client.HTTPResponse(sock, method=method)
            try:
                response.begin()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                return Answer(None, error=f"{type(error).__name__}: {error}; send: {sent_error}")
            return Answer(response.status, response.getheaders(), data)
        finally:
            sock.close()

    def send(self, method, target, headers=(), body=b"", auth="v4"):
        return self.raw(method, target, self.sign(method, target, headers, body, auth), body)

    def pipelined(self, requests, half_close_after):
        """Writes the signed requests [(method, target, headers, body)] in one go, reads until
        the answers contain `half_close_after` (bytes), ends the sending side there (as a
        client that has read what it waited for), and reads on until the gateway closes (or
        30 s pass): the answers, as bytes, and whether the gateway closed."""
        data = b""
        for method, target, headers, body in requests:
            data += f"{method} {target} HTTP/1.1\r\n".encode()
            data += b"".join(f"{name}: {value}\r\n".encode() for name, value in self.sign(method, target, headers, body))
            data += b"\r\n" + body
        with socket.create_connection((self.host, self.port), timeout=30) as sock:
            sock.sendall(data)
            received, closed = b"", True
            try:
                while chunk := sock.recv(65536):
                    received += chunk
                    if half_close_after in received:
                        sock.shutdown(socket.SHUT_WR)
                        half_close_after = b"\0never"
            except socket.timeout:
                closed = False
            except OSError:  # a reset after the answers
                pass
        return received, closed


def path(bucket, key=None):
    return f"/{bucket}" + ("" if key is None else "/" + urllib.parse.quote(key, safe="/~"))


# ---------------------------------------------------------------------------- read-back

class Store:
    """Reads what radosgw holds, with the upstream credentials, and judges it by the policy."""

    def __init__(self, upstream, store_only=False):
        self.up = upstream
        self.store_only = store_only

    def read(self, bucket, key):
        """{head, acl} of bucket/key, or None when the store holds no such object."""
        try:
            head = self.up.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        acl = self.up.get_object_acl(Bucket=bucket, Key=key)
        return {"head": head, "acl": acl}

    def content(self, bucket, key):
        return self.up.get_object(Bucket=bucket, Key=key)["Body"].read()

    @staticmethod
    def summary(stored):
        if stored is None:
            return "store: absent"
        head, acl = stored["head"], stored["acl"]
        grants = []
        for grant in acl.get("Grants", []):
            grantee = grant.get("Grantee", {})
            who = grantee.get("URI", "").rsplit("/", 1)[-1] or grantee.get("ID", "?")
            grants.append(f"{who}:{grant.get('Permission')}")
        return (f"store: {head.get('ContentLength')} bytes, sse={head.get('ServerSideEncryption')} "
                f"key={head.get('SSEKMSKeyId')} class={head.get('StorageClass', 'STANDARD')} "
                f"redirect={decoded(head.get('WebsiteRedirectLocation'))!r} grants=[{', '.join(grants)}]")

    @staticmethod
    def violations(bucket, stored):
        """Every way `stored` breaks the policy (empty: compliant or absent)."""
        if stored is None:
            return []
        head, acl, found = stored["head"], stored["acl"], []
        if bucket.startswith("finance-"):
            if head.get("ServerSideEncryption") != "aws:kms":
                found.append(f"finance-kms: stored with encryption {head.get('ServerSideEncryption')!r}, not aws:kms")
            if head.get("SSEKMSKeyId") != KMS_KEY:
                found.append(f"finance-kms: stored with KMS key {head.get('SSEKMSKeyId')!r}, not {KMS_KEY}")
        if head.get("StorageClass") in FORBIDDEN_CLASSES:
            found.append(f"no-glacier: stored in {head['StorageClass']}")
        redirect = decoded(head.get("WebsiteRedirectLocation"))
        if redirect is not None and not redirect_is_safe(redirect):
            found.append(f"safe-redirects: stored redirect {redirect!r}")
        owner = acl.get("Owner", {}).get("ID")
        for grant in acl.get("Grants", []):
            grantee = grant.get("Grantee", {})
            if grantee.get("URI") in PUBLIC_GROUPS:
                found.append(f"public-acl-ban: {grant.get('Permission')} granted to {grantee['URI']}")
            elif grantee.get("Type") == "CanonicalUser" and owner and grantee.get("ID") != owner:
                found.append(f"public-acl-ban: {grant.get('Permission')} granted to another user {grantee.get('ID')}")
            elif grantee.get("Type") not in ("CanonicalUser", None) and grantee.get("URI") not in PUBLIC_GROUPS:
                found.append(f"public-acl-ban: {grant.get('Permission')} granted to {grantee}")
        return found

    def judge(self, answer, bucket, key, also=None):
        """Passes (returns the detail) iff the store holds nothing at bucket/key that breaks
        the policy; `also(stored)` may add violations of its own (a list of strings).

        Unless --store-only: a shape the store itself refused fails too. radosgw refuses
        some of these shapes on its own (1,025-byte keys, a doubled header under the
        gateway's signature, an upload id that does not exist), so "nothing stored" would
        prove nothing about the gateway there; the request must not have reached it."""
        stored = self.read(bucket, key)
        found = self.violations(bucket, stored) + (also(stored) if also and stored is not None else [])
        found += self.forwarded_refusal(answer)
        detail = f"answer {answer}; {self.summary(stored)}"
        if found:
            raise AssertionError(f"{detail}; breaks the policy: {'; '.join(found)}")
        return detail


    def forwarded_refusal(self, answer):
        # 2xx and 3xx are the store taking the request (a form's success redirect is a 303).
        if self.store_only or answer.status is None or answer.status < 400 or not answer.from_upstream:
            return []
        return [f"the gateway passed this shape on: the store refused it itself ({answer.status} {answer.code}), "
                "so only the store's own behaviour kept it out"]


def decoded(value):
    """A header value as stored: radosgw answers values with control characters as RFC 2047
    encoded words (`=?UTF-8?Q?/=09/evil.example/x?=`)."""
    if value and value.startswith("=?") and value.endswith("?="):
        try:
            return str(email.header.make_header(email.header.decode_header(value)))
        except (ValueError, UnicodeDecodeError):
            return value
    return value


def redirect_is_safe(value):
    """What `relative-only` means for a stored redirect: no control character at all, and,
    read the way browsers do (TAB/CR/LF dropped, '\\' taken for '/'), a path on this host."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        return False
    browser = value.replace("\\", "/")
    return browser.startswith("/") and not browser.startswith("//")


# ---------------------------------------------------------------------------- scenarios

def scenarios(args, suffix):
    s3 = s3_client(args.endpoint, args.access_key, args.secret)
    upstream = s3_client(args.upstream_endpoint, args.upstream_access_key, args.upstream_secret)
    gateway = Gateway(args.endpoint, args.access_key, args.secret)
    store = Store(upstream, store_only=args.store_only)
    finance, plain, vault = f"finance-{suffix}", f"plain-{suffix}", f"vault-{suffix}"
    buckets = [finance, plain, vault]
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    secret_content = b"TOP SECRET: " + uuid.uuid4().hex.encode()
    upstream.put_object(Bucket=vault, Key="secret.xlsx", Body=secret_content)
    upstream.put_object(Bucket=plain, Key="src", Body=b"copy source content")

    sse_kms = [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", KMS_KEY)]

    # 1. Connection tokens -----------------------------------------------------------------

    def connection_header_strips_injected_encryption():
        # The policy injects SSE-KMS (no encryption asked for); the client's Connection names
        # the injected fields, so a gateway that drops them afterwards stores plaintext.
        answer = gateway.send("PUT", path(finance, "conn-sse"), [
            ("Connection", "keep-alive, x-amz-server-side-encryption, x-amz-server-side-encryption-aws-kms-key-id"),
        ], b"ledger")
        return store.judge(answer, finance, "conn-sse")

    def connection_header_turns_copy_into_put():
        # Judged as a compliant CopyObject (SSE-KMS testkey-1 given); Connection names the
        # copy source and the encryption fields: it must not become an unencrypted PutObject.
        answer = gateway.send("PUT", path(finance, "conn-copy"), [
            ("x-amz-copy-source", f"/{plain}/src"), *sse_kms,
            ("Connection", "x-amz-copy-source, x-amz-server-side-encryption, x-amz-server-side-encryption-aws-kms-key-id"),
        ])
        return store.judge(answer, finance, "conn-copy", also=copy_of(plain, "src", finance, "conn-copy"))

    def connection_header_hides_copy_source():
        # The same with only the copy source named: the policy injects SSE-KMS into a copy;
        # what is stored, if anything, must be that copy, not an empty PutObject.
        answer = gateway.send("PUT", path(finance, "conn-copy2"), [
            ("x-amz-copy-source", f"/{plain}/src"), ("Connection", "x-amz-copy-source"),
        ])
        return store.judge(answer, finance, "conn-copy2", also=copy_of(plain, "src", finance, "conn-copy2"))

    def copy_of(src_bucket, src_key, bucket, key):
        def check(stored):
            expected = store.content(src_bucket, src_key)
            got = store.content(bucket, key)
            return [] if got == expected else [f"not a copy: stored {len(got)} bytes {got[:40]!r}, the source has {len(expected)}"]
        return check

    # 2. Sub-resources the store reads differently -----------------------------------------

    def torrent_subresource_put():
        answer = gateway.send("PUT", path(finance, "torrent") + "?torrent", [("x-amz-acl", "public-read")], b"ledger")
        return store.judge(answer, finance, "torrent")

    def metadata_subresource_put_into_finance():
        answer = gateway.send("PUT", path(finance, "metadata") + "?metadata", [], b"ledger")
        return store.judge(answer, finance, "metadata")

    def append_subresource_post_into_finance():
        # Ceph's (and OBS's) AppendObject: OBS-only for the gateway, an S3 upstream must not get it.
        answer = gateway.send("POST", path(finance, "append") + "?append&position=0", [], b"ledger")
        return store.judge(answer, finance, "append")

    def acl_put_disguised_as_upload_part():
        s3.put_object(Bucket=plain, Key="private-doc", Body=b"private")
        before = store.read(plain, "private-doc")
        assert before is not None and not store.violations(plain, before), f"setup: {store.summary(before)}"
        answer = gateway.send("PUT", path(plain, "private-doc") + "?acl&partNumber=1&uploadId=x",
                              [("x-amz-acl", "public-read")])
        return store.judge(answer, plain, "private-doc")

    # 3. Header names with '_', doubled fields -----------------------------------------------

    def underscore_acl_header():
        answer = gateway.send("PUT", path(plain, "underscore-acl"), [("x_amz_acl", "public-read")], b"x")
        return store.judge(answer, plain, "underscore-acl")

    def underscore_redirect_header():
        answer = gateway.send("PUT", path(plain, "underscore-redirect"),
                              [("x_amz_website_redirect_location", "https://evil.example/")], b"x")
        return store.judge(answer, plain, "underscore-redirect")

    def duplicated_acl_header():
        answer = gateway.send("PUT", path(plain, "double-acl"),
                              [("x-amz-acl", "private"), ("x-amz-acl", "public-read")], b"x")
        return store.judge(answer, plain, "double-acl")

    # 4. Dialect look-alikes -------------------------------------------------------------------

    def obs_lookalike_kms_key_id():
        answer = gateway.send("PUT", path(finance, "lookalike"),
                              [("x-obs-server-side-encryption-aws-kms-key-id", "testkey-2")], b"ledger")
        return store.judge(answer, finance, "lookalike")

    # 6. SigV2 presigned URLs and unsigned x-obs-* parameters ------------------------------

    v2 = s3_client(args.endpoint, args.access_key, args.secret, signature_version="s3")

    def presigned_v2(bucket, key, extra_query):
        url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=900)
        assert "Signature=" in url and "AWSAccessKeyId=" in url, f"not a SigV2 presigned URL: {url}"
        parsed = urllib.parse.urlsplit(url)
        return f"{parsed.path}?{parsed.query}&{extra_query}"

    def sigv2_presigned_put_with_unsigned_obs_copy_source():
        target = presigned_v2(plain, "presigned-target", f"x-obs-copy-source=/{vault}/secret.xlsx")
        body = b"harmless upload"
        answer = gateway.raw("PUT", target, [("Host", gateway.netloc), ("Content-Length", str(len(body)))], body)

        def not_the_secret(stored):
            got = store.content(plain, "presigned-target")
            return ["the URL's holder got the secret object copied into the key"] if got == secret_content else []
        return store.judge(answer, plain, "presigned-target", also=not_the_secret)

    def sigv2_presigned_put_with_unsigned_obs_headers():
        # The signed request uploads a body and nothing else: an unsigned redirect or
        # metadata appended by the URL's holder must not end up on the object.
        target = presigned_v2(plain, "presigned-extra",
                              "x-obs-website-redirect-location=%2Fphish.html&x-obs-meta-injected=yes")
        body = b"harmless upload"
        answer = gateway.raw("PUT", target, [("Host", gateway.netloc), ("Content-Length", str(len(body)))], body)

        def nothing_unsigned(stored):
            found = []
            if stored["head"].get("WebsiteRedirectLocation"):
                found.append(f"unsigned redirect stored: {stored['head']['WebsiteRedirectLocation']!r}")
            if "injected" in stored["head"].get("Metadata", {}):
                found.append(f"unsigned metadata stored: {stored['head']['Metadata']}")
            return found
        return store.judge(answer, plain, "presigned-extra", also=nothing_unsigned)

    # 7. Control characters in policy-relevant values --------------------------------------

    def redirect_with_tab():
        # SigV4 signs the TAB as a space (trimall), SigV2 signs it as it is: both forms.
        details, failed = [], False
        for auth in ("v4", "v2"):
            for name, value in (("tab", "/\t/evil.example/x"), ("tab-backslash", "/\t\\evil.example/x")):
                key = f"{name}-redirect-{auth}"
                answer = gateway.send("PUT", path(plain, key), [("x-amz-website-redirect-location", value)], b"<html/>",
                                      auth=auth)
                try:
                    details.append(f"{auth} {value!r}: " + store.judge(answer, plain, key))
                except AssertionError as error:
                    failed = True
                    details.append(f"{auth} {value!r}: FAILED {error}")
        assert not failed, " | ".join(details)
        return " | ".join(details)

    # 8. Smaller ones ---------------------------------------------------------------------------

    def key_longer_than_1024_bytes():
        key = "long-" + "k" * 1100
        answer = gateway.send("PUT", path(plain, key), [], b"x")
        listed = upstream.list_objects_v2(Bucket=plain, Prefix="long-").get("Contents", [])
        detail = f"answer {answer}; store: {len(listed)} object(s) under long-"
        found = [f"a key of {len(item['Key'].encode())} bytes was stored (S3: KeyTooLongError)" for item in listed]
        found += store.forwarded_refusal(answer)
        assert not found, f"{detail}; {'; '.join(found)}"
        return detail

    def anonymous_get_with_response_content_type():
        bucket = args.anonymous_bucket
        key = f"page-{suffix}.txt"
        upstream.put_object(Bucket=bucket, Key=key, Body=b"<script>alert(document.domain)</script>",
                            ContentType="text/plain")
        try:
            host = [("Host", gateway.netloc)]
            plain_read = gateway.raw("GET", path(bucket, key), host)
            assert plain_read.status == 200, (
                f"an anonymous GET on {bucket} got {plain_read}: the gateway must allow anonymous reads there "
                f"(anonymous: {{read_buckets: [{bucket}]}}) for this scenario to mean anything")
            answer = gateway.raw("GET", path(bucket, key) + "?response-content-type=text%2Fhtml", host)
            served = answer.header("Content-Type") or ""
            detail = f"plain anonymous GET {plain_read}; with response-content-type: {answer}, Content-Type {served!r}"
            assert not (answer.status == 200 and served.lower().startswith("text/html")), (
                f"{detail}: a public object was served as HTML (S3 refuses response-* overrides on anonymous requests)")
            return detail
        finally:
            upstream.delete_object(Bucket=bucket, Key=key)

    # Browser forms ------------------------------------------------------------------------------

    def obs_dialect_form_is_stored_encrypted():
        # A browser form whose encryption fields are in the OBS dialect: they satisfy the
        # finance-kms rule only if they reach this S3 store as the x-amz- fields they mean.
        fields = {"x-obs-server-side-encryption": "kms", "x-obs-server-side-encryption-kms-key-id": KMS_KEY}
        post = s3.generate_presigned_post(finance, "form-obs", Fields=fields,
                                          Conditions=[{name: value} for name, value in fields.items()])
        body, content_type = encode_multipart_formdata(
            list(post["fields"].items()) + [("file", ("ledger.csv", b"ledger", "text/csv"))])
        answer = gateway.raw("POST", path(finance), [("Host", gateway.netloc), ("Content-Type", content_type),
                                                     ("Content-Length", str(len(body)))], body)
        detail = store.judge(answer, finance, "form-obs")
        stored = store.read(finance, "form-obs")
        assert answer.status in (200, 201, 204) and stored is not None, \
            f"{detail}: the form was not stored ({answer.body[:300]!r})"
        assert stored["head"].get("SSEKMSKeyId") == KMS_KEY, detail
        return detail

    def form_without_encryption_gets_the_default_key():
        # finance-kms injects SSE-KMS testkey-1 when a request asks for no encryption: a form
        # gets it like a PutObject, added to the upstream form and pinned by its policy.
        post = s3.generate_presigned_post(finance, "form-default")
        body, content_type = encode_multipart_formdata(
            list(post["fields"].items()) + [("file", ("ledger.csv", b"ledger", "text/csv"))])
        answer = gateway.raw("POST", path(finance), [("Host", gateway.netloc), ("Content-Type", content_type),
                                                     ("Content-Length", str(len(body)))], body)
        detail = store.judge(answer, finance, "form-default")
        stored = store.read(finance, "form-default")
        assert answer.status == 204 and stored is not None, f"{detail}: the form was not stored ({answer.body[:300]!r})"
        head = stored["head"]
        assert head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == KMS_KEY, detail
        return detail

    def form_post(key, fields):
        # A SigV4 browser form for finance/key with the client key, every field in its policy.
        fields = {"x-amz-server-side-encryption": "aws:kms",
                  "x-amz-server-side-encryption-aws-kms-key-id": KMS_KEY, **fields}
        post = s3.generate_presigned_post(finance, key, Fields=fields,
                                          Conditions=[{name: value} for name, value in fields.items()])
        body, content_type = encode_multipart_formdata(
            list(post["fields"].items()) + [("file", ("ledger.csv", b"ledger", "text/csv"))])
        return gateway.raw("POST", path(finance), [("Host", gateway.netloc), ("Content-Type", content_type),
                                                   ("Content-Length", str(len(body)))], body)

    def form_success_redirect_to_another_host_is_refused():
        # Where a form sends the browser after the upload is judged like a website redirect
        # (safe-redirects: relative only): a form must not become an open redirect.
        for field in ("success_action_redirect", "redirect"):
            key = f"form-{field}"
            answer = form_post(key, {field: "https://evil.example/landing"})
            detail = store.judge(answer, finance, key)
            assert answer.status == 403 and b"safe-redirects" in answer.body, f"{detail}: {answer.body[:300]!r}"
            assert store.read(finance, key) is None, f"{detail}: the form was stored"
        return detail

    def form_success_redirect_on_the_site_is_followed():
        # A relative target passes, and the store's 303 reaches the browser.
        answer = form_post("form-relative", {"success_action_redirect": "/uploaded.html"})
        detail = store.judge(answer, finance, "form-relative")
        location = answer.header("Location") or ""
        assert answer.status == 303 and location.startswith("/uploaded.html?"), f"{detail}: Location {location!r}"
        assert store.read(finance, "form-relative") is not None, f"{detail}: the form was not stored"
        return detail

    def hand_signed_form(bucket, key, conditions):
        # A SigV4 browser form with a policy document of the scenario's own, signed here
        # (botocore's generate_presigned_post always names the bucket and the key).
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        signing = {"x-amz-algorithm": "AWS4-HMAC-SHA256",
                   "x-amz-credential": f"{args.access_key}/{day}/{REGION}/s3/aws4_request", "x-amz-date": amz_date}
        policy = {"expiration": (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "conditions": conditions + [{name: value} for name, value in signing.items()]}
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        signing_key = ("AWS4" + args.secret).encode()
        for part in (day, REGION, "s3", "aws4_request"):
            signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(signing_key, encoded.encode(), hashlib.sha256).hexdigest()
        body, content_type = encode_multipart_formdata(
            [("key", key), *signing.items(), ("policy", encoded), ("x-amz-signature", signature),
             ("file", ("note.txt", b"form body", "text/plain"))])
        return gateway.raw("POST", path(bucket), [("Host", gateway.netloc), ("Content-Type", content_type),
                                                  ("Content-Length", str(len(body)))], body)

    def form_policy_that_names_no_bucket_is_refused():
        # A policy document without a bucket condition would be good for every bucket: S3
        # refuses it (403), and nothing may be stored.
        answer = hand_signed_form(plain, "form-no-bucket", [{"key": "form-no-bucket"}])
        assert answer.status == 403 and b"Extra input fields: bucket" in answer.body, answer.body[:300]
        assert store.read(plain, "form-no-bucket") is None, "the form was stored"
        # The same form naming its bucket is stored: the refusal was about the bucket.
        answer = hand_signed_form(plain, "form-own-policy", [{"bucket": plain}, {"key": "form-own-policy"}])
        assert answer.status == 204 and store.read(plain, "form-own-policy") is not None, answer.body[:300]
        return "refused 403; with the bucket named: stored"

    def form_policy_with_an_empty_condition_is_malformed():
        answer = hand_signed_form(plain, "form-empty-condition", [{"bucket": plain}, {"key": "form-empty-condition"}, {}])
        assert answer.status == 400 and b"<Code>InvalidPolicyDocument</Code>" in answer.body, answer.body[:300]
        assert store.read(plain, "form-empty-condition") is None, "the form was stored"
        return "400 InvalidPolicyDocument"

    # Pipelining -------------------------------------------------------------------------------

    def request_pipelined_behind_a_refused_upload_is_not_sent():
        # Three PUTs in one write: an allowed one, one refused before its body is read
        # (GLACIER), one more; the client ends its sending side once it has the refusal. The
        # refusal closes the connection, so the third is neither answered nor sent: the
        # client, told by the close, sends it again.
        keys = ("pipelined-1", "pipelined-cold", "pipelined-3")
        received, closed = gateway.pipelined([("PUT", path(finance, keys[0]), [], b"first"),
                                      ("PUT", path(finance, keys[1]), [("x-amz-storage-class", "GLACIER")], b"cold"),
                                      ("PUT", path(finance, keys[2]), [], b"third")],
                                     half_close_after=b"</Error>")
        statuses = [status.decode() for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]
        stored = {key: store.read(finance, key) for key in keys}
        detail = f"answers {statuses}; stored {[key for key, held in stored.items() if held]}"
        assert statuses == ["200", "403"] and closed, f"{detail}; closed by the gateway: {closed}"
        assert stored[keys[0]] is not None and stored[keys[1]] is None and stored[keys[2]] is None, detail
        found = store.violations(finance, stored[keys[0]])
        assert not found, f"{detail}; {found}"
        return detail

    # Controls: the read-back sees what it must see --------------------------------------------

    def control_compliant_upload_reads_back_encrypted():
        answer = gateway.send("PUT", path(finance, "compliant"), sse_kms, b"ledger")
        detail = store.judge(answer, finance, "compliant")
        stored = store.read(finance, "compliant")
        assert stored is not None, f"{detail}: a compliant upload was not stored ({answer.body[:300]!r})"
        head = stored["head"]
        assert head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == KMS_KEY, detail
        return detail

    def control_checker_flags_a_planted_violation():
        # Planted with the upstream key, around the gateway: the same judgement must fail.
        upstream.put_object(Bucket=finance, Key="planted", Body=b"plain", ACL="public-read",
                            WebsiteRedirectLocation="//evil.example/x")
        try:
            store.judge(Answer(None, error="not sent through the gateway"), finance, "planted")
        except AssertionError as error:
            message = str(error)
            for rule in ("finance-kms", "public-acl-ban", "safe-redirects"):
                assert rule in message, f"the checker missed {rule}: {message}"
            return f"flagged: {message}"
        raise AssertionError("the checker found nothing wrong with an unencrypted public object with a foreign redirect")

    checks = [
        connection_header_strips_injected_encryption, connection_header_turns_copy_into_put,
        connection_header_hides_copy_source,
        torrent_subresource_put, metadata_subresource_put_into_finance, append_subresource_post_into_finance,
        acl_put_disguised_as_upload_part,
        underscore_acl_header, underscore_redirect_header, duplicated_acl_header,
        obs_lookalike_kms_key_id,
        sigv2_presigned_put_with_unsigned_obs_copy_source, sigv2_presigned_put_with_unsigned_obs_headers,
        redirect_with_tab,
        key_longer_than_1024_bytes,
        obs_dialect_form_is_stored_encrypted, form_without_encryption_gets_the_default_key,
        form_success_redirect_to_another_host_is_refused, form_success_redirect_on_the_site_is_followed,
        form_policy_that_names_no_bucket_is_refused, form_policy_with_an_empty_condition_is_malformed,
        request_pipelined_behind_a_refused_upload_is_not_sent,
        control_compliant_upload_reads_back_encrypted, control_checker_flags_a_planted_violation,
    ]
    created_anonymous = False
    if args.anonymous_bucket:
        try:
            upstream.head_bucket(Bucket=args.anonymous_bucket)
        except ClientError:
            upstream.create_bucket(Bucket=args.anonymous_bucket)
            created_anonymous = True
        checks.insert(checks.index(key_longer_than_1024_bytes) + 1, anonymous_get_with_response_content_type)
    else:
        print("skip anonymous_get_with_response_content_type: no --anonymous-bucket "
              "(the gateway needs anonymous: {read_buckets: [NAME]} and the script --anonymous-bucket NAME)")

    results = run_checks(checks)

    # Clean up with the upstream key: it sees (and may delete) whatever the gateway let through.
    for bucket in buckets + ([args.anonymous_bucket] if created_anonymous else []):
        try:
            delete_bucket(upstream, bucket)
        except ClientError as error:
            print(f"cleanup of {bucket}: {error}", file=sys.stderr)
    return results


def main():
    parser = scenario_arguments(__doc__.splitlines()[0], upstream=True)
    parser.add_argument("--anonymous-bucket", help="a bucket the gateway lets anonymous clients read")
    parser.add_argument("--store-only", action="store_true",
                        help="judge by the store alone: a shape the store itself refused passes")
    args = parser.parse_args()
    finish(scenarios(args, uuid.uuid4().hex[:8]), args.out)


if __name__ == "__main__":
    main()
