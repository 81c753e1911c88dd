#!/usr/bin/env python3
"""Differential test of obsgate's multipart/form-data reading against Python's parsers.

Random browser form uploads (S3 POST Object bodies) are generated: boundaries of every
RFC 2046 character, quoted or not; part headers in odd case, order and spacing; field
values and file names with line breaks, quotes, backslashes, percent signs and non-ASCII
text; file data with near-delimiters planted in it (`CRLF--boundary` cut short, `LF--boundary`,
`CR--boundary`, `--boundary` at its start); preambles, transport padding and epilogues; and a
quarter of them changed in one random byte. Three reference parsers read each body:

- `email`  — the standard library's MIME parser (BytesParser; compat32 keeps header values as sent);
- `multipart` — PyPI's multipart (PushMultipartParser, as Bottle uses it);
- `python-multipart` — PyPI's python-multipart (what Starlette and FastAPI use).

obsgate's answers come from FuzzHarness' FormVerdicts (the gateway's MultipartFormParser,
PostObjectVerifier and PostObjectRewriter). Two comparisons:

1. **The client's body.** Where obsgate accepts a form, every reference must read the same
   parts: the same field names and values in order, the same file part name, file name,
   Content-Type and bytes. A reference that refuses it, or reads anything else, is a
   disagreement. Where obsgate refuses a form that references accept, that is one of its
   stricter choices (docs/fuzzing.md lists them); it is counted by error code, not flagged.
2. **The body sent upstream.** For a form that also verifies (its `signature` field is
   `sign-me`, which the harness replaces with the real signature), obsgate rewrites it for
   the store. Every reference must read from that body exactly the fields and file
   obsgate announced: a store that read it differently would store what was not verified.

Documented differences, counted but not flagged (obsgate follows the HTML standard, which
is what browsers send): a backslash in a quoted parameter is an ordinary character, and
`%22`, `%0D`, `%0A` in names and file names stay as sent.

Usage:
  forms.py generate --seed S --count N CASES.jsonl
  forms.py compare CASES.jsonl ANSWERS.jsonl      (prints a summary; exit 1 on a disagreement)
FuzzHarnessTests' FormDifferentialTests runs both around the gateway (docs/fuzzing.md).
"""
import argparse
import base64
import email.message
import email.parser
import logging
import email.policy
import json
import random
import re
import sys
from collections import Counter

import multipart
import python_multipart
from python_multipart.multipart import parse_options_header

logging.getLogger('python_multipart').setLevel(logging.CRITICAL)  # it logs every refusal

BUCKET = 'uploads'
CLIENT_KEY = 'FUZZCLIENT0000000001'  # FuzzGateway.clientKey
BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
ODD = [' ', '"', '\\', '%', '%22', '%0D', '%0A', ';', '=', '\r', '\n', '\r\n', '\t', '--', 'é', '€', '中', '/', ':']


# ---------------------------------------------------------------- generating

def text(rng, lo, hi, odd=0.2):
    letters = 'abcdefghijklmnopqrstuvwxyz0123456789-_.'
    return ''.join(rng.choice(ODD) if rng.random() < odd else rng.choice(letters) for _ in range(rng.randint(lo, hi)))


def random_boundary(rng):
    style = rng.random()
    if style < 0.3:
        return '----WebKitFormBoundary' + ''.join(rng.choice('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') for _ in range(16))
    if style < 0.5:
        return ''.join(rng.choice('0123456789abcdef') for _ in range(32))  # urllib3
    if style < 0.6:
        return rng.choice(['a', 'x', '-', '--', 'ab'])
    boundary = ''.join(rng.choice(BCHARS) for _ in range(rng.randint(1, 70)))
    return boundary.rstrip(' ') or 'b'


def content_type(rng, boundary):
    needs_quotes = any(c in boundary for c in " ()<>@,;:\\\"/[]?=")
    value = f'"{boundary}"' if needs_quotes or rng.random() < 0.2 else boundary
    name = rng.choice(['boundary', 'boundary', 'Boundary', 'BOUNDARY'])
    kind = rng.choice(['multipart/form-data', 'multipart/form-data', 'Multipart/Form-Data'])
    parameters = [f'{name}={value}']
    if rng.random() < 0.2:
        parameters.insert(rng.randint(0, 1), 'charset=utf-8')
    return kind + ''.join(rng.choice(['; ', ';', ';  ']) + p for p in parameters)


def planted_data(rng, boundary):
    """File bytes with near-delimiters of this boundary in them."""
    dash_boundary = b'--' + boundary.encode()
    plants = [b'\r', b'\r\n', b'\r\n-', b'\r\n--', b'\r\n' + dash_boundary[:-1], b'\n' + dash_boundary,
              b'\n' + dash_boundary + b'\r\n', b'\r' + dash_boundary + b'\r\n', b'\n' + dash_boundary + b'--\n',
              dash_boundary + b'x', b'x' + dash_boundary, b'\r\n' + dash_boundary[:len(dash_boundary) // 2] + b'y',
              b'\x00', bytes([rng.randrange(256)])]
    # A whole part behind a near-delimiter: a parser that takes it for a delimiter reads a
    # field nobody verified.
    smuggled = b'Content-Disposition: form-data; name="x-amz-server-side-encryption"\r\n\r\nAES256'
    plants += [b'\n' + dash_boundary + b'\r\n' + smuggled, b'\r' + dash_boundary + b'\r\n' + smuggled,
               b'\n' + dash_boundary + b'\n' + smuggled.replace(b'\r\n', b'\n')]
    out = bytearray()
    if rng.random() < 0.1:
        out += rng.choice([dash_boundary, dash_boundary + b'\r\n', dash_boundary[:-1]])
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.15:
            out += rng.choice(plants)
        else:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    return bytes(out)


def disposition(rng, name, filename=None):
    """A Content-Disposition line in one of the spellings clients use."""
    def quoted(value):
        return f'"{value}"'
    parameters = [f'name={quoted(name) if rng.random() < 0.9 or not name.isalnum() else name}']
    if filename is not None:
        if rng.random() < 0.15:
            encoded = ''.join(c if c.isalnum() or c in '.-_' else ''.join(f'%{b:02X}' for b in c.encode()) for c in filename)
            parameters.append(f"filename*=UTF-8''{encoded}")
        else:
            parameters.append(f'filename={quoted(filename)}')
    if rng.random() < 0.2:
        parameters.reverse()
    separator = rng.choice(['; ', ';', ' ; ', ';\t'])
    header = rng.choice(['Content-Disposition', 'content-disposition', 'CONTENT-DISPOSITION'])
    return f'{header}:{rng.choice([" ", "", "  "])}{rng.choice(["form-data", "form-data", "Form-Data"])}{separator}' \
        + separator.join(parameters)


def part(rng, name, value, filename=None, part_type=None, newline='\r\n'):
    lines = [disposition(rng, name, filename)]
    if part_type is not None:
        lines.append(f'Content-Type: {part_type}')
    if rng.random() < 0.1:
        lines.append(rng.choice(['Content-Transfer-Encoding: binary', 'Content-Transfer-Encoding: 8bit',
                                 'X-Extra: 1', 'Content-Transfer-Encoding: base64']))
    if rng.random() < 0.3:
        rng.shuffle(lines)
    head = newline.join(lines).encode() + newline.encode() + newline.encode()
    return head + (value if isinstance(value, bytes) else value.encode())


def policy_for(fields):
    conditions = [{'bucket': BUCKET}] + [['starts-with', '$' + name, ''] for name, _ in fields
                                         if name.lower() not in ('policy', 'signature', 'awsaccesskeyid', 'file')]
    document = {'expiration': '2030-01-01T00:00:00.000Z', 'conditions': conditions}
    return base64.b64encode(json.dumps(document).encode()).decode()


def random_form(rng):
    boundary = random_boundary(rng)
    fields = [('key', 'uploads/' + text(rng, 1, 20, odd=0.05) + rng.choice(['', '${filename}']))]
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(['Content-Type', 'x-amz-meta-note', 'success_action_status', 'acl', 'x-ignore-me',
                           'Cache-Control', text(rng, 1, 12, odd=0.15)])
        value = rng.choice(['text/plain', '201', 'private', text(rng, 0, 30)])
        fields.append((name, value))
    rng.shuffle(fields)
    fields += [('AWSAccessKeyId', CLIENT_KEY), ('policy', policy_for(fields)), ('signature', 'sign-me')]
    filename = rng.choice([None, 'a.txt', 'C:\\dir\\a.txt', 'photo (1).jpg', text(rng, 1, 20)])
    file_type = rng.choice([None, 'application/octet-stream', 'text/plain; charset=utf-8', 'image/png'])
    lf_only = rng.random() < 0.05
    newline = '\n' if lf_only else '\r\n'
    parts = [part(rng, name, value, newline=newline) for name, value in fields]
    parts.append(part(rng, rng.choice(['file', 'file', 'File', 'FILE']), planted_data(rng, boundary), filename, file_type,
                      newline=newline))
    delimiter = (newline + '--' + boundary).encode()

    def padding():  # RFC 2046 transport padding, which some parsers refuse: now and then
        return rng.choice([b' ', b'\t ', b'  ']) if rng.random() < 0.05 else b''
    body = bytearray()
    if rng.random() < 0.15:
        body += rng.choice([b'preamble', b'This is a preamble.\r\n', b'\r\n', text(rng, 0, 20).encode()]) + newline.encode()
    body += b'--' + boundary.encode() + padding() + newline.encode()
    for index, encoded in enumerate(parts):
        if index:
            body += delimiter + padding() + newline.encode()
        body += encoded
    body += delimiter + b'--' + padding()
    if rng.random() < 0.8:
        body += newline.encode()
    if rng.random() < 0.1:
        body += rng.choice([b'\r\n', b'  \r\n', b'epilogue', b'\r\n--' + boundary.encode() + b'--\r\n'])
    if rng.random() < 0.25:
        mutate(rng, body)
    return content_type(rng, boundary), bytes(body)


def mutate(rng, body):
    at = rng.randrange(len(body) + 1)
    edit = rng.random()
    if edit < 0.4 and at < len(body):
        body[at] = rng.choice([rng.randrange(256), 0x0D, 0x0A, 0x2D, 0x22, 0x3B, 0x20])
    elif edit < 0.7 and at < len(body):
        del body[at:at + rng.randint(1, 4)]
    else:
        body[at:at] = rng.choice([b'\r', b'\n', b'\r\n', b'-', b'"', b';', b' ', b'\x00'])


# ---------------------------------------------------------------- the references
# Each reads a body into ('ok', [part...]) or ('refused', why); a part is
# {name, filename, content_type, data} with data in bytes.

def read_email(content_type, body):
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b'Content-Type: ' + content_type.encode() + b'\r\n\r\n' + body)
    if not message.is_multipart():
        return 'refused', 'not multipart'
    defects = list(message.defects)
    parts = []
    for piece in message.get_payload():
        defects += piece.defects
        if piece.is_multipart():
            return 'refused', 'a nested multipart'
        disposition = piece.get('content-disposition')
        if disposition is None or piece.get_content_disposition() != 'form-data':
            return 'refused', 'a part without form-data disposition'
        # BytesParser keeps a header's non-ASCII bytes as surrogates, which get_param turns
        # into U+FFFD; RFC 7578 §5.1 has them UTF-8, so the headers are read again as such.
        headers = email.message.Message()
        for name, value in piece.raw_items():
            if name.lower() in ('content-disposition', 'content-type'):
                headers[name] = value.encode('ascii', 'surrogateescape').decode('utf-8', 'surrogateescape')
        parts.append({'name': headers.get_param('name', header='content-disposition'),
                      'filename': headers.get_filename(), 'content_type': headers.get('content-type'),
                      'data': piece.get_payload(decode=True)})
    if defects:
        return 'refused', ', '.join(sorted({type(d).__name__ for d in defects}))
    return 'ok', parts


def read_multipart(content_type, body):
    _, options = multipart.parse_options_header(content_type)
    parts = []
    try:
        parser = multipart.PushMultipartParser(options.get('boundary', ''), content_length=len(body))
        with parser:
            current = None
            for event in parser.parse(body):
                if isinstance(event, multipart.MultipartSegment):
                    current = {'name': event.name, 'filename': event.filename,
                               'content_type': event.header('Content-Type'), 'data': bytearray()}
                elif event:
                    current['data'] += event
                elif event is None and current is not None:
                    parts.append(dict(current, data=bytes(current['data'])))
                    current = None
            for event in parser.parse(b''):
                pass
            if not parser.closed:
                return 'refused', 'incomplete'
    except multipart.MultipartError as error:
        return 'refused', f'{type(error).__name__}: {error}'[:120]
    return 'ok', parts


def read_python_multipart(content_type, body):
    _, options = parse_options_header(content_type)
    boundary = options.get(b'boundary')
    if not boundary:
        return 'refused', 'no boundary'
    parts, state = [], {'headers': {}, 'field': b'', 'value': b'', 'data': bytearray(), 'ended': False}

    def on_part_begin():
        state['headers'], state['data'] = {}, bytearray()

    def on_header_field(data, start, end):
        state['field'] += data[start:end]

    def on_header_value(data, start, end):
        state['value'] += data[start:end]

    def on_header_end():
        state['headers'][state['field'].decode('latin-1').lower()] = state['value']
        state['field'], state['value'] = b'', b''

    def on_part_data(data, start, end):
        state['data'] += data[start:end]

    def on_part_end():
        _, parameters = parse_options_header(state['headers'].get('content-disposition', b''))
        name, filename, part_type = parameters.get(b'name'), parameters.get(b'filename'), state['headers'].get('content-type')
        parts.append({'name': text_of(name), 'filename': text_of(filename), 'content_type': text_of(part_type),
                      'data': bytes(state['data'])})

    def on_end():
        state['ended'] = True

    callbacks = {'on_part_begin': on_part_begin, 'on_header_field': on_header_field, 'on_header_value': on_header_value,
                 'on_header_end': on_header_end, 'on_part_data': on_part_data, 'on_part_end': on_part_end, 'on_end': on_end}
    try:
        parser = python_multipart.MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except python_multipart.exceptions.FormParserError as error:
        return 'refused', f'{type(error).__name__}'
    if not state['ended']:
        return 'refused', 'no closing boundary'
    return 'ok', parts


def text_of(value):
    return value.decode('utf-8', 'surrogateescape') if value is not None else None


def failing_closed(read):
    """A reference that raises on a body refuses it."""
    def reading(content_type, body):
        try:
            return read(content_type, body)
        except Exception as error:  # noqa: BLE001 — any exception of a reference is its refusal
            return 'refused', f'raised {type(error).__name__}'
    return reading


REFERENCES = {name: failing_closed(read) for name, read in
              {'email': read_email, 'multipart': read_multipart, 'python-multipart': read_python_multipart}.items()}


# ---------------------------------------------------------------- comparing

def gateway_parts(reading):
    """A reading of FormVerdicts as the references' parts."""
    parts = [{'name': name, 'data': value.encode()} for name, value in reading['fields']]
    file = reading.get('file')
    if file is not None:
        parts.append({'name': file['name'], 'filename': file.get('filename'), 'content_type': file.get('content_type'),
                      'data': base64.b64decode(reading['data'])})
    return parts


def documented(value):
    """Whether a name or file name holds what the HTML standard and RFC 2045 quote differently."""
    return value is not None and any(s in value for s in ('\\', '%22', '%0D', '%0A', '%0d', '%0a'))


def difference(reference, ours, theirs, body):
    """None when the readings agree; else (kind, what): kind 'documented' (what is the
    documented difference) or 'finding' (what differs)."""
    if len(ours) != len(theirs):
        return 'finding', f'{len(ours)} parts, reference {len(theirs)}'
    for index, (mine, other) in enumerate(zip(ours, theirs)):
        for key in ('name', 'filename', 'content_type', 'data'):
            if key not in mine or mine[key] == other.get(key):
                continue
            if key in ('name', 'filename') and (documented(mine[key]) or documented(other.get(key))):
                return 'documented', 'a backslash or %22/%0D/%0A in a quoted parameter'
            if key == 'name' and other.get(key) == '' and re.search(rb';\t', body):
                return 'documented', 'the reference reads no name after ";" HTAB'
            if key == 'filename' and reference == 'email' and mine[key] is not None and mine[key].strip() == other.get(key):
                return 'documented', "the reference strips a file name's surrounding whitespace"
            if key == 'filename' and b'filename*' in body.lower():
                return 'documented', 'filename* (RFC 5987; RFC 7578 says senders must not use it)'
            if key == 'filename' and mine.get(key) is not None and other.get(key) is not None \
                    and mine[key].replace('\\', '/').rsplit('/', 1)[-1] == other[key]:
                return 'documented', 'the reference keeps only the basename of a path'

            def shown(value):
                return value[:80] + b'...' if isinstance(value, bytes) and len(value) > 80 else value
            return 'finding', f'part {index} {key}: obsgate {shown(mine[key])!r}, reference {shown(other.get(key))!r}'
    return None


def compare(cases_path, answers_path):
    cases = {c['id']: c for c in map(json.loads, open(cases_path))}
    answers = [json.loads(line) for line in open(answers_path)]
    findings, counts, stricter, documented_counts = [], Counter(), Counter(), Counter()
    laxer, upstream_refused = Counter(), Counter()

    def judge(case_id, what, reading, content_type, body, refused):
        """Every reference's reading of `body` against the gateway's `reading` of it."""
        ours = gateway_parts(reading)
        for reference, read in REFERENCES.items():
            verdict, theirs = read(content_type, body)
            if verdict != 'ok':
                refused[reference] += 1  # the reference fails closed where obsgate reads a form
                continue
            differs = difference(reference, ours, theirs, body)
            if differs and differs[0] == 'documented':
                documented_counts[f'{reference}: {differs[1]}'] += 1
            elif differs:
                findings.append((case_id, f'{reference} reads the {what} differently: {differs[1]}'))

    for answer in answers:
        if answer.get('unreadable'):
            counts['unreadable'] += 1
            continue
        case = cases.pop(answer['id'])
        body = base64.b64decode(case['body'])
        client = answer['client']
        counts[client['verdict']] += 1
        if client['verdict'] == 'refused':
            if any(read(case['content_type'], body)[0] == 'ok' for read in REFERENCES.values()):
                stricter[client['code']] += 1
            continue
        judge(answer['id'], "client's form", client, case['content_type'], body, laxer)
        upstream = answer.get('upstream')
        if upstream:
            counts['rewritten'] += 1
            if upstream['reading']['verdict'] != 'accepted':
                findings.append((answer['id'], f"obsgate's parser refuses the body it sent upstream ({upstream['reading'].get('code')})"))
                continue
            judge(answer['id'], 'upstream body', upstream['reading'], upstream['content_type'],
                  base64.b64decode(upstream['body']), upstream_refused)

    every_case = {c['id']: c for c in map(json.loads, open(cases_path))}
    for index, (case_id, finding) in enumerate(findings[:20]):
        print(f'DISAGREEMENT {case_id}: {finding}')
        if index < 3:
            print('  case', json.dumps(every_case[case_id]))
    kinds = Counter(finding.split(':')[0] for _, finding in findings)
    print(f"forms differential: {len(answers)} forms; obsgate accepted {counts['accepted']} (rewrote {counts['rewritten']} "
          f"for the store), refused {counts['refused']}, unreadable {counts['unreadable']}")
    print(f"  obsgate refused, a reference accepted (obsgate's stricter choices), by code: {dict(stricter)}")
    print(f"  obsgate accepted, the reference refused: {dict(laxer)}; of the upstream bodies: {dict(upstream_refused)}")
    print(f"  documented differences: {dict(documented_counts)}")
    print(f"  {len(findings)} disagreements: {dict(kinds)}")
    missing = len(cases) + counts['unreadable']
    if missing:
        print(f'{missing} forms got no readable answer')
    # A generator that no longer reaches the comparisons would pass without testing anything.
    reached = counts['accepted'] >= len(answers) // 5 and counts['rewritten'] >= len(answers) // 10
    if not reached:
        print('too few forms were accepted and rewritten for the comparison to mean anything')
    return 1 if findings or missing or not reached else 0


def generate(seed, count, out):
    rng = random.Random(seed)
    with open(out, 'w') as file:
        for index in range(count):
            form_type, body = random_form(rng)
            file.write(json.dumps({'id': f'f{index}', 'content_type': form_type,
                                   'body': base64.b64encode(body).decode()}) + '\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    generating = commands.add_parser('generate')
    generating.add_argument('--seed', type=int, required=True)
    generating.add_argument('--count', type=int, required=True)
    generating.add_argument('cases')
    comparing = commands.add_parser('compare')
    comparing.add_argument('cases')
    comparing.add_argument('answers')
    arguments = parser.parse_args()
    if arguments.command == 'generate':
        generate(arguments.seed, arguments.count, arguments.cases)
        return 0
    return compare(arguments.cases, arguments.answers)


if __name__ == '__main__':
    sys.exit(main())
