import NIOCore
import NIOHTTP1
import S3Core

/// The life of one exchange, from its request head to the end of its response, as a value:
/// events in, actions out. It owns no channel and does no I/O: `ClientConnectionHandler`
/// tells it what happened — on the client connection, on the upstream connection, to the
/// timers, and what the request phases concluded — and carries out the actions it returns.
/// docs/architecture.md draws its states and events.
///
/// The request and the response are two halves with states of their own; the upstream
/// connection and the client connection's fate are two more. An exchange is over when its
/// response is complete and its request has ended (or the connection closes anyway), or
/// when either connection is cut; it then returns `finish` once, with its `outcome`, and
/// ignores everything after.
struct ExchangeStateMachine {
    /// Where the client's request is.
    enum Request: Equatable {
        /// The head arrived; the phases run on it.
        case preparing
        /// A browser form's field section is being read: nothing is authenticated yet.
        case readingFormFields
        /// A body being read whole (verified, decoded) to be judged before anything goes
        /// upstream; `judging` once the client's end arrived.
        case collectingJudgedBody
        case judgingBody
        /// Prepared and admitted; the upstream connection is being made. Body parts wait
        /// here; `ended` once the client's end arrived.
        case awaitingUpstream(buffered: [ByteBuffer], ended: Bool)
        /// Body parts go upstream as they arrive.
        case forwarding
        /// The whole request, end included, went upstream.
        case forwarded
        /// Refused or answered early: what is left of the body is read and dropped.
        case discarding
        /// The client's end arrived; nothing more of the request is wanted.
        case ended

        /// The client's end has arrived.
        var clientEnded: Bool {
            switch self {
            case .judgingBody, .forwarded, .ended: true
            case .awaitingUpstream(_, let ended): ended
            case .preparing, .readingFormFields, .collectingJudgedBody, .forwarding, .discarding: false
            }
        }
    }

    /// Where the response to the client is.
    enum Response {
        case awaiting
        /// An upstream error body collected so it can be sanitised before the client sees it.
        case collectingError(HTTPResponseHead, ByteBuffer)
        /// A successful answer whose body the gateway rewrites (multipart upload ids, the
        /// upstream's URLs), collected whole.
        case collectingAnswer(HTTPResponseHead, ByteBuffer)
        /// The collected answer is being rewritten; the upstream is done.
        case rewriting
        /// The upstream's head went to the client; its body follows as it comes.
        case streaming(upstreamKeepAlive: Bool)
        /// Written whole (the upstream's answer or the gateway's own).
        case complete

        /// The head went to the client: from then on a failure can only close the connection.
        var headSent: Bool {
            switch self {
            case .streaming, .complete: true
            case .awaiting, .collectingError, .collectingAnswer, .rewriting: false
            }
        }
    }

    /// The upstream connection, as far as this exchange is concerned.
    enum Upstream: Equatable {
        case none
        /// Asked for; `attempt` 2 is the one retry on a fresh connection.
        case connecting(attempt: Int)
        case connected(reused: Bool, attempt: Int)
        /// Given back to the pool, or closed: no longer this exchange's.
        case released

        var inUse: Bool {
            switch self {
            case .connecting, .connected: true
            case .none, .released: false
            }
        }
    }

    /// What becomes of the client connection after the exchange.
    enum Fate: Equatable {
        /// The next request may follow.
        case keepAlive
        /// Closed once the response is written (the client asked, or what is left of its
        /// request cannot be trusted to end where the gateway thinks).
        case closeAfterResponse
        /// Closed at once: the response cannot be completed (its head went out), or the
        /// client is gone.
        case abort
    }

    enum Lifecycle {
        case active
        case finished
    }

    enum Action: Equatable {
        /// `100 Continue`: the client may send its body.
        case sendContinue
        /// Get an upstream connection (a pooled one when there is one).
        case connectUpstream
        /// Write the signed upstream head (after `100 Continue` to the client when
        /// `sendContinue`), then the body parts through the body source, then its end
        /// when `end`.
        case startUpstreamRequest(body: [ByteBuffer], end: Bool, sendContinue: Bool)
        /// A client body part through the body source to the upstream.
        case forwardBody(ByteBuffer)
        /// The body source's final checks, what it held back, and the request's end.
        case finishUpstreamRequest
        /// Phase work on the body: a form's field section, a body to be judged.
        case readFormFields(ByteBuffer)
        case collectJudgedBody(ByteBuffer)
        case judgeBody
        /// The upstream's response head, rewritten for the client.
        case writeResponseHead(HTTPResponseHead)
        case writeResponseBody(ByteBuffer)
        case writeResponseEnd
        /// The upstream's XML error answer, sanitised.
        case writeSanitizedError(HTTPResponseHead, ByteBuffer)
        /// A successful answer collected whole, for the rewriter (`answerRewritten`).
        case rewriteAnswer(HTTPResponseHead, ByteBuffer)
        /// The gateway's own answer; `close` marks it `Connection: close`.
        case writeError(S3Error, close: Bool)
        /// A whole answer of the gateway's own that is not an error (a CORS preflight it
        /// answers from its `cors:` rules); no body.
        case writeGatewayAnswer(HTTPResponseHead, close: Bool)
        /// The upstream connection back to the pool, its exchange complete.
        case releaseUpstream
        /// The upstream connection closed: a request cut short of its Content-Length never
        /// completes at the store.
        case closeUpstream
        /// The exchange is over: its log line and record go out, and the client connection
        /// meets its fate.
        case finish(Fate)
    }

    /// `timeouts.body_idle`, `.form_fields`, `.upstream_first_byte`, `.upstream_idle`.
    let timeouts: GatewayConfiguration.Timeouts
    /// The request announces a body (RFC 9112 §6.3): refusing it before its end leaves
    /// bytes on the connection that cannot be trusted.
    let announcesBody: Bool
    /// GET or HEAD: one retry on a fresh connection is safe.
    let idempotent: Bool
    /// A HEAD request: an error answer has no body to sanitise.
    let isHead: Bool

    private(set) var request = Request.preparing
    private(set) var response = Response.awaiting
    private(set) var upstream = Upstream.none
    private(set) var fate: Fate
    private(set) var lifecycle = Lifecycle.active
    private(set) var outcome: ExchangeOutcome?
    private(set) var deadlines = ExchangeDeadlines()
    /// The prepared request asked for `100 Continue` (sent once the upstream is connected).
    private var continueOnConnect = false

    init(timeouts: GatewayConfiguration.Timeouts, announcesBody: Bool, keepAlive: Bool, idempotent: Bool, isHead: Bool) {
        self.timeouts = timeouts
        self.announcesBody = announcesBody
        self.idempotent = idempotent
        self.isHead = isHead
        fate = keepAlive ? .keepAlive : .closeAfterResponse
    }

    // MARK: - The head's phases

    /// The head could not be read as one request: what follows it on the connection cannot
    /// be trusted either, so the connection closes after the answer.
    mutating func headRefused(_ error: S3Error, in phase: RequestPhase) -> [Action] {
        fate = .closeAfterResponse
        return answer(error, outcome: .refused(phase, error))
    }

    /// A browser form: its fields, which carry its credentials, are read first, within
    /// their deadline.
    mutating func formStarted(expectsContinue: Bool, now: NIODeadline) -> [Action] {
        request = .readingFormFields
        deadlines.arm(.formFields, after: timeouts.formFields, now: now)
        return expectsContinue ? [.sendContinue] : []
    }

    /// A body the gateway reads whole and judges before anything goes upstream.
    mutating func judgedBodyStarted(expectsContinue: Bool, now: NIODeadline) -> [Action] {
        request = .collectingJudgedBody
        if announcesBody { armBodyIdle(now) }
        return expectsContinue ? [.sendContinue] : []
    }

    /// Every phase passed: connect upstream, and hold the body until connected.
    mutating func requestPrepared(expectsContinue: Bool, now: NIODeadline) -> [Action] {
        continueOnConnect = expectsContinue
        // A body announced but not sent must not hold the exchange: the deadline runs from the head.
        if announcesBody { armBodyIdle(now) }
        return connect(buffered: [], ended: false)
    }

    /// A form's fields verified and passed; `rest` is what followed them in the same read.
    mutating func formVerified(rest: ByteBuffer?) -> [Action] {
        guard lifecycle == .active, request == .readingFormFields else { return [] }
        deadlines.disarm(.formFields)
        return connect(buffered: rest.map { [$0] } ?? [], ended: false)
    }

    /// The judged body passed; it goes upstream as it was verified.
    mutating func bodyJudged(_ body: ByteBuffer?) -> [Action] {
        guard lifecycle == .active, request == .judgingBody else { return [] }
        return connect(buffered: body.map { [$0] } ?? [], ended: true)
    }

    /// A gateway phase refused the request (at any point before the response began, or
    /// after it: then the connection closes).
    mutating func refused(_ error: S3Error, in phase: RequestPhase) -> [Action] {
        answer(error, outcome: .refused(phase, error))
    }

    /// The gateway answered the request itself, as configured: nothing goes upstream.
    mutating func answeredByGateway(_ head: HTTPResponseHead) -> [Action] {
        respond(outcome: .answered(errorCode: nil)) { close in .writeGatewayAnswer(head, close: close) }
    }

    private mutating func connect(buffered: [ByteBuffer], ended: Bool) -> [Action] {
        request = .awaitingUpstream(buffered: buffered, ended: ended)
        upstream = .connecting(attempt: 1)
        return [.connectUpstream]
    }

    // MARK: - The client connection

    mutating func clientBodyPart(_ buffer: ByteBuffer, now: NIODeadline) -> [Action] {
        guard lifecycle == .active else { return [] }
        switch request {
        case .readingFormFields:
            armBodyIdle(now)
            return [.readFormFields(buffer)]
        case .collectingJudgedBody:
            armBodyIdle(now)
            return [.collectJudgedBody(buffer)]
        case .awaitingUpstream(var buffered, let ended):
            armBodyIdle(now)
            request = .discarding  // releases the array, so that appending does not copy it
            buffered.append(buffer)
            request = .awaitingUpstream(buffered: buffered, ended: ended)
            return []
        case .forwarding:
            armBodyIdle(now)
            return [.forwardBody(buffer)]
        case .preparing, .judgingBody, .forwarded, .discarding, .ended:
            return []
        }
    }

    mutating func clientEnded(now: NIODeadline) -> [Action] {
        guard lifecycle == .active else { return [] }
        deadlines.disarm(.bodyIdle)
        switch request {
        case .readingFormFields:
            request = .ended
            return refused(S3Error.malformedPOSTRequest("the body ended before the file part"), in: .formFields)
        case .collectingJudgedBody:
            request = .judgingBody
            return [.judgeBody]
        case .awaitingUpstream(let buffered, _):
            request = .awaitingUpstream(buffered: buffered, ended: true)
            return []
        case .forwarding:
            request = .forwarded
            armFirstByte(now)
            return [.finishUpstreamRequest]
        case .preparing, .discarding:
            request = .ended
            return finishIfDone()
        case .judgingBody, .forwarded, .ended:
            return []
        }
    }

    /// Whether the client connection may be read now: not while body parts would have to
    /// wait for an upstream that cannot take them (not connected, or its buffer full).
    func readsClient(upstreamWritable: Bool) -> Bool {
        switch request {
        case .forwarding, .awaitingUpstream(_, ended: false): lifecycle == .finished || upstreamWritable
        default: true
        }
    }

    /// The client connection closed.
    mutating func clientClosed() -> [Action] {
        guard lifecycle == .active else { return [] }
        if outcome == nil, !isComplete(response) { outcome = .clientGone(code: "ClientDisconnected") }
        return end(.abort)
    }

    /// Broken HTTP or another error on the client connection: nothing half-parsed may go on.
    /// `answered`: the handler answered the broken HTTP (400), and the connection closes
    /// once that answer is written instead of at once.
    mutating func clientFailed(answered: Bool = false) -> [Action] {
        guard lifecycle == .active else { return [] }
        if outcome == nil { outcome = .clientGone(code: "ClientProtocolError") }
        return end(answered ? .closeAfterResponse : .abort)
    }

    /// The connection closes once this exchange is answered (the server is shutting down,
    /// or the client's input ended).
    mutating func closeAfterResponse() {
        if lifecycle == .active, fate == .keepAlive { fate = .closeAfterResponse }
    }

    // MARK: - The upstream connection

    mutating func upstreamConnected(reused: Bool, now: NIODeadline) -> [Action] {
        guard lifecycle == .active, case .connecting(let attempt) = upstream,
              case .awaitingUpstream(let buffered, let ended) = request
        else { return [.closeUpstream] }  // handed over too late: the exchange no longer wants it
        upstream = .connected(reused: reused, attempt: attempt)
        request = ended ? .forwarded : .forwarding
        if ended { armFirstByte(now) }
        let sendContinue = continueOnConnect && !ended
        continueOnConnect = false
        return [.startUpstreamRequest(body: buffered, end: ended, sendContinue: sendContinue)]
    }

    mutating func upstreamConnectFailed(_ error: S3Error) -> [Action] {
        guard lifecycle == .active, case .connecting = upstream else { return [] }
        upstream = .none
        return answer(error, outcome: .upstreamFailed(error))
    }

    /// The body source refused a body part or the body's end (a hash, a chunk signature,
    /// a checksum, the announced length).
    mutating func bodyRejected(_ error: S3Error) -> [Action] {
        refused(error, in: .verifyBody)
    }

    /// An error answer the gateway reads whole and sanitises (XML, to a request that is not
    /// a HEAD) rather than streams; so is a successful one whose body it rewrites
    /// (`rewritesAnswer`).
    mutating func upstreamResponseHead(_ head: HTTPResponseHead, rewritesAnswer: Bool = false,
                                       now: NIODeadline) -> [Action] {
        guard lifecycle == .active, case .connected = upstream else { return [] }
        armUpstreamIdle(now)
        if head.status.code < 200 && head.status != .switchingProtocols { return [] }
        guard case .awaiting = response else { return [] }
        deadlines.disarm(.upstreamFirstByte)
        // Only an error's media type matters (most answers are not errors).
        if head.status.code >= 400, !isHead, head.headers.first(name: "content-type")?.asciiLowercased.contains("xml") == true {
            // Compressed, its hidden elements could not be found, let alone removed.
            guard !Self.isContentCoded(head) else { return failUpstream(Self.contentCodedAnswer) }
            response = .collectingError(head, ByteBuffer())
            return []
        }
        if rewritesAnswer, (200..<300).contains(head.status.code), !isHead {
            guard !Self.isContentCoded(head) else { return failUpstream(Self.contentCodedAnswer) }
            response = .collectingAnswer(head, ByteBuffer())
            return []
        }
        response = .streaming(upstreamKeepAlive: head.isKeepAlive)
        return [.writeResponseHead(head)]
    }

    mutating func upstreamResponseBody(_ buffer: ByteBuffer, now: NIODeadline) -> [Action] {
        guard lifecycle == .active, case .connected = upstream else { return [] }
        armUpstreamIdle(now)
        switch response {
        case .collectingError(let head, var collected):
            response = .awaiting  // releases the buffer, so that writing does not copy it
            collected.append(buffer)
            response = .collectingError(head, collected)
            if collected.readableBytes > UpstreamErrorSanitizer.maxBodyBytes {
                return failUpstream(S3Error.badGateway("The upstream answered with an oversized error body."))
            }
            return []
        case .collectingAnswer(let head, var collected):
            response = .awaiting
            collected.append(buffer)
            response = .collectingAnswer(head, collected)
            if collected.readableBytes > MultipartAnswerRewriter.maxBodyBytes {
                return failUpstream(S3Error.badGateway("The upstream's answer is longer than the gateway rewrites (\(MultipartAnswerRewriter.maxBodyBytes) bytes)."))
            }
            return []
        case .streaming:
            return [.writeResponseBody(buffer)]
        case .awaiting, .rewriting, .complete:
            return []
        }
    }

    mutating func upstreamResponseEnd() -> [Action] {
        guard lifecycle == .active, case .connected = upstream else { return [] }
        deadlines.disarm(.upstreamIdle)
        deadlines.disarm(.upstreamFirstByte)
        var actions = Self.actions()
        let upstreamKeepAlive: Bool
        switch response {
        case .collectingError(let head, let body):
            outcome = .answered(errorCode: UpstreamErrorSanitizer.code(of: String(buffer: body)))
            actions.append(.writeSanitizedError(head, body))
            upstreamKeepAlive = head.isKeepAlive
        case .streaming(let keepAlive):
            outcome = .answered(errorCode: nil)
            actions.append(.writeResponseEnd)
            upstreamKeepAlive = keepAlive
        case .collectingAnswer(let head, _):
            upstreamKeepAlive = head.isKeepAlive
        case .awaiting, .rewriting, .complete:
            return []
        }
        // Pooled again only when the whole request went up and the upstream keeps it open.
        actions.append(request == .forwarded && upstreamKeepAlive ? .releaseUpstream : .closeUpstream)
        if case .collectingAnswer(let head, let body) = response {
            // Last: the rewriter's work returns the machine's next actions, which replace
            // whatever would follow it.
            actions.append(.rewriteAnswer(head, body))
            response = .rewriting
        } else {
            response = .complete
        }
        upstream = .released
        if !request.clientEnded {
            // Answered before the request ended (a refused upload): the rest of its body is
            // not wanted, and cannot be told from a next request.
            request = .discarding
            if fate == .keepAlive { fate = .closeAfterResponse }
        }
        finishIfDone(into: &actions)
        return actions
    }

    /// The upstream connection closed or failed while this exchange used it.
    mutating func upstreamFailed(bodyReceived: Bool) -> [Action] {
        guard lifecycle == .active, case .connected(let reused, let attempt) = upstream else { return [] }
        upstream = .none
        deadlines.disarm(.upstreamFirstByte)
        switch response {
        case .awaiting:
            // A pooled connection the upstream had closed: an idempotent request that sent
            // no body is retried once on a fresh connection; anything else is not.
            if reused, idempotent, attempt == 1, !bodyReceived {
                request = .awaitingUpstream(buffered: [], ended: request.clientEnded)
                upstream = .connecting(attempt: 2)
                return [.connectUpstream]
            }
            return failUpstream(S3Error.badGateway("The upstream closed the connection before answering."))
        case .collectingError, .collectingAnswer:
            return failUpstream(S3Error.badGateway("The upstream closed the connection in the middle of its answer."))
        case .rewriting:
            return []
        case .streaming:
            outcome = .upstreamCut(code: "UpstreamClosedMidResponse")
            return end(.abort)
        case .complete:
            return []
        }
    }

    /// The collected answer, rewritten: it goes to the client whole.
    mutating func answerRewritten(_ head: HTTPResponseHead, _ body: ByteBuffer, errorCode: String?) -> [Action] {
        guard lifecycle == .active, case .rewriting = response else { return [] }
        outcome = .answered(errorCode: errorCode)
        response = .complete
        var actions = Self.actions()
        actions.append(.writeResponseHead(head))
        actions.append(.writeResponseBody(body))
        actions.append(.writeResponseEnd)
        finishIfDone(into: &actions)
        return actions
    }

    /// The collected answer could not be read for rewriting: the client gets the gateway's
    /// 502, never the answer half rewritten.
    mutating func answerUnreadable(_ error: S3Error) -> [Action] {
        guard lifecycle == .active, case .rewriting = response else { return [] }
        return failUpstream(error)
    }

    /// The error for an answer the gateway must read (an XML error to sanitise, an answer
    /// to rewrite) that came content-coded: the upstream request asks for `identity`, so a
    /// store that compresses anyway is not understood, and nothing of its answer is passed on.
    static let contentCodedAnswer = S3Error.badGateway(
        "The upstream answered with a content-coded (compressed) body that the gateway must read; it asks for identity.")

    /// Whether the answer's body has a content coding other than `identity` (RFC 9110 §8.4).
    static func isContentCoded(_ head: HTTPResponseHead) -> Bool {
        head.headers.contains { field in
            field.name.asciiCaseInsensitiveEquals("content-encoding")
                && field.value.listElements.contains { !$0.asciiCaseInsensitiveEquals("identity") }
        }
    }

    // MARK: - Timers

    /// The exchange's timer fired: whichever deadlines have passed take effect.
    mutating func timerFired(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        while lifecycle == .active, let kind = deadlines.expired(at: now) {
            actions += expired(kind)
        }
        return actions
    }

    private mutating func expired(_ kind: ExchangeDeadlines.Kind) -> [Action] {
        switch kind {
        case .bodyIdle:
            guard !request.clientEnded else { return [] }
            let error = S3Error(code: "RequestTimeout",
                                message: "Your socket connection to the server was not read from or written to within the timeout period.",
                                status: 400)
            return answer(error, outcome: .clientTimedOut(error))
        case .formFields:
            guard request == .readingFormFields else { return [] }
            return refused(S3Error(code: "RequestTimeout", message: "The form's fields did not arrive within the timeout period.",
                                   status: 400),
                           in: .formFields)
        case .upstreamFirstByte, .upstreamIdle:
            guard !isComplete(response) else { return [] }
            if response.headSent {
                outcome = .upstreamCut(code: "UpstreamIdleTimeout")
                return end(.abort)
            }
            return failUpstream(S3Error.gatewayTimeout("The upstream did not answer in time."))
        }
    }

    /// Arms the body-idle deadline, or moves it: a body part arrived.
    private mutating func armBodyIdle(_ now: NIODeadline) {
        deadlines.armIdle(.bodyIdle, idle: timeouts.bodyIdle, now: now)
    }

    private mutating func armFirstByte(_ now: NIODeadline) {
        if case .awaiting = response { deadlines.arm(.upstreamFirstByte, after: timeouts.upstreamFirstByte, now: now) }
    }

    private mutating func armUpstreamIdle(_ now: NIODeadline) {
        deadlines.armIdle(.upstreamIdle, idle: timeouts.upstreamIdle, now: now)
    }

    // MARK: - Ending

    private mutating func failUpstream(_ error: S3Error) -> [Action] {
        answer(error, outcome: .upstreamFailed(error))
    }

    /// Answers the exchange with an S3 error of the gateway's own. Its body, if still
    /// coming, is dropped; if part of it may still be on the wire, the connection closes
    /// after the answer. An upstream request in flight is cut short, so the store cannot
    /// complete it. Once the response's head went out, closing is the only signal left.
    private mutating func answer(_ error: S3Error, outcome: ExchangeOutcome) -> [Action] {
        respond(outcome: outcome) { close in .writeError(error, close: close) }
    }

    /// Ends the exchange with an answer of the gateway's own (`answer`'s rules);
    /// `write(close)` is the action that writes it, closing the connection after it or not.
    private mutating func respond(outcome: ExchangeOutcome, with write: (_ close: Bool) -> Action) -> [Action] {
        guard lifecycle == .active else { return [] }
        self.outcome = outcome
        var actions = Self.actions()
        if upstream.inUse {
            if case .connected = upstream { actions.append(.closeUpstream) }
            upstream = .released
        }
        deadlines.disarm(.bodyIdle)
        deadlines.disarm(.formFields)
        if request.clientEnded {
            request = .ended
        } else {
            request = .discarding
            if announcesBody { fate = .closeAfterResponse }
        }
        if response.headSent {
            end(.abort, into: &actions)
            return actions
        }
        response = .complete
        actions.append(write(fate != .keepAlive))
        finishIfDone(into: &actions)
        return actions
    }

    /// The exchange is over once its response is complete and its request has ended, or
    /// the connection closes after the response anyway.
    private mutating func finishIfDone(into actions: inout [Action]) {
        guard lifecycle == .active, isComplete(response) else { return }
        guard request.clientEnded || fate != .keepAlive else { return }
        end(fate, into: &actions)
    }

    private mutating func finishIfDone() -> [Action] {
        var actions: [Action] = []
        finishIfDone(into: &actions)
        return actions
    }

    private mutating func end(_ fate: Fate) -> [Action] {
        var actions: [Action] = []
        end(fate, into: &actions)
        return actions
    }

    private mutating func end(_ fate: Fate, into actions: inout [Action]) {
        lifecycle = .finished
        self.fate = fate
        deadlines.disarmAll()
        if upstream.inUse {
            if case .connected = upstream { actions.append(.closeUpstream) }
            upstream = .released
        }
        actions.append(.finish(fate))
    }

    /// An empty action list with room for the most one event returns (an answer rewritten:
    /// head, body, end, finish), so that an event's actions take one allocation, not one
    /// per action appended and one more to join two lists.
    private static func actions() -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(4)
        return actions
    }

    private func isComplete(_ response: Response) -> Bool {
        if case .complete = response { return true }
        return false
    }
}

extension ByteBuffer {
    /// Appends `buffer` to a collected body; the first part is kept as it is, not copied
    /// (an answer nearly always comes in one read).
    fileprivate mutating func append(_ buffer: ByteBuffer) {
        if readableBytes == 0 { self = buffer } else { writeImmutableBuffer(buffer) }
    }
}
