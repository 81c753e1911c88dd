#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, fuzz/corpus/TARGET/seed-*, from real inputs.

- signatures: requests signed by botocore and Huawei's OBS SDK in all six schemes, valid
  and tampered (Tests/S3SigningTests/Differential/generate_signed_requests.py), in the
  text form of fuzz/Harness/SignatureCase.swift;
- chunked: aws-chunked bodies signed here under ChunkedTarget's fixed context, with the
  string to sign of the AWS S3 API reference (no obsgate code involved);
- classifier, dialect, pipeline: request heads of the shapes the SDKs send;
- policy: the shipped policies (policies/*.yaml) and every YAML example of docs/policy.md;
- form: browser forms signed by botocore's generate_presigned_post (SigV4 and SigV2);
- xml: radosgw-shaped multipart answers and S3 bucket configuration bodies.

Files a fuzzer run found (minimised, named crash-* or found-*) are kept; seeds are
rewritten. Usage: python3 fuzz/corpus/generate_seeds.py
"""
import base64
import binascii
import hashlib
import hmac
import json
import pathlib
import re
import struct
import subprocess
import sys
import tempfile

from botocore.auth import HmacV1QueryAuth  # noqa: F401  (botocore must be importable)
import botocore.session

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# FuzzGateway's client key (fuzz/Harness/FuzzGateway.swift).
CLIENT_KEY = 'FUZZCLIENT0000000001'
CLIENT_SECRET = 'fuzz-client-secret/with+symbols='


def write(target, name, data):
    folder = HERE / target
    folder.mkdir(exist_ok=True)
    (folder / f'seed-{name}').write_bytes(data if isinstance(data, bytes) else data.encode())


def clear_seeds():
    for path in HERE.glob('*/seed-*'):
        path.unlink()


def head(method, target, headers, body=''):
    return f'{method} {target} HTTP/1.1\r\n' + ''.join(f'{n}: {v}\r\n' for n, v in headers) + '\r\n' + body


# signatures ---------------------------------------------------------------------------

def signature_seeds():
    generator = ROOT / 'Tests/S3SigningTests/Differential/generate_signed_requests.py'
    with tempfile.NamedTemporaryFile(suffix='.json') as out:
        subprocess.run([sys.executable, str(generator), out.name, '--count', '24', '--seed', '16'], check=True,
                       stderr=subprocess.DEVNULL)
        cases = json.load(open(out.name))['cases']
    tampered = 0
    for case in cases:
        if case['expect'] != 'valid':
            tampered += 1
            if tampered % 6:
                continue
        clock = f"{case['signed_at']} {case['region']}" + (f" {case['virtual_host_base']}" if case['virtual_host_base'] else '')
        text = f"{clock}\n{case['access_key']}\n{case['secret_key']}\n" + head(case['method'], case['target'], case['headers'])
        write('signatures', case['id'].replace('/', '-'), text)


# chunked ------------------------------------------------------------------------------

SECRET, AMZ_DATE, SCOPE = 'fuzz-chunked-secret', '20260101T000000Z', '20260101/us-east-1/s3/aws4_request'
SEED_SIGNATURE = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
EMPTY = hashlib.sha256(b'').hexdigest()


def signing_key():
    key = ('AWS4' + SECRET).encode()
    for part in SCOPE.split('/'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(string_to_sign):
    return hmac.new(signing_key(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def crc32_b64(data):
    return base64.b64encode(struct.pack('>I', binascii.crc32(data))).decode()


def chunked(chunks, signed, trailer):
    out, previous = b'', SEED_SIGNATURE
    for data in chunks + [b'']:
        line = f'{len(data):x}'
        if signed:
            previous = sign('\n'.join(['AWS4-HMAC-SHA256-PAYLOAD', AMZ_DATE, SCOPE, previous, EMPTY,
                                       hashlib.sha256(data).hexdigest()]))
            line += f';chunk-signature={previous}'
        out += line.encode() + b'\r\n' + (data + b'\r\n' if data else b'')
    if trailer:
        field = f'x-amz-checksum-crc32:{crc32_b64(b"".join(chunks))}'
        out += field.encode() + b'\r\n'
        if signed:
            previous = sign('\n'.join(['AWS4-HMAC-SHA256-TRAILER', AMZ_DATE, SCOPE, previous,
                                       hashlib.sha256((field + '\n').encode()).hexdigest()]))
            out += f'x-amz-trailer-signature:{previous}\r\n'.encode()
    return out + b'\r\n'


def chunked_seeds():
    bodies = [[b'hello world'], [b'a' * 100, b'b' * 7], [b'x'], [bytes(range(256))], [b'\r\n0\r\n', b';chunk']]
    for index, chunks in enumerate(bodies):
        size = sum(map(len, chunks))
        write('chunked', f'signed-{index}', f'signed {size}\n'.encode() + chunked(chunks, True, False))
        write('chunked', f'signed-trailer-{index}',
              f'signed-trailer x-amz-checksum-crc32 {size}\n'.encode() + chunked(chunks, True, True))
        write('chunked', f'unsigned-trailer-{index}',
              f'unsigned-trailer x-amz-checksum-crc32\n'.encode() + chunked(chunks, False, True))
        data = b''.join(chunks)
        write('chunked', f'sha256-{index}', f'sha256 {hashlib.sha256(data).hexdigest()}\n'.encode() + data)
    write('chunked', 'unsigned', b'unsigned\nplain body')
    write('chunked', 'signed-cut', b'signed\n' + chunked([b'abc'], True, False)[:-7])


# request heads ------------------------------------------------------------------------

HOST = ('Host', '127.0.0.1:9000')
VHOST = ('Host', 'photos.s3.gateway.test')
HEADS = {
    'get-object': head('GET', '/bucket/some%20key.txt', [HOST, ('Range', 'bytes=0-9')]),
    'get-object-vhost': head('GET', '/dir/a%2Bb~c.txt?versionId=3', [VHOST]),
    'list-v2': head('GET', '/bucket?list-type=2&prefix=a%2F&delimiter=%2F&encoding-type=url', [HOST]),
    'list-buckets': head('GET', '/', [HOST]),
    'initiate': head('POST', '/bucket/big/file.bin?uploads', [HOST, ('x-amz-storage-class', 'STANDARD_IA'),
                                                              ('x-amz-server-side-encryption', 'aws:kms'),
                                                              ('x-amz-server-side-encryption-aws-kms-key-id', 'testkey-1')]),
    'upload-part': head('PUT', '/bucket/big/file.bin?partNumber=2&uploadId=2~abc.f1.dGVzdGVy.n.AAAAAAAAAAAAAAAAAAAAAA',
                        [HOST, ('Content-Length', '0')]),
    'complete': head('POST', '/bucket/k?uploadId=u', [HOST, ('Content-Type', 'application/xml')]),
    'copy': head('PUT', '/bucket/copy', [HOST, ('x-amz-copy-source', '/src/a%20b'), ('x-amz-metadata-directive', 'REPLACE'),
                                         ('x-amz-meta-colour', 'blue')]),
    'put-acl': head('PUT', '/bucket?acl', [VHOST, ('x-amz-acl', 'public-read')]),
    'delete-objects': head('POST', '/bucket?delete', [HOST, ('Content-MD5', '1B2M2Y8AsgTpgAmY7PhCfg==')]),
    'obs-put': head('PUT', '/bucket/obs', [HOST, ('x-obs-storage-class', 'WARM'), ('x-obs-server-side-encryption', 'kms'),
                                           ('x-obs-server-side-encryption-kms-key-id', 'testkey-1'), ('x-obs-meta-a', 'b')]),
    'obs-append': head('POST', '/bucket/log?append&position=0', [HOST, ('x-obs-acl', 'private')]),
    'presigned': head('GET', '/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2F'
                             'aws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host'
                             '&x-amz-acl=private&X-Amz-Signature=00', [HOST]),
    'preflight': head('OPTIONS', '/bucket/k', [HOST, ('Origin', 'https://app.example'),
                                               ('Access-Control-Request-Method', 'PUT')]),
    'sse-c': head('PUT', '/bucket/k', [HOST, ('x-amz-server-side-encryption-customer-algorithm', 'AES256'),
                                       ('x-amz-server-side-encryption-customer-key', 'a' * 44),
                                       ('x-amz-server-side-encryption-customer-key-md5', 'b' * 24)]),
    'redirect': head('PUT', '/bucket/page', [HOST, ('x-amz-website-redirect-location', '/other'),
                                             ('x-amz-grant-read', 'id=abc')]),
    'bucket-config': head('PUT', '/bucket?lifecycle', [HOST, ('Content-MD5', 'x')]),
}


def head_seeds():
    for name, text in HEADS.items():
        write('classifier', name, text)
        write('dialect', name, text)


def signed(method, target, headers, body=''):
    return head(method, target, [HOST, ('x-fuzz-sign', 'v4')] + headers, body)


def pipeline_seeds():
    initiate_answer = ('HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{}')
    document = ('<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><Key>big</Key>'
                '<UploadId>2~rgw-upload-id</UploadId></InitiateMultipartUploadResult>')
    listing = ('<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>bucket</Bucket>'
               '<Upload><Key>a</Key><UploadId>2~one</UploadId></Upload></ListMultipartUploadsResult>')
    error = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
             '<StringToSign>AWS4-HMAC-SHA256</StringToSign><AWSAccessKeyId>FUZZUPSTREAM00000001</AWSAccessKeyId></Error>')
    separator = '\n=== upstream ===\n'
    seeds = {
        'signed-get': signed('GET', '/bucket/k', []),
        'signed-put': signed('PUT', '/bucket/k', [('Content-Length', '5')], 'hello'),
        'signed-put-aes': signed('PUT', '/bucket/k', [('Content-Length', '2'), ('x-amz-server-side-encryption', 'AES256')], 'hi'),
        'signed-initiate': signed('POST', '/bucket/big?uploads', []) + separator
        + initiate_answer.format(len(document), document),
        'signed-list-uploads': signed('GET', '/bucket?uploads', []) + separator + initiate_answer.format(len(listing), listing),
        'signed-error': signed('GET', '/bucket/k', []) + separator
        + f'HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {len(error)}\r\n\r\n{error}',
        'signed-copy': signed('PUT', '/bucket/k2', [('x-amz-copy-source', '/bucket/k')]),
        'signed-vhost': head('GET', '/k?acl', [VHOST, ('x-fuzz-sign', 'v4')]),
        'signed-chunked': signed('PUT', '/bucket/chunked', [
            ('Content-Encoding', 'aws-chunked'), ('x-amz-content-sha256', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'),
            ('x-amz-trailer', 'x-amz-checksum-crc32'), ('x-amz-decoded-content-length', '11'),
            ('Content-Length', str(len(chunked([b'hello world'], False, True))))],
            chunked([b'hello world'], False, True).decode()),
        'signed-expect': signed('PUT', '/bucket/k', [('Content-Length', '3'), ('Expect', '100-continue')], 'abc'),
        'pipelined': head('GET', '/a/1', [HOST]) + head('HEAD', '/b/2', [HOST]),
        'unsigned-get': HEADS['get-object'],
        'preflight': HEADS['preflight'],
        'smuggle-cl-te': head('PUT', '/bkt/k', [HOST, ('Content-Length', '5'), ('Transfer-Encoding', 'chunked')], '0\r\n\r\n'),
        'chunked-te': signed('PUT', '/bucket/te', [('Transfer-Encoding', 'chunked')], '3\r\nabc\r\n0\r\n\r\n'),
    }
    for name, text in seeds.items():
        write('pipeline', name, text)


# policy -------------------------------------------------------------------------------

def policy_seeds():
    for path in sorted((ROOT / 'policies').glob('*.yaml')):
        write('policy', path.stem, path.read_bytes())
    examples = re.findall(r'```yaml\n(.*?)```', (ROOT / 'docs/policy.md').read_text(), re.S)
    for index, example in enumerate(examples):
        write('policy', f'docs-{index}', example)


# form ---------------------------------------------------------------------------------

def multipart(fields, file_name='f.txt', data='file contents', boundary='----fuzzboundary'):
    body = ''.join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n' for n, v in fields)
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
             f'Content-Type: text/plain\r\n\r\n{data}\r\n--{boundary}--\r\n')
    return f'multipart/form-data; boundary={boundary}\n' + body


def form_seeds():
    session = botocore.session.get_session()
    for version in ['s3v4', 's3']:
        client = session.create_client('s3', region_name='us-east-1', aws_access_key_id=CLIENT_KEY,
                                       aws_secret_access_key=CLIENT_SECRET, endpoint_url='http://127.0.0.1:9000',
                                       config=botocore.config.Config(signature_version=version))
        post = client.generate_presigned_post(
            'uploads', 'user/${filename}', ExpiresIn=600,
            Fields={'Content-Type': 'text/plain', 'x-amz-meta-team': 'qa', 'success_action_status': '201'},
            Conditions=[{'Content-Type': 'text/plain'}, {'x-amz-meta-team': 'qa'}, {'success_action_status': '201'},
                        ['starts-with', '$key', 'user/'], ['content-length-range', 0, 1024]])
        fields = list(post['fields'].items())
        write('form', f'botocore-{version}', multipart(fields))
        asked = [(n, 'sign-me' if n in ('x-amz-signature', 'signature') else v) for n, v in fields]
        write('form', f'sign-me-{version}', multipart(asked, file_name='C:\\dir\\a "b".txt'))
    conditions = {'expiration': '2026-01-01T00:10:00.000Z',
                  'conditions': [{'bucket': 'uploads'}, ['starts-with', '$key', ''], {'x-amz-algorithm': 'AWS4-HMAC-SHA256'},
                                 {'x-amz-credential': f'{CLIENT_KEY}/20260101/us-east-1/s3/aws4_request'},
                                 {'x-amz-date': '20260101T000000Z'}, ['eq', '$acl', 'private'],
                                 ['starts-with', '$Content-Type', 'image/']]}
    policy = base64.b64encode(json.dumps(conditions).encode()).decode()
    fields = [('key', 'k'), ('acl', 'private'), ('Content-Type', 'image/png'), ('x-amz-algorithm', 'AWS4-HMAC-SHA256'),
              ('x-amz-credential', f'{CLIENT_KEY}/20260101/us-east-1/s3/aws4_request'), ('x-amz-date', '20260101T000000Z'),
              ('policy', policy), ('x-amz-signature', 'sign-me')]
    write('form', 'sign-me-conditions', multipart(fields))
    write('form', 'quoted-boundary', multipart([('key', 'k')]).replace('boundary=----fuzzboundary', 'boundary="----fuzzboundary"', 1))
    write('form', 'utf8-filename', multipart([('key', 'k')]).replace('filename="f.txt"', "filename*=UTF-8''%E2%82%AC.txt", 1))
    write('form', 'line-break-value', multipart([('key', 'k'), ('x-amz-meta-a', 'one\r\ntwo')]))
    write('form', 'field-after-file', multipart([('key', 'k')]).replace('--\r\n', '\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n----fuzzboundary--\r\n'))
    write('form', 'preamble-epilogue', multipart([('key', 'k')]).replace('\n--', '\npreamble\r\n--', 1) + '\r\n \t\r\n')


# xml ----------------------------------------------------------------------------------

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
XML = {
    'initiate': ('initiate', f'{DECL}<InitiateMultipartUploadResult {NS}><Bucket>bucket</Bucket><Key>key</Key>'
                             '<UploadId>2~XkL3b9p.0QsT</UploadId></InitiateMultipartUploadResult>'),
    'initiate-keepalive': ('initiate', f'  \n\n{DECL}<InitiateMultipartUploadResult><UploadId> 2~a </UploadId>'
                                       '</InitiateMultipartUploadResult>'),
    'list-uploads': ('list-uploads', f'{DECL}<ListMultipartUploadsResult {NS}><Bucket>bucket</Bucket><KeyMarker>a%2F0</KeyMarker>'
                                     '<UploadIdMarker>2~m0</UploadIdMarker><NextKeyMarker>c%20d</NextKeyMarker>'
                                     '<NextUploadIdMarker>2~m1</NextUploadIdMarker><EncodingType>url</EncodingType>'
                                     '<Upload><Key>a%2F1</Key><UploadId>2~one</UploadId><Initiator><ID>rgw</ID></Initiator></Upload>'
                                     '<Upload><Key>hidden%2F2</Key><UploadId>2~two</UploadId></Upload>'
                                     '<Upload><Key>c%20d</Key><UploadId>2~m1</UploadId></Upload></ListMultipartUploadsResult>'),
    'list-parts': ('list-parts', f'{DECL}<ListPartsResult {NS}><Bucket>bucket</Bucket><Key>key</Key><UploadId>2~up</UploadId>'
                                 '<Part><PartNumber>1</PartNumber><ETag>"etag"</ETag><Size>5</Size></Part></ListPartsResult>'),
    'complete': ('complete', f'{DECL}<CompleteMultipartUploadResult {NS}><Location>http://127.0.0.1:8000/bucket/a%20b</Location>'
                             '<Bucket>bucket</Bucket><Key>a b</Key><ETag>"3858f62230ac3c915f300c664312c11f-2"</ETag>'
                             '</CompleteMultipartUploadResult>'),
    'post-response': ('complete', '<PostResponse><Location>http://up/uploads/k</Location><Bucket>uploads</Bucket>'
                                  '<Key>k</Key></PostResponse>'),
    'error': ('complete', f'{DECL}<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message><AWSAccessKeyId>FUZZUPSTREAM00000001'
                          '</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z</StringToSign>'
                          '<CanonicalRequest>GET\n/</CanonicalRequest><HostId/></Error>'),
    'restore': ('restore', '<RestoreRequest><Days>2</Days><GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters>'
                           '</RestoreRequest>'),
    'restore-select': ('restore', '<RestoreRequest><Type>SELECT</Type><OutputLocation><S3><BucketName>b</BucketName>'
                                  '</S3></OutputLocation></RestoreRequest>'),
    'lifecycle': ('bucket lifecycle', f'<LifecycleConfiguration {NS}><Rule><ID>r</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key>'
                                      '<Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Transition><Days>30</Days>'
                                      '<StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>'),
    'encryption': ('bucket encryption', '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>'
                                        '<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>testkey-2</KMSMasterKeyID>'
                                        '</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>'),
    'acl': ('bucket acl', '<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><AccessControlList><Grant>'
                          '<Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>'
                          '<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>'),
    'policy': ('bucket policy', '{"Version":"2012-10-17","Statement":[{"Sid":"open","Effect":"Allow","Principal":"*",'
                                '"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}'),
    'public-access-block': ('bucket publicAccessBlock', '<PublicAccessBlockConfiguration><BlockPublicAcls>false</BlockPublicAcls>'
                                                        '</PublicAccessBlockConfiguration>'),
    'website': ('bucket website', '<WebsiteConfiguration><RedirectAllRequestsTo><HostName>evil.example</HostName>'
                                  '</RedirectAllRequestsTo></WebsiteConfiguration>'),
    'obs-storage-class': ('bucket storageClass', '<StorageClass xmlns="http://obs.myhwclouds.com/doc/2015-06-30/">COLD</StorageClass>'),
    'cdata': ('bucket lifecycle', '<LifecycleConfiguration><Rule><Transition><StorageClass><![CDATA[GLACIER]]></StorageClass>'
                                  '</Transition></Rule></LifecycleConfiguration>'),
}


def xml_seeds():
    for name, (kind, body) in XML.items():
        write('xml', name, f'{kind}\n{body}')


def main():
    clear_seeds()
    signature_seeds()
    chunked_seeds()
    head_seeds()
    pipeline_seeds()
    policy_seeds()
    form_seeds()
    xml_seeds()
    for folder in sorted(p for p in HERE.iterdir() if p.is_dir()):
        print(f'{folder.name}: {len(list(folder.iterdir()))} files')


if __name__ == '__main__':
    main()
