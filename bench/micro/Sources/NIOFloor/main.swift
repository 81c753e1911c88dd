import NIOCore
import NIOHTTP1
import NIOPosix
import Glibc

// The least a SwiftNIO HTTP/1.1 server and proxy cost per request on this machine, with the
// pipeline shape the gateway's client side has (NIO's decoder and encoder, the protocol error
// handler, header validation) and no work of their own:
//
//   nio-floor server PORT                 answers every request 200 with a small body
//   nio-floor proxy PORT UPSTREAM_PORT    sends every request as it is to a keep-alive
//                                         connection of its own to 127.0.0.1:UPSTREAM_PORT
//                                         and the answer back as it is
//
// One event loop; bench/fixed_upstream.sh runs both pinned to one CPU like the gateway.
// NIO_FLOOR_PIPELINING=1 (proxy): with NIO's pipelining assistance, which stops reading the
// client between a request's end and its response's end (two `epoll_ctl` per exchange), as
// the gateway had it before its own `RequestSequencer` — what that pause costs
// (bench/README.md, "Session of 2026-12-05 (fifth)"). The server answers within the
// request's read, so the assistance never pauses it.

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]),
      arguments[1] == "server" || (arguments[1] == "proxy" && arguments.count == 4 && Int(arguments[3]) != nil)
else {
    print("usage: nio-floor server PORT | nio-floor proxy PORT UPSTREAM_PORT")
    exit(2)
}

/// Answers every request with the same 200.
final class FixedAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let body = ByteBuffer(string: "<InitiateMultipartUploadResult><UploadId>floor</UploadId></InitiateMultipartUploadResult>")

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let head = HTTPResponseHead(version: .http1_1, status: .ok,
                                    headers: HTTPHeaders([("Content-Length", "\(body.readableBytes)")]))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// The proxy's client side: each request part to the upstream connection as it came.
final class ToUpstream: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    private let upstream: Channel

    init(upstream: Channel) { self.upstream = upstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            upstream.write(HTTPClientRequestPart.head(HTTPRequestHead(version: head.version, method: head.method,
                                                                      uri: head.uri, headers: head.headers)), promise: nil)
        case .body(let buffer):
            upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        case .end:
            upstream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream.close(promise: nil)
        context.fireChannelInactive()
    }
}

/// The proxy's upstream side: each answer part to the client as it came, flushed once per read.
final class ToClient: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let client: Channel

    init(client: Channel) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            client.write(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: head.status,
                                                                      headers: head.headers)), promise: nil)
        case .body(let buffer):
            client.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        case .end:
            client.write(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        client.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.close(promise: nil)
        context.fireChannelInactive()
    }
}

let pipeliningAssistance = getenv("NIO_FLOOR_PIPELINING") != nil
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let upstreamPort = arguments.count == 4 ? Int(arguments[3]) : nil
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        guard let upstreamPort else {
            return channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                .flatMap { channel.pipeline.addHandler(FixedAnswer()) }
        }
        return ClientBootstrap(group: channel.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.pipeline.addHTTPClientHandlers().flatMap { upstream.pipeline.addHandler(ToClient(client: channel)) }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMap { upstream in
                channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: pipeliningAssistance, withErrorHandling: true)
                    .flatMap { channel.pipeline.addHandler(ToUpstream(upstream: upstream)) }
            }
    }
let server = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("nio-floor \(arguments[1]) listening on 127.0.0.1:\(port)")
try server.closeFuture.wait()
