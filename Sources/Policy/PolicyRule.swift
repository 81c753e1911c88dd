import Foundation
import S3Core

/// One rule of the policy file, compiled: what it selects and what it demands. A class:
/// every evaluation keeps the rules it matched, and a reference is one retain where a
/// copy of the rule retained each of its parts.
final class PolicyRule: Sendable {
    enum Mode: String, Sendable { case enforce, audit }

    let id: String
    let description: String?
    /// Position in the file (0-based): ties go to the earlier rule.
    let index: Int
    let mode: Mode
    let match: RuleMatch
    let storageClass: StorageClassRule?
    let encryption: EncryptionRule?
    let websiteRedirect: RedirectRule?
    let acl: ACLRule?
    let metadata: MetadataRule?
    let denyMessage: String?

    init(id: String, description: String?, index: Int, mode: Mode, match: RuleMatch, storageClass: StorageClassRule?,
         encryption: EncryptionRule?, websiteRedirect: RedirectRule?, acl: ACLRule?, metadata: MetadataRule?,
         denyMessage: String?) {
        self.id = id
        self.description = description
        self.index = index
        self.mode = mode
        self.match = match
        self.storageClass = storageClass
        self.encryption = encryption
        self.websiteRedirect = websiteRedirect
        self.acl = acl
        self.metadata = metadata
        self.denyMessage = denyMessage
    }

    /// The first requirement of this rule the (already mutated) request breaks, or nil.
    /// Sections are checked in the order storage class, encryption, redirect, ACL, metadata.
    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        if let storageClass, let reason = storageClass.violation(headers, operation: operation) { return reason }
        if let encryption, let reason = encryption.violation(headers, operation: operation) { return reason }
        if let websiteRedirect, let reason = websiteRedirect.violation(headers, operation: operation) { return reason }
        if let acl, let reason = acl.violation(headers, operation: operation) { return reason }
        if let metadata, let reason = metadata.violation(headers, operation: operation) { return reason }
        return nil
    }

    /// 403 AccessDenied naming the rule; the rule's `deny_message` replaces the reason.
    func denial(_ reason: String) -> S3Error {
        if let denyMessage { return S3Error.accessDenied("\(denyMessage) (policy rule '\(id)')") }
        return S3Error.accessDenied("Denied by policy rule '\(id)': \(reason)")
    }
}

/// How specifically a rule selected a request: a literal bucket beats a bucket glob beats
/// any bucket; then the longer key prefix (a key glob counts its literal prefix).
struct Specificity: Comparable, Sendable {
    var bucketRank: Int
    var keyPrefixLength: Int

    static func < (lhs: Specificity, rhs: Specificity) -> Bool {
        (lhs.bucketRank, lhs.keyPrefixLength) < (rhs.bucketRank, rhs.keyPrefixLength)
    }
}

/// The `match:` section. Every criterion given must hold; within a list any entry may.
struct RuleMatch: Sendable {
    var bucketLiterals: Set<String> = []
    var bucketGlobs: [Glob] = []
    /// `exclude_buckets`: buckets the rule never selects, even when `buckets` does.
    var excludedBucketLiterals: Set<String> = []
    var excludedBucketGlobs: [Glob] = []
    var keyPrefix: [UInt8]?
    var keyGlob: Glob?
    var principals: Set<String>?
    var groups: Set<String>?
    var operations: Set<PolicedOperation> = Set(PolicedOperation.allCases)

    var anyBucket: Bool { bucketLiterals.isEmpty && bucketGlobs.isEmpty }

    /// nil when the rule does not select the request. A request without a key (a form
    /// upload whose key the gateway could not tell) is selected by key criteria, so that
    /// an unknown key never escapes a rule.
    func specificity(bucket: String?, key: String?, principal: String?,
                     groups requestGroups: [String], operation: PolicedOperation) -> Specificity? {
        guard operations.contains(operation) else { return nil }
        var rank = 0
        if !anyBucket {
            guard let bucket else { return nil }
            if bucketLiterals.contains(bucket) {
                rank = 2
            } else if bucketGlobs.contains(where: { $0.matches(bucket) }) {
                rank = 1
            } else {
                return nil
            }
        }
        if let bucket, excludedBucketLiterals.contains(bucket) || excludedBucketGlobs.contains(where: { $0.matches(bucket) }) {
            return nil
        }
        var keyLength = 0
        if let keyPrefix {
            if let key, !key.withUTF8Bytes({ $0.starts(with: keyPrefix) }) { return nil }
            keyLength = keyPrefix.count
        } else if let keyGlob {
            if let key, !keyGlob.matches(key) { return nil }
            keyLength = keyGlob.literalPrefixLength
        }
        if let principals {
            guard let principal, principals.contains(principal) else { return nil }
        }
        if let groups {
            guard requestGroups.contains(where: groups.contains) else { return nil }
        }
        return Specificity(bucketRank: rank, keyPrefixLength: keyLength)
    }
}

/// `storage_class: {allow: [...], deny: [...], default: X}`, names in S3 terms.
struct StorageClassRule: Sendable {
    var allow: [String]?
    var deny: [String] = []
    var defaultClass: String?

    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        guard operation.carriesObjectHeaders, let field = headers[.storageClass] else { return nil }
        let value = field.value
        let shown = field.obsValue.map { $0 == value ? value : "\($0) (\(value))" } ?? value
        return violation(value, shown: shown, in: field.name)
    }

    /// A storage class named in a bucket configuration (a lifecycle transition, a
    /// replication destination, a bucket's default class): `name` as written, `value` its
    /// S3 name, nil when the policy does not know the name. A rule with an allow or deny
    /// list refuses an unknown name: the store may know a class the rule cannot compare.
    func violation(named name: String, meaning value: String?, in place: String) -> String? {
        guard let value else {
            guard allow != nil || !deny.isEmpty else { return nil }
            return "storage class '\(name)' in \(place) is not one the policy knows (case-sensitive; one of: \((StorageClass.s3Names + ["WARM", "COLD"]).joined(separator: ", ")))"
        }
        return violation(value, shown: name == value ? value : "\(name) (\(value))", in: place)
    }

    /// The allow and deny lists on one class (S3 terms), `shown` as the message quotes it.
    private func violation(_ value: String, shown: String, in place: String) -> String? {
        if let allow, !allow.contains(value) {
            return "storage class \(shown) in \(place) is not allowed (allowed: \(allow.joined(separator: ", ")))"
        }
        if deny.contains(value) {
            return "storage class \(shown) in \(place) is not allowed"
        }
        return nil
    }
}

/// `encryption: {require, forbid, kms_key_ids, default_kms_key_id, default_when_absent}`.
struct EncryptionRule: Sendable {
    enum Requirement: Sendable, Equatable {
        case any
        case kind(EncryptionKind)

        var text: String {
            switch self {
            case .any: "server-side encryption"
            case .kind(let kind): kind.displayName
            }
        }
    }

    var require: Requirement?
    var forbid: Set<EncryptionKind> = []
    var kmsKeyIds: [Glob]?
    var defaultKMSKeyId: String?
    var defaultWhenAbsent: EncryptionKind?

    func allowsKey(_ key: String) -> Bool {
        guard let kmsKeyIds else { return true }
        return kmsKeyIds.contains { $0.matches(key) }
    }

    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        let kind = headers.encryption
        if operation.isPartUpload {
            // A part repeats the upload's SSE-C key; no other encryption header applies to parts.
            if require == .kind(.sseC) && kind != .sseC {
                return "\(operation.rawValue) must carry the SSE-C headers (x-amz-server-side-encryption-customer-algorithm, -key, -key-MD5): the upload requires SSE-C"
            }
            if forbid.contains(.sseC) && kind == .sseC {
                return "\(kind.displayName) is not allowed"
            }
            return nil
        }
        guard operation.carriesObjectHeaders else { return nil }
        // A metadata change keeps the object's encryption: only headers it carries are judged.
        if let require, operation.receivesDefaults {
            switch require {
            case .any where kind == .none:
                return "server-side encryption is required; the request asks for none"
            case .kind(let required) where kind != required:
                return "\(required.displayName) is required; the request asks for \(kind.displayName)"
            default:
                break
            }
        }
        if forbid.contains(kind) {
            return "\(kind.displayName) is not allowed"
        }
        if kind == .sseKMS, let kmsKeyIds {
            // Only a refusal lists the keys.
            var allowed: String { kmsKeyIds.map(\.pattern).joined(separator: ", ") }
            guard let key = headers[.kmsKeyId] else {
                return "SSE-KMS without a key id (x-amz-server-side-encryption-aws-kms-key-id) is not allowed (allowed keys: \(allowed))"
            }
            if !allowsKey(key.value) {
                return "KMS key '\(key.value)' in \(key.name) is not allowed (allowed keys: \(allowed))"
            }
        }
        return nil
    }
}

/// `website_redirect: forbid | relative-only | strip | {allow_hosts: [...]}`.
enum RedirectRule: Sendable {
    case forbid
    case relativeOnly
    case strip
    case allowHosts([Glob])

    var isStrip: Bool { if case .strip = self { true } else { false } }

    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        if let reason = copyKeepsUnjudged(headers, operation: operation, what: "its website redirect") { return reason }
        guard operation.carriesObjectHeaders, let field = headers[.websiteRedirectLocation] else { return nil }
        if isStrip { return nil }  // removed before the checks run
        return violation(target: field.value, in: field.name)
    }

    /// Whether a redirect target is allowed; `name` is where it was given (a header or a
    /// form field). A `strip` rule allows nothing: what it would strip is judged before.
    func violation(target value: String, in name: String) -> String? {
        switch self {
        case .forbid, .strip:
            return "website redirects (\(name)) are not allowed"
        case .relativeOnly:
            return Self.isRelative(value) ? nil
                : "only relative website redirects (a path starting with a single '/') are allowed in \(name)"
        case .allowHosts(let hosts):
            if Self.isRelative(value) { return nil }
            let allowed = hosts.map(\.pattern).joined(separator: ", ")
            guard value.hasPrefix("https://") else {
                return "website redirects in \(name) must be relative or https:// to an allowed host (\(allowed))"
            }
            guard let host = Self.host(ofHTTPS: value), hosts.contains(where: { $0.matches(host) }) else {
                return "the website redirect host in \(name) is not allowed (allowed hosts: \(allowed))"
            }
            return nil
        }
    }

    /// A path on the same site: one leading '/', not '//' or '/\' (browsers read both as
    /// the start of another host).
    static func isRelative(_ value: String) -> Bool {
        value.hasPrefix("/") && !value.hasPrefix("//") && !value.hasPrefix("/\\")
    }

    /// The lowercase host of an `https://` URL; nil when the authority carries user info
    /// (`https://good@evil`) or a backslash, or is empty.
    static func host(ofHTTPS value: String) -> String? {
        let rest = value.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains("\\") else { return nil }
        let host = S3AddressResolver.hostWithoutPort(String(authority))
        guard !host.isEmpty else { return nil }
        var name = host.asciiLowercased
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}

/// `acl: {allow_canned: [...], allow_grant_headers: bool, block_public_access: bool}`.
struct ACLRule: Sendable {
    var allowCanned: [String]?
    /// Grant headers can make an object public as surely as a canned ACL: off unless allowed.
    var allowGrantHeaders = false
    /// `block_public_access`: nothing under the rule may be made public — no public canned
    /// ACL or grant on objects or buckets, no public bucket policy, and the bucket's public
    /// access block stays fully on (BucketConfigurationJudge).
    var blockPublicAccess = false

    /// The canned ACLs that open a bucket or object to everyone (or every authenticated user).
    static let publicCanned: Set<String> = [
        "public-read", "public-read-write", "authenticated-read", "public-read-delivered", "public-read-write-delivered",
    ]

    /// Whether the rule refuses public grants: `block_public_access`, or an `allow_canned`
    /// list without any public canned ACL (a grant to AllUsers is `public-read` spelled out).
    var forbidsPublic: Bool {
        if blockPublicAccess { return true }
        guard let allowCanned else { return false }
        return !allowCanned.contains(where: Self.publicCanned.contains)
    }

    /// Why public grants are refused, for messages.
    var publicRefusalReason: String {
        if blockPublicAccess { return "block_public_access" }
        return "allow_canned: \(allowCanned?.joined(separator: ", ") ?? "") allows no public canned ACL"
    }

    /// The public group a grant names (a grant header's value, a Grantee's URI or OBS
    /// `Canned`): S3's AllUsers and AuthenticatedUsers groups, OBS's Everyone. Matched as a
    /// substring in any case, so that no spelling of the group URI slips through.
    static func publicGroup(in text: String) -> String? {
        let lower = text.asciiLowercased
        if lower.contains("authenticatedusers") { return "AuthenticatedUsers" }
        if lower.contains("allusers") { return "AllUsers" }
        if lower.contains("everyone") { return "Everyone" }
        return nil
    }

    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        guard operation.carriesACL else { return nil }
        if let field = headers[.acl], let allowCanned, !allowCanned.contains(field.value) {
            return "canned ACL '\(field.value)' in \(field.name) is not allowed (allowed: \(allowCanned.joined(separator: ", ")))"
        }
        if blockPublicAccess, let field = headers[.acl], Self.publicCanned.contains(field.value) {
            return "canned ACL '\(field.value)' in \(field.name) makes the object public (block_public_access)"
        }
        if !allowGrantHeaders {
            if let grant = headers.grants.first {
                return "ACL grant headers (\(grant.name)) are not allowed"
            }
            if operation == .putObjectAcl && headers[.acl] == nil {
                return "an ACL given in the request body is not allowed (the policy cannot inspect it); use a canned ACL header"
            }
        }
        if blockPublicAccess {
            for grant in headers.grants {
                if let group = Self.publicGroup(in: grant.value) {
                    return "the ACL grant header \(grant.name) names \(group), which makes the object public (block_public_access)"
                }
            }
            if operation == .putObjectAcl && headers[.acl] == nil && headers.grants.isEmpty {
                return "an ACL given in the request body is not allowed under block_public_access (the policy cannot inspect an object's ACL body); use a canned ACL header"
            }
        }
        return nil
    }
}

/// `metadata: {required_keys: [...], key_pattern: regex, max_total_bytes: N}`.
struct MetadataRule: Sendable {
    var requiredKeys: [String] = []
    var keyPattern: KeyPattern?
    var maxTotalBytes: Int?

    func violation(_ headers: UploadHeaders, operation: PolicedOperation) -> String? {
        guard operation.carriesObjectHeaders else { return nil }
        if let reason = copyKeepsUnjudged(headers, operation: operation, what: "its user metadata") { return reason }
        for key in requiredKeys where !headers.metadata.contains(where: { $0.key == key }) {
            return "the metadata header x-amz-meta-\(key) is required"
        }
        if let keyPattern {
            for entry in headers.metadata where !keyPattern.matches(entry.key) {
                return "the metadata key '\(entry.key)' (\(entry.names[0])) does not match the pattern \(keyPattern.source)"
            }
        }
        if let maxTotalBytes, headers.metadataSize > maxTotalBytes {
            return "the user metadata (x-amz-meta-*) is \(headers.metadataSize) bytes of keys and values; at most \(maxTotalBytes) are allowed"
        }
        return nil
    }
}

/// A CopyObject without `x-amz-metadata-directive: REPLACE` (`x-obs-metadata-directive`)
/// keeps the source object's metadata — and on some stores its website redirect — which the
/// gateway cannot see: under a rule that judges those, the copy must replace them with
/// headers the rule can judge. nil for anything else.
func copyKeepsUnjudged(_ headers: UploadHeaders, operation: PolicedOperation, what: String) -> String? {
    guard operation == .copyObject, headers[.metadataDirective]?.value != "REPLACE" else { return nil }
    return "CopyObject must carry x-amz-metadata-directive: REPLACE: with COPY the source object keeps \(what), which the gateway cannot judge"
}

/// A compiled regular expression (ICU syntax, as NSRegularExpression) matched against the
/// whole metadata key. NSRegularExpression is immutable and safe to share between threads.
struct KeyPattern: Sendable {
    let source: String
    private let regex: NSRegularExpression

    init(_ source: String) throws {
        self.source = source
        // Compiled alone first, so an unbalanced ')' cannot escape the anchoring group.
        _ = try NSRegularExpression(pattern: source)
        regex = try NSRegularExpression(pattern: "\\A(?:" + source + ")\\z")
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
