import DevUpstream
import Foundation
import NIOCore
import NIOPosix
import S3Core
import S3Signing
import Synchronization
import Testing

/// HTTP/1.1 behaviour over a raw TCP connection: pipelining, HEAD, `Connection: close`,
/// `Expect: 100-continue`.
@Suite struct HTTPBehaviourTests {
    /// A SigV2-signed request as bytes on the wire.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: String = "",
                 port: Int, signed: Bool = true) throws -> [UInt8] {
        var fields = HeaderFields([("Host", "127.0.0.1:\(port)")] + headers)
        if !body.isEmpty { fields.add("Content-Length", String(body.utf8.count)) }
        if signed {
            let requestTarget = try RequestTarget(parsing: target)
            try UpstreamSigner(scheme: .v2, credentials: LiveStore.credentials, region: "us-east-1")
                .sign(method: method, target: requestTarget,
                      address: S3AddressResolver(baseDomains: []).resolve(host: nil, target: requestTarget),
                      headers: &fields, now: Date())
        }
        let head = "\(method) \(target) HTTP/1.1\r\n" + fields.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
        return Array((head + body).utf8)
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsHonoured() async throws {
        try await LiveStore.with { store in
            let port = store.server.port
            let connection = try await RawConnection.connect(port: port)
            let pipelined = try request("PUT", "/pipe-bucket", port: port)
                + request("PUT", "/pipe-bucket/k", body: "hello", port: port)
                + request("GET", "/pipe-bucket/k", port: port)
                + request("HEAD", "/pipe-bucket/k", headers: [("Connection", "close")], port: port)
            try await connection.send(pipelined)
            let text = try await connection.untilClosed()
            // The GET's body is followed directly by the HEAD's status line.
            let responses = text.components(separatedBy: "HTTP/1.1 200 OK\r\n")
            try #require(responses.count == 5 && responses[0].isEmpty, "\(text)")
            #expect(responses[3].hasSuffix("\r\n\r\nhello"))
            #expect(responses[4].lowercased().contains("content-length: 5\r\n"))
            #expect(responses[4].lowercased().contains("connection: close\r\n"))
            #expect(responses[4].hasSuffix("\r\n\r\n")) // HEAD: no body
            #expect(responses[1].lowercased().contains("x-amz-request-id: "))

            let recorded = store.server.recordedRequests()
            #expect(recorded.map(\.method) == ["PUT", "PUT", "GET", "HEAD"])
            #expect(recorded.map(\.bodyLength) == [0, 5, 0, 0])
            #expect(recorded.allSatisfy { $0.accessKeyId == LiveStore.credentials.accessKeyId })
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyIsRead() async throws {
        try await LiveStore.with { store in
            let port = store.server.port
            let connection = try await RawConnection.connect(port: port)
            try await connection.send(request("PUT", "/continue-bucket", port: port))
            _ = try await connection.until("\r\n\r\n")
            let full = try request("PUT", "/continue-bucket/k", headers: [("Expect", "100-continue")], body: "12345", port: port)
            try await connection.send(Array(full.dropLast(5)))
            let interim = try await connection.until("100 Continue\r\n\r\n")
            #expect(interim.hasSuffix("HTTP/1.1 100 Continue\r\n\r\n"))
            try await connection.send(Array(full.suffix(5)))
            let final = try await connection.until("ETag")
            #expect(final.contains("HTTP/1.1 200 OK"))
        }
    }

    @Test func refusedUploadWaitingForContinueGetsTheErrorAndAClosedConnection() async throws {
        try await LiveStore.with { store in
            let port = store.server.port
            let connection = try await RawConnection.connect(port: port)
            try await connection.send(request("PUT", "/b/k", headers: [("Expect", "100-continue")], body: "12345",
                                              port: port, signed: false).dropLast(5))
            let text = try await connection.untilClosed()
            #expect(!text.contains("100 Continue"))
            #expect(text.hasPrefix("HTTP/1.1 403 Forbidden"))
            #expect(text.contains("<Code>AccessDenied</Code>"))
            #expect(text.lowercased().contains("content-type: application/xml"))
            #expect(store.server.recordedRequests().map(\.accessKeyId) == [nil])
        }
    }
}

/// One TCP connection whose received bytes tests can wait for.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let inbox: Inbox

    final class Inbox: Sendable {
        let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Inbox
        init(inbox: Inbox) { self.inbox = inbox }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            inbox.state.withLock { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            inbox.state.withLock { $0.closed = true }
        }
    }

    private init(channel: any Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    static func connect(port: Int) async throws -> RawConnection {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, inbox: inbox)
    }

    func send(_ bytes: some Sequence<UInt8>) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: Array(bytes)))
    }

    /// Everything received once `marker` has arrived (5 s at most).
    func until(_ marker: String) async throws -> String {
        try await wait { text, _ in text.contains(marker) }
    }

    /// Everything received once the server has closed the connection (5 s at most).
    func untilClosed() async throws -> String {
        try await wait { _, closed in closed }
    }

    private func wait(_ done: (String, Bool) -> Bool) async throws -> String {
        for _ in 0..<500 {
            let (bytes, closed) = inbox.state.withLock { ($0.bytes, $0.closed) }
            let text = String(decoding: bytes, as: UTF8.self)
            if done(text, closed) { return text }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RawConnectionTimeout()
    }

    struct RawConnectionTimeout: Error {}
}
