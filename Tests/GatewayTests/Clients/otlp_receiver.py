#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for the tracing test (Tests/GatewayTests/Live/TracingTests.swift).

Listens on 127.0.0.1 (an ephemeral port, written to --port-file once bound), accepts
`POST /v1/traces` with a protobuf ExportTraceServiceRequest (opentelemetry-proto), and
appends every span to --out as one JSON line: name, kind, trace_id, span_id,
parent_span_id (hex), status code, attributes and the resource's service.name. It answers
200 with an empty ExportTraceServiceResponse, as a collector does, and stops by itself
after --lifetime seconds.

Usage: otlp_receiver.py --port-file FILE --out FILE [--lifetime 120]
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                     ExportTraceServiceResponse)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--lifetime", type=float, default=120)
    args = parser.parse_args()
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_error(404)
                return
            request = ExportTraceServiceRequest.FromString(body)
            lines = []
            for resource_spans in request.resource_spans:
                resource = {kv.key: value_of(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        lines.append(json.dumps({
                            "name": span.name, "kind": Span.SpanKind.Name(span.kind),
                            "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "status": Status.StatusCode.Name(span.status.code),
                            "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                            "attributes": {kv.key: value_of(kv.value) for kv in span.attributes},
                            "service": resource.get("service.name"),
                        }))
            with lock, open(args.out, "a") as out:
                out.writelines(line + "\n" for line in lines)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    with open(args.port_file, "w") as port_file:
        port_file.write(str(server.server_address[1]))
    threading.Timer(args.lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
