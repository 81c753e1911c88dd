#!/usr/bin/env python3
"""Upload-policy scenarios with boto3 through a running gateway in front of Ceph radosgw.

The gateway must run with the policy of Tests/GatewayTests/Live/PolicyEnforcementTests.swift
(`finance-*` buckets: SSE-KMS with testkey-1 only, testkey-1 injected when no encryption is
asked for; no GLACIER/DEEP_ARCHIVE; relative redirects only; no public ACLs; an audit rule
on `web-*` that would forbid redirects). radosgw's KMS test keys are testkey-1 and testkey-2, so an injected key is
really applied and reported back on HEAD.

Usage: policy_scenarios.py --endpoint URL --access-key AK --secret SK --out results.json
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import http.client
import os
import urllib.parse
import uuid

import boto3
from urllib3 import encode_multipart_formdata
from botocore.config import Config
from botocore.exceptions import ClientError
from scenario_support import delete_bucket, finish, run_checks, scenario_arguments


def client(args):
    return boto3.client("s3", endpoint_url=args.endpoint, aws_access_key_id=args.access_key,
                        aws_secret_access_key=args.secret, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                                      request_checksum_calculation="when_required"))


def expect_denied(call, rule):
    try:
        call()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        message = error.response["Error"].get("Message", "")
        assert code == "AccessDenied", f"expected AccessDenied, got {code}: {message}"
        assert f"'{rule}'" in message, f"the message does not name rule {rule}: {message}"
        return
    raise AssertionError(f"the request was not refused (rule {rule})")


def scenarios(s3, suffix, args_endpoint):
    finance, web, plain = f"finance-{suffix}", f"web-{suffix}", f"plain-{suffix}"
    for bucket in (finance, web, plain):
        s3.create_bucket(Bucket=bucket)

    def kms_default_is_injected_and_applied():
        upload = s3.create_multipart_upload(Bucket=finance, Key="q3 report+é.pdf")
        part = s3.upload_part(Bucket=finance, Key="q3 report+é.pdf", UploadId=upload["UploadId"], PartNumber=1,
                              Body=os.urandom(5 * 1024 * 1024))
        s3.complete_multipart_upload(Bucket=finance, Key="q3 report+é.pdf", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
        head = s3.head_object(Bucket=finance, Key="q3 report+é.pdf")
        assert head.get("ServerSideEncryption") == "aws:kms", head
        assert "testkey-1" in head.get("SSEKMSKeyId", ""), head
        return f"HEAD: {head['ServerSideEncryption']} {head['SSEKMSKeyId']}"

    def kms_key_not_allowed():
        expect_denied(lambda: s3.create_multipart_upload(Bucket=finance, Key="k", ServerSideEncryption="aws:kms",
                                                         SSEKMSKeyId="testkey-2"), "finance-kms")

    def kms_key_not_allowed_on_copy():
        s3.put_object(Bucket=plain, Key="src", Body=b"source")
        expect_denied(lambda: s3.copy_object(Bucket=finance, Key="copy", CopySource={"Bucket": plain, "Key": "src"},
                                             ServerSideEncryption="aws:kms", SSEKMSKeyId="testkey-2"), "finance-kms")

    def glacier_denied():
        expect_denied(lambda: s3.put_object(Bucket=plain, Key="cold", Body=b"x", StorageClass="GLACIER"), "no-glacier")

    def glacier_denied_through_a_presigned_url():
        # botocore's default S3 presigning (SigV2 query) carries the storage class as the
        # query parameter x-amz-storage-class; a client just PUTs to the URL.
        url = s3.generate_presigned_url("put_object", Params={"Bucket": plain, "Key": "cold2", "StorageClass": "GLACIER"})
        assert "x-amz-storage-class=GLACIER" in url, url
        parsed = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        connection.request("PUT", f"{parsed.path}?{parsed.query}", body=b"x", headers={"Content-Length": "1"})
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 403 and "no-glacier" in body, f"{response.status} {body}"
        # The same URL shape without the violation is accepted: the signature covers the parameter.
        url = s3.generate_presigned_url("put_object", Params={"Bucket": plain, "Key": "warm", "StorageClass": "STANDARD"})
        parsed = urllib.parse.urlsplit(url)
        connection.request("PUT", f"{parsed.path}?{parsed.query}", body=b"x", headers={"Content-Length": "1"})
        response = connection.getresponse()
        assert response.status == 200, f"{response.status} {response.read().decode()}"
        response.read()

    def foreign_redirect_denied():
        expect_denied(lambda: s3.put_object(Bucket=plain, Key="index.html", Body=b"<html/>",
                                            WebsiteRedirectLocation="https://evil.example/"), "safe-redirects")

    def relative_redirect_allowed():
        s3.put_object(Bucket=plain, Key="old.html", Body=b"<html/>", WebsiteRedirectLocation="/new.html")
        head = s3.head_object(Bucket=plain, Key="old.html")
        assert head.get("WebsiteRedirectLocation") == "/new.html", head

    def public_acl_denied():
        expect_denied(lambda: s3.put_object(Bucket=plain, Key="pub", Body=b"x", ACL="public-read"), "public-acl-ban")

    def audit_rule_lets_the_request_through():
        s3.put_object(Bucket=web, Key="a.html", Body=b"<html/>", WebsiteRedirectLocation="/b.html")
        head = s3.head_object(Bucket=web, Key="a.html")
        assert head.get("WebsiteRedirectLocation") == "/b.html", head

    def post_form(fields, content):
        """POSTs a browser form (fields, then the file) the way a browser does."""
        body, content_type = encode_multipart_formdata(list(fields.items()) + [("file", ("photo.jpg", content, "image/jpeg"))])
        parsed = urllib.parse.urlsplit(args_endpoint)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        connection.request("POST", f"/{plain}", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read().decode()

    def form_upload_is_verified_re_signed_and_stored():
        post = s3.generate_presigned_post(plain, "uploads/${filename}", Fields={"Content-Type": "image/jpeg"},
                                          Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 10_000_000]])
        content = os.urandom(300_000)
        status, text = post_form(post["fields"], content)
        assert status in (200, 201, 204), f"{status} {text}"
        stored = s3.get_object(Bucket=plain, Key="uploads/photo.jpg")
        assert stored["Body"].read() == content
        assert stored["ContentType"] == "image/jpeg", stored["ContentType"]
        # A field the signed policy pins, changed (Content-Type must be image/jpeg), is refused
        # and stores nothing; so is a key outside the policy's "uploads/" prefix.
        for name, changed in (("Content-Type", {"Content-Type": "text/html"}), ("key", {"key": "elsewhere/photo.jpg"})):
            status, text = post_form(dict(post["fields"], **changed), content)
            assert status == 403, f"{name}: {status} {text}"
        try:
            s3.head_object(Bucket=plain, Key="elsewhere/photo.jpg")
            raise AssertionError("a tampered form stored an object")
        except ClientError as error:
            assert error.response["Error"]["Code"] in ("404", "NoSuchKey"), error.response
        return f"{status} for the tampered form"

    def form_upload_policy_violation_is_refused():
        post = s3.generate_presigned_post(plain, "uploads/cold.bin", Fields={"x-amz-storage-class": "GLACIER"},
                                          Conditions=[{"x-amz-storage-class": "GLACIER"}])
        status, text = post_form(post["fields"], b"cold data")
        assert status == 403 and "no-glacier" in text, f"{status} {text}"

    checks = [kms_default_is_injected_and_applied, kms_key_not_allowed, kms_key_not_allowed_on_copy, glacier_denied,
              glacier_denied_through_a_presigned_url, foreign_redirect_denied, relative_redirect_allowed,
              public_acl_denied, audit_rule_lets_the_request_through, form_upload_is_verified_re_signed_and_stored,
              form_upload_policy_violation_is_refused]
    results = run_checks(checks)
    for bucket in (finance, web, plain):
        delete_bucket(s3, bucket)
    return results


def main():
    parser = scenario_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    finish(scenarios(client(args), uuid.uuid4().hex[:8], args.endpoint), args.out)


if __name__ == "__main__":
    main()
