import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client for live tests: one request per connection, the whole
/// response collected. Requests are built by the tests byte-exactly (headers in order, no
/// added fields), which a general-purpose client would not allow.
struct TestHTTPResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

enum TestHTTPClient {
    static func send(host: String = "127.0.0.1", port: Int, method: String, target: String,
                     headers: [(String, String)], body: [UInt8] = [], bodyPieces: Int = 1,
                     group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TestHTTPResponse {
        let collector = ResponseCollector()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        var requestHeaders = HTTPHeaders()
        for (name, value) in headers { requestHeaders.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target, headers: requestHeaders)
        // A server may answer and close before the body is sent (a refused upload): the
        // writes may then fail, and the answer is what the test looks at.
        try? await channel.writeAndFlush(HTTPClientRequestPart.head(head)).get()
        if !body.isEmpty {
            let pieceSize = max(1, (body.count + bodyPieces - 1) / bodyPieces)
            for start in stride(from: 0, to: body.count, by: pieceSize) {
                let piece = channel.allocator.buffer(bytes: body[start..<min(start + pieceSize, body.count)])
                guard (try? await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(piece))).get()) != nil else { break }
            }
        }
        try? await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        let response = try await collector.response.futureResult.get()
        try? await channel.close().get()
        return response
    }
}

private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var pending: EventLoopPromise<TestHTTPResponse>!

    var response: EventLoopPromise<TestHTTPResponse> { pending }

    func handlerAdded(context: ChannelHandlerContext) {
        pending = context.eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code >= 200 { self.head = head }
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            pending.succeed(TestHTTPResponse(status: Int(head.status.code), headers: head.headers, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending.fail(ChannelError.inputClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending.fail(error)
        context.close(promise: nil)
    }
}
