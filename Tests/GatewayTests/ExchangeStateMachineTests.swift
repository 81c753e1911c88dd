import NIOCore
import NIOHTTP1
import S3Core
import Testing
@testable import Gateway

/// The exchange's transitions, without channels: events in, actions out.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine
    typealias Action = ExchangeStateMachine.Action

    /// The defaults: body idle 30 s, form fields 10 s, upstream first byte and idle 60 s.
    static let timeouts = GatewayConfiguration.Timeouts()
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(body: Bool = false, keepAlive: Bool = true, idempotent: Bool = false,
                        isHead: Bool = false) -> Machine {
        Machine(timeouts: timeouts, announcesBody: body, keepAlive: keepAlive, idempotent: idempotent, isHead: isHead)
    }

    static func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func head(_ status: HTTPResponseStatus, _ fields: [(String, String)] = [], keepAlive: Bool = true) -> HTTPResponseHead {
        var headers = HTTPHeaders(fields)
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    static let xmlError = head(.forbidden, [("Content-Type", "application/xml")])

    /// A GET whose upstream connection is up and whose request is forwarded.
    static func forwardedGet(reused: Bool = false) -> Machine {
        var machine = machine(idempotent: true)
        _ = machine.requestPrepared(expectsContinue: false, now: start)
        _ = machine.clientEnded(now: start)
        _ = machine.upstreamConnected(reused: reused, now: start)
        return machine
    }

    // MARK: - The plain paths

    @Test func aGetIsForwardedAnsweredAndTheConnectionKept() {
        var machine = Self.machine(idempotent: true)
        #expect(machine.requestPrepared(expectsContinue: false, now: Self.start) == [.connectUpstream])
        #expect(machine.clientEnded(now: Self.start).isEmpty, "waits for the connection")
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [], end: true, sendContinue: false)])
        #expect(machine.request == .forwarded)
        #expect(machine.deadlines.earliest == Self.at(60), "the first-byte deadline runs")
        #expect(machine.upstreamResponseHead(Self.head(.ok), now: Self.at(1)) == [.writeResponseHead(Self.head(.ok))])
        #expect(machine.deadlines.earliest == Self.at(61), "the upstream-idle deadline replaced it")
        #expect(machine.upstreamResponseBody(Self.buffer("data"), now: Self.at(2)) == [.writeResponseBody(Self.buffer("data"))])
        #expect(machine.upstreamResponseEnd() == [.writeResponseEnd, .releaseUpstream, .finish(.keepAlive)])
        #expect(machine.outcome == .answered(errorCode: nil))
        #expect(machine.deadlines.earliest == nil)
    }

    @Test func aRequestThatAsksToCloseClosesAfterItsResponse() {
        var machine = Self.machine(keepAlive: false)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.clientEnded(now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        _ = machine.upstreamResponseHead(Self.head(.ok), now: Self.start)
        #expect(machine.upstreamResponseEnd() == [.writeResponseEnd, .releaseUpstream, .finish(.closeAfterResponse)])
    }

    /// Told to close after its response (the server shutting down), a keep-alive exchange
    /// is still answered whole, and its connection then closes.
    @Test func anExchangeToldToCloseAfterItsResponseIsAnsweredFirst() {
        var machine = Self.forwardedGet()
        machine.closeAfterResponse()
        #expect(machine.fate == .closeAfterResponse)
        #expect(machine.upstreamResponseHead(Self.head(.ok), now: Self.start) == [.writeResponseHead(Self.head(.ok))])
        #expect(machine.upstreamResponseEnd() == [.writeResponseEnd, .releaseUpstream, .finish(.closeAfterResponse)])
    }

    @Test func anUpstreamThatClosesItsConnectionIsNotPooled() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.head(.ok, keepAlive: false), now: Self.start)
        #expect(machine.upstreamResponseEnd() == [.writeResponseEnd, .closeUpstream, .finish(.keepAlive)])
    }

    @Test func bodyPartsBeforeTheConnectionWaitAndGoFirstInOrder() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        #expect(machine.clientBodyPart(Self.buffer("a"), now: Self.start).isEmpty)
        #expect(machine.clientBodyPart(Self.buffer("b"), now: Self.start).isEmpty)
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [Self.buffer("a"), Self.buffer("b")], end: false, sendContinue: false)])
        #expect(machine.clientBodyPart(Self.buffer("c"), now: Self.start) == [.forwardBody(Self.buffer("c"))])
        #expect(machine.clientEnded(now: Self.start) == [.finishUpstreamRequest])
        #expect(machine.request == .forwarded)
    }

    @Test func aBodyThatEndedBeforeTheConnectionGoesWholeWithItsEnd() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: true, now: Self.start)
        _ = machine.clientBodyPart(Self.buffer("all"), now: Self.start)
        _ = machine.clientEnded(now: Self.start)
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [Self.buffer("all")], end: true, sendContinue: false)],
            "no 100 Continue for a body that has already come")
    }

    // MARK: - Backpressure

    @Test func theClientIsReadOnlyWhileTheUpstreamCanTakeTheBody() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        #expect(!machine.readsClient(upstreamWritable: false), "no upstream yet")
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        #expect(!machine.readsClient(upstreamWritable: false))
        #expect(machine.readsClient(upstreamWritable: true))
        _ = machine.clientEnded(now: Self.start)
        #expect(machine.readsClient(upstreamWritable: false), "the request is over: the next one may be read")

        var form = Self.machine(body: true)
        _ = form.formStarted(expectsContinue: false, now: Self.start)
        #expect(form.readsClient(upstreamWritable: false), "a form's fields are read before any upstream")
        var refused = Self.machine(body: true)
        _ = refused.refused(S3Error.accessDenied(), in: .authenticate)
        #expect(refused.readsClient(upstreamWritable: false), "a refused body is read and dropped")
    }

    // MARK: - 100-continue

    @Test func continueIsSentOnceTheUpstreamIsConnected() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: true, now: Self.start)
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [], end: false, sendContinue: true)])
    }

    @Test func aRefusedRequestGetsNoContinueAndTheConnectionCloses() {
        var machine = Self.machine(body: true)
        let error = S3Error.accessDenied()
        #expect(machine.refused(error, in: .authenticate) == [.writeError(error, close: true), .finish(.closeAfterResponse)])
        #expect(machine.outcome == .refused(.authenticate, error))
    }

    @Test func anAnswerToRewriteIsCollectedWholeThenWritten() {
        var machine = Self.forwardedGet()
        #expect(machine.upstreamResponseHead(Self.head(.ok), rewritesAnswer: true, now: Self.start).isEmpty, "nothing yet")
        #expect(machine.upstreamResponseBody(Self.buffer("<a>"), now: Self.start).isEmpty)
        #expect(machine.upstreamResponseBody(Self.buffer("</a>"), now: Self.start).isEmpty)
        // The upstream is released first: the rewrite's own actions take over after it.
        #expect(machine.upstreamResponseEnd() == [.releaseUpstream, .rewriteAnswer(Self.head(.ok), Self.buffer("<a></a>"))])
        #expect(machine.outcome == nil, "not answered until rewritten")
        let rewritten = Self.head(.ok, [("Content-Length", "3")])
        #expect(machine.answerRewritten(rewritten, Self.buffer("<b>"), errorCode: nil)
            == [.writeResponseHead(rewritten), .writeResponseBody(Self.buffer("<b>")), .writeResponseEnd, .finish(.keepAlive)])
        #expect(machine.outcome == .answered(errorCode: nil))
    }

    @Test func anAnswerThatCannotBeRewrittenIs502() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.head(.ok), rewritesAnswer: true, now: Self.start)
        _ = machine.upstreamResponseEnd()
        let error = S3Error.badGateway("unreadable")
        #expect(machine.answerUnreadable(error) == [.writeError(error, close: false), .finish(.keepAlive)])
        #expect(machine.outcome == .upstreamFailed(error))
        // An error answer, or a HEAD's, is not the rewriter's.
        var failed = Self.forwardedGet()
        #expect(failed.upstreamResponseHead(Self.xmlError, rewritesAnswer: true, now: Self.start).isEmpty)
        #expect(failed.upstreamResponseEnd() == [.writeSanitizedError(Self.xmlError, ByteBuffer()), .releaseUpstream, .finish(.keepAlive)])
        #expect(failed.outcome == .answered(errorCode: nil))
    }

    /// An answer the gateway must read that came compressed anyway: neither sanitised nor
    /// rewritten blind, nor passed on; the upstream connection is closed, its body unread.
    @Test(arguments: ["gzip", "identity, gzip", "br"])
    func aCompressedAnswerTheGatewayMustReadIs502(_ coding: String) {
        let coded = [("Content-Encoding", coding)]
        for (head, rewrites) in [(Self.head(.forbidden, [("Content-Type", "application/xml")] + coded), false),
                                 (Self.head(.ok, coded), true)] {
            var machine = Self.forwardedGet()
            let actions = machine.upstreamResponseHead(head, rewritesAnswer: rewrites, now: Self.start)
            #expect(actions == [.closeUpstream, .writeError(Machine.contentCodedAnswer, close: false), .finish(.keepAlive)])
            #expect(machine.outcome == .upstreamFailed(Machine.contentCodedAnswer))
        }
        // `identity` is no coding; an answer the gateway only streams may be coded.
        var identity = Self.forwardedGet()
        #expect(identity.upstreamResponseHead(Self.head(.ok, [("Content-Encoding", "Identity")]), rewritesAnswer: true,
                                              now: Self.start).isEmpty)
        var streamed = Self.forwardedGet()
        let gzipped = Self.head(.ok, coded)
        #expect(streamed.upstreamResponseHead(gzipped, now: Self.start) == [.writeResponseHead(gzipped)])
    }

    @Test func anAnswerLongerThanTheRewriterReadsIs502() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.head(.ok), rewritesAnswer: true, now: Self.start)
        let actions = machine.upstreamResponseBody(ByteBuffer(repeating: 0x20, count: MultipartAnswerRewriter.maxBodyBytes + 1),
                                                   now: Self.start)
        #expect(actions.first == .closeUpstream)
        guard case .writeError(let error, _) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
        #expect(error.status == 502)
    }

    @Test func anAnswerOfTheGatewaysOwnEndsTheExchangeWithoutTheUpstream() {
        let answer = Self.head(.ok, [("Access-Control-Allow-Origin", "*")])
        var machine = Self.machine()
        _ = machine.clientEnded(now: Self.start)
        #expect(machine.answeredByGateway(answer) == [.writeGatewayAnswer(answer, close: false), .finish(.keepAlive)])
        #expect(machine.outcome == .answered(errorCode: nil) && machine.upstream == .none)
        // A body announced with it cannot be told from a next request: the connection closes.
        var withBody = Self.machine(body: true)
        #expect(withBody.answeredByGateway(answer) == [.writeGatewayAnswer(answer, close: true), .finish(.closeAfterResponse)])
    }

    @Test func aJudgedBodyOrAFormGetsContinueAtOnce() {
        var judged = Self.machine(body: true)
        #expect(judged.judgedBodyStarted(expectsContinue: true, now: Self.start) == [.sendContinue])
        var form = Self.machine(body: true)
        #expect(form.formStarted(expectsContinue: true, now: Self.start) == [.sendContinue])
    }

    // MARK: - Refusals

    @Test func aRefusedRequestWithoutABodyKeepsTheConnectionOnceItEnds() {
        var machine = Self.machine()
        let error = S3Error.accessDenied()
        #expect(machine.refused(error, in: .authenticate) == [.writeError(error, close: false)])
        #expect(machine.clientEnded(now: Self.start) == [.finish(.keepAlive)])
    }

    @Test func aHeadThatCannotBeReadClosesTheConnection() {
        var machine = Self.machine()
        let error = S3Error.notImplemented("no such shape")
        #expect(machine.headRefused(error, in: .classify) == [.writeError(error, close: true), .finish(.closeAfterResponse)])
    }

    @Test func aBodyPartRefusedOnTheWayCutsTheUpstreamRequest() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        let error = S3Error.xAmzContentSHA256Mismatch("the body does not match")
        #expect(machine.bodyRejected(error)
            == [.closeUpstream, .writeError(error, close: true), .finish(.closeAfterResponse)])
        #expect(machine.outcome == .refused(.verifyBody, error))
        #expect(machine.clientBodyPart(Self.buffer("more"), now: Self.start).isEmpty, "finished: ignored")
    }

    @Test func aRefusalAfterTheResponseBeganCanOnlyCloseTheConnection() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        _ = machine.upstreamResponseHead(Self.head(.ok), now: Self.start)
        #expect(machine.bodyRejected(S3Error.badDigest("x")) == [.closeUpstream, .finish(.abort)])
    }

    @Test func aConnectionHandedOverAfterARefusalIsClosed() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.timerFired(now: Self.at(31))
        #expect(machine.outcome?.errorCode == "RequestTimeout")
        #expect(machine.upstreamConnected(reused: false, now: Self.at(32)) == [.closeUpstream])
    }

    // MARK: - The upstream answering early, failing, timing out

    @Test func anUpstreamThatAnswersBeforeTheBodyEndsClosesTheConnection() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        _ = machine.clientBodyPart(Self.buffer("part"), now: Self.start)
        #expect(machine.upstreamResponseHead(Self.xmlError, now: Self.start).isEmpty, "an error body is collected")
        _ = machine.upstreamResponseBody(Self.buffer("<Error><Code>AccessDenied</Code></Error>"), now: Self.start)
        #expect(machine.upstreamResponseEnd() == [
            .writeSanitizedError(Self.xmlError, Self.buffer("<Error><Code>AccessDenied</Code></Error>")),
            .closeUpstream, .finish(.closeAfterResponse),
        ], "the request was not all upstream: the connection is not pooled, and the client's is closed")
        #expect(machine.outcome == .answered(errorCode: "AccessDenied"))
    }

    @Test func theUpstreamFailingWhileTheClientSendsIs502AndClose() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: true, now: Self.start)
        let actions = machine.upstreamFailed(bodyReceived: true)
        let error = S3Error.badGateway("The upstream closed the connection before answering.")
        #expect(actions == [.writeError(error, close: true), .finish(.closeAfterResponse)])
        #expect(machine.outcome == .upstreamFailed(error))
    }

    @Test func anIdempotentRequestIsRetriedOnceOnAFreshConnection() {
        var machine = Self.forwardedGet(reused: true)
        #expect(machine.upstreamFailed(bodyReceived: false) == [.connectUpstream])
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [], end: true, sendContinue: false)])
        #expect(machine.upstreamFailed(bodyReceived: false).first
            == .writeError(S3Error.badGateway("The upstream closed the connection before answering."), close: false))
    }

    @Test(arguments: [(false, true, false), (true, false, false), (true, true, true)])
    func otherRequestsAreNotRetried(_ reused: Bool, _ idempotent: Bool, _ bodyReceived: Bool) {
        var machine = Self.machine(idempotent: idempotent)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.clientEnded(now: Self.start)
        _ = machine.upstreamConnected(reused: reused, now: Self.start)
        #expect(machine.upstreamFailed(bodyReceived: bodyReceived).first?.isWriteError == true)
    }

    @Test func theUpstreamFailingInItsErrorBodyIs502() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.xmlError, now: Self.start)
        _ = machine.upstreamResponseBody(Self.buffer("<Error>"), now: Self.start)
        let error = S3Error.badGateway("The upstream closed the connection in the middle of its answer.")
        #expect(machine.upstreamFailed(bodyReceived: false) == [.writeError(error, close: false), .finish(.keepAlive)])
    }

    @Test func anOversizedErrorBodyIs502() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.xmlError, now: Self.start)
        let big = ByteBuffer(repeating: 0x41, count: UpstreamErrorSanitizer.maxBodyBytes + 1)
        let actions = machine.upstreamResponseBody(big, now: Self.start)
        #expect(actions.first == .closeUpstream)
        #expect(machine.outcome?.errorCode == "BadGateway")
    }

    @Test func theUpstreamFailingMidResponseClosesTheClient() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.head(.ok), now: Self.start)
        #expect(machine.upstreamFailed(bodyReceived: false) == [.finish(.abort)])
        #expect(machine.outcome == .upstreamCut(code: "UpstreamClosedMidResponse"))
    }

    @Test func anErrorToAHeadRequestIsPassedOnAsItIs() {
        var machine = Self.machine(idempotent: true, isHead: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.clientEnded(now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        #expect(machine.upstreamResponseHead(Self.xmlError, now: Self.start) == [.writeResponseHead(Self.xmlError)])
    }

    @Test func connectingFailedIsTheGatewaysOwnAnswer() {
        var machine = Self.machine()
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        let error = S3Error.gatewayTimeout("Connecting to the upstream timed out.")
        #expect(machine.upstreamConnectFailed(error) == [.writeError(error, close: false)])
        #expect(machine.clientEnded(now: Self.start) == [.finish(.keepAlive)])
    }

    // MARK: - Deadlines

    @Test func aBodyThatPausesLongerThanBodyIdleIsARequestTimeout() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        #expect(machine.deadlines.earliest == Self.at(30), "from the head, before any body")
        _ = machine.clientBodyPart(Self.buffer("a"), now: Self.at(20))
        #expect(machine.timerFired(now: Self.at(30)).isEmpty, "the part moved the deadline")
        let actions = machine.timerFired(now: Self.at(50))
        #expect(actions.first == .closeUpstream)
        #expect(actions.last == .finish(.closeAfterResponse))
        #expect(machine.outcome?.errorCode == "RequestTimeout")
        #expect(machine.outcome?.refusingPhase == nil, "the client was slow; no phase refused it")
    }

    @Test func aFormWhoseFieldsTakeTooLongIsRefused() {
        var machine = Self.machine(body: true)
        _ = machine.formStarted(expectsContinue: false, now: Self.start)
        #expect(machine.clientBodyPart(Self.buffer("--b"), now: Self.at(9)) == [.readFormFields(Self.buffer("--b"))])
        let actions = machine.timerFired(now: Self.at(10))
        #expect(actions.last == .finish(.closeAfterResponse))
        #expect(machine.outcome?.refusingPhase == .formFields)
    }

    @Test func anUpstreamThatDoesNotAnswerIs504() {
        var machine = Self.forwardedGet()
        #expect(machine.timerFired(now: Self.at(59)).isEmpty)
        let actions = machine.timerFired(now: Self.at(60))
        #expect(actions == [.closeUpstream, .writeError(S3Error.gatewayTimeout("The upstream did not answer in time."), close: false),
                            .finish(.keepAlive)])
    }

    @Test func anUpstreamThatStallsMidResponseIsCut() {
        var machine = Self.forwardedGet()
        _ = machine.upstreamResponseHead(Self.head(.ok), now: Self.start)
        _ = machine.upstreamResponseBody(Self.buffer("x"), now: Self.at(30))
        #expect(machine.timerFired(now: Self.at(60)).isEmpty)
        #expect(machine.timerFired(now: Self.at(90)) == [.closeUpstream, .finish(.abort)])
        #expect(machine.outcome == .upstreamCut(code: "UpstreamIdleTimeout"))
    }

    // MARK: - Forms and judged bodies

    @Test func aFormIsReadVerifiedThenForwardedWithWhatFollowedItsFields() {
        var machine = Self.machine(body: true)
        _ = machine.formStarted(expectsContinue: false, now: Self.start)
        #expect(machine.formVerified(rest: Self.buffer("file bytes")) == [.connectUpstream])
        #expect(machine.deadlines.earliest == nil || machine.deadlines.earliest == Self.at(30))
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [Self.buffer("file bytes")], end: false, sendContinue: false)])
    }

    @Test func aFormThatEndsBeforeItsFileIsRefused() {
        var machine = Self.machine(body: true)
        _ = machine.formStarted(expectsContinue: false, now: Self.start)
        let actions = machine.clientEnded(now: Self.start)
        #expect(actions.last == .finish(.keepAlive))
        #expect(machine.outcome?.errorCode == "MalformedPOSTRequest")
    }

    @Test func aJudgedBodyIsCollectedJudgedThenSentWhole() {
        var machine = Self.machine(body: true)
        _ = machine.judgedBodyStarted(expectsContinue: false, now: Self.start)
        #expect(machine.clientBodyPart(Self.buffer("<x/>"), now: Self.start) == [.collectJudgedBody(Self.buffer("<x/>"))])
        #expect(machine.clientEnded(now: Self.start) == [.judgeBody])
        #expect(machine.bodyJudged(Self.buffer("<x/>")) == [.connectUpstream])
        #expect(machine.upstreamConnected(reused: false, now: Self.start)
            == [.startUpstreamRequest(body: [Self.buffer("<x/>")], end: true, sendContinue: false)])
    }

    @Test func aJudgedBodyRefusedAfterItsEndKeepsTheConnection() {
        var machine = Self.machine(body: true)
        _ = machine.judgedBodyStarted(expectsContinue: false, now: Self.start)
        _ = machine.clientEnded(now: Self.start)
        let error = S3Error.accessDenied("lifecycle to GLACIER")
        #expect(machine.refused(error, in: .judgeBody) == [.writeError(error, close: false), .finish(.keepAlive)])
    }

    // MARK: - The client going away

    @Test func aClientThatLeavesCutsTheUpstreamRequest() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        #expect(machine.clientClosed() == [.closeUpstream, .finish(.abort)])
        #expect(machine.outcome == .clientGone(code: "ClientDisconnected"))
        #expect(machine.clientClosed().isEmpty, "once")
    }

    @Test func aClientThatLeavesWhileConnectingGetsItsConnectionClosedWhenItComes() {
        var machine = Self.machine()
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        #expect(machine.clientClosed() == [.finish(.abort)])
        #expect(machine.upstreamConnected(reused: false, now: Self.start) == [.closeUpstream])
    }

    @Test func brokenHTTPIsAProtocolError() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        #expect(machine.clientFailed() == [.finish(.abort)])
        #expect(machine.outcome == .clientGone(code: "ClientProtocolError"))
    }

    /// Broken HTTP the handler answered with its 400: the connection closes after that
    /// answer, not at once, and the upstream request is cut all the same.
    @Test func brokenHTTPAnsweredClosesAfterTheAnswerAndCutsTheUpstream() {
        var machine = Self.machine(body: true)
        _ = machine.requestPrepared(expectsContinue: false, now: Self.start)
        _ = machine.upstreamConnected(reused: false, now: Self.start)
        #expect(machine.clientFailed(answered: true) == [.closeUpstream, .finish(.closeAfterResponse)])
        #expect(machine.outcome == .clientGone(code: "ClientProtocolError"))
    }

    @Test func anAnsweredRequestAwaitingItsEndKeepsItsOutcomeWhenTheClientLeaves() {
        var machine = Self.machine()
        _ = machine.refused(S3Error.accessDenied(), in: .police)
        _ = machine.clientClosed()
        #expect(machine.outcome == .refused(.police, S3Error.accessDenied()))
    }
}

extension ExchangeStateMachine.Action {
    var isWriteError: Bool {
        if case .writeError = self { return true }
        return false
    }
}

/// One timer for the earliest deadline; idle deadlines move with activity.
@Suite struct ExchangeDeadlinesTests {
    static let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test func theEarliestArmedDeadlineExpiresFirst() {
        var deadlines = ExchangeDeadlines()
        #expect(deadlines.earliest == nil)
        deadlines.arm(.upstreamFirstByte, after: .seconds(60), now: Self.start)
        deadlines.armIdle(.bodyIdle, idle: .seconds(30), now: Self.start)
        #expect(deadlines.earliest == Self.start + .seconds(30))
        #expect(deadlines.expired(at: Self.start + .seconds(29)) == nil)
        #expect(deadlines.expired(at: Self.start + .seconds(61)) == .bodyIdle)
        #expect(deadlines.expired(at: Self.start + .seconds(61)) == .upstreamFirstByte)
        #expect(deadlines.expired(at: Self.start + .seconds(61)) == nil)
    }

    @Test func activityMovesOnlyIdleDeadlines() {
        var deadlines = ExchangeDeadlines()
        deadlines.armIdle(.bodyIdle, idle: .seconds(30), now: Self.start)
        deadlines.arm(.formFields, after: .seconds(10), now: Self.start)
        deadlines.touch(.bodyIdle, now: Self.start + .seconds(20))
        deadlines.touch(.formFields, now: Self.start + .seconds(20))
        #expect(deadlines.expired(at: Self.start + .seconds(10)) == .formFields, "a fixed deadline does not move")
        #expect(deadlines.expired(at: Self.start + .seconds(30)) == nil)
        deadlines.armIdle(.bodyIdle, idle: .seconds(30), now: Self.start + .seconds(25))
        #expect(deadlines.earliest == Self.start + .seconds(55), "arming again is activity")
        deadlines.disarm(.bodyIdle)
        #expect(deadlines.earliest == nil)
    }
}
