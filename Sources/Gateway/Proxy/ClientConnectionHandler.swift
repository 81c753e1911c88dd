import Audit
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import S3Core

/// The gateway's handler of one client connection. It tells the exchange's state machine
/// (`ExchangeStateMachine`) what happens — on this connection, on the exchange's upstream
/// connection, to its timer, and what the request phases concluded — and carries out the
/// actions the machine returns. `RequestSequencer` in front of it holds pipelined requests
/// until the exchange before is over, so there is at most one exchange at a time.
///
/// The phases' work on the request is in `ClientConnectionHandler+Request.swift`, the
/// writing of responses in `ClientConnectionHandler+Response.swift`.
final class ClientConnectionHandler: ChannelDuplexHandler, UpstreamResponseReceiver {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Action = ExchangeStateMachine.Action

    /// Whether the connection takes more requests.
    enum Connection {
        case open
        /// It closes after (or instead of) the last response: what the HTTP decoder reports
        /// after that (pipelined requests, a body cut off by the close) is not answered.
        case closing
    }

    /// The client connection's reads, under backpressure from the upstream.
    enum ClientRead {
        case flowing
        /// A read was asked for while the upstream could not take more body.
        case held
    }

    /// What this connection's reads have written upstream and not yet flushed: a request
    /// head, its body parts and its end read in one go leave in one write.
    enum UpstreamFlush {
        /// Not inside a read from the client: a write goes out at once.
        case immediate
        /// Inside a read from the client: flushed when the read completes.
        case atReadComplete(pending: Bool)
    }

    let environment: ClientEnvironment
    var context: ChannelHandlerContext?
    var exchange: Exchange?
    var connection = Connection.open
    var clientRead = ClientRead.flowing
    var upstreamFlush = UpstreamFlush.immediate
    var requestIds = RequestIdSequence()
    /// The end of the last response written, for a close between exchanges to wait for.
    private var lastResponseWritten: EventLoopFuture<Void>?
    /// The timer for the current exchange's earliest deadline, and when it fires (see
    /// `setTimer`).
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?
    /// The upstream connections of this connection's event loop, found at their first use.
    private(set) lazy var upstreamPool: UpstreamPool? = context.map { environment.pools.pool(for: $0.eventLoop) }
    /// The client's address as log lines and audit records give it: the same for every
    /// request of the connection, so written once.
    private(set) lazy var clientAddress: String? = context.flatMap { Exchange.auditAddress($0.channel.remoteAddress) }

    init(environment: ClientEnvironment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: - The client connection

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard connection == .open else { return }
        if case .immediate = upstreamFlush { upstreamFlush = .atReadComplete(pending: false) }
        let part = unwrapInboundIn(data)
        if case .head(let head) = part {
            start(head)
            return
        }
        guard let exchange else { return }
        switch part {
        case .head: break
        case .body(let buffer):
            exchange.bytesIn += buffer.readableBytes
            handle(exchange.machine.clientBodyPart(buffer, now: context.eventLoop.now), of: exchange)
        case .end:
            handle(exchange.machine.clientEnded(now: context.eventLoop.now), of: exchange)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .atReadComplete(pending: true) = upstreamFlush { exchange?.upstream?.flush() }
        upstreamFlush = .immediate
        context.fireChannelReadComplete()
    }

    /// Flushes what was written upstream, now or when the client's read completes.
    func flushUpstream(_ upstream: any Channel) {
        switch upstreamFlush {
        case .immediate: upstream.flush()
        case .atReadComplete: upstreamFlush = .atReadComplete(pending: true)
        }
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.machine.readsClient(upstreamWritable: exchange.upstream?.isWritable ?? false) {
            clientRead = .held
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstreamHandler?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    /// The server shutting down (quiescing), or the client's input ending: an exchange in
    /// progress is answered first, with `Connection: close` when its head is still to come;
    /// between exchanges the connection closes. (While a request is read, the decoder reports
    /// it cut off by the input's end first; behind a pipelined request, `RequestSequencer`
    /// holds the input's end until that one is answered.)
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent || event as? ChannelEvent == .inputClosed else {
            return context.fireUserInboundEventTriggered(event)
        }
        if let exchange {
            exchange.machine.closeAfterResponse()
        } else if connection == .open {
            // A connection already closing does so once its last response is written.
            closeBetweenExchanges(context, lingering: false)
        }
    }

    /// Broken HTTP and any other error on the client connection end it: nothing half-parsed
    /// may go on. Broken HTTP is answered 400 first, unless the response's head was written
    /// (the client could not tell a second answer from the first one's body).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS client's input that ended without close_notify: NIOSSL reports it, then the
        // input's end, which is what it means here (a half-close, or the client leaving).
        if case .uncleanShutdown? = error as? NIOSSLError { return }
        let brokenHTTP = error is HTTPParserError
        if let exchange {
            // The decoder reports a request cut off by the end of the client's input (or the
            // connection's close) as an error, before the end itself: the client left.
            let clientLeft = !context.channel.isActive || error as? HTTPParserError == .invalidEOFState
            let answersBadRequest = brokenHTTP && !exchange.machine.response.headSent
            if answersBadRequest { exchange.responseEndWritten = writeBadRequest(context) }
            if clientLeft {
                // No status for one that left: its record says ClientDisconnected.
                handle(exchange.machine.clientClosed(), of: exchange)
                context.close(promise: nil)
            } else if answersBadRequest {
                // The 400 is the exchange's answer, and the connection closes lingering once it
                // is written: the rest of the broken body may still be arriving, or be unread,
                // and a plain close would reset it away.
                exchange.status = 400
                handle(exchange.machine.clientFailed(answered: true), of: exchange)
                // Its `finish` set the connection closing; were the exchange over already,
                // nothing else would close it.
                if connection == .open { context.close(promise: nil) }
            } else {
                handle(exchange.machine.clientFailed(), of: exchange)
                context.close(promise: nil)
            }
        } else if connection == .open {
            if brokenHTTP {
                // The close waits for this answer, behind the last one.
                lastResponseWritten = writeBadRequest(context)
                logUnparsedRequest(context)
            }
            // Lingering: the rest of the broken request may still be arriving, or be unread
            // in the socket, and a plain close would reset the 400 away.
            closeBetweenExchanges(context, lingering: brokenHTTP)
        }
        // A connection already closing does so once its last response is written.
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange { handle(exchange.machine.clientClosed(), of: exchange) }
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// Re-reads the client once the upstream can take more body.
    func resumeClientRead() {
        guard clientRead == .held, let context, let exchange,
              exchange.machine.readsClient(upstreamWritable: exchange.upstream?.isWritable ?? false)
        else { return }
        clientRead = .flowing
        context.read()
    }

    // MARK: - The upstream connection

    func upstreamReceived(_ part: HTTPClientResponsePart) {
        guard let exchange, let context else { return }
        let now = context.eventLoop.now
        switch part {
        case .head(let head):
            if head.status.code >= 200 {
                environment.metrics?.upstreamResponded(operation: exchange.operation?.name ?? "Unknown",
                                                       status: Int(head.status.code))
                exchange.upstreamRequestId = head.headers.first(name: "x-amz-request-id") ?? head.headers.first(name: "x-obs-request-id")
            }
            let rewritesAnswer = exchange.prepared.map { MultipartAnswerRewriter.rewrites($0.operation) } ?? false
            handle(exchange.machine.upstreamResponseHead(head, rewritesAnswer: rewritesAnswer, now: now), of: exchange)
        case .body(let buffer):
            handle(exchange.machine.upstreamResponseBody(buffer, now: now), of: exchange)
        case .end:
            handle(exchange.machine.upstreamResponseEnd(), of: exchange)
        }
    }

    /// Response parts are written as they come and flushed once per read from the
    /// upstream: a small answer's head, body and end leave in one write.
    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamWritabilityChanged() {
        resumeClientRead()
    }

    func upstreamFailed(_ error: any Error) {
        guard let exchange else { return }
        exchange.upstream = nil
        exchange.upstreamHandler = nil
        handle(exchange.machine.upstreamFailed(bodyReceived: exchange.bytesIn > 0), of: exchange)
    }

    // MARK: - Running the machine's actions

    /// Carries out the actions in order. An action whose work tells the machine something
    /// new (a body part refused, a form verified) returns the machine's answer, which is
    /// carried out instead of the rest: the machine has moved on.
    func handle(_ actions: [Action], of exchange: Exchange) {
        for action in actions {
            if let next = perform(action, of: exchange) {
                handle(next, of: exchange)
                return
            }
        }
        setTimer(for: exchange)
    }

    private func perform(_ action: Action, of exchange: Exchange) -> [Action]? {
        switch action {
        case .sendContinue: writeContinue(exchange)
        case .connectUpstream: connectUpstream(exchange)
        case .startUpstreamRequest(let body, let end, let sendContinue):
            return startUpstreamRequest(exchange, body: body, end: end, sendContinue: sendContinue)
        case .forwardBody(let buffer): return forward(buffer, of: exchange)
        case .finishUpstreamRequest: return finishUpstreamRequest(exchange)
        case .readFormFields(let buffer): return readFormFields(buffer, of: exchange)
        case .collectJudgedBody(let buffer): return collectJudgedBody(buffer, of: exchange)
        case .judgeBody: return judgeBody(of: exchange)
        case .writeResponseHead(let head): writeResponseHead(head, of: exchange)
        case .writeResponseBody(let buffer): writeResponseBody(buffer, of: exchange)
        case .writeResponseEnd: writeResponseEnd(of: exchange)
        case .writeSanitizedError(let head, let body): writeSanitizedError(head: head, body: body, of: exchange)
        case .rewriteAnswer(let head, let body): return rewriteAnswer(head, body, of: exchange)
        case .writeError(let error, let close): writeError(error, close: close, of: exchange)
        case .writeGatewayAnswer(let head, let close): writeGatewayAnswer(head, close: close, of: exchange)
        case .releaseUpstream: releaseUpstream(exchange)
        case .closeUpstream: closeUpstream(exchange)
        case .finish(let fate): finish(exchange, fate)
        }
        return nil
    }

    /// One timer per connection, for the current exchange's earliest deadline. It is only
    /// rescheduled for an earlier deadline: a deadline that moved later (activity on an
    /// idle deadline), an exchange that finished and the next one's later deadlines leave
    /// it be, and when it fires it finds nothing expired and is set again. (Scheduling costs
    /// several allocations and cancelling searches the loop's timers: once per exchange it
    /// was a tenth of an exchange's allocations.)
    private func setTimer(for exchange: Exchange) {
        guard let context, let earliest = exchange.machine.deadlines.earliest else { return }
        if let timer, timer.at <= earliest { return }
        timer?.task.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: earliest) {
            let handler = bound.value
            handler.timer = nil
            guard let context = handler.context, let exchange = handler.exchange else { return }
            handler.handle(exchange.machine.timerFired(now: context.eventLoop.now), of: exchange)
        }
        timer = (task, earliest)
    }

    /// The exchange is over: its log line, metrics and audit record; then the connection
    /// waits for the next request, or closes.
    private func finish(_ exchange: Exchange, _ fate: ExchangeStateMachine.Fate) {
        guard let context else { return }
        record(exchange, context: context)
        self.exchange = nil
        switch fate {
        case .keepAlive:
            lastResponseWritten = exchange.responseEndWritten
            if clientRead == .held {
                clientRead = .flowing
                context.read()
            }
            // Last: a request the client pipelined starts on this event.
            context.triggerUserOutboundEvent(RequestHeadEvent.awaitingHead, promise: nil)
        case .closeAfterResponse:
            close(after: exchange.responseEndWritten, lingering: true, context: context)
        case .abort:
            connection = .closing
            context.close(promise: nil)
        }
    }

    /// Closes the connection between exchanges (the input ended, a quiesce, broken HTTP)
    /// once the last response is written.
    private func closeBetweenExchanges(_ context: ChannelHandlerContext, lingering: Bool) {
        close(after: lastResponseWritten, lingering: lingering, context: context)
    }

    /// Closes the connection once `written` (the last response's end) is on the wire:
    /// closing the channel at once would drop the writes still queued behind a full socket
    /// (a slow client's download cut short). A client that stops reading gets the
    /// client-idle deadline to take it. `lingering`: then `LingeringClose` closes it without
    /// resetting the answer away (the client may still be sending).
    private func close(after written: EventLoopFuture<Void>?, lingering: Bool, context: ChannelHandlerContext) {
        connection = .closing
        context.triggerUserOutboundEvent(RequestHeadEvent.closingAfterResponse, promise: nil)
        guard let written else { return context.close(promise: nil) }
        let channel = context.channel
        written.whenComplete { _ in
            if lingering {
                channel.triggerUserOutboundEvent(LingeringClose.Event.start, promise: nil)
            } else {
                channel.close(promise: nil)
            }
        }
    }
}
