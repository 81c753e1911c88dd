#!/usr/bin/env python3
"""Browser form uploads (S3 POST Object) signed by botocore, for obsgate's FormUpload tests.

Usage:  generate_post_forms.py OUT.json

botocore's generate_presigned_post writes the fields and the policy and signs it
(signature_version 's3v4': x-amz-algorithm/-credential/-date/-signature; 's3':
AWSAccessKeyId/signature). The multipart/form-data body is encoded by urllib3's
encode_multipart_formdata, which is what requests (and so boto3 users posting the
form) send: the fields in order, then the `file` part, then `--boundary--\\r\\n`.

The file content is pseudo-random bytes (fixed seed) with CRs, CRLFs and prefixes of
the delimiter `\\r\\n--boundary` planted in it, so a parser that takes a partial delimiter
for the end, or drops bytes of it, fails.

JSON: {"botocore", "urllib3", "cases": [case...]}; each case has
  id, signature_version, access_key, secret_key, region, bucket,
  fields [[name, value]...] (in body order, without the file),
  filename, file_base64, content_type (of the request), boundary,
  body_base64, policy_json (decoded policy), expected_key (after ${filename}).
"""
import base64, json, random, sys

import botocore
import botocore.session
import urllib3
from botocore.config import Config
from urllib3.filepost import encode_multipart_formdata


def file_content(boundary, size, seed):
    rng = random.Random(seed)
    delimiter = b"\r\n--" + boundary.encode()
    planted = [
        b"\r", b"\r\n", b"\r\n-", b"\r\n--", b"\r\r\n--",
        delimiter[:-1], delimiter[:-1] + b"\r\n", b"--" + boundary.encode() + b"--",
        delimiter[:len(delimiter) // 2] + b"x",
    ]
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.choice(planted)
        else:
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    content = bytes(out[:size])
    # Planted pieces can join into the whole delimiter, which no valid body may contain
    # in a part (RFC 2046): break every occurrence.
    while delimiter in content:
        content = content.replace(delimiter, delimiter[:-1] + b"x")
    return content


def make_case(case_id, signature_version, region, bucket, key, fields, conditions, filename,
              size, boundary=None, expires=3600):
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", region_name=region, aws_access_key_id="GWFORMTESTKEY0000001",
        aws_secret_access_key="form/test+secret=key", endpoint_url="http://127.0.0.1:9000",
        config=Config(signature_version=signature_version, s3={"addressing_style": "path"}))
    post = client.generate_presigned_post(bucket, key, Fields=dict(fields), Conditions=conditions,
                                          ExpiresIn=expires)
    form_fields = list(post["fields"].items())
    if boundary is None:
        boundary = urllib3.filepost.choose_boundary()
    content = file_content(boundary, size, seed=case_id)
    body, content_type = encode_multipart_formdata(
        form_fields + [("file", (filename, content, "application/octet-stream"))], boundary=boundary)
    # The filename as urllib3 writes it into the part header (WHATWG: CR, LF and '"'
    # percent-encoded), then S3's rule: the text after the last '/' or '\\'.
    sent = filename.translate({10: "%0A", 13: "%0D", 34: "%22"})
    basename = sent.replace("\\", "/").rsplit("/", 1)[-1]
    return {
        "id": case_id,
        "signature_version": signature_version,
        "access_key": "GWFORMTESTKEY0000001",
        "secret_key": "form/test+secret=key",
        "region": region,
        "bucket": bucket,
        "fields": [[name, value] for name, value in form_fields],
        "filename": filename,
        "file_base64": base64.b64encode(content).decode(),
        "content_type": content_type,
        "boundary": boundary,
        "body_base64": base64.b64encode(body).decode(),
        "policy_json": base64.b64decode(post["fields"]["policy"]).decode(),
        "expected_key": key.replace("${filename}", basename),
    }


def main():
    out = sys.argv[1]
    v4_fields = [
        ("acl", "private"),
        ("Content-Type", "image/png"),
        ("x-amz-meta-origin", "browser upload"),
        ("x-amz-storage-class", "STANDARD_IA"),
        ("x-amz-server-side-encryption", "AES256"),
        ("success_action_status", "201"),
    ]
    v4_conditions = [
        {"acl": "private"},
        ["starts-with", "$Content-Type", "image/"],
        {"x-amz-meta-origin": "browser upload"},
        {"x-amz-storage-class": "STANDARD_IA"},
        {"x-amz-server-side-encryption": "AES256"},
        {"success_action_status": "201"},
        ["content-length-range", 1, 8192],
    ]
    v2_fields = [("acl", "public-read"), ("x-amz-meta-note", "caf\u00e9 \u2615")]
    v2_conditions = [{"acl": "public-read"}, ["starts-with", "$x-amz-meta-note", "caf"],
                     ["content-length-range", 0, 100000]]
    cases = [
        make_case("sigv4-botocore", "s3v4", "eu-west-1", "photos", "user/alice/${filename}",
                  v4_fields, v4_conditions, "C:\\Users\\alice\\holiday photo.png", 5000),
        make_case("sigv2-botocore", "s3", "us-east-1", "photos", "docs/${filename}",
                  v2_fields, v2_conditions, "report \"final\".pdf", 3000,
                  boundary="----WebKitFormBoundary7MA4YWxkTrZu0gW"),
        make_case("sigv4-botocore-empty-file", "s3v4", "us-east-1", "photos", "empty.bin",
                  [], [], "empty.bin", 0),
    ]
    with open(out, "w") as handle:
        json.dump({"botocore": botocore.__version__, "urllib3": urllib3.__version__, "cases": cases}, handle)


if __name__ == "__main__":
    main()
