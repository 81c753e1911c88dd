import NIOCore

/// Events the connection handler sends towards the socket to say where the connection
/// stands, so the deadline handler (which sits before the HTTP decoder and sees raw bytes)
/// knows when a request head is awaited.
enum RequestHeadEvent {
    /// A complete request head was decoded.
    case headReceived
    /// The previous exchange finished; the next head may begin.
    case awaitingHead
}

/// Slowloris protection: once the first byte of a request head arrives, the whole head must
/// arrive within the deadline, however slowly the bytes trickle in; otherwise the
/// connection is closed. A connection that sends nothing at all is closed by the idle
/// timeout instead.
final class RequestHeadDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any

    private let deadline: TimeAmount
    private var awaitingHead = true
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingHead, timer == nil {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: deadline) {
                bound.value.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? RequestHeadEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .headReceived:
            awaitingHead = false
            timer?.cancel()
            timer = nil
        case .awaitingHead:
            awaitingHead = true
        }
        promise?.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}
