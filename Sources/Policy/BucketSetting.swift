import S3Core

/// What a bucket-configuration write sets, as the rules judge it: read from the body and
/// headers by `BucketConfigurationJudge`, judged here by each rule section in turn.
enum BucketSetting {
    /// Lifecycle transitions, Intelligent-Tiering archive tiers, replication destinations,
    /// the bucket's default class (OBS, CreateBucket): judged by `storage_class`.
    case storageClasses([NamedStorageClass])
    /// `ApplyServerSideEncryptionByDefault` entries; empty when the configuration sets none.
    case defaultEncryption([DefaultEncryption])
    case encryptionRemoved
    /// A canned ACL header, and each public grant (header or body) described.
    case acl(canned: DialectField?, publicGrants: [String])
    /// The bucket policy's public statements, described.
    case publicPolicy([String])
    /// The public access block settings left false or out.
    case publicAccessBlock(unblocked: [String])
    case publicAccessBlockRemoved
    case websiteRedirects([WebsiteRedirect])

    /// Why `rule` refuses the setting, or nil.
    func violation(of rule: PolicyRule) -> String? {
        switch self {
        case .storageClasses(let classes):
            guard let storageClass = rule.storageClass else { return nil }
            for named in classes {
                if let reason = storageClass.violation(named: named.name, meaning: named.value, in: named.place) {
                    return reason
                }
            }
            return nil
        case .defaultEncryption(let entries):
            return rule.encryption?.violation(bucketDefaults: entries)
        case .encryptionRemoved:
            guard let require = rule.encryption?.require else { return nil }
            return "removing the bucket's default encryption is not allowed: the rule requires \(require.text)"
        case .acl(let canned, let grants):
            guard let acl = rule.acl else { return nil }
            if let canned, let allowCanned = acl.allowCanned, !allowCanned.contains(canned.value) {
                return "canned ACL '\(canned.value)' in \(canned.name) is not allowed (allowed: \(allowCanned.joined(separator: ", ")))"
            }
            if let canned, acl.blockPublicAccess, ACLRule.publicCanned.contains(canned.value) {
                return "canned ACL '\(canned.value)' in \(canned.name) makes the bucket public (block_public_access)"
            }
            if acl.forbidsPublic, let grant = grants.first {
                return "\(grant) makes the bucket public, which this rule forbids (\(acl.publicRefusalReason))"
            }
            return nil
        case .publicPolicy(let statements):
            guard let acl = rule.acl, acl.forbidsPublic, let statement = statements.first else { return nil }
            return "the bucket policy's \(statement) allows everyone (Principal \"*\" or NotPrincipal), which makes the bucket public; this rule forbids it (\(acl.publicRefusalReason))"
        case .publicAccessBlock(let unblocked):
            guard rule.acl?.blockPublicAccess == true, !unblocked.isEmpty else { return nil }
            return "the public access block must set BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and RestrictPublicBuckets to true (block_public_access); the configuration leaves \(unblocked.joined(separator: ", ")) false or out"
        case .publicAccessBlockRemoved:
            guard rule.acl?.blockPublicAccess == true else { return nil }
            return "removing the bucket's public access block is not allowed (block_public_access)"
        case .websiteRedirects(let redirects):
            return rule.websiteRedirect?.violation(bucketRedirects: redirects)
        }
    }
}

/// A storage class a configuration names: as written, its S3 name (nil when the policy
/// does not know the name) and where it stands (`Transition/StorageClass`).
struct NamedStorageClass {
    var name: String
    var value: String?
    var place: String
}

/// One `ApplyServerSideEncryptionByDefault`: `SSEAlgorithm` as written, its kind (nil when
/// unknown), `KMSMasterKeyID`.
struct DefaultEncryption {
    var algorithm: String
    var kind: EncryptionKind?
    var keyId: String?
}

/// One redirect of a website configuration: where it stands, the `HostName` it names (nil:
/// the same host) and its `Protocol` values.
struct WebsiteRedirect {
    var place: String
    var host: String?
    var schemes: [String]
}

extension EncryptionRule {
    /// A bucket's default encryption under this rule, judged as an upload that names no
    /// encryption would be after the store applies the default. `require: sse-c` is not
    /// applied (a bucket default cannot be SSE-C; uploads must still carry the SSE-C
    /// headers); an algorithm the policy does not know is refused by any rule that requires,
    /// forbids or lists keys.
    func violation(bucketDefaults entries: [DefaultEncryption]) -> String? {
        guard require != nil || !forbid.isEmpty || kmsKeyIds != nil else { return nil }
        if entries.isEmpty {
            guard let require, require != .kind(.sseC) else { return nil }
            return "the bucket's default encryption must be \(require.text); the configuration sets none (no ApplyServerSideEncryptionByDefault)"
        }
        for entry in entries {
            guard let kind = entry.kind else {
                return "the encryption algorithm '\(entry.algorithm)' in SSEAlgorithm is not one the policy knows (AES256, aws:kms, aws:kms:dsse, kms)"
            }
            if case .kind(let required)? = require, required != .sseC, kind != required {
                return "the bucket's default encryption must be \(required.displayName); SSEAlgorithm \(entry.algorithm) is \(kind.displayName)"
            }
            if forbid.contains(kind) {
                return "\(kind.displayName) is not allowed as the bucket's default encryption (SSEAlgorithm \(entry.algorithm))"
            }
            if kind == .sseKMS, let kmsKeyIds {
                let allowed = kmsKeyIds.map(\.pattern).joined(separator: ", ")
                guard let key = entry.keyId else {
                    return "SSE-KMS without a key id (KMSMasterKeyID) is not allowed (allowed keys: \(allowed)): the store would pick its own key"
                }
                if !allowsKey(key) {
                    return "KMS key '\(key)' in KMSMasterKeyID is not allowed (allowed keys: \(allowed))"
                }
            }
        }
        return nil
    }
}

extension RedirectRule {
    /// A website configuration's redirects under this rule. A bucket setting cannot be
    /// stripped, so `strip` refuses every redirect as `forbid` does; `relative-only` refuses
    /// any host name; `allow_hosts` wants `Protocol` https and a listed host.
    func violation(bucketRedirects redirects: [WebsiteRedirect]) -> String? {
        for redirect in redirects {
            switch self {
            case .forbid:
                return "website redirects (\(redirect.place)) are not allowed"
            case .strip:
                return "website redirects (\(redirect.place)) are not allowed: a redirect in a bucket's website configuration cannot be stripped"
            case .relativeOnly:
                if let host = redirect.host {
                    return "only relative website redirects are allowed; \(redirect.place) redirects to the host '\(host)'"
                }
            case .allowHosts(let hosts):
                guard let host = redirect.host else { continue }
                let allowed = hosts.map(\.pattern).joined(separator: ", ")
                guard !redirect.schemes.isEmpty, redirect.schemes.allSatisfy({ $0.asciiLowercased == "https" }) else {
                    return "website redirects in \(redirect.place) must be relative or https:// (Protocol https) to an allowed host (\(allowed))"
                }
                guard let name = Self.host(ofHostName: host), hosts.contains(where: { $0.matches(name) }) else {
                    return "the website redirect host '\(host)' in \(redirect.place) is not allowed (allowed hosts: \(allowed))"
                }
            }
        }
        return nil
    }

    /// A `HostName` as `host(ofHTTPS:)` reads it (lowercase, port and a final dot
    /// removed); nil when it holds a path, query, fragment, space or control character.
    static func host(ofHostName name: String) -> String? {
        let refused = name.unicodeScalars.contains {
            $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "/" || $0 == "?" || $0 == "#"
        }
        return refused ? nil : host(ofHTTPS: "https://" + name)
    }
}
