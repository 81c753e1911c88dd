#!/usr/bin/env python3
"""Differential test of obsgate's SigV4 verifier against botocore's signer.

Random requests — methods, keys with odd bytes, query strings with repeated, empty and
value-less parameters and odd bytes, header values with runs of spaces and tabs, signed
and unsigned payloads — are signed by botocore (S3SigV4Auth in the Authorization header,
S3SigV4QueryAuth as presigned URLs) exactly as botocore's S3 client encodes them. Each is
sent, as a JSON line, to the fuzz package's `sigv4-verdicts` (the gateway's
RequestAuthenticator, through fuzz/Harness/SignatureVerdicts.swift) together with
variants changed in one place: one character of the signature, of a signed header value,
of the path and of a query value. The gateway must accept exactly the requests botocore
signed and refuse every variant; a disagreement is a finding, printed with its request.

Usage: python3 fuzz/differential/sigv4.py [--count N] [--seed S] [--seconds T]
(builds sigv4-verdicts first; stops generating after T seconds, default 120)
Exit status: 0 no disagreement, 1 disagreements, 2 the verdicts program failed.
"""
import argparse
import hashlib
import json
import pathlib
import random
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FUZZ = pathlib.Path(__file__).resolve().parent.parent
VERDICTS = FUZZ / '.build/debug/sigv4-verdicts'
HOST = '127.0.0.1:9000'
REGION = 'us-east-1'
ODD = list(" +%=:@~/!*'()&$,;?#[]\u00e9\u20ac\u4e2d") + ['%2F', '..', '//', '\t']
SUBRESOURCES = ['uploads', 'acl', 'tagging', 'versioning', 'partNumber', 'uploadId', 'versionId', 'delete',
                'list-type', 'prefix', 'marker', 'response-content-type', 'x-id']


def text(rng, lo, hi, odd=0.3):
    letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.'
    return ''.join(rng.choice(ODD) if rng.random() < odd else rng.choice(letters) for _ in range(rng.randint(lo, hi)))


def encode(value):
    """What botocore's S3 serializer sends: UriEncode, '/' kept in paths."""
    return quote(value, safe='-_.~')


def random_request(rng):
    method = rng.choice(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])
    key = text(rng, 1, 40)
    path = '/' + text(rng, 3, 12, odd=0).lower().strip('-_.') + 'b/' + quote(key, safe='/~')
    params = []
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(SUBRESOURCES) if rng.random() < 0.6 else text(rng, 1, 8)
        shape = rng.random()
        if shape < 0.2:
            params.append(encode(name))  # no '='
        elif shape < 0.35:
            params.append(encode(name) + '=')
        else:
            params.append(encode(name) + '=' + encode(text(rng, 0, 16)))
        if rng.random() < 0.2:
            params.append(params[-1].split('=')[0] + '=' + encode(text(rng, 0, 6)))  # a repeated name
    headers = {'Host': HOST}
    for index in range(rng.randint(0, 3)):
        spaces = rng.choice(['', ' ', '  ', '\t', ' \t '])
        headers[f'x-amz-meta-m{index}'] = spaces + text(rng, 1, 10, odd=0) + spaces + ' ' + text(rng, 0, 6, odd=0) + spaces
    if rng.random() < 0.3:
        headers['Content-Type'] = rng.choice(['text/plain', 'application/octet-stream', 'text/plain;  charset=utf-8'])
    if rng.random() < 0.3:
        headers['x-amz-storage-class'] = rng.choice(['STANDARD', 'STANDARD_IA'])
    body = text(rng, 0, 30, odd=0).encode() if method in ('PUT', 'POST') else b''
    return method, path, params, headers, body


def sign(rng, method, path, params, headers, body, access_key, secret_key):
    url = f'http://{HOST}{path}' + ('?' + '&'.join(params) if params else '')
    presigned = rng.random() < 0.4
    # A presigned URL never signs a body (botocore would read one as form parameters).
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=b'' if presigned else body)
    credentials = Credentials(access_key, secret_key)
    if presigned:
        S3SigV4QueryAuth(credentials, 's3', REGION, expires=300).add_auth(request)
    else:
        if rng.random() < 0.5:
            request.headers['X-Amz-Content-SHA256'] = 'UNSIGNED-PAYLOAD'
        S3SigV4Auth(credentials, 's3', REGION).add_auth(request)
    parts = urlsplit(request.url)
    target = parts.path + ('?' + parts.query if parts.query else '')
    return presigned, target, [[name, value] for name, value in request.headers.items()]


def changed(value, at):
    """`value` with the character at `at` replaced by another one (a hex digit stays one)."""
    return value[:at] + ('1' if value[at] == '0' else '0') + value[at + 1:]


def variants(case, presigned):
    """(what, case) pairs, each changed in one signed place."""
    out = []
    headers = case['headers']
    if presigned:
        target = case['target']
        at = target.index('X-Amz-Signature=') + len('X-Amz-Signature=')
        out.append(('signature', dict(case, target=changed(target, at))))
    else:
        index = next(i for i, (n, _) in enumerate(headers) if n.lower() == 'authorization')
        value = headers[index][1]
        edited = [list(h) for h in headers]
        edited[index][1] = changed(value, value.index('Signature=') + len('Signature='))
        out.append(('signature', dict(case, headers=edited)))
        signed = [i for i, (n, v) in enumerate(headers) if n.lower().startswith('x-amz-meta-') and v.strip()]
        if signed:
            index = signed[0]
            edited = [list(h) for h in headers]
            value = edited[index][1]
            at = len(value) - len(value.lstrip())
            edited[index][1] = changed(value, at)
            out.append(('header value', dict(case, headers=edited)))
    target = case['target']
    out.append(('path', dict(case, target=changed(target, 1))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=2000)
    parser.add_argument('--seed', type=int, default=int(time.time()))
    parser.add_argument('--seconds', type=float, default=120)
    arguments = parser.parse_args()
    subprocess.run(['nice', '-n', '19', 'swift', 'build', '-c', 'debug', '-j', '1', '--scratch-path', '.build',
                    '--product', 'sigv4-verdicts', '-Xswiftc', '-sanitize=fuzzer,address', '-Xswiftc',
                    '-parse-as-library'], cwd=FUZZ, check=True, stdout=subprocess.DEVNULL)
    rng = random.Random(arguments.seed)
    deadline = time.monotonic() + arguments.seconds
    cases, expected, originals = [], {}, 0
    while originals < arguments.count and time.monotonic() < deadline:
        originals += 1
        access_key = 'AK' + text(rng, 8, 18, odd=0).upper().replace('-', '').replace('.', '').replace('_', '')
        secret_key = text(rng, 20, 40, odd=0) + '/+'
        method, path, params, headers, body = random_request(rng)
        now = time.time()
        presigned, target, signed_headers = sign(rng, method, path, params, headers, body, access_key, secret_key)
        case = {'id': f'c{len(cases)}', 'now': now + 1, 'region': REGION, 'virtual_host_base': None,
                'access_key': access_key, 'secret_key': secret_key, 'method': method, 'target': target,
                'headers': signed_headers, 'presigned': presigned}
        cases.append(case)
        expected[case['id']] = ('accepted', 'as signed', case)
        for index, (what, variant) in enumerate(variants(case, presigned)):
            variant = dict(variant, id=f"{case['id']}v{index}")
            cases.append(variant)
            expected[variant['id']] = ('refused', f'{what} changed', variant)
    lines = '\n'.join(json.dumps({k: v for k, v in c.items() if k != 'presigned'}) for c in cases) + '\n'
    environment = {'SWIFT_BACKTRACE': 'enable=no', 'PATH': '/usr/bin:/bin'}
    result = subprocess.run(['nice', '-n', '19', str(VERDICTS)], input=lines.encode(), capture_output=True,
                            env=environment)
    if result.returncode != 0:
        print(f'sigv4-verdicts failed ({result.returncode}): {result.stderr.decode()[-2000:]}')
        return 2
    answers = [json.loads(line) for line in result.stdout.decode().splitlines() if line.startswith('{')]
    disagreements = 0
    for answer in answers:
        want, what, case = expected[answer['id']]
        if answer['verdict'] != want:
            disagreements += 1
            print(f"DISAGREEMENT {answer['id']} ({what}): botocore says {want}, obsgate {answer['verdict']} "
                  f"{answer['code'] or ''}\n  {json.dumps(case)}")
    presigned = sum(1 for c in cases if c.get('presigned') and 'v' not in c['id'])
    accepted = sum(1 for answer in answers if answer['verdict'] == 'accepted')
    print(f'sigv4 differential (seed {arguments.seed}): {originals} requests signed by botocore '
          f'({presigned} presigned), {len(cases) - originals} one-place variants; obsgate accepted {accepted} '
          f'and refused {len(answers) - accepted} of {len(answers)} verdicts; {disagreements} disagreements')
    return 1 if disagreements or len(answers) != len(cases) else 0


if __name__ == '__main__':
    sys.exit(main())
