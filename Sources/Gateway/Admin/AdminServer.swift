import NIOCore
import NIOHTTP1
import NIOPosix

/// Checks that the upstream accepts TCP connections: what `/readyz` reports.
struct UpstreamReadinessProbe: Sendable {
    let upstream: GatewayConfiguration.Upstream
    let group: any EventLoopGroup

    func check() -> EventLoopFuture<Bool> {
        ClientBootstrap(group: group)
            .connectTimeout(.seconds(2))
            .connect(host: upstream.host, port: upstream.port)
            .flatMap { channel in channel.close().map { true } }
            .recover { _ in false }
    }
}

/// The admin listener (a separate port, never exposed with the S3 listener):
///
///     GET /healthz   200 while the process runs
///     GET /readyz    200 when the configuration is loaded and the upstream accepts connections, else 503
///     GET /metrics   Prometheus text format
enum AdminServer {
    static func bind(listener: GatewayConfiguration.Listener, group: any EventLoopGroup,
                     readiness: UpstreamReadinessProbe, metrics: @escaping @Sendable () -> String) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(readiness: readiness, metrics: metrics))
                }
            }
            .bind(host: listener.host, port: listener.port)
            .get()
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let readiness: UpstreamReadinessProbe
    private let metrics: @Sendable () -> String
    private var head: HTTPRequestHead?

    init(readiness: UpstreamReadinessProbe, metrics: @escaping @Sendable () -> String) {
        self.readiness = readiness
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            write(.methodNotAllowed, "only GET\n", keepAlive: head.isKeepAlive, context: context)
            return
        }
        switch path {
        case "/healthz":
            write(.ok, "ok\n", keepAlive: head.isKeepAlive, context: context)
        case "/readyz":
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            readiness.check().hop(to: context.eventLoop).whenSuccess { ready in
                let (handler, context) = bound.value
                handler.write(ready ? .ok : .serviceUnavailable, ready ? "ready\n" : "upstream unreachable\n",
                              keepAlive: head.isKeepAlive, context: context)
            }
        case "/metrics":
            write(.ok, metrics(), contentType: "text/plain; version=0.0.4", keepAlive: head.isKeepAlive, context: context)
        default:
            write(.notFound, "not found\n", keepAlive: head.isKeepAlive, context: context)
        }
    }

    private func write(_ status: HTTPResponseStatus, _ body: String, contentType: String = "text/plain",
                       keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
