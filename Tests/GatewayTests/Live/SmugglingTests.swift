import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// Request smuggling through the body: whatever the framing, the upstream never receives
/// more body bytes than the head the gateway sent it announces. Judged by what a
/// recording upstream received, not by the gateway's answer.
@Suite(.serialized) struct SmugglingTests {
    /// A SigV4 streaming upload (signed aws-chunked) that declares 5 decoded bytes, then
    /// sends correctly signed chunks: `hello`, a whole HTTP request, more. The second chunk
    /// would take the body past its declared length, so it is refused before any of its
    /// bytes moves, and the upstream connection is closed. The chunks are sent one at a
    /// time, each once the upstream has what the gateway released of the one before (or
    /// the gateway has answered), so the gateway reads them separately.
    @Test func anAWSChunkedBodyLongerThanItsDeclaredLengthNeverReachesTheUpstream() async throws {
        let smuggled = "GET /smuggled HTTP/1.1\r\nHost: up\r\n\r\n"
        let chunks = [Array("hello".utf8), Array(smuggled.utf8), Array("trailing".utf8), []]
        let (upstream, gateway, client, body) = try await Self.chunkedUpload(chunks, declaredLength: 5)
        var expectedUpstream = ""
        for (index, chunk) in body.enumerated() {
            try await client.send(chunk)
            // What the gateway may have released by now: the chunks before the newest.
            if index >= 1 { expectedUpstream += String(decoding: chunks[index - 1], as: UTF8.self) }
            _ = await eventually(timeout: .seconds(5)) {
                client.receivedText.contains("\r\n\r\n") || upstream.receivedText.hasSuffix(expectedUpstream)
            }
        }
        #expect(await eventually { client.receivedText.contains("\r\n\r\n") }, "no answer")
        #expect(client.receivedText.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(client.receivedText)")
        #expect(client.receivedText.contains("<Code>IncompleteBody</Code>"), "\(client.receivedText)")
        // Once the gateway closed the upstream connection, all it wrote there has arrived.
        #expect(await eventually { upstream.connectionsClosed == 1 }, "the upstream connection was not closed")
        #expect(!upstream.receivedText.contains("smuggled"), "\(upstream.receivedText)")
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }

    /// A signed aws-chunked upload whose second chunk carries a forged signature: that
    /// chunk is refused when its data is complete and never released upstream; the
    /// upstream connection is closed, so the store cannot complete the object with it.
    @Test func aChunkWithAForgedSignatureNeverReachesTheUpstream() async throws {
        let (upstream, gateway, client, body) = try await Self.chunkedUpload(
            [Array("hello".utf8), Array("forged!".utf8), Array("tail".utf8), []], forge: 1)
        for chunk in body { try await client.send(chunk) }
        #expect(await eventually { client.receivedText.contains("\r\n\r\n") }, "no answer")
        #expect(client.receivedText.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), "\(client.receivedText)")
        #expect(client.receivedText.contains("<Code>SignatureDoesNotMatch</Code>"))
        #expect(await eventually { upstream.connectionsClosed == 1 }, "the upstream connection was not closed")
        #expect(!upstream.receivedText.contains("forged!") && !upstream.receivedText.contains("tail"), "\(upstream.receivedText)")
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }

    /// A signed aws-chunked upload whose client leaves after the first chunk: the upstream
    /// connection is closed with the body short of its length, so nothing is stored.
    @Test func aSignedStreamThatStopsEarlyClosesTheUpstreamConnection() async throws {
        let (upstream, gateway, client, body) = try await Self.chunkedUpload(
            [Array("hello".utf8), Array("world".utf8), []])
        try await client.send(body[0])
        await client.close()
        #expect(await eventually { upstream.connectionsClosed == 1 }, "the upstream connection was not closed")
        #expect(!upstream.receivedText.contains("world"), "\(upstream.receivedText)")
        await gateway.stop()
        await upstream.stop()
    }

    /// A gateway in front of an upstream that waits for whole bodies, a client connection
    /// with the signed head of an aws-chunked PUT of `chunks` already sent, and the chunks'
    /// wire bytes. `declaredLength` is the decoded length the head announces (default: the
    /// chunks' own); `forge` replaces that chunk's signature with zeros.
    static func chunkedUpload(_ chunks: [[UInt8]], declaredLength: Int? = nil, forge: Int? = nil) async throws
        -> (ScriptedUpstream, LiveGateway, RawClient, [[UInt8]]) {
        let upstream = try await ScriptedUpstream.start(answer: nil)
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let now = Date()
        let wireLength = chunks.reduce(0) { $0 + String($1.count, radix: 16).utf8.count + 17 + 64 + 2 + $1.count + 2 }
        let headers = try gateway.signedHeaders(method: "PUT", target: "/bucket/key", headers: [
            ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(declaredLength ?? chunks.reduce(0) { $0 + $1.count })),
            ("Content-Length", String(wireLength)),
        ], payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", now: now)
        var body = try signedChunks(chunks, headers: headers, now: now)
        if let forge {
            let text = String(decoding: body[forge], as: UTF8.self)
            let signature = try #require(text.split(separator: "=").dropFirst().first?.prefix(64))
            body[forge] = Array(text.replacingOccurrences(of: signature, with: String(repeating: "0", count: 64)).utf8)
        }
        let client = try await RawClient.connect(port: gateway.port)
        try await client.send(Array("PUT /bucket/key HTTP/1.1\r\n".utf8)
            + headers.flatMap { Array("\($0.0): \($0.1)\r\n".utf8) } + Array("\r\n".utf8))
        #expect(await eventually { upstream.receivedText.contains("\r\n\r\n") }, "the request head never went upstream")
        return (upstream, gateway, client, body)
    }

    /// One aws-chunked chunk per element, `hex(size);chunk-signature=sig\r\n data \r\n`,
    /// each signature chained from the request's own (the seed) with the test client's key.
    static func signedChunks(_ chunks: [[UInt8]], headers: [(String, String)], now: Date) throws -> [[UInt8]] {
        let authorization = try #require(headers.first { $0.0 == "Authorization" }?.1)
        var previous = String(try #require(authorization.split(separator: "Signature=").last))
        let amzDate = SigningTime.amzDate(now)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: "us-east-1")
        let key = SigV4SigningKeyCache.derive(secret: TestSetup.clientSecret, scope: scope)
        return chunks.map { chunk in
            let stringToSign = "AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope.text)\n\(previous)\n"
                + "\(SigV4.emptyPayloadHash)\n\(hexSHA256(Data(chunk)))"
            previous = hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key.key))
            return Array("\(String(chunk.count, radix: 16));chunk-signature=\(previous)\r\n".utf8) + chunk + Array("\r\n".utf8)
        }
    }
}

/// A TCP client that writes exactly the bytes it is given and records what comes back,
/// and the errors the connection reported (a reset among them).
final class RawClient: Sendable {
    private let channel: any Channel
    private let received: NIOLockedValueBox<[UInt8]>
    private let errors: NIOLockedValueBox<[any Error]>
    private let endOfStream: NIOLockedValueBox<Bool>

    var receivedText: String { String(decoding: received.withLockedValue { $0 }, as: UTF8.self) }
    /// The errors reading or writing met, in order.
    var errorsSeen: [String] { errors.withLockedValue { $0.map { "\($0)" } } }
    /// Whether the server ended its sending side (a FIN, not a reset).
    var sawEndOfStream: Bool { endOfStream.withLockedValue { $0 } }

    private init(channel: any Channel, received: NIOLockedValueBox<[UInt8]>, errors: NIOLockedValueBox<[any Error]>,
                 endOfStream: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.received = received
        self.errors = errors
        self.endOfStream = endOfStream
    }

    static func connect(port: Int) async throws -> RawClient {
        let received = NIOLockedValueBox<[UInt8]>([])
        let errors = NIOLockedValueBox<[any Error]>([])
        let endOfStream = NIOLockedValueBox(false)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(received: received, errors: errors, endOfStream: endOfStream))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, received: received, errors: errors, endOfStream: endOfStream)
    }

    /// Writes the bytes; a connection the server closed meanwhile is not an error here
    /// (what the write met is in `errorsSeen`).
    func send(_ bytes: [UInt8]) async throws {
        do {
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
        } catch {
            errors.withLockedValue { $0.append(error) }
        }
    }

    /// Ends the sending side (the server reads end of stream); the connection stays open
    /// for what the server still sends.
    func closeOutput() async {
        try? await channel.close(mode: .output).get()
    }

    func close() async {
        try? await channel.close().get()
    }

    /// Whether the server closed the connection (or it was closed here). With the client's
    /// half-closure allowed, a server's close shows as `sawEndOfStream` first.
    var isClosed: Bool { !channel.isActive || sawEndOfStream }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        let errors: NIOLockedValueBox<[any Error]>
        let endOfStream: NIOLockedValueBox<Bool>
        init(received: NIOLockedValueBox<[UInt8]>, errors: NIOLockedValueBox<[any Error]>, endOfStream: NIOLockedValueBox<Bool>) {
            self.received = received
            self.errors = errors
            self.endOfStream = endOfStream
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            received.withLockedValue { $0 += bytes }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.withLockedValue { $0.append(error) }
            context.close(promise: nil)
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            // The server's end of stream; this side may still send (half-closed).
            if let event = event as? ChannelEvent, event == .inputClosed { endOfStream.withLockedValue { $0 = true } }
        }
    }
}
