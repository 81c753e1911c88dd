#!/usr/bin/env python3
"""Differential test cases for obsgate's signature verifier, signed by real clients.

No signature here is computed by this script.  botocore signs SigV4 (header and
presigned URL) and SigV2 (signature_version "s3": header and query form); Huawei's
esdk-obs-python signs OBS native (``Authorization: OBS AK:sig`` and createSignedUrl's
AccessKeyId/Expires/Signature).  Requests really go to a recorder on 127.0.0.1
(ephemeral port) that keeps the raw request-target and the headers in order as
received; presigned URLs are fetched like curl (Host, User-Agent, Accept and the
headers the signer bound the URL to).  Virtual-hosted cases use the endpoint
s3.example.test, resolved to 127.0.0.1 in this process only, so the Host is
BUCKET.s3.example.test:PORT.  OBS cases are all virtual-hosted: on a path-style or
IP endpoint the OBS SDK silently signs SigV2 instead.  Each valid case is followed
by invalid variants with one character changed in the path, a signed query value,
a signed header value or the signature.

Usage: python3 generate_signed_requests.py [OUT.json] [--count N] [--seed S]
(stdout without OUT.json; N valid cases, default 300, spread over the six schemes)

Output, one JSON document (one case per line):
  {"generator": "botocore X.Y.Z, esdk-obs-python X.Y.Z",
   "cases": [{"id": "sigv4-header-0001" or "<valid id>/tamper-<n>",
              "scheme": "sigv4-header" | "sigv4-presigned" | "sigv2-header" |
                        "sigv2-query" | "obs-header" | "obs-query",
              "access_key", "secret_key", "region",
              "signed_at": epoch seconds when signed (evaluate the case at this time),
              "method", "target": raw request-target as on the request line,
              "headers": [[name, value], ...] as received, in order, original case,
              "body_sha256": hex sha256 of the body if the payload was signed (SigV4), else null,
              "virtual_host_base": "s3.example.test" when Host is BUCKET.<base>, else null,
              "expect": "valid" | "invalid", "tamper": null | what was changed}]}
Timestamps, signatures and the port differ between runs; all inputs follow the seed.
"""
import argparse
import calendar
import hashlib
import http.client
import http.server
import importlib.metadata
import json
import os
import random
import socket
import string
import sys
import threading
import time
import urllib.parse
from email.utils import parsedate_to_datetime

import botocore
import botocore.session
from botocore.auth import HmacV1Auth
from botocore.config import Config
from obs import (CompleteMultipartUploadRequest, CompletePart, CopyObjectHeader,
                 DeleteObjectsRequest, Object, ObsClient, PutObjectHeader, SseKmsHeader)
from obs.const import ALLOWED_RESOURCE_PARAMTER_NAMES as OBS_SUBRESOURCES

VHOST_BASE = 's3.example.test'
KEY_ALPHABET = (list(string.ascii_letters + string.digits) * 2 + list(" +%=:@~/!*'()&$")
                + ['é', 'ß', '日本', '😀'])
SCHEMES = ['sigv4-header', 'sigv4-presigned', 'sigv2-header', 'sigv2-query', 'obs-header', 'obs-query']
URL_OPS = ['GetObject', 'PutObject', 'HeadObject', 'CreateMultipartUpload', 'UploadPart', 'ListObjects']
ALL_OPS = URL_OPS + ['CompleteMultipartUpload', 'DeleteObjects', 'CopyObject']
OPS = {'sigv4-presigned': URL_OPS + ['CopyObject'], 'sigv2-query': URL_OPS, 'obs-query': URL_OPS,
       'sigv4-header': ALL_OPS, 'sigv2-header': ALL_OPS, 'obs-header': ALL_OPS}
CURL_HEADERS = [('User-Agent', 'curl/8.5.0'), ('Accept', '*/*')]


# ---------------------------------------------------------------- recorder
class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records each request (method, raw target, headers in order, body); answers 200 empty."""
    protocol_version = 'HTTP/1.1'

    def _record(self):
        assert 'Transfer-Encoding' not in self.headers, 'clients here always send Content-Length'
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.server.captured.append((self.command, self.path, [list(h) for h in self.headers.items()], body))
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _record

    def log_message(self, *args):
        pass


def _capture(server, action):
    """Run action() (which sends exactly one request) and return that recorded request."""
    server.captured.clear()
    try:
        action()
    except Exception:  # the empty 200 answer upsets some parsers; the request is what matters
        pass
    if len(server.captured) != 1:
        raise RuntimeError(f'expected one request, recorded {len(server.captured)}')
    return server.captured[0]


def _send_like_curl(url, method, signed_headers, body):
    """Fetch a presigned URL: Host, curl's defaults, then the headers the signer signed."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest(method, parts.path + ('?' + parts.query if parts.query else ''),
                    skip_host=True, skip_accept_encoding=True)
    extra = [(n, v) for n, v in signed_headers if n.lower() != 'host']
    for name, value in [('Host', parts.netloc)] + CURL_HEADERS + extra:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader('Content-Length', str(len(body)))
    conn.endheaders(body)
    conn.getresponse().read()
    conn.close()


# ---------------------------------------------------------------- random inputs
def _rand(rng, alphabet, lo, hi):
    return ''.join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _bucket(rng):
    return rng.choice(string.ascii_lowercase) + _rand(rng, string.ascii_lowercase + string.digits + '-', 2, 14) \
        + rng.choice(string.digits + string.ascii_lowercase)


def _key(rng):
    key = _rand(rng, KEY_ALPHABET, 1, 14)
    return rng.choice(string.ascii_letters) + key  # never starts with '/' (http.server collapses '//')


def make_spec(rng, scheme, op):
    """Random inputs for one operation, independent of the client library."""
    lower = string.ascii_lowercase + string.digits
    s = {'op': op, 'bucket': _bucket(rng), 'key': _key(rng), 'region': rng.choice(['us-east-1', 'cn-north-4']),
         'ak': _rand(rng, string.ascii_uppercase + string.digits, 20, 20),
         'sk': _rand(rng, string.ascii_letters + string.digits + '+/', 40, 40),
         'virtual': scheme.startswith('obs') or rng.random() < 0.3,
         'unsigned': scheme == 'sigv4-header' and op in ('PutObject', 'UploadPart') and rng.random() < 0.4,
         'expires': rng.randint(60, 6 * 86400)}
    if op in ('PutObject', 'UploadPart'):
        s['body'] = rng.randbytes(rng.randint(1, 64))
    if op in ('UploadPart', 'CompleteMultipartUpload'):
        s['upload_id'] = _rand(rng, string.ascii_letters + string.digits + '._-', 24, 48)
        s['part'] = rng.randint(1, 10000)
    if op in ('PutObject', 'CreateMultipartUpload', 'CopyObject') and scheme != 'sigv2-query':
        if rng.random() < 0.6:
            s['content_type'] = rng.choice(['text/plain', 'application/octet-stream', 'image/png',
                                            'application/json; charset=utf-8'])
        if rng.random() < 0.6:
            s['meta'] = {_rand(rng, lower, 3, 8): _rand(rng, lower, 1, 6) + rng.choice(['', ' ', '-'])
                         + _rand(rng, string.ascii_letters + string.digits, 1, 8)}
        if 'presigned' not in scheme and 'query' not in scheme:
            s['storage_class'] = rng.choice([None, 'STANDARD', 'STANDARD_IA'])
            s['sse'] = rng.random() < 0.3
    if op == 'ListObjects':
        s['prefix'] = _key(rng)[:rng.randint(1, 8)]
        s['delimiter'] = rng.choice(['/', None])
    if op == 'DeleteObjects':
        s['keys'] = [_key(rng) for _ in range(rng.randint(1, 3))]
    if op == 'CopyObject':
        s['src'] = (_bucket(rng), _key(rng))
    return s


# ---------------------------------------------------------------- signers
def _boto_params(s, presign):
    """botocore client method and parameters for a spec (no Body when presigning)."""
    b, k = {'Bucket': s['bucket']}, {'Bucket': s['bucket'], 'Key': s['key']}
    extra = {n: v for n, v in [('ContentType', s.get('content_type')), ('Metadata', s.get('meta')),
                               ('StorageClass', s.get('storage_class')),
                               ('ServerSideEncryption', 'AES256' if s.get('sse') else None)] if v}
    body = {} if presign else {'Body': s.get('body', b'')}
    return {
        'PutObject': lambda: ('put_object', {**k, **extra, **body}),
        'GetObject': lambda: ('get_object', k),
        'HeadObject': lambda: ('head_object', k),
        'CreateMultipartUpload': lambda: ('create_multipart_upload', {**k, **extra}),
        'UploadPart': lambda: ('upload_part', {**k, 'PartNumber': s['part'], 'UploadId': s['upload_id'], **body}),
        'CompleteMultipartUpload': lambda: ('complete_multipart_upload', {
            **k, 'UploadId': s['upload_id'],
            'MultipartUpload': {'Parts': [{'PartNumber': s['part'], 'ETag': '"%032x"' % s['part']}]}}),
        'ListObjects': lambda: ('list_objects_v2', {**b, 'Prefix': s['prefix'],
                                                    **({'Delimiter': s['delimiter']} if s['delimiter'] else {})}),
        'DeleteObjects': lambda: ('delete_objects', {**b, 'Delete': {'Objects': [{'Key': x} for x in s['keys']],
                                                                     'Quiet': True}}),
        'CopyObject': lambda: ('copy_object', {
            **k, **extra, 'CopySource': {'Bucket': s['src'][0], 'Key': s['src'][1]},
            **({'MetadataDirective': 'REPLACE'} if 'meta' in s else {})}),
    }[s['op']]()


def sign_botocore(session, server, port, scheme, s):
    """Sign with botocore; returns the request as recorded (presigned URLs fetched like curl)."""
    s3cfg = {'addressing_style': 'virtual' if s['virtual'] else 'path'}
    if s['unsigned']:
        s3cfg['payload_signing_enabled'] = False
    cfg = Config(signature_version='s3v4' if scheme.startswith('sigv4') else 's3', region_name=s['region'],
                 retries={'total_max_attempts': 1}, s3=s3cfg, request_checksum_calculation='when_required',
                 response_checksum_validation='when_required')
    endpoint = f"http://{VHOST_BASE if s['virtual'] else '127.0.0.1'}:{port}"
    client = session.create_client('s3', endpoint_url=endpoint, aws_access_key_id=s['ak'],
                                   aws_secret_access_key=s['sk'], config=cfg)
    presign = scheme in ('sigv4-presigned', 'sigv2-query')
    method_name, params = _boto_params(s, presign)
    if not presign:
        return _capture(server, lambda: getattr(client, method_name)(**params))
    signed = []  # the AWSRequest botocore signs, to learn which headers the URL is bound to
    client.meta.events.register('before-sign.s3', lambda request, **kw: signed.append(request))
    url = client.generate_presigned_url(method_name, Params=params, ExpiresIn=s['expires'])
    assert len(signed) == 1 and signed[0].url == url, 'presigned request not captured'
    # SigV4 binds the URL to the headers in X-Amz-SignedHeaders, which the fetcher must send; the
    # SigV2 signer leaves only Date (carrying Expires into its string to sign) and sends nothing.
    headers = signed[0].headers.items() if scheme == 'sigv4-presigned' else []
    return _capture(server, lambda: _send_like_curl(url, signed[0].method, headers, s.get('body')))


def sign_obs(server, port, scheme, s):
    """Sign with the OBS SDK (signature 'obs', virtual-hosted); returns the request as recorded."""
    client = ObsClient(access_key_id=s['ak'], secret_access_key=s['sk'], server=f'http://{VHOST_BASE}:{port}',
                       signature='obs', region=s['region'], is_signature_negotiation=False,
                       max_retry_count=0, timeout=10)
    b, k = s['bucket'], s['key']
    if scheme == 'obs-query':
        headers = {'Content-Type': s['content_type']} if 'content_type' in s else {}
        headers.update({'x-obs-meta-' + n: v for n, v in s.get('meta', {}).items()})
        method, key, special, query = {
            'GetObject': ('GET', k, None, None), 'HeadObject': ('HEAD', k, None, None),
            'PutObject': ('PUT', k, None, None), 'CreateMultipartUpload': ('POST', k, 'uploads', None),
            'UploadPart': ('PUT', k, None, {'partNumber': str(s.get('part')), 'uploadId': s.get('upload_id')}),
            'ListObjects': ('GET', None, None, {'prefix': s.get('prefix'), 'delimiter': s.get('delimiter')}),
        }[s['op']]
        query = {n: v for n, v in (query or {}).items() if v is not None}
        res = client.createSignedUrl(method, b, key, special, s['expires'], headers, query)
        return _capture(server, lambda: _send_like_curl(res.signedUrl, method,
                                                        res.actualSignedRequestHeaders.items(), s.get('body')))
    sse = SseKmsHeader(encryption='kms') if s.get('sse') else None
    ct, meta, sc = s.get('content_type'), s.get('meta'), s.get('storage_class')
    sc = {'STANDARD_IA': 'WARM'}.get(sc, sc)
    call = {
        'PutObject': lambda: client.putContent(b, k, s['body'], meta, PutObjectHeader(
            contentType=ct, storageClass=sc, sseHeader=sse)),
        'GetObject': lambda: client.getObject(b, k, loadStreamInMemory=True),
        'HeadObject': lambda: client.getObjectMetadata(b, k),
        'CreateMultipartUpload': lambda: client.initiateMultipartUpload(
            b, k, storageClass=sc, metadata=meta, contentType=ct, sseHeader=sse),
        'UploadPart': lambda: client.uploadPart(b, k, s['part'], s['upload_id'], content=s['body']),
        'CompleteMultipartUpload': lambda: client.completeMultipartUpload(b, k, s['upload_id'],
            CompleteMultipartUploadRequest(parts=[CompletePart(partNum=s['part'], etag='"%032x"' % s['part'])])),
        'ListObjects': lambda: client.listObjects(b, prefix=s['prefix'], delimiter=s['delimiter']),
        'DeleteObjects': lambda: client.deleteObjects(b, DeleteObjectsRequest(
            quiet=True, objects=[Object(key=x) for x in s['keys']])),
        'CopyObject': lambda: client.copyObject(s['src'][0], s['src'][1], b, k, meta, CopyObjectHeader(
            directive='REPLACE' if meta else None, contentType=ct)),
    }[s['op']]
    return _capture(server, call)


# ---------------------------------------------------------------- case assembly
def _header(headers, name):
    return next((v for n, v in headers if n.lower() == name.lower()), None)


def _query(target):
    """[(decoded name, start, end)] for each query parameter's raw value span in target."""
    out, q = [], target.find('?')
    if q < 0:
        return out
    pos = q + 1
    for part in target[q + 1:].split('&'):
        name, eq, _ = part.partition('=')
        out.append((urllib.parse.unquote(name), pos + len(name) + len(eq), pos + len(part)))
        pos += len(part) + 1
    return out


def _signed_at(scheme, s, target, headers):
    params = {n: urllib.parse.unquote(target[a:b]) for n, a, b in _query(target)}
    if scheme.startswith('sigv4'):
        stamp = params.get('X-Amz-Date') or _header(headers, 'X-Amz-Date')
        return calendar.timegm(time.strptime(stamp, '%Y%m%dT%H%M%SZ'))
    if scheme.endswith('-query'):
        return int(params['Expires']) - s['expires']
    return int(parsedate_to_datetime(_header(headers, 'Date')).timestamp())


def build_case(case_id, scheme, s, rec):
    method, target, headers, body = rec
    sha = _header(headers, 'X-Amz-Content-SHA256') or ''
    signed_payload = len(sha) == 64 and all(c in string.hexdigits for c in sha)
    if signed_payload:
        assert sha == hashlib.sha256(body).hexdigest(), 'recorded body differs from signed payload'
    return {'id': case_id, 'scheme': scheme, 'access_key': s['ak'], 'secret_key': s['sk'], 'region': s['region'],
            'signed_at': _signed_at(scheme, s, target, headers), 'method': method, 'target': target,
            'headers': headers, 'body_sha256': sha if signed_payload else None,
            'virtual_host_base': VHOST_BASE if s['virtual'] else None, 'expect': 'valid', 'tamper': None}


def _flip(rng, text, lo, hi, base=None, hexonly=False, decoded_limit=None):
    """Change one ASCII alphanumeric in text[lo:hi] (outside %XX escapes) to another of its kind
    (the last digit of an all-digit span).  decoded_limit: only the first n decoded characters
    qualify.  Returns (text, description with the offset from base, default lo) or None."""
    spots, i, n = [], lo, 0
    while i < hi and (decoded_limit is None or n < decoded_limit):
        if text[i] == '%':
            i, n = i + 3, n + 1
            continue
        if text[i].isascii() and text[i].isalnum():
            spots.append(i)
        i, n = i + 1, n + 1
    if not spots:
        return None
    i = spots[-1] if text[lo:hi].isdigit() else rng.choice(spots)
    old = text[i]
    pool = ('0123456789abcdef' if hexonly else string.digits[1:] if old.isdigit()
            else string.ascii_lowercase if old.islower() else string.ascii_uppercase)
    new = rng.choice([c for c in pool if c != old])
    return text[:i] + new + text[i + 1:], f"{old!r}->{new!r} at offset {i - (lo if base is None else base)}"


def tampers(rng, case, s):
    """Invalid variants of a valid case, each with one character of one signed part changed."""
    scheme, target, headers, params = case['scheme'], case['target'], case['headers'], _query(case['target'])
    hidx = {n.lower(): i for i, (n, _) in enumerate(headers)}
    spans = []  # (what, header index or None for the target, lo, hi, base for the reported offset)

    path_end, key_start = len(target.split('?')[0]), 1 if s['virtual'] else len(s['bucket']) + 2
    if path_end > key_start:
        spans.append(('key char in path', None, key_start, path_end, None))
    elif not s['virtual']:
        spans.append(('bucket char in path', None, 1, key_start - 1, None))
    else:
        spans.append(('bucket char in Host', hidx['host'], 0, len(s['bucket']), None))

    if scheme.startswith('sigv4'):  # all but the signature (and auth parameters not worth flipping)
        skip = ('X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Algorithm', 'X-Amz-SignedHeaders')
        signed = [p for p in params if p[0] not in skip]
    else:  # Expires and the sub-resources each signer puts in its string to sign
        signed = [p for p in params if p[0] == 'Expires' or (p[0].lower() in OBS_SUBRESOURCES
                  if scheme.startswith('obs') else p[0] in HmacV1Auth.QSAOfInterest)]
    signed = [p for p in signed if any(c.isascii() and c.isalnum() for c in target[p[1]:p[2]])]
    if signed:
        name, a, b = rng.choice(signed)
        lo, hi = (a + 14, a + 15) if name == 'X-Amz-Date' else (a, b)  # date: the seconds' units digit
        spans.append((f'query {name} value', None, lo, hi, a))

    if scheme == 'sigv4-header':
        names = headers[hidx['authorization']][1].split('SignedHeaders=')[1].split(',')[0].split(';')
    elif scheme == 'sigv4-presigned':
        a, b = next((a, b) for n, a, b in params if n == 'X-Amz-SignedHeaders')
        names = urllib.parse.unquote(target[a:b]).split(';')
    else:  # SigV2 / OBS: Content-Type, x-amz-* / x-obs-*, and Date on header-signed requests
        prefix = 'x-obs-' if scheme.startswith('obs') else 'x-amz-'
        names = [n for n in hidx if n == 'content-type' or n.startswith(prefix)]
        names += ['date'] if scheme.endswith('-header') and prefix + 'date' not in hidx else []
    names = set(names) - {'host', 'x-amz-content-sha256', 'content-md5', 'content-length'}
    candidates = [i for i, (n, v) in enumerate(headers) if n.lower() in names and any(c.isalnum() for c in v)]
    if candidates:
        idx = rng.choice(candidates)
        name, value = headers[idx]
        if name.lower() in ('date', 'x-amz-date', 'x-obs-date'):  # keep it a valid date near the original
            spot = 14 if value.endswith('Z') else value.rfind(' GMT') - 1
            spans.append((f'header {name}', idx, spot, spot + 1, 0))
        else:
            spans.append((f'header {name}', idx, 0, len(value), None))

    if scheme.endswith('-header'):
        auth = headers[hidx['authorization']][1]
        lo = auth.index('Signature=') + 10 if scheme == 'sigv4-header' else auth.rindex(':') + 1
        spans.append(('signature char', hidx['authorization'], lo, len(auth), None))
    else:
        _, a, b = next(p for p in params if p[0] in ('X-Amz-Signature', 'Signature'))
        spans.append(('signature char', None, a, b, None))

    out = []
    for what, idx, lo, hi, base in spans:
        # hex SigV4 signatures stay hex; base64 HMAC-SHA1 keeps its 27th/28th chars (padding bits)
        opts = ({'hexonly': True} if scheme.startswith('sigv4') else {'decoded_limit': 26}) \
            if what == 'signature char' else {}
        res = _flip(rng, target if idx is None else headers[idx][1], lo, hi, base, **opts)
        if res:
            change = {'target': res[0]} if idx is None else \
                {'headers': [[n, res[0] if i == idx else v] for i, (n, v) in enumerate(headers)]}
            out.append({**case, **change, 'id': f"{case['id']}/tamper-{len(out) + 1}", 'expect': 'invalid',
                        'tamper': f'{what} {res[1]}'})
    return out


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('out', nargs='?', help='output file (default: stdout)')
    ap.add_argument('--count', type=int, default=300, help='number of valid cases (default 300)')
    ap.add_argument('--seed', type=int, default=20251124)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    for var in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'):
        os.environ.pop(var, None)
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *a, **kw):  # BUCKET.s3.example.test -> 127.0.0.1, in this process only
        if isinstance(host, str) and (host == VHOST_BASE or host.endswith('.' + VHOST_BASE)):
            host = '127.0.0.1'
        return real_getaddrinfo(host, *a, **kw)
    socket.getaddrinfo = resolve

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Recorder)
    server.captured = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    session = botocore.session.get_session()

    cases, per_scheme = [], {}
    for i in range(args.count):
        scheme = SCHEMES[i % len(SCHEMES)]
        n = per_scheme[scheme] = per_scheme.get(scheme, 0) + 1
        ops = OPS[scheme]
        s = make_spec(rng, scheme, ops[(n - 1) % len(ops)])
        rec = (sign_obs(server, port, scheme, s) if scheme.startswith('obs')
               else sign_botocore(session, server, port, scheme, s))
        case = build_case(f'{scheme}-{n:04d}', scheme, s, rec)
        cases.append(case)
        # own stream per case: tamper picks depend on signature text, which changes with the clock
        cases.extend(tampers(random.Random(f'{args.seed}/{case["id"]}'), case, s))
    server.shutdown()
    server.server_close()

    generator = (f"botocore {botocore.__version__}, "
                 f"esdk-obs-python {importlib.metadata.version('esdk-obs-python')}")
    text = ('{"generator": %s,\n "cases": [\n' % json.dumps(generator)
            + ',\n'.join('  ' + json.dumps(c, ensure_ascii=False) for c in cases) + '\n ]\n}\n')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    valid = sum(c['expect'] == 'valid' for c in cases)
    print(f'{valid} valid, {len(cases) - valid} invalid cases', file=sys.stderr)


if __name__ == '__main__':
    main()
