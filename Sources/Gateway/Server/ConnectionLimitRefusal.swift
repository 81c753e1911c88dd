import NIOCore
import S3Core

/// The whole pipeline of a connection over a cap (`ConnectionLedger`): it answers
/// 503 SlowDown at once — before any request, as HTTP/1.1 allows a server to — half-closes,
/// reads and drops whatever the client sends so that closing does not reset the answer
/// away, and closes within `linger`. SDKs retry 503 SlowDown with backoff.
final class ConnectionLimitRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let linger: TimeAmount
    private var closer: Scheduled<Void>?

    init(linger: TimeAmount) {
        self.linger = linger
    }

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
        closer = context.eventLoop.scheduleTask(in: linger) { bound.value.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: Self.response))).whenComplete { _ in
            bound.value.close(mode: .output).whenFailure { _ in bound.value.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client finished sending: nothing is left to reset the answer away.
        if let event = event as? ChannelEvent, event == .inputClosed { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
