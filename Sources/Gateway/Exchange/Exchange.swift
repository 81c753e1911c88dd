import FormUpload
import NIOCore
import NIOHTTP1
import S3Core

/// One request/response exchange on a client connection, from request head to the end of
/// its response: its state machine, what the phases learned, and the I/O objects the
/// connection handler needs for it. Lives on the connection's event loop.
final class Exchange {
    let requestId: String
    let head: HTTPRequestHead
    /// The head's fields, as the phases and the audit record read them.
    let clientHeaders: HeaderFields
    /// The credentials and policy the request is prepared under: those in force when its
    /// head arrived, or for a browser form those in force when its fields were complete
    /// (a key revoked meanwhile no longer signs it). It finishes under them, even when a
    /// reload replaces them meanwhile.
    var preparer: RequestPreparer
    let started: NIODeadline
    var machine: ExchangeStateMachine

    /// The target, operation and address of a request, known from its head even when it is
    /// refused later.
    var classified: ClassifiedRequest?
    var prepared: PreparedRequest?
    /// Who sent the request and what the policy decided, as far as the phases got.
    var facts = RequestFacts()
    /// `ip:port` of the client.
    var clientAddress: String?

    // Phase work on the body.
    /// A browser form whose field section is still being read.
    var form: FormUploadStart?
    /// A body read whole to be judged (verified and decoded so far).
    var judgedBody: [UInt8] = []
    /// Turns the client's body into the upstream's.
    var forwarder: (any UpstreamBodySource)?

    // The upstream connection.
    var upstream: (any Channel)?
    var upstreamHandler: UpstreamConnectionHandler?
    /// When the upstream request head went out.
    var upstreamStarted: NIODeadline?
    var upstreamRequestId: String?
    /// The upload id a CreateMultipartUpload's answer gave the client (the bound one).
    var clientUploadId: String?

    // The client's side.
    /// The status the client got.
    var status: Int?
    var bytesIn = 0
    var bytesOut = 0
    /// The write of the response's end: a connection that closes after the exchange closes
    /// once this is on the wire, or the writes still queued behind a full socket are lost.
    var responseEndWritten: EventLoopFuture<Void>?
    /// Passed the audit trail's fail-closed check: its record is kept even when the
    /// writer's queue is full.
    var auditAdmitted = false

    /// The exchange's trace, when tracing is on.
    var trace: ExchangeTrace?

    init(requestId: String, head: HTTPRequestHead, clientHeaders: HeaderFields, preparer: RequestPreparer,
         timeouts: GatewayConfiguration.Timeouts, now: NIODeadline) {
        self.requestId = requestId
        self.head = head
        self.clientHeaders = clientHeaders
        self.preparer = preparer
        started = now
        machine = ExchangeStateMachine(timeouts: timeouts, announcesBody: Self.announcesBody(head),
                                       keepAlive: head.isKeepAlive,
                                       idempotent: head.method == .GET || head.method == .HEAD,
                                       isHead: head.method == .HEAD)
    }

    /// Whether the request announces a body (RFC 9112 §6.3).
    static func announcesBody(_ head: HTTPRequestHead) -> Bool {
        head.headers.contains { field in
            field.name.asciiCaseInsensitiveEquals("transfer-encoding") ? field.value.asciiLowercased.contains("chunked")
                : field.name.asciiCaseInsensitiveEquals("content-length") && field.value != "0"
        }
    }
}
