/// The phases a request passes before anything goes upstream, in order (docs/architecture.md),
/// and the checks made on its body and against the audit trail. A refusal names the one
/// that refused; the audit record keeps it (`refused_in`).
public enum RequestPhase: String, Sendable, CaseIterable {
    /// Request-target, Host, bucket name; the operation from the closed table.
    case classify
    /// The signature (or the anonymous-read allowance) → principal.
    case authenticate
    /// The fields the operation admits; the body's framing and length for the upstream.
    case frame
    /// The seed header rules and the upload policy (access rules included).
    case police
    /// The upload id a multipart request names: bound to its initiation, its initiator,
    /// its SSE-C key.
    case uploadBinding = "upload-binding"
    /// Into the upstream's dialect.
    case translate
    /// The upstream request head, re-signed.
    case rebuild
    /// A browser form's field section: read within its deadline, verified, policed.
    case formFields = "form-fields"
    /// A body read whole and judged before it goes upstream (bucket configurations,
    /// RestoreObject).
    case judgeBody = "judge-body"
    /// The body verified as it streams (payload hash, chunk signatures, checksums, length).
    case verifyBody = "verify-body"
    /// A CORS preflight the gateway answers itself (`cors:`), refused by its rules.
    case cors
    /// The fail-closed check of the audit trail.
    case auditTrail = "audit-trail"
}
