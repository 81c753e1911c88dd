import Credentials
import Policy
import S3Core

/// What the phases learned about a request before they passed or refused it. A refused
/// request's audit record and log line still say what it was, who claimed to send it,
/// and which rule refused it.
public struct RequestFacts: Sendable {
    public var operation: S3Operation?
    public var address: S3Address?
    /// The access key id the request was signed with: verified when `identity` is set,
    /// otherwise only claimed (unknown key, signature mismatch).
    public var accessKeyId: String?
    public var identity: ClientIdentity?
    /// The upload policy's decision, a denial included.
    public var decision: PolicyDecision?
    /// The phase that was running: the one that refused, for a refused request.
    public var phase = RequestPhase.classify
    /// How the upload id the request used was judged.
    public var uploadBinding: UploadBindingOutcome?
    /// How long each phase took, when the exchange is traced.
    var phaseTimes: [PhaseTime] = []

    public init() {}
}

/// A request the phases refused: the S3 error the client gets, and the facts known by then.
public struct RequestRefusal: Error, Sendable {
    public var error: S3Error
    public var facts: RequestFacts
}

extension RequestFacts {
    /// The facts of a request that passed every phase.
    init(_ prepared: PreparedRequest) {
        operation = prepared.operation
        address = prepared.address
        identity = prepared.identity
        accessKeyId = prepared.identity?.accessKeyId
        decision = prepared.decision
        uploadBinding = prepared.uploadBinding
        phaseTimes = prepared.phaseTimes
    }
}
