"""What the scenario scripts of this folder share: running checks one by one, emptying a
bucket, and writing the results file Tests/GatewayTests/Live/Peers.swift reads."""
import argparse
import json
import sys
import traceback


def scenario_arguments(description, upstream=False):
    """The arguments every scenario script takes: the gateway's endpoint and the client key
    (`--endpoint`, `--access-key`, `--secret`), `--out` for the results file, and with
    `upstream` the store's endpoint and key for reading back what it holds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", required=True)
    if upstream:
        parser.add_argument("--upstream-endpoint", required=True)
        parser.add_argument("--upstream-access-key", required=True)
        parser.add_argument("--upstream-secret", required=True)
    return parser


def run_checks(checks):
    """Runs each check (a function returning a detail string or None); one that raises
    is a failed scenario with its error, and the others still run."""
    results = []
    for check in checks:
        try:
            detail = check() or "ok"
            results.append({"name": check.__name__, "ok": True, "detail": detail})
        except Exception as error:  # each scenario reports its own failure
            results.append({"name": check.__name__, "ok": False,
                            "detail": f"{error}\n{traceback.format_exc(limit=3)}"})
    return results


def delete_bucket(s3, bucket):
    """Aborts the bucket's multipart uploads, deletes its objects, then the bucket."""
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def finish(results, out_path):
    """Writes {"scenarios": results} to out_path, prints a line each and exits 0 only if
    every scenario passed."""
    with open(out_path, "w") as out:
        json.dump({"scenarios": results}, out, indent=1)
    for result in results:
        print(("ok   " if result["ok"] else "FAIL ") + result["name"] + ": " + result["detail"].splitlines()[0])
    sys.exit(0 if all(result["ok"] for result in results) else 1)
