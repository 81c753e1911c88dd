#!/usr/bin/env python3
"""Browser uploads (headless Chromium) through a running gateway in front of Ceph radosgw.

A test page is served on loopback (127.0.0.1, an ephemeral port: another origin than the
gateway's). In headless Chromium (Debian's `chromium`) its script

- PUTs a file with `fetch` to a presigned URL of the gateway (boto3
  `generate_presigned_url('put_object')`, SigV4 query). The browser preflights it; the
  gateway forwards the preflight and radosgw answers from the bucket's CORS configuration,
  which this script sets through the gateway (PutBucketCors) for the page's origin;
- submits a real HTML form (`<form method=post enctype=multipart/form-data>`, fields from
  boto3 `generate_presigned_post`, the file set through a DataTransfer) to the gateway,
  into a hidden iframe, with `success_action_redirect` pointing at the page server's
  done.html. The store answers 303 to it with `?bucket=&key=&etag=`; done.html is the
  page's own origin, so the page reads the redirect's query from the iframe. An answer
  that is not the redirect (an error document of the gateway's origin) is unreadable to
  the page, which reports just that.

The page writes its findings into `<pre id="result">` and POSTs them back to the page
server; the script runs `chromium --headless=new ... --dump-dom` with a time limit and
takes the POSTed result (or else the dumped `<pre id="result">`).

Verdicts are by what the store holds, read with the UPSTREAM credentials (radosgw's own
key): each object's bytes, Content-Type and, with --default-kms-key KEY, SSE-KMS with KEY
(the policy's default, injected by the gateway: the page asks for no encryption).

The gateway must run with a policy under which, for buckets named --bucket-prefix + a
random suffix, PutBucketCors is allowed, form redirects to http://127.0.0.1 are not refused
(a `website_redirect: relative-only` rule must not match them: done.html is on another
origin), and the encryption default of --default-kms-key is injected when absent; see
Tests/GatewayTests/Live/BrowserTests.swift (`finance-browser-` and testkey-1 there).

Usage: browser_scenarios.py --endpoint URL --access-key AK --secret SK
           --upstream-endpoint URL --upstream-access-key AK --upstream-secret SK
           --bucket-prefix PREFIX [--default-kms-key KEY] [--chromium PATH]
           [--browser-timeout SECONDS] --out results.json
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import base64
import hashlib
import html
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from scenario_support import delete_bucket, finish, run_checks, scenario_arguments

REGION = "us-east-1"


def s3_client(endpoint, access_key, secret):
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}, signature_version="s3v4",
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret,
                        region_name=REGION, config=config)


# ---------------------------------------------------------------------------- the page

# The test page. CONFIG is replaced by the uploads' JSON (URLs, fields, bodies in base64).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>obsgate browser uploads</title></head>
<body>
<pre id="result">running</pre>
<iframe name="form-answer" id="form-answer" style="display:none"></iframe>
<script id="config" type="application/json">CONFIG</script>
<script>
const config = JSON.parse(document.getElementById("config").textContent);

function bytes(base64) {
  return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
}

// (a) PUT to the presigned URL: a cross-origin fetch with a preflight (PUT is no simple
// method). The ETag is readable only if the store's CORS answer exposes it.
async function putToPresignedURL() {
  try {
    const response = await fetch(config.put.url, {
      method: "PUT", headers: {"Content-Type": config.put.contentType},
      body: new Blob([bytes(config.put.body)]),
    });
    return {status: response.status, etag: response.headers.get("ETag"), body: (await response.text()).slice(0, 2000)};
  } catch (error) {
    return {error: "fetch failed: " + error};
  }
}

// (b) A real form submission into the hidden iframe. The success redirect goes to
// done.html of this origin, whose address (with the store's bucket, key and etag) this
// page can read; any other answer is a document of the gateway's origin, which it cannot.
function postForm() {
  return new Promise(resolve => {
    const frame = document.getElementById("form-answer");
    const timer = setTimeout(() => resolve({error: "no answer to the form within 12 s"}), 12000);
    frame.addEventListener("load", () => {
      let href;
      try {
        href = frame.contentWindow.location.href;
      } catch (error) {
        clearTimeout(timer);
        resolve({error: "the form's answer is a document of another origin, not the success redirect (" + error.name + ")"});
        return;
      }
      if (href === "about:blank") return;
      clearTimeout(timer);
      const query = new URL(href).searchParams;
      resolve({redirect: href, bucket: query.get("bucket"), key: query.get("key"), etag: query.get("etag")});
    });
    const form = document.createElement("form");
    form.action = config.form.url;
    form.method = "post";
    form.enctype = "multipart/form-data";
    form.target = "form-answer";
    for (const [name, value] of config.form.fields) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const file = document.createElement("input");
    file.type = "file";
    file.name = "file";
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes(config.form.body)], config.form.filename, {type: config.form.contentType}));
    file.files = transfer.files;
    form.append(file);  // the file comes last, as S3 requires
    document.body.append(form);
    form.submit();
  });
}

async function run() {
  const result = {origin: location.origin};
  result.put = await putToPresignedURL();
  result.form = await postForm();
  document.getElementById("result").textContent = JSON.stringify(result);
  await fetch("/result", {method: "POST", body: JSON.stringify(result)});
}
run().catch(error => {
  document.getElementById("result").textContent = JSON.stringify({error: String(error)});
  fetch("/result", {method: "POST", body: JSON.stringify({error: String(error)})});
});
</script>
</body></html>
"""

DONE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>upload done</title></head>
<body><p>Uploaded.</p></body></html>
"""


class PageServer:
    """The page's origin: serves index.html and done.html on 127.0.0.1 (an ephemeral port)
    from a thread, and keeps what the page POSTs to /result."""

    def __init__(self):
        self.page = b""
        self.result = None
        self.received = threading.Event()
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(f"GET {self.path}")
                path = self.path.split("?", 1)[0]
                body = {"/index.html": server.page, "/done.html": DONE_PAGE.encode()}.get(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                server.requests.append(f"POST {self.path}")
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/result":
                    server.result = body.decode("utf-8", "replace")
                    server.received.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *arguments):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_chromium(binary, url, timeout):
    """Loads url in headless Chromium and returns (dumped DOM, a tail of its stderr). The
    page has 15 s of virtual time (which stands still while a request is in flight)."""
    profile = tempfile.mkdtemp(prefix="obsgate-chromium-")
    try:
        try:
            process = subprocess.Popen(
                [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        except FileNotFoundError:
            raise AssertionError(f"{binary} not found: install Debian's chromium (scripts/install-test-deps.sh)")
        try:
            dom, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the browser and its renderers
            dom, stderr = process.communicate()
            stderr += f"\n(chromium did not finish within {timeout:g} s)"
        return dom, stderr[-3000:]
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def page_result(server, dom):
    """What the page found: the JSON it POSTed, else its `<pre id="result">`."""
    text = server.result
    if text is None:
        match = re.search(r'<pre id="result">(.*?)</pre>', dom or "", re.S)
        text = html.unescape(match.group(1)) if match else None
    if text is None:
        return None
    if text == "running":
        return {"error": "the page had not finished when Chromium dumped its DOM (15 s of virtual time)"}
    try:
        return json.loads(text)
    except ValueError:
        return {"error": f"the page's result is no JSON: {text[:500]}"}


# ---------------------------------------------------------------------------- scenarios

def scenarios(args, suffix):
    gateway = s3_client(args.endpoint, args.access_key, args.secret)
    store = s3_client(args.upstream_endpoint, args.upstream_access_key, args.upstream_secret)
    bucket = f"{args.bucket_prefix}{suffix}"
    server = PageServer()
    put_key, put_body = "browser/presigned-put.bin", os.urandom(256 * 1024)
    form_filename, form_body = "form-upload.bin", os.urandom(192 * 1024)
    form_key = f"browser/{form_filename}"
    seen = {}

    def bucket_cors_is_set_through_the_gateway():
        gateway.create_bucket(Bucket=bucket)
        gateway.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [server.origin], "AllowedMethods": ["PUT", "POST", "GET"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag", "Location"], "MaxAgeSeconds": 60}]})
        rules = store.get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert rules and rules[0]["AllowedOrigins"] == [server.origin], rules
        return f"radosgw holds the CORS rule for {server.origin}"

    def the_page_runs_in_headless_chromium():
        put_url = gateway.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": put_key, "ContentType": "application/octet-stream"},
            ExpiresIn=600)
        redirect = f"{server.origin}/done.html"
        post = gateway.generate_presigned_post(
            bucket, "browser/${filename}",
            Fields={"Content-Type": "application/octet-stream", "success_action_redirect": redirect},
            Conditions=[{"Content-Type": "application/octet-stream"}, {"success_action_redirect": redirect},
                        ["content-length-range", 1, 10_000_000]],
            ExpiresIn=600)
        config = {
            "put": {"url": put_url, "contentType": "application/octet-stream",
                    "body": base64.b64encode(put_body).decode()},
            "form": {"url": post["url"], "fields": list(post["fields"].items()), "filename": form_filename,
                     "contentType": "application/octet-stream", "body": base64.b64encode(form_body).decode()},
        }
        # "</" cannot end the JSON's script element early: JSON allows "<\/".
        server.page = PAGE.replace("CONFIG", json.dumps(config).replace("</", "<\\/")).encode()
        dom, stderr = run_chromium(args.chromium, f"{server.origin}/index.html", args.browser_timeout)
        server.received.wait(5)
        result = page_result(server, dom)
        assert result is not None, (f"the page reported nothing; page server saw {server.requests}; "
                                    f"DOM: {(dom or '')[:1500]!r}; chromium stderr: {stderr}")
        seen.update(result)
        assert "error" not in result, result
        return json.dumps({"put": {k: v for k, v in result["put"].items() if k != "body"}, "form": result["form"]})

    def stored(key, body, content_type):
        """HEADs and GETs key with the store's own key; checks bytes, type and defaults."""
        head = store.head_object(Bucket=bucket, Key=key)
        data = store.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert data == body, f"{key}: radosgw holds {len(data)} bytes that differ from the {len(body)} sent"
        assert head["ContentType"] == content_type, f"{key}: Content-Type {head['ContentType']}"
        if args.default_kms_key:
            assert head.get("ServerSideEncryption") == "aws:kms", f"{key}: not SSE-KMS: {head.get('ServerSideEncryption')}"
            assert args.default_kms_key in head.get("SSEKMSKeyId", ""), f"{key}: KMS key {head.get('SSEKMSKeyId')}"
        return head

    def head_or_none(key):
        try:
            return store.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None
            raise

    def presigned_put_from_the_page_is_read_back():
        put = seen.get("put")
        assert put is not None, "the page did not run"
        assert "error" not in put, f"the page's PUT: {put['error']} (a refused preflight or an answer without CORS fields)"
        assert put["status"] == 200, f"the page's PUT: {put['status']} {put.get('body')}"
        expected = '"' + hashlib.md5(put_body).hexdigest() + '"'
        assert put["etag"] == expected, f"the page read ETag {put['etag']!r} (exposed by CORS?), expected {expected}"
        return f"200, ETag {put['etag']} readable by the page"

    def presigned_put_lands_with_the_defaults():
        head = stored(put_key, put_body, "application/octet-stream")
        return f"{head['ContentLength']} bytes, {head.get('ServerSideEncryption')} {head.get('SSEKMSKeyId')}"

    def form_post_from_the_page_reads_the_success_redirect():
        form = seen.get("form")
        assert form is not None, "the page did not run"
        holds = head_or_none(form_key)
        assert "error" not in form, (f"the page: {form['error']}; radosgw "
                                     f"{'holds' if holds else 'does not hold'} {form_key}")
        assert form["redirect"].startswith(f"{server.origin}/done.html?"), form
        assert form["bucket"] == bucket and form["key"] == form_key, form
        expected = '"' + hashlib.md5(form_body).hexdigest() + '"'
        assert form["etag"] == expected, f"the redirect says etag {form['etag']!r}, expected {expected}"
        return f"redirected to {form['redirect']}"

    def form_post_lands_with_the_defaults():
        head = head_or_none(form_key)
        assert head is not None, f"radosgw does not hold {form_key}: the form was not stored"
        head = stored(form_key, form_body, "application/octet-stream")
        return f"{head['ContentLength']} bytes, {head.get('ServerSideEncryption')} {head.get('SSEKMSKeyId')}"

    checks = [bucket_cors_is_set_through_the_gateway, the_page_runs_in_headless_chromium,
              presigned_put_from_the_page_is_read_back, presigned_put_lands_with_the_defaults,
              form_post_from_the_page_reads_the_success_redirect, form_post_lands_with_the_defaults]
    try:
        return run_checks(checks)
    finally:
        server.close()
        try:
            delete_bucket(gateway, bucket)
        except ClientError:
            pass


def main():
    parser = scenario_arguments(__doc__.splitlines()[0], upstream=True)
    parser.add_argument("--bucket-prefix", required=True,
                        help="the test bucket is this prefix and a random suffix (finance-browser- for the policy's defaults)")
    parser.add_argument("--default-kms-key",
                        help="the SSE-KMS key the policy injects for the bucket; both uploads must be stored with it")
    parser.add_argument("--chromium", default="chromium", help="the Chromium binary (default: chromium)")
    parser.add_argument("--browser-timeout", type=float, default=90, help="seconds Chromium may take (default 90)")
    args = parser.parse_args()
    finish(scenarios(args, uuid.uuid4().hex[:8]), args.out)


if __name__ == "__main__":
    main()
