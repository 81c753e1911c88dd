import DevUpstream
import Foundation
import Logging
import NIOCore
import NIOPosix
import S3Signing
import Testing
@testable import Gateway

/// `RequestSequencer` against real sockets: pipelined requests that go upstream are each
/// answered, in order, and a client that half-closes after its request still gets its answer.
@Suite(.serialized) struct PipeliningTests {
    static let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    @Test func pipelinedRequestsThatGoUpstreamAreEachAnsweredInOrder() async throws {
        let store = try await DevUpstreamServer.start(
            DevUpstreamConfiguration(credentials: [SigningCredentials(accessKeyId: TestSetup.upstreamKey,
                                                                      secretAccessKey: TestSetup.upstreamSecret)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "store"))
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(store.port)")
        func send(_ method: String, _ target: String, _ body: String = "") async throws -> Int {
            let bytes = Array(body.utf8)
            let headers = try gateway.signedHeaders(method: method, target: target, headers: [("Content-Length", "\(bytes.count)")],
                                                    payloadHash: hexSHA256(bytes))
            return try await TestHTTPClient.send(port: gateway.port, method: method, target: target, headers: headers, body: bytes).status
        }
        #expect(try await send("PUT", "/pipelined") == 200)
        #expect(try await send("PUT", "/pipelined/a", "first object") == 200)
        #expect(try await send("PUT", "/pipelined/b", "second object") == 200)

        let heads = HostileInputTests.Heads(gateway: gateway)
        let client = try await RawClient.connect(port: gateway.port)
        let requests = try ["/pipelined/a", "/pipelined/b", "/pipelined/a"].map { try heads.request("GET", $0) }
        try await client.send(Array(requests.joined().utf8))
        #expect(await eventually { client.receivedText.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 4
                                   && client.receivedText.hasSuffix("first object") },
                "answered: \(client.receivedText)")
        let bodies = client.receivedText.components(separatedBy: "HTTP/1.1 200 OK\r\n").dropFirst()
            .map { $0.components(separatedBy: "\r\n\r\n").last ?? "" }
        #expect(bodies == ["first object", "second object", "first object"], "in the order asked")
        #expect(!client.isClosed, "the connection stays open for more")
        await client.close()
        await gateway.stop()
        try await store.shutdown()
    }

    /// An upload refused before its body was read closes the connection after its answer:
    /// what was pipelined behind it is neither answered nor sent upstream (the client, told
    /// by the close, sends it again).
    @Test func nothingPipelinedBehindARefusedUploadGoesUpstream() async throws {
        let upstream = try await ScriptedUpstream.start(answer: Self.answer, delay: .milliseconds(50))
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let client = try await RawClient.connect(port: gateway.port)
        func put(_ target: String, _ body: String, secret: String = TestSetup.clientSecret) throws -> String {
            let headers = try gateway.signedHeaders(method: "PUT", target: target, headers: [("Content-Length", "\(body.utf8.count)")],
                                                    secret: secret)
            return "PUT \(target) HTTP/1.1\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n" + body
        }
        try await client.send(Array((try put("/bucket/one", "one") + (try put("/bucket/refused", "body", secret: "not-the-secret"))
                                     + (try put("/bucket/three", "three"))).utf8))
        #expect(await eventually { client.isClosed }, "the connection closes after the refusal")
        #expect(client.receivedText.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) } == ["200", "403"],
                "\(client.receivedText)")
        #expect(upstream.receivedText.components(separatedBy: "\r\n").filter { $0.hasPrefix("PUT ") } == ["PUT /bucket/one HTTP/1.1"],
                "\(upstream.receivedText)")
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }

    @Test func aClientThatHalfClosesAfterItsRequestGetsItsAnswer() async throws {
        // The answer comes after the client's end of stream has arrived.
        let upstream = try await ScriptedUpstream.start(answer: Self.answer, delay: .milliseconds(300))
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let heads = HostileInputTests.Heads(gateway: gateway)
        let client = try await RawClient.connect(port: gateway.port)
        try await client.send(Array(try heads.request("GET", "/bucket/k").utf8))
        await client.closeOutput()
        #expect(await eventually { client.isClosed }, "the gateway closes after its answer")
        #expect(client.receivedText.hasPrefix("HTTP/1.1 200 OK\r\n"), "answered: \(client.receivedText)")
        #expect(client.errorsSeen.isEmpty, "\(client.errorsSeen)")
        #expect(upstream.receivedText.hasPrefix("GET /bucket/k HTTP/1.1\r\n"))
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }
}
