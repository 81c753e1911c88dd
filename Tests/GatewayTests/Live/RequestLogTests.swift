import DevUpstream
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import S3Signing
import Testing
@testable import Gateway

/// A log handler that keeps every line, for tests that read the gateway's request log.
final class CapturedLog: LogHandler, @unchecked Sendable {
    struct Line {
        let message: String
        let metadata: [String: String]
    }

    private let lines = NIOLockedValueBox<[Line]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flattened: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flattened[key] = "\(value)" }
        lines.withLockedValue { $0.append(Line(message: "\(event.message)", metadata: flattened)) }
    }

    var all: [Line] { lines.withLockedValue { $0 } }
}

@Suite struct RequestLogTests {
    /// The gateway's request id is in the response and in the log line, beside the
    /// upstream's own request id, so one request can be followed end to end; no secret is.
    @Test func theRequestIdIsInTheResponseAndTheLogWithTheUpstreamId() async throws {
        let upstream = try await DevUpstreamServer.start(
            DevUpstreamConfiguration(credentials: [SigningCredentials(accessKeyId: TestSetup.upstreamKey,
                                                                      secretAccessKey: TestSetup.upstreamSecret)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "store"))
        let captured = CapturedLog()
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                  logger: Logger(label: "gateway") { _ in captured })
        let response = try await TestHTTPClient.send(port: gateway.port, method: "PUT", target: "/logged-bucket",
                                                     headers: try gateway.signedHeaders(method: "PUT", target: "/logged-bucket",
                                                                                        headers: [("Content-Length", "0")]))
        #expect(response.status == 200)
        let gatewayId = try #require(response.headers["x-obsgate-request-id"].first)
        let upstreamId = try #require(response.headers["x-amz-request-id"].first)
        // The line is written when the exchange completes, which may be just after the
        // client has its answer.
        _ = await eventually { captured.all.contains { $0.metadata["request_id"] == gatewayId } }
        let line = try #require(captured.all.first { $0.metadata["request_id"] == gatewayId })
        #expect(line.metadata["upstream_request_id"] == upstreamId)
        #expect(line.metadata["principal"] == "tester")
        #expect(line.metadata["operation"] == "CreateBucket")
        let everything = captured.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        for secret in [TestSetup.clientSecret, TestSetup.upstreamSecret, "Signature="] {
            #expect(!everything.contains(secret), "\(secret) reached the log")
        }
        await gateway.stop()
        try await upstream.shutdown()
    }
}
