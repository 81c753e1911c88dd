import NIOCore
import S3Core

/// The pipeline of a connection over a cap (`ConnectionLedger`), behind `LingeringClose`:
/// it answers 503 SlowDown at once — before any request, as HTTP/1.1 allows a server to —
/// and closes the connection without resetting the answer away. SDKs retry 503 SlowDown
/// with backoff.
final class ConnectionLimitRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The raw response: no HTTP encoder sits in this pipeline.
    static let response: String = {
        let error = S3Error(code: "SlowDown",
                            message: "The gateway has as many connections as it accepts; please reduce your request rate.",
                            status: 503)
        let body = error.xmlBody(requestId: "0000000000000000")
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Retry-After: 1\r\nConnection: close\r\n\r\n\(body)"
    }()

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: Self.response))).whenComplete { _ in
            bound.value.triggerUserOutboundEvent(LingeringClose.Event.start, promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
