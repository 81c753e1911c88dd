import NIOCore
import NIOHTTP1

/// Hands a client connection's requests to the gateway handler one exchange at a time, in
/// place of NIO's `HTTPServerPipelineHandler`.
///
/// A client may send its next request before the answer to the one before: "A client that
/// supports persistent connections MAY 'pipeline' its requests … A server … MUST send the
/// corresponding responses in the same order that the requests were received" (RFC 9112
/// §9.3.2). The gateway runs one exchange at a time, so what the decoder reports after a
/// request's end — the next request's parts, a parse error, the end of the client's input
/// — is held here until the gateway handler says the exchange is over
/// (`RequestHeadEvent.awaitingHead`), and then handed on in order. (NIO's handler hands it
/// on as the response's end is written, which is inside the exchange's last step: the next
/// request started before the one before had finished.)
///
/// Reading goes on while an exchange is answered, and waits only once something is held,
/// so what is held is at most one read's worth (and the decoder's own limits on a head).
/// NIO's handler stops reading at every request's end and starts again at its response's
/// end: two `epoll_ctl` calls and a re-registration per exchange (bench/README.md).
final class RequestSequencer: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = Any

    /// Where the connection's current request is.
    private enum Stage {
        /// Between exchanges: the next head starts one.
        case awaitingHead
        /// A head was handed on; its body and end follow it.
        case readingRequest
        /// The request ended and its exchange is being answered: what arrives now waits.
        case answering
    }

    /// What arrived while an exchange was answered, in order.
    private enum Held {
        case part(NIOAny)
        case error(any Error)
        case inputClosed
    }

    private var stage = Stage.awaitingHead
    private var held: [Held] = []
    /// A read was asked for while something was held: it is made once all is handed on.
    private var readPending = false
    /// Handing on what was held (an exchange handed on may finish at once, and say so).
    private var handingOn = false

    private var holds: Bool { stage == .answering || !held.isEmpty }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !holds else {
            held.append(.part(data))
            return
        }
        handOn(data, context: context)
    }

    /// A parse error after a request's end answers (400) only after that request's answer.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !holds || !(error is HTTPParserError) else {
            held.append(.error(error))
            return
        }
        context.fireErrorCaught(error)
    }

    /// The end of the client's input (it may have half-closed, waiting for its answers).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard holds, event as? ChannelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        held.append(.inputClosed)
    }

    func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readPending = true
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        // On to the deadline handler first: the next head, handed on below, moves it again.
        context.triggerUserOutboundEvent(event, promise: promise)
        if event as? RequestHeadEvent == .awaitingHead {
            stage = .awaitingHead
            handOnHeld(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Nothing held can be answered any more.
        held.removeAll()
        context.fireChannelInactive()
    }

    private func handOn(_ data: NIOAny, context: ChannelHandlerContext) {
        switch unwrapInboundIn(data) {
        case .head: stage = .readingRequest
        case .body: break
        case .end: stage = .answering
        }
        context.fireChannelRead(data)
    }

    /// Hands on what was held, up to the next request's end; then reads on if nothing is
    /// left.
    private func handOnHeld(context: ChannelHandlerContext) {
        guard !handingOn, !held.isEmpty else { return }
        handingOn = true
        var handedOnParts = false
        while stage != .answering, !held.isEmpty, context.channel.isActive {
            switch held.removeFirst() {
            case .part(let data):
                handOn(data, context: context)
                handedOnParts = true
            case .error(let error):
                // The decoder reports nothing after an error.
                held.removeAll()
                context.fireErrorCaught(error)
            case .inputClosed:
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
        handingOn = false
        // The gateway handler flushes what it wrote upstream when a read completes.
        if handedOnParts { context.fireChannelReadComplete() }
        if held.isEmpty, readPending {
            readPending = false
            context.read()
        }
    }
}
