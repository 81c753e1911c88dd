import Audit
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Gateway

/// The client connection's whole pipeline on an `EmbeddedChannel`: bytes in, exact bytes
/// out. These cover everything the gateway answers without an upstream.
@Suite struct ClientPipelineTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let loop: EmbeddedEventLoop

        init(yaml: String = TestSetup.configurationYAML(), audit: AuditWriter? = nil) throws {
            loop = channel.embeddedEventLoop
            let configuration = try TestSetup.configuration(yaml)
            let preparer = try RequestPreparer(configuration: configuration, credentials: try TestSetup.credentials())
            let environment = ClientConnectionHandler.Environment(
                preparer: { preparer },
                pools: UpstreamPools(group: loop, upstream: configuration.upstream, sslContext: nil,
                                     timeouts: configuration.timeouts, limits: configuration.limits),
                timeouts: configuration.timeouts, limits: configuration.limits,
                responseHeaderRules: configuration.responseHeaderRules, audit: audit, logger: Logger(label: "test"),
                isTLS: false)
            try GatewayServer.configureClientPipeline(channel, tls: nil, limits: configuration.limits,
                                                      timeouts: configuration.timeouts, environment: environment)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ text: String) throws {
            try channel.writeInbound(channel.allocator.buffer(string: text))
        }

        /// Everything written to the client so far.
        func output() throws -> String {
            loop.run()
            var text = ""
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += buffer.readString(length: buffer.readableBytes) ?? ""
            }
            return text
        }

        var isOpen: Bool {
            loop.run()
            return channel.isActive
        }
    }

    @Test func anUnsignedRequestGetsAnS3AccessDeniedError() throws {
        let harness = try Harness()
        try harness.send("GET /bucket/some%20key HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n")
        let response = try harness.output()
        #expect(response.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(response.contains("Content-Type: application/xml\r\n"))
        #expect(response.contains("x-amz-request-id: "))
        #expect(response.contains("<Code>AccessDenied</Code>"))
        #expect(response.contains("<Resource>/bucket/some key</Resource>"))
        let body = response.components(separatedBy: "\r\n\r\n")[1]
        #expect(response.contains("Content-Length: \(body.utf8.count)\r\n"))
        #expect(harness.isOpen, "a refused request without a body keeps the connection")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let harness = try Harness()
        try harness.send("GET /aaa/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /bbb/2 HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try harness.output()
        let first = try #require(response.range(of: "<Resource>/aaa/1</Resource>"))
        let second = try #require(response.range(of: "<Resource>/bbb/2</Resource>"))
        #expect(first.lowerBound < second.lowerBound)
    }

    @Test(arguments: [
        "PUT /bkt/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "PUT /bkt/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "GET /bkt/k HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
        "GET /bkt/k HTTP/1.1\r\nHost h\r\n\r\n",
    ])
    func brokenHTTPIsAnswered400AndTheConnectionClosed(_ request: String) throws {
        let harness = try Harness()
        try? harness.send(request)
        let response = try harness.output()
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(request.debugDescription) → \(response)")
        #expect(!harness.isOpen)
    }

    /// Heads whose fields the gateway cannot read as one request are refused and their
    /// connection closed: what follows them on the connection cannot be trusted either.
    @Test(arguments: [
        ("GET /bkt/k HTTP/1.1\r\nHost: h\r\nHost: other\r\n\r\n", "exactly one Host"),
        ("GET /bkt/k HTTP/1.1\r\nHost: h\r\nConnection: x-amz-acl\r\n\r\n", "Connection names x-amz-acl"),
        ("GET /bkt/k HTTP/1.1\r\nHost: h\r\nx_amz_acl: public-read\r\n\r\n", "x_amz_acl"),
    ])
    func unreadableFieldsAreRefusedAndTheConnectionClosed(_ request: String, _ message: String) throws {
        let harness = try Harness()
        try harness.send(request + "GET /bkt/next HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try harness.output()
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(response)")
        #expect(response.contains("Connection: close\r\n"), "\(response)")
        #expect(response.contains(message), "\(response)")
        #expect(!response.contains("/bkt/next"), "the pipelined request after it was answered: \(response)")
        #expect(!harness.isOpen)
    }

    /// Every request leaves an audit record — a refused one with what it claimed to be, and
    /// bytes that never parsed as HTTP with the client's address.
    @Test func refusedAndUnparsableRequestsAreAudited() async throws {
        let path = NSTemporaryDirectory() + "obsgate-pipeline-audit-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let audit = try AuditWriter(configuration: AuditConfiguration(sinks: [.file(path: path, maxBytes: nil, keep: 1)],
                                                                      flush: .perRecord))
        let harness = try Harness(audit: audit)
        try harness.send("PUT /bucket/key?uploadId=U1&partNumber=2 HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        try? harness.send("GET /bkt/k HTTP/1.1\r\nHost h\r\n\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        await audit.shutdown()

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
        let records = try lines.map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
        #expect(records.count == 2)
        #expect(records.first?.operation == "UploadPart" && records.first?.uploadId == "U1")
        #expect(records.first?.decision == .refused && records.first?.errorCode == "AccessDenied")
        #expect(records.first?.clientAddress == "127.0.0.1:1" && records.first?.bucket == "bucket")
        #expect(records.last?.method == "-" && records.last?.status == 400)
        #expect(records.last?.errorCode == "ClientProtocolError")
        var verifier = AuditChainVerifier()
        #expect(try verifier.verify(fileAt: path).records == 2)
    }

    /// A body with a bad chunk size behind an unauthenticated head: the head is refused
    /// first, and the connection is closed because the body cannot be trusted to end.
    @Test func aBrokenBodyBehindARefusedHeadClosesTheConnection() throws {
        let harness = try Harness()
        try? harness.send("PUT /bkt/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        let response = try harness.output()
        #expect(response.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(response.contains("Connection: close\r\n"))
        #expect(!harness.isOpen)
    }

    @Test func tooManyHeadersAreRefused() throws {
        let harness = try Harness()
        let headers = (0..<101).map { "X-H\($0): v\r\n" }.joined()
        try? harness.send("GET /bkt/k HTTP/1.1\r\nHost: h\r\n\(headers)\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 4"))
        #expect(!harness.isOpen)
    }

    @Test func tooManyHeaderBytesAreRefused() throws {
        let harness = try Harness()
        try? harness.send("GET /bkt/k HTTP/1.1\r\nHost: h\r\nX-Big: \(String(repeating: "a", count: 70_000))\r\n\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 4"))
        #expect(!harness.isOpen)
    }

    @Test func aHeadTricklingInSlowerThanTheDeadlineIsCut() throws {
        let harness = try Harness()
        try harness.send("GET /bkt/k HTTP/1.1\r\n")
        for _ in 0..<9 {
            harness.loop.advanceTime(by: .seconds(1))
            try harness.send("X")
        }
        #expect(harness.isOpen)
        harness.loop.advanceTime(by: .seconds(1))
        #expect(!harness.isOpen, "the whole head must arrive within timeouts.request_head")
    }

    @Test func anIdleKeepAliveConnectionIsClosed() throws {
        let harness = try Harness()
        try harness.send("GET /aaa/1 HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = try harness.output()
        harness.loop.advanceTime(by: .seconds(59))
        #expect(harness.isOpen)
        harness.loop.advanceTime(by: .seconds(2))
        #expect(!harness.isOpen)
    }

    @Test func aRefusedRequestThatExpectsContinueGetsNoContinueAndTheConnectionCloses() throws {
        let harness = try Harness()
        try? harness.send("PUT /bkt/k HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
        let response = try harness.output()
        #expect(!response.contains("100 Continue"))
        #expect(response.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(response.contains("Connection: close\r\n"))
        #expect(!harness.isOpen)
    }

    @Test func aNonOriginFormTargetIsRefused() throws {
        let harness = try Harness()
        try harness.send("GET http://evil.example/bkt/k HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try harness.output()
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(response.contains("<Code>InvalidURI</Code>"))
    }
}
