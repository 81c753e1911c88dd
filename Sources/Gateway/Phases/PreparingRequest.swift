import Credentials
import FormUpload
import Foundation
import Policy
import S3Core
import S3Signing

/// A request on its way through the phases (docs/architecture.md): what each phase has
/// learned, handed to the next. The header path starts it from a classified head, the form
/// path from a form's start and its parsed field section; from the police phase on, both
/// are the same request.
struct PreparingRequest {
    enum Source {
        /// A request head, as the client sent it, and its row of the operation table.
        case head(ClientRequestHead, ClassifiedRequest)
        /// A browser form whose field section has been read up to the file part.
        case form(FormUploadStart, MultipartFormParser)
    }

    let source: Source
    let operation: S3Operation
    var address: S3Address
    /// The resource the request named as it arrived, for the errors of every phase.
    let resource: String
    let isTLS: Bool
    let requestId: String?
    let now: Date
    var facts = RequestFacts()

    var identity: ClientIdentity?
    var scheme: SignatureScheme?
    var payload = PayloadExpectation.unsigned
    /// The fields the upstream may see, as the phases change them; a form's: its fields.
    var headers = HeaderFields()
    var body = UpstreamBodyLength.none
    var decision: PolicyDecision?
    /// A verified form, for the rewriter.
    var form: VerifiedPostForm?
    /// What the rebuild phase made.
    var upstream: UpstreamRequestHead?
    var rewriter: PostObjectRewriter?
    /// Query parameters whose value the upstream gets changed (the upstream's upload id),
    /// by name; added when the client did not send them (a sealed listing marker's id).
    var upstreamQuery: [String: String] = [:]
    /// Each phase's start and end go into `facts.phaseTimes` (the exchange is traced).
    var recordsPhaseTimes = false

    init(head: ClientRequestHead, classified: ClassifiedRequest, requestId: String?, now: Date) {
        self.init(source: .head(head, classified), operation: classified.operation, address: classified.address,
                  isTLS: head.isTLS, requestId: requestId, now: now)
    }

    init(form start: FormUploadStart, parser: MultipartFormParser, requestId: String?, now: Date) {
        self.init(source: .form(start, parser), operation: .postObject, address: start.address, isTLS: start.isTLS,
                  requestId: requestId, now: now)
    }

    private init(source: Source, operation: S3Operation, address: S3Address, isTLS: Bool, requestId: String?, now: Date) {
        self.source = source
        self.operation = operation
        self.address = address
        resource = address.resource
        self.isTLS = isTLS
        self.requestId = requestId
        self.now = now
        facts.operation = operation
        facts.address = address
    }

    /// The prepared request the exchange forwards.
    func prepared() throws(S3Error) -> PreparedRequest {
        guard let upstream else { throw S3Error.internalError("The request was not rebuilt.") }
        var trailerHeader: String?
        var expectsContinue = false
        var objectFields = upstream.headers
        if case .head(let head, _) = source {
            trailerHeader = head.headers[S3HeaderName.trailer]
            expectsContinue = head.headers["expect"]?.asciiLowercased == "100-continue"
        } else {
            objectFields = headers
        }
        return PreparedRequest(
            operation: operation, address: address, identity: identity, scheme: scheme, decision: decision,
            payload: payload, trailerHeader: trailerHeader, upstream: upstream, objectFields: objectFields,
            upstreamBody: body, expectsContinue: expectsContinue, uploadBinding: facts.uploadBinding,
            phaseTimes: facts.phaseTimes)
    }
}
