import DevUpstream
import Foundation
import Logging
import NIOPosix
import S3Signing
import Testing
import TestSupport
@testable import Gateway

/// Issue 17: each exchange as an OpenTelemetry trace, received over OTLP/HTTP by a small
/// collector (Clients/otlp_receiver.py, opentelemetry-proto), in front of a recording
/// upstream: the client's trace continued, a child span per phase, upstream connect, the
/// upstream span whose context the upstream receives, audit.
@Suite(.serialized) struct TracingTests {
    struct ReceivedSpan: Decodable {
        let name: String
        let kind: String
        let trace_id: String
        let span_id: String
        let parent_span_id: String
        let status: String
        let attributes: [String: AttributeValue]
        let service: String?
    }

    enum AttributeValue: Decodable, Equatable {
        case text(String), number(Int)
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
        }
    }

    /// The receiver as a process of its own, for at most two minutes.
    final class Receiver {
        let process = Process()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-otlp-\(UUID().uuidString)")
        var spansFile: URL { directory.appendingPathComponent("spans.jsonl") }
        private(set) var port = 0

        func start() async throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let portFile = directory.appendingPathComponent("port")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Peers.clientsDirectory.appendingPathComponent("otlp_receiver.py").path,
                                 "--port-file", portFile.path, "--out", spansFile.path, "--lifetime", "120"]
            try process.runWithNoSignalBlocked()
            for _ in 0..<100 {
                if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                    self.port = port
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.terminate()
            throw Peers.PeerMissing(description: "otlp_receiver.py did not start (is opentelemetry-proto installed? scripts/install-test-deps.sh)")
        }

        var spans: [ReceivedSpan] {
            guard let text = try? String(contentsOf: spansFile, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(ReceivedSpan.self, from: Data($0.utf8)) }
        }

        func stop() {
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func anExchangeIsATraceContinuingTheClientsAndCarriedUpstream() async throws {
        let receiver = Receiver()
        try await receiver.start()
        defer { receiver.stop() }
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)", extra: """
            tracing:
              otlp:
                endpoint: http://127.0.0.1:\(receiver.port)
                service_name: obsgate-test
                export_delay_ms: 50
            """)
        let clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736", clientSpan = "00f067aa0ba902b7"
        let traceparent = ("traceparent", "00-\(clientTrace)-\(clientSpan)-01")
        let read = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/k",
                                                 headers: try gateway.signedHeaders(method: "GET", target: "/bucket/k",
                                                                                    headers: [traceparent]))
        #expect(read.status == 200 && read.bodyText == "ok")
        // Refused in authenticate: a trace of its own, the refusing phase marked.
        let refusedTrace = "0af7651916cd43dd8448eb211c80319c"
        let refused = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/k", headers: [
            ("Host", "127.0.0.1:\(gateway.port)"), ("traceparent", "00-\(refusedTrace)-b7ad6b7169203331-01"),
        ])
        #expect(refused.status == 403)
        await gateway.stop()  // exports what is queued
        #expect(await eventually { receiver.spans.filter { $0.trace_id == refusedTrace }.count >= 2 }, "spans: \(receiver.spans.map(\.name))")

        let spans = receiver.spans.filter { $0.trace_id == clientTrace }
        let root = try #require(spans.first { $0.name == "obsgate exchange" }, "spans: \(spans.map(\.name))")
        #expect(root.kind == "SPAN_KIND_SERVER" && root.parent_span_id == clientSpan, "the client's trace continues")
        #expect(root.service == "obsgate-test")
        #expect(root.attributes["obsgate.operation"] == .text("GetObject"))
        #expect(root.attributes["obsgate.principal"] == .text("tester"))
        #expect(root.attributes["obsgate.decision"] == .text("allow"))
        #expect(root.attributes["http.response.status_code"] == .number(200))
        let children = spans.filter { $0.parent_span_id == root.span_id }
        for name in ["authenticate", "frame", "police", "translate", "rebuild", "upstream connect", "upstream", "audit"] {
            #expect(children.contains { $0.name == name }, "no \(name) span under the exchange: \(children.map(\.name))")
        }
        let upstreamSpan = try #require(children.first { $0.name == "upstream" })
        #expect(upstreamSpan.kind == "SPAN_KIND_CLIENT")
        #expect(upstream.receivedText.contains("\r\ntraceparent: 00-\(clientTrace)-\(upstreamSpan.span_id)-01\r\n"),
                "the upstream continues the upstream span: \(upstream.receivedText.prefix(600))")

        let refusedSpans = receiver.spans.filter { $0.trace_id == refusedTrace }
        let refusedRoot = try #require(refusedSpans.first { $0.name == "obsgate exchange" })
        #expect(refusedRoot.attributes["obsgate.refused_in"] == .text("authenticate"))
        #expect(refusedSpans.contains { $0.name == "authenticate" && $0.status == "STATUS_CODE_ERROR" })
        #expect(!refusedSpans.contains { $0.name == "upstream" }, "nothing went upstream")
        await upstream.stop()
    }

    /// boto3 uploads through the gateway in front of the development store: the PutObject is
    /// one trace, with its phases, the upstream and the audit record under one root.
    @Test func aBoto3UploadIsOneTraceWithItsSpans() async throws {
        let receiver = Receiver()
        try await receiver.start()
        defer { receiver.stop() }
        let store = try await DevUpstreamServer.start(
            DevUpstreamConfiguration(credentials: [SigningCredentials(accessKeyId: TestSetup.upstreamKey,
                                                                      secretAccessKey: TestSetup.upstreamSecret)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "store"))
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(store.port)", extra: """
            tracing:
              otlp: {endpoint: "http://127.0.0.1:\(receiver.port)", export_delay_ms: 50}
            """)
        let script = """
            import boto3, sys
            from botocore.config import Config
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                              aws_secret_access_key=sys.argv[3], config=Config(s3={"addressing_style": "path"}))
            s3.create_bucket(Bucket="traced")
            s3.put_object(Bucket="traced", Key="report.csv", Body=b"a,b\\n1,2\\n")
            print("uploaded")
            """
        let run = try Peers.run(["python3", "-c", script, gateway.endpoint, TestSetup.clientKey, TestSetup.clientSecret], timeout: 60)
        #expect(run.status == 0 && run.output.contains("uploaded"), "\(run.output)")
        await gateway.stop()
        #expect(await eventually { receiver.spans.contains { $0.attributes["obsgate.operation"] == .text("PutObject") } })
        let spans = receiver.spans
        let roots = spans.filter { $0.attributes["obsgate.operation"] == .text("PutObject") }
        #expect(roots.count == 1, "one exchange, one trace")
        let root = try #require(roots.first)
        #expect(root.parent_span_id.isEmpty && root.kind == "SPAN_KIND_SERVER", "boto3 sent no traceparent: a new trace")
        #expect(root.attributes["obsgate.principal"] == .text("tester") && root.attributes["obsgate.bucket"] == .text("traced"))
        #expect(root.attributes["http.response.status_code"] == .number(200))
        let trace = spans.filter { $0.trace_id == root.trace_id }
        #expect(Set(trace.filter { $0.span_id != root.span_id }.map(\.parent_span_id)) == [root.span_id], "a tree of depth one")
        #expect(Set(trace.map(\.name)).isSuperset(of: ["obsgate exchange", "authenticate", "frame", "police", "translate",
                                                      "rebuild", "upstream connect", "upstream", "audit"]),
                "\(trace.map(\.name))")
        try await store.shutdown()
    }

    @Test func withoutTheSectionTheClientsTraceparentGoesUpstreamUntouched() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        _ = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/k",
                                          headers: try gateway.signedHeaders(method: "GET", target: "/bucket/k",
                                                                             headers: [("traceparent", traceparent)]))
        #expect(upstream.receivedText.contains("\r\ntraceparent: \(traceparent)\r\n"))
        await gateway.stop()
        await upstream.stop()
    }
}
