#!/usr/bin/env python3
"""Multipart uploads bound to their initiation (issue 15), through running gateways in front
of Ceph radosgw, with two principals: A (--access-key, principal `tester`) and B
(--other-access-key, principal `platform` in group `platform-admins`).

The gateways must run with `upload_binding` keys and the policy of
Tests/GatewayTests/Live/UploadBindingTests.swift: B may use others' uploads only under
`stale/` (an access rule allowing `others-uploads`); A may not list the parts of uploads
under `hidden/` (so listings hide them from A). --endpoint and --endpoint-2 share the
binding key k1; --endpoint-rotated has keys [k2, k1] (k2 binds, both verify).

Every refusal is judged by what radosgw holds afterwards, read with radosgw's own key:
the parts of the upload, whether it still exists, the object.

Usage: upload_binding_scenarios.py --endpoint URL --endpoint-2 URL --endpoint-rotated URL
           --access-key AK --secret SK --other-access-key AK --other-secret SK
           --upstream-endpoint URL --upstream-access-key AK --upstream-secret SK --out results.json
"""
import os
import urllib.parse
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from scenario_support import delete_bucket, finish, run_checks, scenario_arguments

PART = 5 * 1024 * 1024


def client(endpoint, access_key, secret):
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret,
                        region_name="us-east-1", config=config)


def refused(call, status, code):
    """Runs call; it must fail with this HTTP status and S3 code."""
    try:
        call()
    except ClientError as error:
        got = (error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"])
        assert got == (status, code), f"expected {status} {code}, got {got}: {error.response['Error'].get('Message')}"
        return f"{status} {code}"
    raise AssertionError(f"expected {status} {code}, but the request succeeded")


def sse_c(key):
    # botocore adds the key's MD5 and base64-encodes the key.
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def main():
    parser = scenario_arguments(__doc__.splitlines()[0], upstream=True)
    parser.add_argument("--endpoint-2", required=True)
    parser.add_argument("--endpoint-rotated", required=True)
    parser.add_argument("--other-access-key", required=True)
    parser.add_argument("--other-secret", required=True)
    args = parser.parse_args()
    a = client(args.endpoint, args.access_key, args.secret)
    b = client(args.endpoint, args.other_access_key, args.other_secret)
    store = client(args.upstream_endpoint, args.upstream_access_key, args.upstream_secret)
    upstream_netloc = urllib.parse.urlsplit(args.upstream_endpoint).netloc
    bucket = f"bind-{uuid.uuid4().hex[:10]}"
    a.create_bucket(Bucket=bucket)

    def store_uploads():
        """{upstream upload id: key} of the uploads radosgw holds in the bucket."""
        return {u["UploadId"]: u["Key"] for u in store.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}

    def store_parts(key, upstream_id):
        return [p["PartNumber"] for p in store.list_parts(Bucket=bucket, Key=key, UploadId=upstream_id).get("Parts", [])]

    def upstream_id_of(client_id):
        """The upstream's id inside a bound id: what precedes its last four dot-separated fields."""
        fields = client_id.split(".")
        assert len(fields) >= 5, f"{client_id!r} is not a bound upload id"
        return ".".join(fields[:-4])

    def initiate(c, key, **extra):
        return c.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]

    def tampered(client_id):
        last = client_id[-1]
        return client_id[:-1] + ("A" if last != "A" else "B")

    body = os.urandom(PART)

    def bound_ids_are_not_the_stores():
        upload_id = initiate(a, "a/bound")
        upstream_id = upstream_id_of(upload_id)
        assert store_uploads().get(upstream_id) == "a/bound", f"the store does not hold {upstream_id}: {store_uploads()}"
        assert upload_id not in store_uploads(), "the client got the store's own id"
        a.upload_part(Bucket=bucket, Key="a/bound", UploadId=upload_id, PartNumber=1, Body=body)
        assert store_parts("a/bound", upstream_id) == [1]
        return f"{upload_id} → {upstream_id}"

    def another_principal_cannot_use_an_upload():
        upload_id = initiate(a, "a/theirs")
        a.upload_part(Bucket=bucket, Key="a/theirs", UploadId=upload_id, PartNumber=1, Body=body)
        answers = [
            refused(lambda: b.upload_part(Bucket=bucket, Key="a/theirs", UploadId=upload_id, PartNumber=2, Body=b"b"),
                    403, "AccessDenied"),
            refused(lambda: b.list_parts(Bucket=bucket, Key="a/theirs", UploadId=upload_id), 403, "AccessDenied"),
            refused(lambda: b.complete_multipart_upload(
                Bucket=bucket, Key="a/theirs", UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]}), 403, "AccessDenied"),
            refused(lambda: b.abort_multipart_upload(Bucket=bucket, Key="a/theirs", UploadId=upload_id), 403, "AccessDenied"),
        ]
        upstream_id = upstream_id_of(upload_id)
        assert store_uploads().get(upstream_id) == "a/theirs", "B's abort or complete reached the store"
        assert store_parts("a/theirs", upstream_id) == [1], "B's part reached the store"
        return ", ".join(answers)

    def an_altered_or_moved_id_is_no_such_upload():
        upload_id = initiate(a, "a/altered")
        answers = [
            refused(lambda: a.upload_part(Bucket=bucket, Key="a/altered", UploadId=tampered(upload_id), PartNumber=1,
                                          Body=b"x"), 404, "NoSuchUpload"),
            # The same id on another key: the tag covers the key.
            refused(lambda: a.upload_part(Bucket=bucket, Key="a/other", UploadId=upload_id, PartNumber=1, Body=b"x"),
                    404, "NoSuchUpload"),
            refused(lambda: a.abort_multipart_upload(Bucket=bucket, Key="a/altered", UploadId=tampered(upload_id)),
                    404, "NoSuchUpload"),
        ]
        assert store_parts("a/altered", upstream_id_of(upload_id)) == [], "a part reached the store"
        return ", ".join(answers)

    def an_id_made_at_the_store_is_refused():
        upstream_id = store.create_multipart_upload(Bucket=bucket, Key="a/direct")["UploadId"]
        answer = refused(lambda: a.upload_part(Bucket=bucket, Key="a/direct", UploadId=upstream_id, PartNumber=1,
                                               Body=b"x"), 404, "NoSuchUpload")
        assert store_parts("a/direct", upstream_id) == [], "a part reached the store"
        store.abort_multipart_upload(Bucket=bucket, Key="a/direct", UploadId=upstream_id)
        return answer

    def a_listing_binds_every_id():
        upload_id = initiate(a, "a/listed")
        listed = a.list_multipart_uploads(Bucket=bucket)["Uploads"]
        held = store_uploads()
        assert listed and not any(u["UploadId"] in held for u in listed), "a listing showed the store's ids"
        mine = [u["UploadId"] for u in listed if u["Key"] == "a/listed"]
        assert mine and mine[0] != upload_id, f"the listing gave the initiation's own id: {mine}"
        # A listed id says nothing about who initiated: even A cannot upload with it.
        answer = refused(lambda: a.upload_part(Bucket=bucket, Key="a/listed", UploadId=mine[0], PartNumber=1, Body=b"x"),
                         403, "AccessDenied")
        # Paging by marker: the marker is a listed id, and the next page follows it.
        first = a.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
        assert first.get("IsTruncated") and first.get("NextUploadIdMarker"), f"one upload per page expected: {first}"
        second = a.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker=first["NextKeyMarker"],
                                          UploadIdMarker=first["NextUploadIdMarker"])
        assert second["Uploads"][0]["Key"] != first["Uploads"][0]["Key"] or \
            second["Uploads"][0]["UploadId"] != first["Uploads"][0]["UploadId"], "the marker did not move the listing"
        return f"{len(listed)} uploads listed, none with a store id; {answer} for a listed id"

    def a_page_ending_on_a_hidden_upload_names_no_key():
        # Its own bucket, so that the pages are known: two uploads A may see around two it may not.
        listing = f"bind-list-{uuid.uuid4().hex[:10]}"
        store.create_bucket(Bucket=listing)
        made = {key: store.create_multipart_upload(Bucket=listing, Key=key)["UploadId"]
                for key in ("a/first", "hidden/1", "hidden/2", "z/last")}
        pages = list(a.get_paginator("list_multipart_uploads").paginate(Bucket=listing,
                                                                         PaginationConfig={"PageSize": 1}))
        for page in pages:
            shown = repr({name: value for name, value in page.items() if name != "ResponseMetadata"})
            assert "hidden" not in shown and made["hidden/1"] not in shown and made["hidden/2"] not in shown, \
                f"a page names a hidden upload: {shown}"
        listed = [upload["Key"] for page in pages for upload in page.get("Uploads", [])]
        assert listed == ["a/first", "z/last"], f"listed {listed}"
        sealed = [page["NextKeyMarker"] for page in pages if page.get("NextKeyMarker", "").startswith("obsgate-marker.")]
        assert len(sealed) == 2, f"the two pages that end on a hidden upload: {[p.get('NextKeyMarker') for p in pages]}"
        altered = sealed[0][:-1] + ("B" if sealed[0][-1] != "B" else "C")
        answers = [refused(lambda: a.list_multipart_uploads(Bucket=listing, KeyMarker=altered), 400, "InvalidArgument"),
                   refused(lambda: a.list_multipart_uploads(Bucket=bucket, KeyMarker=sealed[0]), 400, "InvalidArgument")]
        delete_bucket(store, listing)
        return f"{len(pages)} pages of one upload, {len(sealed)} markers sealed; altered or other bucket: {', '.join(answers)}"

    def an_access_rule_lets_admins_abort_stale_uploads():
        upload_id = initiate(a, "stale/old")
        listed = [u["UploadId"] for u in b.list_multipart_uploads(Bucket=bucket, Prefix="stale/")["Uploads"]]
        assert len(listed) == 1, listed
        b.abort_multipart_upload(Bucket=bucket, Key="stale/old", UploadId=listed[0])
        assert upstream_id_of(upload_id) not in store_uploads(), "the abort did not reach the store"
        return "aborted by platform under stale/ with a listed id"

    def completion_answers_the_gateways_location():
        upload_id = initiate(a, "a/complete me")
        etag = a.upload_part(Bucket=bucket, Key="a/complete me", UploadId=upload_id, PartNumber=1, Body=body)["ETag"]
        parts = a.list_parts(Bucket=bucket, Key="a/complete me", UploadId=upload_id)
        assert parts["UploadId"] == upload_id, f"ListParts answered another id: {parts['UploadId']}"
        done = a.complete_multipart_upload(Bucket=bucket, Key="a/complete me", UploadId=upload_id,
                                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        location = done.get("Location", "")
        gateway = urllib.parse.urlsplit(args.endpoint).netloc
        assert upstream_netloc not in location and urllib.parse.urlsplit(location).netloc == gateway, \
            f"Location {location!r} is not at the gateway {gateway}"
        assert store.get_object(Bucket=bucket, Key="a/complete me")["Body"].read() == body, "the object differs"
        return location

    def parts_must_carry_the_initiations_sse_c_key():
        key, other = uuid.uuid4().hex, uuid.uuid4().hex
        upload_id = initiate(a, "a/sse-c", **sse_c(key))
        upstream_id = upstream_id_of(upload_id)
        answers = [
            refused(lambda: a.upload_part(Bucket=bucket, Key="a/sse-c", UploadId=upload_id, PartNumber=1, Body=b"x",
                                          **sse_c(other)), 400, "InvalidRequest"),
            refused(lambda: a.upload_part(Bucket=bucket, Key="a/sse-c", UploadId=upload_id, PartNumber=1, Body=b"x"),
                    400, "InvalidRequest"),
        ]
        assert store_parts("a/sse-c", upstream_id) == [], "a part with another key reached the store"
        etag = a.upload_part(Bucket=bucket, Key="a/sse-c", UploadId=upload_id, PartNumber=1, Body=b"secret part",
                             **sse_c(key))["ETag"]
        a.complete_multipart_upload(Bucket=bucket, Key="a/sse-c", UploadId=upload_id,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        read = store.get_object(Bucket=bucket, Key="a/sse-c", **sse_c(key))["Body"].read()
        assert read == b"secret part", "the object differs"
        # And an upload without SSE-C takes no customer key.
        plain = initiate(a, "a/no-sse-c")
        answers.append(refused(lambda: a.upload_part(Bucket=bucket, Key="a/no-sse-c", UploadId=plain, PartNumber=1,
                                                     Body=b"x", **sse_c(key)), 400, "InvalidRequest"))
        return ", ".join(answers)

    def replicas_with_the_same_keys_accept_each_others_ids():
        second = client(args.endpoint_2, args.access_key, args.secret)
        rotated = client(args.endpoint_rotated, args.access_key, args.secret)
        upload_id = initiate(a, "a/scale-out")
        etag = second.upload_part(Bucket=bucket, Key="a/scale-out", UploadId=upload_id, PartNumber=1, Body=body)["ETag"]
        # After a rotation ([k2, k1]) the old id still completes.
        rotated.complete_multipart_upload(Bucket=bucket, Key="a/scale-out", UploadId=upload_id,
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        assert store.get_object(Bucket=bucket, Key="a/scale-out")["Body"].read() == body
        # A new id is bound with k2, which a gateway that has only k1 does not accept.
        new_id = initiate(rotated, "a/rotated")
        assert new_id.split(".")[-4] == "k2", f"not bound with the newest key: {new_id}"
        answer = refused(lambda: a.abort_multipart_upload(Bucket=bucket, Key="a/rotated", UploadId=new_id),
                         404, "NoSuchUpload")
        rotated.abort_multipart_upload(Bucket=bucket, Key="a/rotated", UploadId=new_id)
        return f"completed across replicas and a rotation; k2 id at a k1-only gateway: {answer}"

    results = run_checks([
        bound_ids_are_not_the_stores, another_principal_cannot_use_an_upload, an_altered_or_moved_id_is_no_such_upload,
        an_id_made_at_the_store_is_refused, a_listing_binds_every_id, a_page_ending_on_a_hidden_upload_names_no_key,
        an_access_rule_lets_admins_abort_stale_uploads,
        completion_answers_the_gateways_location, parts_must_carry_the_initiations_sse_c_key,
        replicas_with_the_same_keys_accept_each_others_ids,
    ])
    delete_bucket(store, bucket)
    finish(results, args.out)


if __name__ == "__main__":
    main()
