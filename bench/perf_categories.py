#!/usr/bin/env python3
"""Where a proxied request's CPU goes: `perf script -F comm,ip,sym --no-demangle` output of
an obsgate run (stdin) in a few named parts, each sample given to the first part it falls in.

    perf script -i perf.data -F comm,ip,sym --no-demangle | bench/perf_categories.py [CPU_US_PER_REQUEST]

With CPU-µs per request given, each part's share is also shown in µs. `bench/fixed_upstream.sh`
runs it under PERF=1 (bench/README.md, "Session of 2026-12-05 (third)").
"""
import collections
import sys

OWN = ("$s7Gateway", "$s6S3Core", "$s9S3Signing", "$s6Policy", "$s11Credentials", "$s10FormUpload")

# Parts found anywhere in a sample's stack, in this order (a system call made under the
# preparation counts as the kernel's).
ANYWHERE = [
    ("kernel: system calls, loopback TCP", lambda f: f.startswith(("entry_SYSCALL", "asm_", "ret_from_fork"))),
    ("prepare: classify … re-sign", lambda f: "ClientConnectionHandlerC7prepare" in f or "RequestPreparer" in f),
    ("answer rewrite (upload id bound, spliced)", lambda f: "rewriteAnswer" in f),
    ("response head rewrite", lambda f: "ClientConnectionHandlerC12responseHead" in f),
    ("exchange end: log line, metrics, audit record", lambda f: "ClientConnectionHandlerC6record" in f
     or "ClientConnectionHandlerC6finish" in f),
]
# Otherwise the frame nearest the leaf that is one of these decides.
NEAREST = [
    ("other own code (connection handler, exchange)", lambda f: f.startswith(OWN)),
    ("audit writer thread", lambda f: f.startswith("$s5Audit")),
    ("HTTP codec (NIOHTTP1, llhttp)", lambda f: "llhttp" in f
     or ("NIOHTTP1" in f and any(word in f for word in ("Decoder", "Encoder", "Parser")))),
    ("NIO channel pipelines, event loop", lambda f: "NIO" in f),
]
PARTS = [name for name, _ in ANYWHERE + NEAREST] + ["other"]


def part(stack):
    for name, test in ANYWHERE:
        if any(test(frame) for frame in stack):
            return name
    for frame in stack:
        for name, test in NEAREST:
            if test(frame):
                return name
    return "other"


def stacks(lines):
    """perf script's samples: a header line, then one indented line per frame, leaf first."""
    stack = []
    for line in lines:
        if line.startswith((" ", "\t")) and line.strip():
            fields = line.split(None, 1)
            stack.append(fields[1].strip() if len(fields) > 1 else "?")
        elif stack:
            yield stack
            stack = []
    if stack:
        yield stack


def main():
    per_request = float(sys.argv[1]) if len(sys.argv) > 1 else None
    counts = collections.Counter(part(stack) for stack in stacks(sys.stdin))
    total = sum(counts.values())
    if not total:
        sys.exit("perf_categories.py: no samples with call stacks on stdin (perf record -g?)")
    print(f"{total} samples")
    for name in PARTS:
        share = counts[name] / total
        micros = f"{share * per_request:7.1f} µs" if per_request else ""
        print(f"{100 * share:6.1f} % {micros}  {name}")


if __name__ == "__main__":
    main()
