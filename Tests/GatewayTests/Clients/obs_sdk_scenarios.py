#!/usr/bin/env python3
"""OBS-dialect scenarios: Huawei's esdk-obs-python and boto3 through a running gateway.

The gateway is expected to list `s3.example.test` in `virtual_host_domains`: the OBS SDK
only signs OBS native (`Authorization: OBS AK:sig`) with virtual-hosted addressing on a
domain endpoint (on a path-style or IP endpoint it silently signs SigV2), so it is pointed
at http://s3.example.test:PORT, and BUCKET.s3.example.test resolves to 127.0.0.1 in this
process only. Every request the SDK sends is checked to carry the scheme asked for.

With `ObsClient(signature='obs' | 'v4' | 'v2', is_signature_negotiation=False)`: create a
bucket, initiate a multipart upload with SSE-KMS (key k1), storage class WARM and user
metadata, upload two parts (5 MiB and a smaller last one), complete, get the object and
compare bytes, getObjectMetadata, and a missing key (the upstream's 404) and a wrong
secret (the gateway's own 403). An OBS-signed client must get its answers in the OBS
dialect (`x-obs-*` headers only, WARM, `kms`, `x-obs-server-side-encryption-kms-key-id`);
a SigV4/SigV2 client in the S3 dialect (`x-amz-*` only, STANDARD_IA, `aws:kms`), which is
what the SDK in v2/v4 mode reads. Then boto3 (SigV4, path-style): PutObject and a multipart
upload with STANDARD_IA + aws:kms see `x-amz-*` headers and S3 values in the raw response
headers; REDUCED_REDUNDANCY and aws:kms:dsse, which OBS cannot express, are refused by the
gateway (400 InvalidStorageClass / InvalidArgument) when the upstream dialect is obs and
stored as asked when it is s3; objects written in one dialect read back correctly in the
other. Every response of the run must lack `Server` and `x-reserved`, carry a unique
`x-obsgate-request-id`, and carry the request id header of the client's dialect.

Usage: obs_sdk_scenarios.py --endpoint http://127.0.0.1:PORT --access-key AK --secret SK
           --out results.json [--upstream-dialect obs|s3] [--vhost-domain s3.example.test]
           [--region us-east-1]
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import argparse
import hashlib
import http.client
import json
import os
import socket
import sys
import traceback
import urllib.parse
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from obs import CompleteMultipartUploadRequest, CompletePart, ObsClient, SseKmsHeader

MIB = 1024 * 1024
KMS_KEY = "k1"
SDK_SIGNATURES = ("obs", "v4", "v2")
AUTH_PREFIX = {"obs": "OBS ", "v4": "AWS4-HMAC-SHA256 ", "v2": "AWS "}
REQUEST_ID = "x-obsgate-request-id"
REVEALING = ("server", "x-reserved")
INJECTED_RESERVED = "amazon, aws and amazon web services are trademarks or registered trademarks of Amazon Technologies, Inc"
# What a client of each dialect must see for an object written as WARM/STANDARD_IA + SSE-KMS k1.
PREFIX = {"obs": "x-obs-", "s3": "x-amz-"}
STORAGE_CLASS = {"obs": "WARM", "s3": "STANDARD_IA"}
SSE_KMS = {"obs": "kms", "s3": "aws:kms"}
KMS_KEY_HEADER = {"obs": "x-obs-server-side-encryption-kms-key-id", "s3": "x-amz-server-side-encryption-aws-kms-key-id"}


def header(headers, name):
    """The first value of a header (case-insensitive) in a list of (name, value) pairs."""
    return next((v for n, v in headers if n.lower() == name.lower()), None)


def header_names(headers):
    return {n.lower() for n, _ in headers}


# ---------------------------------------------------------------- client-side wire tap
class WireTap:
    """Records every request this process sends to the gateway and the raw response head.

    boto3 (urllib3) and the OBS SDK both send through http.client.HTTPConnection, so its
    putrequest/putheader/getresponse are wrapped; connections to other ports are ignored.
    """

    def __init__(self, port):
        self.port = port
        self.exchanges = []

    def install(self):
        tap = self
        original_putrequest = http.client.HTTPConnection.putrequest
        original_putheader = http.client.HTTPConnection.putheader
        original_getresponse = http.client.HTTPConnection.getresponse

        def text(value):
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)

        def putrequest(conn, method, url, *args, **kwargs):
            if conn.port == tap.port and not getattr(conn, "_obsgate_untapped", False):
                conn._obsgate_request = {"method": method, "target": url, "headers": []}
            return original_putrequest(conn, method, url, *args, **kwargs)

        def putheader(conn, name, *values):
            request = getattr(conn, "_obsgate_request", None)
            if request is not None:
                request["headers"].append((text(name), ", ".join(text(v) for v in values)))
            return original_putheader(conn, name, *values)

        def getresponse(conn, *args, **kwargs):
            response = original_getresponse(conn, *args, **kwargs)
            request = conn.__dict__.pop("_obsgate_request", None)
            if request is not None:
                tap.exchanges.append({**request, "status": response.status, "response_headers": response.getheaders()})
            return response

        http.client.HTTPConnection.putrequest = putrequest
        http.client.HTTPConnection.putheader = putheader
        http.client.HTTPConnection.getresponse = getresponse

    def mark(self):
        return len(self.exchanges)

    def since(self, mark):
        return self.exchanges[mark:]


# ---------------------------------------------------------------- checks
def check_response(exchange, dialect, seen_ids):
    """The header rules every response to a client of `dialect` must follow."""
    headers = exchange["response_headers"]
    names = header_names(headers)
    where = f"{exchange['method']} {exchange['target']} -> {exchange['status']}"
    leaked = [n for n in REVEALING if n in names]
    assert not leaked, f"{where}: {leaked} reached the client: {headers}"
    gateway_id = header(headers, REQUEST_ID)
    assert gateway_id, f"{where}: no {REQUEST_ID}: {headers}"
    assert gateway_id not in seen_ids, f"{where}: {REQUEST_ID} {gateway_id} was already used"
    seen_ids.add(gateway_id)
    other = "s3" if dialect == "obs" else "obs"
    foreign = [n for n in names if n.startswith(PREFIX[other])]
    assert not foreign, f"{where}: a {dialect} client got {other}-dialect headers {foreign}: {headers}"
    assert header(headers, PREFIX[dialect] + "request-id"), \
        f"{where}: no {PREFIX[dialect]}request-id for a {dialect} client: {headers}"


def check_sdk_requests(exchanges, signature, bucket, domain):
    """The SDK really signed with `signature` and addressed the bucket virtual-hosted."""
    assert exchanges, "the SDK sent nothing"
    for exchange in exchanges:
        auth = header(exchange["headers"], "Authorization") or ""
        assert auth.startswith(AUTH_PREFIX[signature]), \
            f"signature '{signature}' asked for, but the SDK sent Authorization: {auth.split(':')[0][:40]}"
        host = header(exchange["headers"], "Host") or ""
        assert host.startswith(f"{bucket}.{domain}"), f"not virtual-hosted: Host {host}"


class Run:
    """State shared by the scenarios of one run."""

    def __init__(self, args):
        self.args = args
        parsed = urllib.parse.urlsplit(args.endpoint)
        self.port = parsed.port or 80
        self.tap = WireTap(self.port)
        self.tap.install()
        self.suffix = uuid.uuid4().hex[:8]
        self.seen_ids = set()
        self.results = []
        self.state = {}
        self.buckets = []
        self.s3 = boto3.client("s3", endpoint_url=args.endpoint, aws_access_key_id=args.access_key,
                               aws_secret_access_key=args.secret, region_name=args.region,
                               config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                                             request_checksum_calculation="when_required",
                                             response_checksum_validation="when_required"))

    def sdk(self, signature, secret=None):
        return ObsClient(access_key_id=self.args.access_key, secret_access_key=secret or self.args.secret,
                         server=f"http://{self.args.vhost_domain}:{self.port}", signature=signature,
                         region=self.args.region, is_signature_negotiation=False, max_retry_count=0, timeout=60)

    def scenario(self, name, function):
        try:
            detail = function() or "ok"
            self.results.append({"name": name, "ok": True, "detail": detail})
        except Exception as error:  # each scenario reports its own failure
            self.results.append({"name": name, "ok": False,
                                 "detail": f"{error}\n{traceback.format_exc(limit=4)}"})

    def responses(self, mark, dialect):
        """Checks every response since `mark` against the rules of `dialect`."""
        exchanges = self.tap.since(mark)
        for exchange in exchanges:
            check_response(exchange, dialect, self.seen_ids)
        return exchanges


# ---------------------------------------------------------------- OBS SDK scenarios
def sdk_scenarios(run, signature):
    dialect = "obs" if signature == "obs" else "s3"
    client = run.sdk(signature)
    bucket = f"obsdk-{signature}-{run.suffix}"
    key = f"reports/{signature}/q3 summary.bin"
    domain = run.args.vhost_domain
    parts = [os.urandom(5 * MIB), os.urandom(MIB + 12345)]
    state = run.state.setdefault(signature, {})

    def sdk_call(call, expect_status=range(200, 300)):
        mark = run.tap.mark()
        response = call()
        exchanges = run.tap.since(mark)
        check_sdk_requests(exchanges, signature, bucket, domain)
        for exchange in exchanges:
            check_response(exchange, dialect, run.seen_ids)
        assert response.status in expect_status, \
            f"status {response.status} {response.errorCode}: {response.errorMessage}"
        return response, exchanges[-1]["response_headers"]

    def create_bucket():
        sdk_call(lambda: client.createBucket(bucket))
        run.buckets.append(bucket)
        return f"{bucket} created through {bucket}.{domain}"

    def multipart_upload_sse_kms_warm():
        response, headers = sdk_call(lambda: client.initiateMultipartUpload(
            bucket, key, storageClass="WARM", metadata={"team": "blue"},
            sseHeader=SseKmsHeader(encryption="kms", key=KMS_KEY)))
        upload_id = response.body.uploadId
        assert upload_id, response.body
        assert header(headers, PREFIX[dialect] + "server-side-encryption") == SSE_KMS[dialect], headers
        assert header(headers, KMS_KEY_HEADER[dialect]) == KMS_KEY, headers
        assert (response.body.sseKms, response.body.sseKmsKey) == (SSE_KMS[dialect], KMS_KEY), response.body
        completed = []
        for number, data in enumerate(parts, start=1):
            part, headers = sdk_call(lambda: client.uploadPart(bucket, key, number, upload_id, content=data))
            etag = part.body.etag
            assert etag and etag.strip('"') == hashlib.md5(data).hexdigest(), f"part {number}: ETag {etag}"
            completed.append(CompletePart(partNum=number, etag=etag))
        response, headers = sdk_call(lambda: client.completeMultipartUpload(
            bucket, key, upload_id, CompleteMultipartUploadRequest(parts=completed)))
        assert response.body.etag and response.body.etag.strip('"').endswith(f"-{len(parts)}"), response.body
        assert (response.body.sseKms, response.body.sseKmsKey) == (SSE_KMS[dialect], KMS_KEY), response.body
        state["uploaded"] = True
        return f"{len(parts)} parts, ETag {response.body.etag}, SSE {response.body.sseKms} {response.body.sseKmsKey}"

    def get_object_bytes():
        assert state.get("uploaded"), "depends on multipart_upload_sse_kms_warm"
        response, headers = sdk_call(lambda: client.getObject(bucket, key, loadStreamInMemory=True))
        body = response.body.buffer
        expected = b"".join(parts)
        assert len(body) == len(expected) and hashlib.sha256(body).digest() == hashlib.sha256(expected).digest(), \
            f"got {len(body)} bytes, expected {len(expected)} (sha256 differs)"
        assert header(headers, PREFIX[dialect] + "storage-class") == STORAGE_CLASS[dialect], headers
        assert header(headers, PREFIX[dialect] + "server-side-encryption") == SSE_KMS[dialect], headers
        assert header(headers, KMS_KEY_HEADER[dialect]) == KMS_KEY, headers
        return f"{len(body)} bytes match; {PREFIX[dialect]}storage-class {STORAGE_CLASS[dialect]}"

    def object_metadata():
        assert state.get("uploaded"), "depends on multipart_upload_sse_kms_warm"
        response, headers = sdk_call(lambda: client.getObjectMetadata(bucket, key))
        body = response.body
        seen = (body.storageClass, body.sseKms, body.sseKmsKey, body.contentLength)
        assert seen == (STORAGE_CLASS[dialect], SSE_KMS[dialect], KMS_KEY, sum(map(len, parts))), seen
        assert header(headers, PREFIX[dialect] + "meta-team") == "blue", headers
        wanted = {PREFIX[dialect] + "storage-class": STORAGE_CLASS[dialect],
                  PREFIX[dialect] + "server-side-encryption": SSE_KMS[dialect], KMS_KEY_HEADER[dialect]: KMS_KEY}
        for name, value in wanted.items():
            assert header(headers, name) == value, f"{name}: {header(headers, name)!r} in {headers}"
        return f"SDK sees storageClass={body.storageClass} sseKms={body.sseKms} sseKmsKey={body.sseKmsKey}"

    def upstream_error_in_client_dialect():
        response, headers = sdk_call(lambda: client.getObject(bucket, key + ".missing", loadStreamInMemory=True),
                                     expect_status=(404,))
        assert response.errorCode == "NoSuchKey", (response.errorCode, response.errorMessage)
        return f"404 NoSuchKey, request id {response.requestId}"

    def gateway_error_in_client_dialect():
        wrong = run.sdk(signature, secret=run.args.secret + "-wrong")
        mark = run.tap.mark()
        response = wrong.getObject(bucket, key, loadStreamInMemory=True)
        exchanges = run.tap.since(mark)
        check_sdk_requests(exchanges, signature, bucket, domain)
        assert response.status == 403 and response.errorCode == "SignatureDoesNotMatch", \
            (response.status, response.errorCode, response.errorMessage)
        for exchange in exchanges:
            check_response(exchange, dialect, run.seen_ids)
        return "403 SignatureDoesNotMatch from the gateway itself"

    for check in (create_bucket, multipart_upload_sse_kms_warm, get_object_bytes, object_metadata,
                  upstream_error_in_client_dialect, gateway_error_in_client_dialect):
        run.scenario(f"sdk_{signature}_{check.__name__}", check)


# ---------------------------------------------------------------- boto3 scenarios
def boto3_scenarios(run):
    s3 = run.s3
    bucket = f"boto3-{run.suffix}"
    upstream_obs = run.args.upstream_dialect == "obs"
    state = run.state.setdefault("boto3", {})

    def raw(response_or_error):
        metadata = (response_or_error.response if isinstance(response_or_error, ClientError)
                    else response_or_error)["ResponseMetadata"]
        return list(metadata["HTTPHeaders"].items())

    def checked(call):
        """Runs a boto3 call, checks its raw response headers (S3 dialect), returns the response."""
        mark = run.tap.mark()
        try:
            return call()
        finally:
            run.responses(mark, "s3")

    def s3_values(headers, storage_class="STANDARD_IA"):
        wanted = {"x-amz-server-side-encryption": "aws:kms",
                  "x-amz-server-side-encryption-aws-kms-key-id": KMS_KEY}
        if storage_class:
            wanted["x-amz-storage-class"] = storage_class
        for name, value in wanted.items():
            assert header(headers, name) == value, f"{name}: {header(headers, name)!r} in {headers}"

    def create_bucket():
        checked(lambda: s3.create_bucket(Bucket=bucket))
        run.buckets.append(bucket)

    def put_standard_ia_kms():
        data = os.urandom(200_000)
        put = checked(lambda: s3.put_object(Bucket=bucket, Key="ia.bin", Body=data, StorageClass="STANDARD_IA",
                                            ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY,
                                            Metadata={"team": "green"}))
        s3_values(raw(put), storage_class=None)
        head = checked(lambda: s3.head_object(Bucket=bucket, Key="ia.bin"))
        s3_values(raw(head))
        assert (head.get("StorageClass"), head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) == \
            ("STANDARD_IA", "aws:kms", KMS_KEY), head
        assert header(raw(head), "x-amz-meta-team") == "green", raw(head)
        got = checked(lambda: s3.get_object(Bucket=bucket, Key="ia.bin"))
        assert got["Body"].read() == data, "GetObject bytes differ"
        s3_values(raw(got))
        state["put"] = True
        return f"HEAD: {head['StorageClass']} {head['ServerSideEncryption']} {head['SSEKMSKeyId']}"

    def multipart_standard_ia_kms():
        key = "mp/ia.bin"
        parts = [os.urandom(5 * MIB), os.urandom(300_000)]
        upload = checked(lambda: s3.create_multipart_upload(Bucket=bucket, Key=key, StorageClass="STANDARD_IA",
                                                            ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY))
        s3_values(raw(upload), storage_class=None)
        done = []
        for number, data in enumerate(parts, start=1):
            part = checked(lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                                  PartNumber=number, Body=data))
            done.append({"ETag": part["ETag"], "PartNumber": number})
        complete = checked(lambda: s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                                                MultipartUpload={"Parts": done}))
        s3_values(raw(complete), storage_class=None)
        head = checked(lambda: s3.head_object(Bucket=bucket, Key=key))
        s3_values(raw(head))
        got = checked(lambda: s3.get_object(Bucket=bucket, Key=key))
        assert got["Body"].read() == b"".join(parts), "GetObject bytes differ"
        return f"ETag {complete['ETag']}, HEAD {head['StorageClass']} {head['ServerSideEncryption']}"

    def refused_or_stored(key, expect_code, **extra):
        mark = run.tap.mark()
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x", **extra)
            outcome = None
        except ClientError as error:
            outcome = error
        run.responses(mark, "s3")
        if upstream_obs:
            assert outcome is not None, f"{extra} was accepted by a gateway whose upstream dialect is obs"
            status = outcome.response["ResponseMetadata"]["HTTPStatusCode"]
            code = outcome.response["Error"]["Code"]
            assert (status, code) == (400, expect_code), f"{status} {code}: {outcome.response['Error'].get('Message')}"
            try:
                checked(lambda: s3.head_object(Bucket=bucket, Key=key))
                raise AssertionError("the refused object exists")
            except ClientError as error:
                assert error.response["Error"]["Code"] in ("404", "NoSuchKey"), error.response["Error"]
            return f"400 {code}: {outcome.response['Error'].get('Message')}"
        assert outcome is None, f"refused with an S3 upstream: {outcome.response['Error']}"
        head = checked(lambda: s3.head_object(Bucket=bucket, Key=key))
        return f"stored (S3 upstream): {head.get('StorageClass')} {head.get('ServerSideEncryption')}"

    def reduced_redundancy():
        return refused_or_stored("rr.bin", "InvalidStorageClass", StorageClass="REDUCED_REDUNDANCY")

    def dsse_encryption():
        return refused_or_stored("dsse.bin", "InvalidArgument", ServerSideEncryption="aws:kms:dsse")

    for check in (create_bucket, put_standard_ia_kms, multipart_standard_ia_kms):
        run.scenario(f"boto3_{check.__name__}", check)
    which = "refused" if upstream_obs else "stored_by_s3_upstream"
    run.scenario(f"boto3_reduced_redundancy_{which}", reduced_redundancy)
    run.scenario(f"boto3_dsse_{which}", dsse_encryption)


# ---------------------------------------------------------------- cross-dialect and run-wide checks
def cross_scenarios(run):
    def obs_written_read_by_boto3():
        assert run.state.get("obs", {}).get("uploaded"), "depends on sdk_obs_multipart_upload_sse_kms_warm"
        bucket, key = f"obsdk-obs-{run.suffix}", "reports/obs/q3 summary.bin"
        mark = run.tap.mark()
        head = run.s3.head_object(Bucket=bucket, Key=key)
        run.responses(mark, "s3")
        seen = (head.get("StorageClass"), head.get("ServerSideEncryption"), head.get("SSEKMSKeyId"),
                head.get("Metadata"))
        assert seen == ("STANDARD_IA", "aws:kms", KMS_KEY, {"team": "blue"}), seen
        return f"boto3 sees {seen}"

    def s3_written_read_by_obs_sdk():
        assert run.state.get("boto3", {}).get("put"), "depends on boto3_put_standard_ia_kms"
        bucket = f"boto3-{run.suffix}"
        client = run.sdk("obs")
        mark = run.tap.mark()
        response = client.getObjectMetadata(bucket, "ia.bin")
        exchanges = run.responses(mark, "obs")
        check_sdk_requests(exchanges, "obs", bucket, run.args.vhost_domain)
        assert response.status == 200, (response.status, response.errorCode)
        seen = (response.body.storageClass, response.body.sseKms, response.body.sseKmsKey)
        assert seen == ("WARM", "kms", KMS_KEY), seen
        assert header(exchanges[-1]["response_headers"], "x-obs-meta-team") == "green", exchanges[-1]
        return f"OBS SDK sees {seen}"

    def request_ids_unique_and_present():
        exchanges = run.tap.exchanges
        ids = [header(e["response_headers"], REQUEST_ID) for e in exchanges]
        missing = [f"{e['method']} {e['target']}" for e, i in zip(exchanges, ids) if not i]
        assert not missing, f"responses without {REQUEST_ID}: {missing}"
        assert len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} repeated request ids"
        leaked = [f"{e['method']} {e['target']}: {sorted(header_names(e['response_headers']) & set(REVEALING))}"
                  for e in exchanges if header_names(e["response_headers"]) & set(REVEALING)]
        assert not leaked, f"revealing headers reached the client: {leaked}"
        return f"{len(ids)} responses, each with its own {REQUEST_ID}, none with Server or x-reserved"

    run.scenario("cross_obs_written_read_by_boto3", obs_written_read_by_boto3)
    run.scenario("cross_s3_written_read_by_obs_sdk", s3_written_read_by_obs_sdk)
    run.scenario("all_responses_request_id_no_server_no_x_reserved", request_ids_unique_and_present)



def clean_up(run):
    for bucket in run.buckets:
        try:
            for upload in run.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                run.s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            for item in run.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                run.s3.delete_object(Bucket=bucket, Key=item["Key"])
            run.s3.delete_bucket(Bucket=bucket)
        except Exception as error:  # clean-up is best effort; the store is in memory anyway
            print(f"clean-up of {bucket}: {error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="the gateway, http://127.0.0.1:PORT")
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--upstream-dialect", choices=("obs", "s3"), default="obs",
                        help="the gateway's upstream.dialect (default obs)")
    parser.add_argument("--vhost-domain", default="s3.example.test",
                        help="a virtual_host_domains entry of the gateway, resolved to 127.0.0.1 here")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()

    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(var, None)
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *rest, **kwargs):  # BUCKET.s3.example.test -> 127.0.0.1, in this process only
        if isinstance(host, str) and (host == args.vhost_domain or host.endswith("." + args.vhost_domain)):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *rest, **kwargs)
    socket.getaddrinfo = resolve

    run = Run(args)
    try:
        for signature in SDK_SIGNATURES:
            sdk_scenarios(run, signature)
        boto3_scenarios(run)
        cross_scenarios(run)
    finally:
        clean_up(run)
    results = run.results
    with open(args.out, "w") as out:
        json.dump({"scenarios": results}, out, indent=1)
    for result in results:
        print(("ok   " if result["ok"] else "FAIL ") + result["name"] + ": "
              + (result["detail"] if result["ok"] else result["detail"].splitlines()[0]))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
