import NIOCore

/// Closes a client connection without resetting its last answer away.
///
/// A connection closed while the client's bytes are still arriving, or still unread in the
/// gateway's socket, makes the kernel answer with a TCP RST; a client that gets the RST
/// before it has read the answer loses the answer too (a 403 for an upload refused before
/// its body was read becomes "connection reset by peer"). So the close happens in steps, as
/// nginx's `lingering_close` does: the answer is written, the sending side is shut down (the
/// client reads the answer and then end of stream), whatever the client still sends is read
/// and dropped, and the connection closes when the client has closed its side, or after
/// `linger` at the latest.
///
/// It sits at the front of the pipeline (after TLS), so it drops bytes before any parser
/// sees them; it starts on the outbound user event `LingeringClose.Event.start`, triggered once
/// the last answer is written. Until then it passes everything on.
final class LingeringClose: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The outbound user event that starts the close: `LingeringClose.Event.start`.
    enum Event: Sendable { case start }

    private let linger: TimeAmount
    private var closer: Scheduled<Void>?
    /// The client ended its sending side before the close began: no more reads will come.
    private var inputClosed = false

    init(linger: TimeAmount) {
        self.linger = linger
    }

    var isLingering: Bool { closer != nil }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Event else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        guard closer == nil, context.channel.isActive else { return }
        // Nothing more can arrive to reset the answer away.
        guard !inputClosed else { return context.close(promise: nil) }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closer = context.eventLoop.scheduleTask(in: linger) { bound.value.close(promise: nil) }
        // TLS or a socket that cannot half-close: the plain close is all there is.
        context.close(mode: .output).whenFailure { _ in bound.value.close(promise: nil) }
        // The handlers behind may be holding reads (a request in flight); draining reads on.
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isLingering else { return }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard isLingering else {
            context.fireChannelReadComplete()
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .inputClosed {
            // The client finished sending: nothing is left to reset the answer away.
            guard !isLingering else { return context.close(promise: nil) }
            inputClosed = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard isLingering else {
            context.fireErrorCaught(error)
            return
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closer?.cancel()
        context.fireChannelInactive()
    }
}
