import NIOCore
import NIOHTTP1
import S3Core

/// One request/response exchange on a client connection, from request head to the end of
/// the response. Lives on the connection's event loop.
final class Exchange {
    enum ResponseState {
        case notStarted
        /// An upstream error body collected so it can be sanitised before the client sees it.
        case collectingError(HTTPResponseHead, ByteBuffer)
        case streaming
        case complete
    }

    let requestId: String
    let head: HTTPRequestHead
    /// The head's fields, as the phases and the audit record read them.
    let clientHeaders: HeaderFields
    /// The credentials and policy the request is prepared under: those in force when its
    /// head arrived, or for a browser form those in force when its fields were complete
    /// (a key revoked meanwhile no longer signs it). It finishes under them, even when a
    /// reload replaces them meanwhile.
    var preparer: RequestPreparer
    let started = NIODeadline.now()
    /// When the upstream request head went out.
    var upstreamStarted: NIODeadline?
    var prepared: PreparedRequest?
    /// The target, operation and address of a request, known from its head even when it is
    /// refused later.
    var classified: ClassifiedRequest?
    /// Who sent the request and what the policy decided, as far as the phases got.
    var facts = RequestFacts()
    /// A phase of the gateway refused the request (authentication, header rules, policy,
    /// body verification, the audit trail) — as opposed to the upstream failing it.
    var refusedByGateway = false
    /// `ip:port` of the client.
    var clientAddress: String?
    /// The start of a CreateMultipartUpload's successful response body, for its upload id.
    var uploadIdCollector: InitiateMultipartUploadResult.PrefixCollector?
    /// Passed the audit trail's fail-closed check: its record is kept even when the
    /// writer's queue is full.
    var auditAdmitted = false
    var forwarder: (any UpstreamBodySource)?
    /// A browser form upload whose field section is still being read: nothing goes
    /// upstream until its fields are verified.
    var formFields: FormUploadStart?
    /// A bucket-configuration body being read whole (verified, decoded) to be judged
    /// before anything goes upstream (`RequestPreparer.judgesBody`).
    var judgedBody: [UInt8]?

    var upstream: (any Channel)?
    var upstreamHandler: UpstreamConnectionHandler?
    var upstreamReused = false
    var retriedOnFreshConnection = false
    /// Body parts that arrived before the upstream connection was ready.
    var bufferedBody: [ByteBuffer] = []

    /// The client's `.end` arrived.
    var clientEnded = false
    /// The whole request, `.end` included, was written upstream.
    var requestForwarded = false
    /// The request was refused: its body (if any) is not forwarded.
    var discardingBody = false
    /// The client connection is closed once the response is written.
    var mustClose = false
    var response = ResponseState.notStarted
    /// The write of the response's end: a connection that closes after the exchange closes
    /// once this is on the wire, or the writes still queued behind a full socket are lost.
    var responseEndWritten: EventLoopFuture<Void>?
    var upstreamKeepAlive = false

    var status: Int?
    var errorCode: String?
    var upstreamRequestId: String?
    var bytesIn = 0
    var bytesOut = 0

    var firstByteTimer: Scheduled<Void>?
    /// The deadline of a browser form's field section.
    var formFieldsTimer: Scheduled<Void>?
    var bodyIdleTimer: Scheduled<Void>?
    var upstreamIdleTimer: Scheduled<Void>?
    /// When a client body part or an upstream response part last arrived: the idle
    /// timers check these when they fire.
    var lastClientBodyAt = NIODeadline.now()
    var lastUpstreamAt = NIODeadline.now()

    init(requestId: String, head: HTTPRequestHead, clientHeaders: HeaderFields, preparer: RequestPreparer) {
        self.requestId = requestId
        self.head = head
        self.clientHeaders = clientHeaders
        self.preparer = preparer
    }

    var responseComplete: Bool {
        if case .complete = response { return true }
        return false
    }

    /// The response head went to the client: from then on a failure can only close the
    /// connection. (An upstream error body still being collected has sent nothing.)
    var clientHeadSent: Bool {
        switch response {
        case .streaming, .complete: true
        case .notStarted, .collectingError: false
        }
    }

    /// The upstream has begun to answer.
    var responseStarted: Bool {
        if case .notStarted = response { return false }
        return true
    }

    /// Whether the request announces a body (RFC 9112 §6.3).
    var announcesBody: Bool {
        head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased().contains("chunked") }
            || head.headers[canonicalForm: "content-length"].contains { $0 != "0" }
    }

    func cancelBodyIdleTimer() {
        bodyIdleTimer?.cancel()
        bodyIdleTimer = nil
    }

    func cancelUpstreamIdleTimer() {
        upstreamIdleTimer?.cancel()
        upstreamIdleTimer = nil
    }

    func cancelTimers() {
        firstByteTimer?.cancel()
        firstByteTimer = nil
        formFieldsTimer?.cancel()
        formFieldsTimer = nil
        cancelBodyIdleTimer()
        cancelUpstreamIdleTimer()
    }

}
