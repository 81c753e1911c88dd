import NIOCore

/// Events the connection handler sends towards the socket to say where the connection
/// stands, so the deadline handler (which sits before the HTTP decoder and sees raw bytes)
/// knows when a request head is awaited.
enum RequestHeadEvent {
    /// A complete request head was decoded.
    case headReceived
    /// The previous exchange finished; the next head may begin.
    case awaitingHead
    /// The last exchange finished and the connection closes once its response is written:
    /// the client has `idle` to take it.
    case closingAfterResponse
}

/// The two deadlines of a connection between requests, on the event loop's clock:
///
/// - idle: a keep-alive connection that sends nothing for `idle` is closed;
/// - head (slowloris): once the first byte of a request head arrives, the whole head must
///   arrive within `head`, however slowly the bytes trickle in.
///
/// While an exchange is in progress neither applies: the body and the upstream have
/// timeouts of their own. Once the last response of a closing connection is written, the
/// client has `idle` to read it.
final class RequestHeadDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any

    private enum State {
        case waitingForFirstByte
        case receivingHead
        case inExchange
    }

    private let idle: TimeAmount
    private let head: TimeAmount
    private var state = State.waitingForFirstByte
    /// When the connection closes unless something moves it; nil while an exchange runs.
    private var deadline: NIODeadline?
    /// The timer, and when it fires. A deadline that moved later does not reschedule it
    /// (cancelling searches the event loop's timers, twice a request): it fires early,
    /// finds the deadline moved, and is set again.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?

    init(idle: TimeAmount, head: TimeAmount) {
        self.idle = idle
        self.head = head
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(idle, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idle, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .waitingForFirstByte = state else {
            context.fireChannelRead(data)
            return
        }
        state = .receivingHead
        let headDeadline = context.eventLoop.now + head
        context.fireChannelRead(data)
        // A head usually arrives whole in its first read, and the decoder reports it before
        // `fireChannelRead` returns: only a head still coming needs its deadline (counted
        // from its first byte) and, when that is earlier than the timer, a new timer. (A
        // connection closed meanwhile needs none: nothing would cancel it.)
        if case .receivingHead = state, context.channel.isActive { arm(at: headDeadline, context: context) }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? RequestHeadEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .headReceived:
            state = .inExchange
            deadline = nil
        case .awaitingHead:
            state = .waitingForFirstByte
            arm(idle, context: context)
        case .closingAfterResponse:
            state = .inExchange
            arm(idle, context: context)
        }
        promise?.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        deadline = nil
        context.fireChannelInactive()
    }

    private func arm(_ amount: TimeAmount, context: ChannelHandlerContext) {
        arm(at: context.eventLoop.now + amount, context: context)
    }

    private func arm(at: NIODeadline, context: ChannelHandlerContext) {
        deadline = at
        if let timer, timer.at <= at { return }
        timer?.task.cancel()
        schedule(at: at, context: context)
    }

    private func schedule(at: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: at) {
            let (handler, context) = bound.value
            handler.timer = nil
            guard let deadline = handler.deadline else { return }
            if context.eventLoop.now < deadline {
                handler.schedule(at: deadline, context: context)
            } else {
                context.close(promise: nil)
            }
        }
        timer = (task, at)
    }
}
