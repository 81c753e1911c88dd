import NIOCore
import NIOHTTP1

/// Hands a client connection's requests to the gateway handler one exchange at a time, in
/// place of NIO's `HTTPServerPipelineHandler`.
///
/// A client may send its next request before the answer to the one before: "A client that
/// supports persistent connections MAY 'pipeline' its requests … A server … MUST send the
/// corresponding responses in the same order that the requests were received" (RFC 9112
/// §9.3.2). The gateway runs one exchange at a time, so what the decoder reports after a
/// request's end — the next request's parts and the decoder's errors — is held here until
/// the gateway handler says the exchange is over (`RequestHeadEvent.awaitingHead`), and then
/// handed on in order; so is the end of the client's input when it follows something held.
/// (NIO's handler hands it on as the response's end is written, which is inside the
/// exchange's last step: the next request started before the one before had finished.)
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
    /// What is held is `held[nextHeld...]`: taken from the front by index, not by removing
    /// the first element (a read's worth of small requests is thousands of parts).
    private var held: [Held] = []
    private var nextHeld = 0
    /// A read was asked for while something was held: it is made once all is handed on.
    private var readPending = false
    /// Handing on what was held (an exchange handed on may finish at once, and say so).
    private var handingOn = false

    private var isHolding: Bool { nextHeld < held.count }
    private var holds: Bool { stage == .answering || isHolding }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !holds else {
            held.append(.part(data))
            return
        }
        handOn(data, context: context)
    }

    /// The decoder's errors after a request's end are the next request's: a parse error is
    /// answered (400) only after this request's answer, and what the decoder reports of the
    /// reads after its error (`ByteToMessageDecoderError`) must not end this exchange either.
    /// Other errors (the connection's) go on at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard holds, error is HTTPParserError || error is ByteToMessageDecoderError else {
            context.fireErrorCaught(error)
            return
        }
        held.append(.error(error))
    }

    /// The end of the client's input (it may have half-closed, waiting for its answers) goes
    /// on at once, so that the exchange being answered closes the connection after its
    /// answer; behind something held, it waits its turn.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard isHolding, event as? ChannelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        held.append(.inputClosed)
    }

    func read(context: ChannelHandlerContext) {
        if isHolding {
            readPending = true
        } else {
            context.read()
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
        dropHeld()
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
        guard !handingOn, isHolding else { return }
        handingOn = true
        var handedOnParts = false
        while stage != .answering, isHolding, context.channel.isActive {
            let next = held[nextHeld]
            nextHeld += 1
            switch next {
            case .part(let data):
                handOn(data, context: context)
                handedOnParts = true
            case .error(let error):
                // Nothing the decoder reports after its first error is HTTP.
                dropHeld()
                context.fireErrorCaught(error)
            case .inputClosed:
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
        if !isHolding { dropHeld() }
        handingOn = false
        // The gateway handler flushes what it wrote upstream when a read completes.
        if handedOnParts { context.fireChannelReadComplete() }
        if !isHolding, readPending {
            readPending = false
            context.read()
        }
    }

    private func dropHeld() {
        held.removeAll(keepingCapacity: held.count <= 16)
        nextHeld = 0
    }
}
