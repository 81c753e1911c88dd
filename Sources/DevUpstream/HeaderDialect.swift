/// The two header dialects the store speaks, and the whole mapping between them.
///
/// Requests may name object attributes with `x-amz-*` headers (S3) or `x-obs-*` headers
/// (Huawei OBS); the store keeps every attribute in its S3 form and answers in the
/// dialect of the request's signature. OBS differs from S3 in three ways that matter
/// here: its storage classes are STANDARD / WARM / COLD (S3 STANDARD / STANDARD_IA /
/// GLACIER), SSE-KMS is `kms` (S3 `aws:kms`) and the KMS key header is
/// `x-obs-server-side-encryption-kms-key-id`. Every other header keeps its suffix.
enum HeaderDialect: Sendable, Equatable {
    case s3
    case obs

    /// `x-amz-` or `x-obs-`.
    var prefix: String { self == .s3 ? "x-amz-" : "x-obs-" }

    /// The name of a prefixed header, e.g. `storage-class` → `x-obs-storage-class`.
    func header(_ suffix: String) -> String { prefix + suffix }

    var metadataPrefix: String { prefix + "meta-" }
    var requestIdHeader: String { prefix + "request-id" }
    var hostIdHeader: String { prefix + "id-2" }
    var kmsKeyIdHeader: String {
        self == .s3 ? "x-amz-server-side-encryption-aws-kms-key-id" : "x-obs-server-side-encryption-kms-key-id"
    }

    /// The S3 name of a storage class as this dialect writes it, or nil for a value the
    /// dialect does not have. Case-sensitive, as both stores are.
    func storageClass(fromWire value: String) -> String? {
        switch self {
        case .s3: return Self.s3StorageClasses.contains(value) ? value : nil
        case .obs: return Self.obsStorageClasses.first { $0.obs == value }?.s3
        }
    }

    /// The storage class as this dialect writes it; S3 classes without an OBS name are
    /// written as they are.
    func wireStorageClass(_ s3Name: String) -> String {
        switch self {
        case .s3: return s3Name
        case .obs: return Self.obsStorageClasses.first { $0.s3 == s3Name }?.obs ?? s3Name
        }
    }

    /// The S3 server-side encryption value of a request value, nil when unsupported.
    func serverSideEncryption(fromWire value: String) -> String? {
        switch self {
        case .s3: return ["AES256", "aws:kms", "aws:kms:dsse"].contains(value) ? value : nil
        case .obs: return value == "kms" ? "aws:kms" : (value == "AES256" ? value : nil)
        }
    }

    func wireServerSideEncryption(_ s3Value: String) -> String {
        self == .obs && s3Value == "aws:kms" ? "kms" : s3Value
    }

    static let s3StorageClasses: Set<String> = [
        "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
        "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR",
    ]

    static let obsStorageClasses: [(obs: String, s3: String)] = [
        ("STANDARD", "STANDARD"), ("WARM", "STANDARD_IA"), ("COLD", "GLACIER"),
    ]
}
