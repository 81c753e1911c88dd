#!/usr/bin/env python3
"""Writes obsgate's table of S3 API operations from botocore's S3 model (service-2.json).

Usage:  generate-s3-api-model.py OUT.swift        write the table (OUT.swift may be `-` for stdout)
        generate-s3-api-model.py --check FILE     regenerate in memory and compare with FILE:
                                                  exit 0 if equal, 1 with a unified diff if not

The committed output is Sources/S3Core/S3APIModel+Generated.swift; the types it fills are
in Sources/S3Core/S3APIModel.swift and the fields are described in docs/s3-api-model.md.
Only botocore is used (the version pinned in scripts/requirements-test.txt): the table must
be a pure function of that model, so the output is sorted and has no timestamps.

One row per operation of the model:
  name, method          operation name, http.method
  level                 .service without `{Bucket}` in http.requestUri, .object with
                        `{Key+}`, else .bucket
  selectors             the query keys fixed by requestUri after `?`, plus the locationName
                        of every *required* input member with location `querystring`
  selectorValues        the values requestUri fixes (`?list-type=2` -> list-type: 2)
  parameters            the locationName of every other (optional) querystring member
  headers               lowercased locationName of every member with location `header`; for an
                        operation with the `httpChecksum` trait, also `x-amz-checksum-<alg>` for
                        every value of its request algorithm member (the SDKs send the checksum
                        of the algorithm they chose in that header, a member of no shape)
  headerPrefixes        lowercased locationName of members with location `headers`
  requiredHeaders       the headers (as above) of required `header` members
  deprecated            the operation's `deprecated` flag
"""
import argparse
import difflib
import sys

import botocore
import botocore.loaders

SCRIPT = "scripts/generate-s3-api-model.py"
DEFAULT_OUTPUT = "Sources/S3Core/S3APIModel+Generated.swift"
# Longest line the table aims for; a single element longer than that still gets its own line.
WIDTH = 100
ROW_INDENT = " " * 8
ROW_OPEN = "S3APIOperation("


def swift_string(text):
    """A Swift string literal for `text`: `\\`, `"` and anything non-printable escaped."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or not ch.isprintable():
            out.append("\\u{%X}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_request_uri(uri):
    """(path, [(key, value or None)]) of an http.requestUri such as `/{Bucket}?list-type=2`."""
    path, _, query = uri.partition("?")
    fixed = []
    if query:
        for item in query.split("&"):
            if not item:
                continue
            key, eq, value = item.partition("=")
            fixed.append((key, value if eq else None))
    return path, fixed


def level_of(path):
    if "{Bucket}" not in path:
        return "service"
    if "{Key+}" in path:
        return "object"
    return "bucket"


def operation_row(model, name, operation):
    http = operation["http"]
    path, fixed = parse_request_uri(http["requestUri"])
    selectors = {key for key, _ in fixed}
    selector_values = {key: value for key, value in fixed if value is not None}
    parameters, headers, prefixes, required_headers = set(), set(), set(), set()
    if "input" in operation:
        shape = model["shapes"][operation["input"]["shape"]]
        required = set(shape.get("required", []))
        for member_name, member in shape.get("members", {}).items():
            location = member.get("location")
            location_name = member.get("locationName", member_name)
            if location == "querystring":
                (selectors if member_name in required else parameters).add(location_name)
            elif location == "header":
                headers.add(location_name.lower())
                if member_name in required:
                    required_headers.add(location_name.lower())
            elif location == "headers":
                prefixes.add(location_name.lower())
        algorithm_member = operation.get("httpChecksum", {}).get("requestAlgorithmMember")
        if algorithm_member:
            algorithms = model["shapes"][shape["members"][algorithm_member]["shape"]].get("enum", [])
            headers.update(f"x-amz-checksum-{algorithm.lower()}" for algorithm in algorithms)
    return {
        "name": name,
        "method": http["method"],
        "level": level_of(path),
        "selectors": sorted(selectors),
        "selectorValues": dict(sorted(selector_values.items())),
        "parameters": sorted(parameters - selectors),
        "headers": sorted(headers),
        "headerPrefixes": sorted(prefixes),
        "requiredHeaders": sorted(required_headers),
        "deprecated": bool(operation.get("deprecated", False)),
    }


def wrap_list(label, items, indent):
    """`label: [a, b, ...]` as lines starting at column `indent`, the elements filled
    greedily up to WIDTH and continuation lines aligned just after the `[`."""
    head = label + ": ["
    if not items:
        return [head + "]"]
    lines, current = [], head + items[0]
    for item in items[1:]:
        if indent + len(current) + len(", " + item) + len("],") <= WIDTH:
            current += ", " + item
        else:
            lines.append(current + ",")
            current = " " * len(head) + item
    lines.append(current + "]")
    return lines


def render_row(row):
    """One `S3APIOperation(...)` expression: the arguments filled greedily up to WIDTH,
    continuation lines aligned after `S3APIOperation(`; an array that does not fit on a line
    of its own is wrapped element by element (see wrap_list)."""
    indent = len(ROW_INDENT) + len(ROW_OPEN)

    def strings(values):
        return [swift_string(value) for value in values]

    if row["selectorValues"]:
        pairs = ", ".join(swift_string(k) + ": " + swift_string(v) for k, v in row["selectorValues"].items())
        selector_values = "[" + pairs + "]"
    else:
        selector_values = "[:]"
    arguments = [
        ["name: " + swift_string(row["name"])],
        ["method: " + swift_string(row["method"])],
        ["level: ." + row["level"]],
        wrap_list("selectors", strings(row["selectors"]), indent),
        ["selectorValues: " + selector_values],
        wrap_list("parameters", strings(row["parameters"]), indent),
        wrap_list("headers", strings(row["headers"]), indent),
        wrap_list("headerPrefixes", strings(row["headerPrefixes"]), indent),
        wrap_list("requiredHeaders", strings(row["requiredHeaders"]), indent),
        ["deprecated: " + ("true" if row["deprecated"] else "false")],
    ]
    lines, current = [], None  # current: the open line (text after the indent), if any
    for position, argument in enumerate(arguments):
        closing = ")," if position == len(arguments) - 1 else ","
        if len(argument) == 1:
            text = argument[0] + closing
            if current is not None and indent + len(current) + 1 + len(text) <= WIDTH:
                current += " " + text
                continue
            if current is not None:
                lines.append(current)
            current = text
        else:  # a wrapped array always starts its own line and leaves its last line open
            if current is not None:
                lines.append(current)
            lines.extend(argument[:-1])
            current = argument[-1] + closing
    lines.append(current)
    first = ROW_INDENT + ROW_OPEN + lines[0]
    return "\n".join([first] + [" " * indent + line for line in lines[1:]])


def generate():
    model = botocore.loaders.Loader().load_service_model("s3", "service-2")
    rows = [operation_row(model, name, operation) for name, operation in sorted(model["operations"].items())]
    out = [
        "// Generated by %s from the S3 model (service-2.json) of botocore %s." % (SCRIPT, botocore.__version__),
        "// Do not edit: run `python3 %s %s`." % (SCRIPT, DEFAULT_OUTPUT),
        "extension S3APIModel {",
        "    public static let botocoreVersion = %s" % swift_string(botocore.__version__),
        "    public static let apiVersion = %s" % swift_string(model["metadata"]["apiVersion"]),
        "    public static let operations: [S3APIOperation] = [",
    ]
    out.extend(render_row(row) for row in rows)
    out += ["    ]", "}", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("output", nargs="?", help="file to write, or - for stdout")
    group.add_argument("--check", metavar="FILE", help="compare FILE with a fresh generation")
    args = parser.parse_args()
    text = generate()
    if args.check is not None:
        try:
            with open(args.check, encoding="utf-8") as handle:
                current = handle.read()
        except OSError as error:
            print("%s: cannot read %s: %s" % (SCRIPT, args.check, error), file=sys.stderr)
            return 1
        if current == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=args.check, tofile="%s (botocore %s)" % (SCRIPT, botocore.__version__)))
        print("%s is out of date: run `python3 %s %s`" % (args.check, SCRIPT, args.check), file=sys.stderr)
        return 1
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
