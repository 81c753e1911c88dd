import Foundation
import S3Signing
import Testing
@testable import Gateway

/// `LingeringClose` against real sockets: a connection closed after an answer — an upload
/// refused before its body was read, broken HTTP with more bytes behind it — is not reset
/// under a client still sending.
@Suite(.serialized) struct LingeringCloseTests {
    static let bodySize = 4 << 20
    static let piece = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
    /// The gateway's answer to broken HTTP.
    static let badRequest = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    /// A PUT signed with a wrong secret, announcing a 4 MiB body, and its first 64 KiB.
    static func refusedUpload(_ gateway: LiveGateway) throws -> [UInt8] {
        let headers = try gateway.signedHeaders(method: "PUT", target: "/bucket/key", secret: "not-the-client-secret")
        let head = "PUT /bucket/key HTTP/1.1\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined()
            + "Content-Length: \(bodySize)\r\n\r\n"
        return Array(head.utf8) + piece
    }

    /// A gateway with `timeouts.lingering_close` at `seconds` in front of a recording
    /// upstream (`answer`: what it answers, nil for nothing), and a client connected to it.
    static func gateway(lingering seconds: Int, upstreamAnswer answer: String? = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        async throws -> (ScriptedUpstream, LiveGateway, RawClient) {
        let upstream = try await ScriptedUpstream.start(answer: answer)
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                  extra: "timeouts: {lingering_close: \(seconds)}")
        return (upstream, gateway, try await RawClient.connect(port: gateway.port))
    }

    /// A gateway with `timeouts.lingering_close` at `seconds`, and a client that has sent it
    /// `refusedUpload`.
    static func refusedUploadInFlight(lingering seconds: Int) async throws -> (ScriptedUpstream, LiveGateway, RawClient) {
        let (upstream, gateway, client) = try await gateway(lingering: seconds)
        try await client.send(refusedUpload(gateway))
        return (upstream, gateway, client)
    }

    /// The client has its answer and the end of stream, and sends the rest of its 4 MiB:
    /// the gateway reads and drops it, where a plain close would have reset the connection
    /// under every one of those sends, and closes once the client has.
    static func expectTheRestDroppedNotReset(_ client: RawClient, _ gateway: LiveGateway) async throws {
        #expect(await eventually { client.sawEndOfStream }, "the gateway half-closes after the answer")
        for _ in 1..<(bodySize / piece.count) { try await client.send(piece) }
        await client.closeOutput()
        #expect(await eventually { sample("obsgate_client_connections", in: gateway.server.metricsText()) == 0 },
                "the gateway closes once the client has")
        #expect(client.errorsSeen.isEmpty, "the connection was reset: \(client.errorsSeen.prefix(3))")
    }

    static func stop(_ upstream: ScriptedUpstream, _ gateway: LiveGateway, _ client: RawClient) async {
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }

    @Test func aClientStillSendingItsBodyGetsTheAnswerAndAnEndOfStreamNotAReset() async throws {
        let (upstream, gateway, client) = try await Self.refusedUploadInFlight(lingering: 60)
        #expect(await eventually { client.receivedText.contains("</Error>") })
        #expect(client.receivedText.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(client.receivedText.contains("<Code>SignatureDoesNotMatch</Code>"))
        try await Self.expectTheRestDroppedNotReset(client, gateway)
        #expect(upstream.receivedText.isEmpty, "nothing of a refused request goes upstream")
        await Self.stop(upstream, gateway, client)
    }

    /// Broken HTTP with more of it still coming: its 400 is not reset away either.
    @Test func aClientStillSendingAfterBrokenHTTPGetsThe400AndAnEndOfStreamNotAReset() async throws {
        let (upstream, gateway, client) = try await Self.gateway(lingering: 60)
        try await client.send(Array("PUT /bucket/key HTTP/1.1\r\nHost no-colon\r\n\r\n".utf8) + Self.piece)
        #expect(await eventually { client.receivedText == Self.badRequest }, "\(client.receivedText)")
        try await Self.expectTheRestDroppedNotReset(client, gateway)
        #expect(upstream.receivedText.isEmpty, "nothing of broken HTTP goes upstream")
        await Self.stop(upstream, gateway, client)
    }

    /// The same in the middle of an exchange: a signed streaming upload sent with
    /// `Transfer-Encoding: chunked` whose HTTP chunk framing breaks after its first chunk.
    /// The upstream request is cut, and the 400 still reaches a client that goes on sending.
    @Test func aBodyThatBreaksHTTPMidwayGetsThe400AndAnEndOfStreamNotAReset() async throws {
        let (upstream, gateway, client) = try await Self.gateway(lingering: 60, upstreamAnswer: nil)
        let now = Date()
        let headers = try gateway.signedHeaders(method: "PUT", target: "/bucket/key", headers: [
            ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "10"), ("Transfer-Encoding", "chunked"),
        ], payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", now: now)
        let first = try SmugglingTests.signedChunks([Array("hello".utf8)], headers: headers, now: now)[0]
        try await client.send(Array("PUT /bucket/key HTTP/1.1\r\n".utf8)
            + headers.flatMap { Array("\($0.0): \($0.1)\r\n".utf8) } + Array("\r\n".utf8)
            + Array("\(String(first.count, radix: 16))\r\n".utf8) + first + Array("\r\n".utf8))
        #expect(await eventually { upstream.receivedText.contains("\r\n\r\n") }, "the request head never went upstream")
        try await client.send(Array("zz\r\n".utf8) + Self.piece)
        #expect(await eventually { client.receivedText == Self.badRequest }, "\(client.receivedText)")
        #expect(await eventually { upstream.connectionsClosed == 1 }, "the upstream request was not cut")
        try await Self.expectTheRestDroppedNotReset(client, gateway)
        await Self.stop(upstream, gateway, client)
    }

    @Test func aClientThatNeitherSendsNorClosesIsClosedAtTheLingeringTimeout() async throws {
        let (upstream, gateway, client) = try await Self.refusedUploadInFlight(lingering: 1)
        #expect(await eventually { client.sawEndOfStream })
        #expect(await eventually(timeout: .seconds(30)) { sample("obsgate_client_connections", in: gateway.server.metricsText()) == 0 },
                "the connection outlived timeouts.lingering_close")
        await Self.stop(upstream, gateway, client)
    }
}
