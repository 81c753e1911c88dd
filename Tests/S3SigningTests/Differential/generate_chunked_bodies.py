#!/usr/bin/env python3
"""Generate aws-chunked upload bodies signed by real AWS signers, for obsgate's
Swift incremental body verifier (differential tests).

Usage:  generate_chunked_bodies.py OUT.json [--self-check | --check-only]
  (default)     write the cases to OUT.json
  --self-check  write them, then re-load OUT.json and verify it
  --check-only  verify an existing OUT.json
Needs the pins in scripts/requirements-test.txt (awscrt, botocore), `openssl`
on PATH, and a free port 127.0.0.1:18443 (else an ephemeral one, so botocore
cases then differ in host and signatures from run to run).

Signers
  * awscrt (aws-c-auth): seed signature through the public aws_sign_request.
    awscrt's Python API has no chunk or trailer signing, and the C entry points
    aws_signable_new_chunk/_trailing_headers are not linked into _awscrt.  So
    this script hands aws-c-auth's own aws_sign_request_aws (found by name in
    _awscrt's ELF symbol table) a signable built with ctypes, with the signature
    type AWS_ST_HTTP_REQUEST_CHUNK (2) or _TRAILING_HEADERS (6).  aws-c-auth
    computes every HMAC; this script only frames the body.  Self-check proves
    the plumbing on AWS's published sigv4-streaming example.
  * botocore: PutObject with ChecksumAlgorithm over https to a local TLS server;
    botocore itself chooses STREAMING-UNSIGNED-PAYLOAD-TRAILER, frames the body
    (AwsChunkedWrapper; chunk size set to 64 KiB / 8 KiB here) and signs the
    seed.  The HTTP Transfer-Encoding: chunked layer is removed; body_base64 is
    the aws-chunked body inside it.  The clock is pinned, and the seed is
    signed by botocore's pure-Python S3SigV4Auth (not its awscrt-backed default).

Wire grammar (CRLF = \\r\\n, HEX = lowercase hex size, SIG = 64 lowercase hex)
  STREAMING-AWS4-HMAC-SHA256-PAYLOAD:
    { HEX ";chunk-signature=" SIG CRLF DATA CRLF }  "0;chunk-signature=" SIG CRLF CRLF
  STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER:
    { same data chunks }  "0;chunk-signature=" SIG CRLF
    NAME ":" B64 CRLF  "x-amz-trailer-signature:" SIG CRLF  CRLF
  STREAMING-UNSIGNED-PAYLOAD-TRAILER (botocore):
    { HEX CRLF DATA CRLF }  "0" CRLF  NAME ":" B64 CRLF  CRLF
Chunk i's signature chains from signature i-1 (the seed for i=0); the final
0-length chunk is signed too; the trailer signature chains from it and covers
the canonical trailer "NAME:B64\n" (aws-c-auth's AWS4-HMAC-SHA256-TRAILER).

JSON: {"generator", "versions", "cases": [case...]}; each case has
  id, content_sha256, access_key, secret_key, region, amz_date,
  seed_signature (hex, from Authorization), headers [[name, value]...],
  method, target, host, body_base64 (aws-chunked body), decoded_base64,
  trailer {name, value} | null, expect "valid" | "invalid",
  corruption null | {offset (byte in body), chunk_index (chunk whose data or
  header holds it; null for the trailer), what}.
"""
import base64, ctypes as C, datetime, http.server, json, os, random, re
import ssl, struct, subprocess, sys, tempfile, threading, warnings
import _awscrt
import awscrt, awscrt.auth as A, awscrt.checksums as CK, awscrt.crypto as CY, awscrt.http as H
import botocore, botocore.auth, botocore.config, botocore.httpchecksum, botocore.session

SIGNED, SIGNED_TR = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TR = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
AK, SK, REGION = "AKIAOBSGATEDIFF00001", "obsgateDifferentialSecretKey/0123456789ab", "us-east-1"
DATE = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.timezone.utc)
HOST, PORT = "s3.obsgate.test", 18443
ST_CHUNK, ST_TRAILER = 2, 6            # enum aws_signature_type in aws-c-auth
CFG_TYPE_OFF, CFG_CREDS_OFF, CFG_PROV_OFF, CFG_SIZE = 8, 232, 240, 256  # aws_signing_config_aws


class Cursor(C.Structure): _fields_ = [("len", C.c_size_t), ("ptr", C.c_void_p)]
class Pair(C.Structure): _fields_ = [("name", Cursor), ("value", Cursor)]
class ArrayList(C.Structure):
    _fields_ = [("alloc", C.c_void_p), ("cur", C.c_size_t), ("len", C.c_size_t), ("item", C.c_size_t), ("data", C.c_void_p)]
GETP = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.POINTER(Cursor))
GETL = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.POINTER(C.c_void_p))
GETS = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(C.c_void_p))
DESTROY = C.CFUNCTYPE(None, C.c_void_p)
DONE = C.CFUNCTYPE(None, C.c_void_p, C.c_int, C.c_void_p)
class VTable(C.Structure): _fields_ = [("gp", GETP), ("gl", GETL), ("gs", GETS), ("d", DESTROY)]
class Signable(C.Structure): _fields_ = [("alloc", C.c_void_p), ("impl", C.c_void_p), ("vt", C.POINTER(VTable))]


class CrtStreamSigner:
    """Drives aws-c-auth's chunk / trailing-header signing inside _awscrt."""
    NAMES = ["aws_py_get_allocator", "aws_input_stream_new_from_cursor", "aws_input_stream_release",
             "aws_sign_request_aws", "aws_signing_result_get_property", "g_aws_signature_property_name",
             "g_aws_previous_signature_property_name", "g_aws_http_headers_property_list_name"]

    def __init__(self):
        syms = self._elf_symbols(_awscrt.__file__, set(self.NAMES))
        missing = set(self.NAMES) - set(syms)
        if missing:
            sys.exit(f"awscrt {awscrt.__version__}: symbols not found in _awscrt: {sorted(missing)}")
        self.lib = lib = C.PyDLL(_awscrt.__file__)
        base = C.cast(lib.aws_py_get_allocator, C.c_void_p).value - syms["aws_py_get_allocator"]
        at = lambda n, res, *args: C.CFUNCTYPE(res, *args)(base + syms[n])
        self.new_stream = at("aws_input_stream_new_from_cursor", C.c_void_p, C.c_void_p, C.POINTER(Cursor))
        self.release_stream = at("aws_input_stream_release", C.c_void_p, C.c_void_p)
        self.sign_aws = at("aws_sign_request_aws", C.c_int, C.c_void_p, C.c_void_p, C.c_void_p, DONE, C.c_void_p)
        self.get_prop = at("aws_signing_result_get_property", C.c_int, C.c_void_p, C.c_void_p, C.POINTER(C.c_void_p))
        glob = lambda n: C.c_void_p.from_address(base + syms[n]).value   # const struct aws_string *
        self.sig_name = glob("g_aws_signature_property_name")
        self.prev_name = self._str(glob("g_aws_previous_signature_property_name"))
        self.hdrs_name = self._str(glob("g_aws_http_headers_property_list_name"))
        lib.aws_py_get_allocator.restype = C.c_void_p
        self.alloc = lib.aws_py_get_allocator()
        for f in ("aws_py_get_signing_config", "aws_py_get_credentials", "aws_py_get_credentials_provider"):
            getattr(lib, f).restype, getattr(lib, f).argtypes = C.c_void_p, [C.py_object]

    @staticmethod
    def _elf_symbols(path, wanted):
        data = open(path, "rb").read()
        shoff, = struct.unpack_from("<Q", data, 0x28)
        entsize, num = struct.unpack_from("<HH", data, 0x3A)
        secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * entsize) for i in range(num)]
        out = {}
        for s in (s for s in secs if s[1] == 2):          # SHT_SYMTAB
            strtab = secs[s[6]][4]
            for off in range(s[4], s[4] + s[5], 24):
                name_off, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", data, off)
                start = strtab + name_off
                name = data[start:data.index(b"\0", start)].decode()
                if name in wanted: out[name] = value
        return out

    @staticmethod
    def _str(p):                                          # struct aws_string {alloc, len, bytes[]}
        return C.string_at(p + 16, C.c_size_t.from_address(p + 8).value)

    def sign(self, kind, prev_sig, date, ak, sk, region=REGION, chunk=None, trailers=None):
        prov, creds = A.AwsCredentialsProvider.new_static(ak, sk), A.AwsCredentials(ak, sk)
        pycfg = A.AwsSigningConfig(credentials_provider=prov, region=region, service="s3", date=date)
        cfg = C.create_string_buffer(CFG_SIZE)
        C.memmove(cfg, self.lib.aws_py_get_signing_config(pycfg), CFG_SIZE)
        assert C.c_void_p.from_buffer(cfg, CFG_PROV_OFF).value == self.lib.aws_py_get_credentials_provider(prov)
        assert C.c_int.from_buffer(cfg, CFG_TYPE_OFF).value == 0
        C.c_int.from_buffer(cfg, CFG_TYPE_OFF).value = kind
        C.c_void_p.from_buffer(cfg, CFG_CREDS_OFF).value = self.lib.aws_py_get_credentials(creds)
        keep, prev = [], C.create_string_buffer(prev_sig.encode(), len(prev_sig))
        def buf(b):
            keep.append(C.create_string_buffer(b, max(1, len(b))))
            return Cursor(len(b), C.addressof(keep[-1]))
        cur = buf(chunk if chunk is not None else b"")
        stream = self.new_stream(self.alloc, C.byref(cur)) if chunk is not None else None
        pairs = (Pair * max(1, len(trailers or [])))(*[Pair(buf(n.encode()), buf(v.encode())) for n, v in trailers or []])
        hlist = ArrayList(None, C.sizeof(pairs), len(trailers or []), C.sizeof(Pair), C.addressof(pairs))
        def get_property(_, name, out):                   # only "previous-signature" is asked for
            if self._str(name) != self.prev_name: return -1
            out[0].len, out[0].ptr = len(prev_sig), C.addressof(prev); return 0
        def get_property_list(_, name, out):              # trailing headers as "headers"
            if trailers is None or self._str(name) != self.hdrs_name: return -1
            out[0] = C.addressof(hlist); return 0
        def get_payload_stream(_, out):
            out[0] = stream; return 0
        vt = VTable(GETP(get_property), GETL(get_property_list), GETS(get_payload_stream), DESTROY(lambda _: None))
        signable, res = Signable(self.alloc, None, C.pointer(vt)), {}
        def done(result, err, _):
            res["err"] = err
            out = C.c_void_p()
            if not err and self.get_prop(result, self.sig_name, C.byref(out)) == 0:
                res["sig"] = self._str(out.value).decode()
        cb = DONE(done)                                   # aws-c-auth calls it before returning
        rc = self.sign_aws(self.alloc, C.addressof(signable), cfg, cb, None)
        if stream: self.release_stream(stream)
        if rc or "sig" not in res:
            raise RuntimeError(f"aws-c-auth signing failed rc={rc} {res}")
        return res["sig"]


def crt_seed(method, target, headers, body_value, date, ak, sk):
    """Sign the request headers with awscrt's public API; returns the signed header list."""
    prov = A.AwsCredentialsProvider.new_static(ak, sk)
    cfg = A.AwsSigningConfig(credentials_provider=prov, region=REGION, service="s3", date=date,
                             signed_body_value=body_value, use_double_uri_encode=False,
                             should_normalize_uri_path=False,
                             signed_body_header_type=A.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256)
    req = A.aws_sign_request(H.HttpRequest(method, target, H.HttpHeaders(headers)), cfg).result()
    return [list(h) for h in req.headers]


def checksum(algo, data):
    """x-amz-checksum-* value computed by awscrt (awscrt.checksums / awscrt.crypto)."""
    if algo in ("crc32", "crc32c", "crc64nvme"):
        raw = getattr(CK, algo)(data).to_bytes(8 if algo == "crc64nvme" else 4, "big")
    else:
        h = getattr(CY.Hash, algo + "_new")(); h.update(data); raw = h.digest()
    return base64.b64encode(raw).decode()


def parse_body(body, form):
    """Split an aws-chunked body: chunks [{size, sig, sig_off, data_off}], trailers, trailer sig."""
    pos, chunks, trailers, tsig = 0, [], [], None
    def line():
        nonlocal pos
        end = body.index(b"\r\n", pos)
        start, pos = pos, end + 2
        return body[start:end].decode(), start
    while True:
        text, start = line()
        m = re.fullmatch(r"([0-9a-f]+)(;chunk-signature=([0-9a-f]{64}))?", text)
        if not m or (m.group(3) is None) != (form == UNSIGNED_TR):
            raise ValueError(f"bad chunk header {text!r}")
        size = int(m.group(1), 16)
        chunks.append({"size": size, "sig": m.group(3), "sig_off": start + len(m.group(1)) + 17, "data_off": pos})
        if size == 0: break
        if body[pos + size:pos + size + 2] != b"\r\n": raise ValueError("missing CRLF after chunk data")
        pos += size + 2
    while form != SIGNED:
        text, start = line()
        if not text: break
        name, value = text.split(":", 1)
        if name == "x-amz-trailer-signature":
            tsig = {"value": value, "off": start + len(name) + 1}
        else:
            trailers.append({"name": name, "value": value, "off": start + len(name) + 1})
    if form == SIGNED and line()[0] != "": raise ValueError("missing final CRLF")
    if pos != len(body): raise ValueError("bytes after the end of the body")
    return chunks, trailers, tsig


def frame(chunks, sigs, trailer=None, tsig=None):
    out = b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(c), s.encode(), c) for c, s in zip(chunks, sigs))
    out += b"0;chunk-signature=%s\r\n" % sigs[-1].encode()
    if trailer:
        out += b"%s:%s\r\nx-amz-trailer-signature:%s\r\n" % (trailer[0].encode(), trailer[1].encode(), tsig.encode())
    return out + b"\r\n"


def signed_case(signer, cid, form, payload, chunk_size, algo=None, host=HOST, target="/bucket/key",
                date=DATE, ak=AK, sk=SK, extra=()):
    chunks = [payload[i:i + chunk_size] for i in range(0, len(payload), chunk_size)]
    trailer = ("x-amz-checksum-" + algo, checksum(algo, payload)) if form == SIGNED_TR else None
    wire_len = len(frame(chunks, ["0" * 64] * (len(chunks) + 1), trailer, "0" * 64))
    headers = [("Host", host), *extra, ("Content-Encoding", "aws-chunked"), ("Content-Length", str(wire_len)),
               ("x-amz-decoded-content-length", str(len(payload)))] + ([("x-amz-trailer", trailer[0])] if trailer else [])
    signed = crt_seed("PUT", target, headers, form, date, ak, sk)
    seed = dict(signed)["Authorization"].rsplit("Signature=", 1)[1]
    sigs, prev = [], seed
    for c in chunks + [b""]:
        prev = signer.sign(ST_CHUNK, prev, date, ak, sk, chunk=c)
        sigs.append(prev)
    tsig = signer.sign(ST_TRAILER, prev, date, ak, sk, trailers=[trailer]) if trailer else None
    return make_case(cid, form, signed, host, target, frame(chunks, sigs, trailer, tsig), payload, ak, sk)


def make_case(cid, form, headers, host, target, body, payload, ak=AK, sk=SK):
    hd = {k.lower(): v for k, v in headers}
    auth = hd.get("authorization", "")
    tr = parse_body(body, form)[1]
    return {"id": cid, "content_sha256": form, "access_key": ak, "secret_key": sk, "region": REGION,
            "amz_date": hd["x-amz-date"], "seed_signature": auth.rsplit("Signature=", 1)[1] if auth else None,
            "headers": [list(h) for h in headers], "method": "PUT", "target": target, "host": host,
            "body_base64": base64.b64encode(body).decode(), "decoded_base64": base64.b64encode(payload).decode(),
            "trailer": {"name": tr[0]["name"], "value": tr[0]["value"]} if tr else None,
            "expect": "valid", "corruption": None}


def variant(case, suffix, body, offset, chunk_index, what):
    return dict(case, id=f"{case['id']}-{suffix}", body_base64=base64.b64encode(body).decode(), expect="invalid",
                corruption={"offset": offset, "chunk_index": chunk_index, "what": what})


def invalid_variants(case, signer, flips=(), sig_chunks=(), trailer=False):
    body = base64.b64decode(case["body_base64"])
    chunks, trailers, tsig = parse_body(body, case["content_sha256"])
    out = []
    for ci in flips:                              # one data byte of chunk ci, XOR 0x01
        off = chunks[ci]["data_off"] + chunks[ci]["size"] // 2
        b = bytearray(body); b[off] ^= 1
        out.append(variant(case, f"flip-chunk{ci}", bytes(b), off, ci, f"data byte of chunk {ci} XOR 0x01"))
    def digit(off, suffix, ci, what):
        b = bytearray(body); b[off] = ord("1") if b[off] == ord("0") else ord("0")
        out.append(variant(case, suffix, bytes(b), off, ci, what))
    for ci in sig_chunks:
        ci = ci % len(chunks)
        digit(chunks[ci]["sig_off"] + 5, f"sig-chunk{ci}", ci, f"hex digit of chunk {ci}'s chunk-signature changed")
    if trailer:
        t = trailers[0]
        raw = bytearray(base64.b64decode(t["value"])); raw[0] ^= 1
        wrong = base64.b64encode(bytes(raw)).decode()
        b = body[:t["off"]] + wrong.encode() + body[t["off"] + len(wrong):]
        what = "trailer checksum wrong (well-formed base64, right length)"
        if tsig:                                  # re-sign the wrong value so only the checksum is off
            s = signer.sign(ST_TRAILER, chunks[-1]["sig"], DATE, case["access_key"], case["secret_key"],
                            trailers=[(t["name"], wrong)])
            b = b[:tsig["off"]] + s.encode() + b[tsig["off"] + 64:]
            what += "; trailer signature is valid over the wrong value"
        out.append(variant(case, "bad-trailer-checksum", b, t["off"], None, what))
        if tsig:
            digit(tsig["off"] + 7, "bad-trailer-signature", None, "hex digit of x-amz-trailer-signature changed")
    return out


class Capture(http.server.BaseHTTPRequestHandler):
    protocol_version, seen = "HTTP/1.1", []
    def log_message(self, *a): pass
    def do_PUT(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":   # undo the HTTP layer
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:                     # last-chunk, then HTTP trailer section
                    while self.rfile.readline() not in (b"\r\n", b""): pass
                    break
                body += self.rfile.read(size)
                assert self.rfile.readline() == b"\r\n"
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Capture.seen.append((list(self.headers.items()), body))
        self.send_response(200)
        self.send_header("ETag", '"0"'); self.send_header("Content-Length", "0"); self.end_headers()


def botocore_cases(specs):
    """specs: [(id, payload, chunk_size, algo)] -> cases captured from botocore PutObject."""
    with tempfile.TemporaryDirectory() as tmp:  # the key and certificate are loaded, then removed
        key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(crt, key)
    try:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Capture)
    except OSError:
        print(f"warning: port {PORT} busy, botocore cases will not be reproducible", file=sys.stderr)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{srv.server_address[1]}"
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: DATE.replace(tzinfo=None)  # pin the clock
    # With awscrt installed botocore signs s3v4 through awscrt; use its own pure-Python signer instead
    # so these seeds come from a second implementation (self-check re-signs them with awscrt).
    botocore.auth.AUTH_TYPE_MAPS["s3v4"] = botocore.auth.S3SigV4Auth
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    client = botocore.session.get_session().create_client(
        "s3", region_name=REGION, endpoint_url=f"https://{host}", verify=False, aws_access_key_id=AK,
        aws_secret_access_key=SK, config=botocore.config.Config(
            s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    cases = []
    try:
        for cid, payload, chunk_size, algo in specs:
            botocore.httpchecksum.AwsChunkedWrapper._DEFAULT_CHUNK_SIZE = chunk_size
            Capture.seen.clear()
            client.put_object(Bucket="bucket", Key="key", Body=payload, ChecksumAlgorithm=algo.upper())
            headers, body = Capture.seen[-1]
            hd = {k.lower(): v for k, v in headers}
            signed = hd["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
            keep = [[k, v] for k, v in headers if k.lower() in signed or k.lower().startswith("x-amz-")
                    or k.lower() in ("authorization", "transfer-encoding", "content-encoding")]
            assert hd["x-amz-content-sha256"] == UNSIGNED_TR, hd
            cases.append(make_case(cid, UNSIGNED_TR, keep, host, "/bucket/key", body, payload))
    finally:
        srv.shutdown()
    return cases


def generate():
    signer, rnd = CrtStreamSigner(), random.Random(20261124)
    data = lambda n: rnd.randbytes(n)
    cases = []
    docs = signed_case(signer, "awscrt-aws-docs-example", SIGNED, b"a" * 66560, 65536,
                       host="s3.amazonaws.com", target="/examplebucket/chunkObject.txt",
                       date=datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc),
                       ak="AKIAIOSFODNN7EXAMPLE", sk="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                       extra=[("x-amz-storage-class", "REDUCED_REDUNDANCY")])
    cases.append(docs)
    sizes = [(0, 65536), (1, 65536), (65536, 65536), (20000, 8192), (204800, 65536)]
    for form, tag in ((SIGNED, "signed"), (SIGNED_TR, "signed-trailer")):
        for n, cs in sizes:
            c = signed_case(signer, f"awscrt-{tag}-crc32c-{n}b-{cs // 1024}k", form, data(n), cs, "crc32c")
            cases.append(c)
            tr = form == SIGNED_TR
            if n == 0:
                cases += invalid_variants(c, signer, sig_chunks=[0], trailer=tr)
            elif n == 1 and not tr:
                cases += invalid_variants(c, signer, flips=[0])
            elif n == 20000:
                cases += invalid_variants(c, signer, flips=[0, 1, 2], sig_chunks=[1, -1], trailer=tr)
        if form == SIGNED_TR:
            for algo in ("crc32", "sha1", "sha256", "crc64nvme"):
                cases.append(signed_case(signer, f"awscrt-{tag}-{algo}-20000b-8k", form, data(20000), 8192, algo))
    specs = [(f"botocore-unsigned-trailer-crc32c-{n}b-{cs // 1024}k", data(n), cs, "crc32c") for n, cs in sizes]
    specs += [(f"botocore-unsigned-trailer-{a}-20000b-8k", data(20000), 8192, a)
              for a in ("crc32", "sha1", "sha256", "crc64nvme")]
    for c in botocore_cases(specs):
        cases.append(c)
        if c["id"].endswith("crc32c-20000b-8k"):
            cases += invalid_variants(c, signer, flips=[1], trailer=True)
        elif c["id"].endswith("crc32c-0b-64k"):
            cases += invalid_variants(c, signer, trailer=True)
    return {"generator": "Tests/S3SigningTests/Differential/generate_chunked_bodies.py",
            "versions": {"awscrt": awscrt.__version__, "botocore": botocore.__version__}, "cases": cases}


def check_case(c, signer):
    """Return the list of problems found by re-running the real signers and awscrt checksums."""
    body, form, errs = base64.b64decode(c["body_base64"]), c["content_sha256"], []
    try:
        chunks, trailers, tsig = parse_body(body, form)
    except ValueError as e:
        return [f"framing: {e}"]
    payload = b"".join(body[k["data_off"]:k["data_off"] + k["size"]] for k in chunks)
    if c["expect"] == "valid" and payload != base64.b64decode(c["decoded_base64"]):
        errs.append("decoded payload differs")
    hd = {k.lower(): v for k, v in c["headers"]}
    signed_names = hd["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    date = datetime.datetime.strptime(c["amz_date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    hdrs = [(k, v) for k, v in c["headers"] if k.lower() in signed_names
            and k.lower() not in ("x-amz-date", "x-amz-content-sha256")]
    again = dict((k.lower(), v) for k, v in crt_seed(c["method"], c["target"], hdrs, form, date,
                                                    c["access_key"], c["secret_key"]))
    if again["authorization"] != hd["authorization"]:
        errs.append("seed signature (awscrt re-sign) differs")
    if int(hd.get("x-amz-decoded-content-length", -1)) != len(payload):
        errs.append("x-amz-decoded-content-length differs")
    if "content-length" in hd and int(hd["content-length"]) != len(body):
        errs.append("content-length differs")
    prev = c["seed_signature"]
    for i, k in enumerate(chunks if form != UNSIGNED_TR else []):
        data = body[k["data_off"]:k["data_off"] + k["size"]]
        prev = signer.sign(ST_CHUNK, prev, date, c["access_key"], c["secret_key"], chunk=data)
        if prev != k["sig"]:
            errs.append(f"chunk {i} signature differs")
            prev = k["sig"]
    for t in trailers:
        algo = t["name"][len("x-amz-checksum-"):]
        if checksum(algo, payload) != t["value"]:
            errs.append(f"trailer {t['name']} checksum differs")
    if tsig and signer.sign(ST_TRAILER, prev, date, c["access_key"], c["secret_key"],
                            trailers=[(t["name"], t["value"]) for t in trailers]) != tsig["value"]:
        errs.append("trailer signature differs")
    if (form != SIGNED) != bool(trailers) or (form == SIGNED_TR) != bool(tsig):
        errs.append("trailer presence does not match the form")
    return errs


def self_check(doc):
    signer = CrtStreamSigner()
    # AWS's published sigv4-streaming example (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html)
    docs = next(c for c in doc["cases"] if c["id"] == "awscrt-aws-docs-example")
    published = ["4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
    got = [docs["seed_signature"]] + [k["sig"] for k in parse_body(base64.b64decode(docs["body_base64"]), SIGNED)[0]]
    failures = [] if got == published else [f"aws docs example: {got} != {published}"]
    for c in doc["cases"]:
        errs, m = check_case(c, signer), re.search(r"-(flip|sig)-chunk(\d+)$|-bad-trailer-(checksum|signature)$", c["id"])
        if c["expect"] == "invalid":              # the first problem found must be the intended one
            want = (f"chunk {m.group(2)} signature differs" if m.group(2) and c["content_sha256"] != UNSIGNED_TR
                    else "trailer signature differs" if m.group(3) == "signature"
                    else f"trailer {c['trailer']['name']} checksum differs")
            ok = errs[:1] == [want] and (m.group(3) is None or len(errs) == 1)
        else:
            ok = not errs
        if not ok:
            failures.append(f"{c['id']} ({c['expect']}): {errs or 'no problem found'}")
    print(f"self-check: {len(doc['cases']) - len(failures)} passed, {len(failures)} failed")
    for f in failures:
        print("  FAIL", f)
    return not failures


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    path, flags = sys.argv[1], set(sys.argv[2:])
    if "--check-only" not in flags:
        doc = generate()
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"wrote {len(doc['cases'])} cases, {os.path.getsize(path)} bytes to {path}")
    if flags & {"--self-check", "--check-only"}:
        with open(path) as f:
            sys.exit(0 if self_check(json.load(f)) else 1)


if __name__ == "__main__":
    main()
