import Foundation

/// One line of the audit trail: what happened to one request, written when its exchange
/// ends (answered, refused, failed or aborted). docs/audit.md describes every field.
///
/// The gateway fills in what it knows; `AuditWriter` adds the chain fields (`seq`, `prev`,
/// `hash`) when it writes the line. Optional fields that are nil are left out of the JSON.
/// Anything that could carry a secret goes through `Redaction` on the way in
/// (`setPolicyDecision(_:)`, `setHeaders(_:)`): there is no way to put a raw header map or
/// a raw mutation into a record.
public struct AuditRecord: Codable, Sendable, Equatable {
    /// The version of this layout. A change that removes or retypes a field, or changes
    /// what a field means, raises it; new optional fields do not.
    public static let currentSchema = 1

    public private(set) var schema = AuditRecord.currentSchema
    public var time: AuditTimestamp
    /// The gateway's id for the request, also sent to the client as `x-obsgate-request-id`.
    public var requestId: String
    /// `x-amz-request-id` / `x-obs-request-id` of the upstream's response.
    public var upstreamRequestId: String?
    /// The client's IP address and port, e.g. `192.0.2.7:50122` or `[2001:db8::7]:50122`.
    public var clientAddress: String?
    /// The principal of the client credentials that signed the request; nil for anonymous
    /// or unauthenticated requests.
    public var principal: String?
    /// The access key id the request was signed with — also when it was unknown or the
    /// signature did not match, which is what a security team looks for.
    public var accessKeyId: String?
    public var method: String
    /// The S3 API name (`CreateMultipartUpload`, `PutObject`, `Unknown`, …).
    public var operation: String
    public var bucket: String?
    public var key: String?
    public var decision: AuditDecision
    /// The access rule that decided whether the request may be made (`default` when none
    /// selected it); nil without a policy.
    public var accessRule: String?
    /// Every policy rule that matched (access rules first), in policy file order.
    public var rules: [String] = []
    /// The enforce-mode rule that refused the request.
    public var deniedBy: String?
    /// The gateway phase that refused the request (`classify`, `authenticate`, `frame`,
    /// `police`, `translate`, `rebuild`, `form-fields`, `judge-body`, `verify-body`,
    /// `audit-trail`); nil when none did.
    public var refusedIn: String?
    /// Why `deniedBy` refused, in the policy's words.
    public var denyReason: String?
    /// The header changes the policy applied before the request went upstream.
    public internal(set) var mutations: [AuditMutation] = []
    /// For `audit-only`: what the audit-mode rules would have decided had they been enforced.
    public var wouldHave: AuditDecision?
    public var wouldHaveDeniedBy: String?
    public internal(set) var wouldHaveMutations: [AuditMutation]?
    /// Hex SHA-256 of the policy file in force; nil when no policy is configured.
    public var policyVersion: String?
    /// The storage- and protection-relevant headers of the request as it went upstream
    /// (after mutations), redacted: see `Redaction.recordedHeaders(_:)`.
    public internal(set) var headers: [String: String]?
    /// The HTTP status the client received; nil when no response was sent.
    public var status: Int?
    /// The S3 error code of the response, or the reason the exchange ended early
    /// (`ClientDisconnected`, `UpstreamClosedMidResponse`, …).
    public var errorCode: String?
    /// The multipart upload the request started or worked on, as the client names it.
    public var uploadId: String?
    /// How the gateway judged the upload id the request used (docs/audit.md): `bound`,
    /// `listed` (bound in a listing), `legacy` (let through by `legacy_ids: allow`), or why
    /// it was refused: `forged`, `unbound`, `other-principal`, `sse-c-mismatch`.
    public var uploadBinding: String?
    /// The principal that initiated the upload, as its id says.
    public var uploadInitiator: String?
    /// Records of unauthenticated refusals from this record's client address left out
    /// since the previous one written (`AuditRefusalThrottle`).
    public var suppressed: Int?
    /// Some values were longer than `maxValueBytes` and were cut there.
    public internal(set) var truncated: Bool?
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    public var durationMs: Int64 = 0

    /// Position in the chain, set by the writer: consecutive over a chain's lines, across
    /// rotated files.
    public internal(set) var seq: UInt64?
    /// Hex SHA-256 of the exact previous line, set by the writer.
    public internal(set) var prev: String?
    /// Hex SHA-256 of this line with this value written as 64 zeros, set by the writer.
    public internal(set) var hash: String?

    public init(time: AuditTimestamp, requestId: String, method: String, operation: String, decision: AuditDecision) {
        self.time = time
        self.requestId = requestId
        self.method = method
        self.operation = operation
        self.decision = decision
    }

    enum CodingKeys: String, CodingKey {
        case schema, time, requestId = "request_id", upstreamRequestId = "upstream_request_id"
        case clientAddress = "client_address", principal, accessKeyId = "access_key_id", method, operation
        case bucket, key, decision, accessRule = "access_rule", rules, deniedBy = "denied_by", denyReason = "deny_reason", mutations
        case refusedIn = "refused_in"
        case wouldHave = "would_have", wouldHaveDeniedBy = "would_have_denied_by"
        case wouldHaveMutations = "would_have_mutations", policyVersion = "policy_version", headers, status
        case errorCode = "error_code", uploadId = "upload_id", uploadBinding = "upload_binding"
        case uploadInitiator = "upload_initiator", suppressed, truncated, bytesIn = "bytes_in", bytesOut = "bytes_out"
        case durationMs = "duration_ms", seq, prev, hash
    }
}

/// What became of a request, as far as the gateway's rules are concerned.
public enum AuditDecision: String, Codable, Sendable, CaseIterable {
    /// The policy (if any) let the request pass unchanged.
    case allow
    /// The policy injected defaults or removed headers (see `mutations`).
    case allowWithMutations = "allow-with-mutations"
    /// The policy refused the request (see `denied_by`).
    case deny
    /// The request passed unchanged; audit-mode rules matched (see `would_have`).
    case auditOnly = "audit-only"
    /// The gateway refused the request before or apart from the policy: authentication,
    /// seed header rules, a malformed or unsupported request, an unhealthy audit sink.
    case refused
}

/// One header change the policy made, as recorded.
public struct AuditMutation: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case set, remove
    }

    public var action: Action
    /// The header name, lowercase.
    public var name: String
    /// The new value for `set` (`[redacted]` for a secret header); nil for `remove`.
    public var value: String?
}
