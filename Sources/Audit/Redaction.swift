import Policy
import S3Core

/// What must never reach an audit record, and the one place that decides it.
///
/// Secret by name, in either dialect and any casing:
/// - credentials: `Authorization`, `Proxy-Authorization`;
/// - session tokens: `x-amz-security-token`, `x-obs-security-token` (and the
///   `X-Amz-Security-Token` query parameter);
/// - SSE-C keys: every name ending in `-customer-key` — `x-amz-server-side-encryption-customer-key`,
///   `x-amz-copy-source-server-side-encryption-customer-key` and their `x-obs-` forms. Their
///   `-customer-key-md5` companions are not secret (S3 returns them in responses) and are
///   what a record keeps to say which key was used;
/// - signatures: `X-Amz-Signature` (presigned SigV4, and the `x-amz-signature` field of a
///   browser form upload), `Signature` (SigV2 and OBS query signing, form uploads).
///
/// A secret's value becomes `[redacted]`: the record still shows that it was given.
/// Secret access keys never travel in a request at all; the record has no field that could
/// hold one.
public enum Redaction {
    public static let placeholder = "[redacted]"

    /// Whether a header, query parameter or form field of that name carries a secret.
    public static func isSecret(name: String) -> Bool {
        let lowered = name.asciiLowercased
        return lowered == "authorization" || lowered == "proxy-authorization"
            || lowered.hasSuffix("security-token")
            || lowered.hasSuffix("-customer-key")
            || lowered == "signature" || lowered.hasSuffix("-signature")
    }

    /// The value as a record may show it.
    public static func value(_ value: String, named name: String) -> String {
        isSecret(name: name) ? placeholder : value
    }

    /// A policy mutation as a record shows it: the header name and, for `set`, the new value
    /// unless the header is secret.
    public static func mutation(_ mutation: HeaderMutation) -> AuditMutation {
        switch mutation {
        case .set(let name, let value): AuditMutation(action: .set, name: name, value: self.value(value, named: name))
        case .remove(let name): AuditMutation(action: .remove, name: name, value: nil)
        }
    }

    /// The headers a record keeps of a request: those that say how an object is stored and
    /// protected (storage class, encryption and its key ids, SSE-C algorithm and key-MD5,
    /// website redirect, ACL, metadata directive, copy source), in both dialects. Names are
    /// lowercase; repeated fields are joined with `,`. Every value still passes `value(_:named:)`,
    /// so the SSE-C keys in this list appear only as `[redacted]`.
    public static func recordedHeaders(_ headers: HeaderFields) -> [String: String] {
        var recorded: [String: String] = [:]
        for field in headers {
            // Every recorded name is an `x-amz-` or `x-obs-` one (RedactionTests holds the list
            // to that): Host, Authorization, Content-Length… pass without a copy or a hash.
            guard HeaderDialect.isDialectName(field.name) else { continue }
            let name = field.name.asciiLowercased
            guard recordedHeaderNames.contains(name) else { continue }
            let value = value(field.value, named: name)
            recorded[name] = recorded[name].map { "\($0),\(value)" } ?? value
        }
        return recorded
    }

    static let recordedHeaderNames: Set<String> = Set(UploadHeader.allCases.flatMap { [$0.s3Name, $0.obsName] })
        .union([S3HeaderName.copySource, OBSHeaderName.copySource])
}
