import Credentials
import FormUpload
import Policy
import S3Core
import S3Signing

/// A request that passed every phase before forwarding: who sent it, what it does, what
/// its body must still prove, and the signed upstream request head.
///
/// A class: the exchange hands it to every step of its response and its record, and as a
/// value each hand-over copied (and released again) its dozen strings, arrays and headers.
public final class PreparedRequest: Sendable {
    public let operation: S3Operation
    public let address: S3Address
    /// nil for an anonymous request allowed by configuration.
    public let identity: ClientIdentity?
    public let scheme: SignatureScheme?
    /// The dialect the client speaks (OBS for OBS-signed requests): responses are put in it.
    public var clientDialect: HeaderDialect { scheme?.dialect ?? .s3 }
    /// The upload policy's decision (allow, allow with mutations, audit-only), when a policy
    /// is configured; denials never get this far.
    public let decision: PolicyDecision?
    public let payload: PayloadExpectation
    /// `x-amz-trailer` for the streaming-with-trailer forms.
    public let trailerHeader: String?
    public let upstream: UpstreamRequestHead
    /// The fields that say how the object is stored and protected, as the upstream gets
    /// them (after the policy's changes): the upstream head's, or a form upload's fields.
    public let objectFields: HeaderFields
    public let upstreamBody: UpstreamBodyLength
    /// The client asked for `100 Continue` before sending its body.
    public let expectsContinue: Bool
    /// How the upload id the request used was judged (multipart operations only).
    public let uploadBinding: UploadBindingOutcome?
    /// How long each phase took, when the exchange is traced.
    let phaseTimes: [PhaseTime]

    init(operation: S3Operation, address: S3Address, identity: ClientIdentity?, scheme: SignatureScheme?,
         decision: PolicyDecision?, payload: PayloadExpectation, trailerHeader: String?, upstream: UpstreamRequestHead,
         objectFields: HeaderFields, upstreamBody: UpstreamBodyLength, expectsContinue: Bool,
         uploadBinding: UploadBindingOutcome?, phaseTimes: [PhaseTime]) {
        self.operation = operation
        self.address = address
        self.identity = identity
        self.scheme = scheme
        self.decision = decision
        self.payload = payload
        self.trailerHeader = trailerHeader
        self.upstream = upstream
        self.objectFields = objectFields
        self.upstreamBody = upstreamBody
        self.expectsContinue = expectsContinue
        self.uploadBinding = uploadBinding
        self.phaseTimes = phaseTimes
    }

    /// Whether the body's verification concludes only at its end, so the gateway must
    /// hold back the last bytes until then.
    public var bodyVerifiedAtEnd: Bool {
        switch payload {
        case .unsigned: false
        case .sha256, .signedChunks, .unsignedChunksWithTrailer: true
        }
    }
}

/// A request head parsed and classified: its target, what it addresses, which operation.
public struct ClassifiedRequest: Sendable {
    public let target: RequestTarget
    public let address: S3Address
    /// The operation's row of the closed table: what it is and which headers it may carry.
    public let row: S3OperationRow
    public var operation: S3Operation { row.operation }
}

/// A browser form upload whose head has been read: what is needed to read its fields.
public struct FormUploadStart: Sendable {
    public let address: S3Address
    public let bucket: String
    public let clientContentLength: Int
    /// A fresh parser for the body; the connection handler feeds it until it reaches the
    /// file part.
    public var parser: MultipartFormParser
    public let expectsContinue: Bool
    public let isTLS: Bool
    /// The head's fields the upstream gets as they are (`Origin`, so the store answers the
    /// page with its CORS fields; `User-Agent`, trace context).
    public let informationalFields: HeaderFields
}

/// A form upload whose fields verified and passed the policy, with its upstream head and
/// the rewriter that turns the rest of the client's body into the upstream's.
public struct PreparedFormUpload: Sendable {
    public let prepared: PreparedRequest
    public let rewriter: PostObjectRewriter
}
