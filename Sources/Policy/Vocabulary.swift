import S3Core

/// Storage class names. S3 and OBS spell three of them differently; the policy compares
/// them in S3 terms. All names are case-sensitive, as both stores treat them.
public enum StorageClass {
    /// The values `x-amz-storage-class` accepts.
    public static let s3Names: [String] = HeaderDialect.s3StorageClasses
    /// The values `x-obs-storage-class` accepts.
    public static let obsNames: [String] = HeaderDialect.storageClasses.map(\.obs)

    static let s3NameSet = Set(s3Names)
    static let obsNameSet = Set(obsNames)

    /// `WARM` → `STANDARD_IA`, `COLD` → `GLACIER`, `STANDARD` and `DEEP_ARCHIVE` as they are.
    public static func s3Name(ofOBSName name: String) -> String? {
        HeaderDialect.storageClasses.first { $0.obs == name }?.s3
    }

    /// A name as a policy file may write it (either dialect) in S3 terms.
    static func canonical(_ name: String) -> String? {
        s3NameSet.contains(name) ? name : s3Name(ofOBSName: name)
    }
}

/// The server-side encryption a request asks for.
public enum EncryptionKind: String, Sendable, Hashable, CaseIterable {
    /// No encryption header: the bucket's default applies.
    case none
    /// `x-amz-server-side-encryption: AES256` (OBS calls it SSE-OBS).
    case sseS3 = "sse-s3"
    /// `aws:kms`, `aws:kms:dsse`, OBS `kms`.
    case sseKMS = "sse-kms"
    /// The `…-customer-algorithm`, `-key` and `-key-MD5` headers.
    case sseC = "sse-c"
    /// An encryption value neither store knows (the seed rules refuse it first).
    case unrecognized

    init?(headerValue: String) {
        switch headerValue {
        case "AES256": self = .sseS3
        case "aws:kms", "aws:kms:dsse": self = .sseKMS
        default: return nil
        }
    }

    /// How a policy file names the kinds it can require or forbid (`sse-obs` is OBS's
    /// name for `sse-s3`).
    static func named(_ name: String) -> EncryptionKind? {
        switch name {
        case "sse-s3", "sse-obs": .sseS3
        case "sse-kms": .sseKMS
        case "sse-c": .sseC
        default: nil
        }
    }

    var displayName: String {
        switch self {
        case .none: "no encryption"
        case .sseS3: "SSE-S3 (x-amz-server-side-encryption: AES256)"
        case .sseKMS: "SSE-KMS (x-amz-server-side-encryption: aws:kms)"
        case .sseC: "SSE-C (x-amz-server-side-encryption-customer-* headers)"
        case .unrecognized: "an unrecognised x-amz-server-side-encryption value"
        }
    }
}

/// Canned ACL names of S3 and OBS (`-delivered` variants are OBS's: they extend the grant
/// to objects in the bucket).
public enum CannedACL {
    public static let names: Set<String> = [
        "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
        "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
        "public-read-delivered", "public-read-write-delivered",
    ]
}
