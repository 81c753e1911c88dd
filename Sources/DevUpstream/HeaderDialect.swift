import S3Core

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
        case .s3: return S3Core.HeaderDialect.s3StorageClasses.contains(value) ? value : nil
        case .obs: return S3Core.HeaderDialect.storageClasses.first { $0.obs == value }?.s3
        }
    }

    /// The storage class as this dialect writes it; S3 classes without an OBS name are
    /// written as they are.
    func wireStorageClass(_ s3Name: String) -> String {
        switch self {
        case .s3: return s3Name
        case .obs: return S3Core.HeaderDialect.storageClasses.first { $0.s3 == s3Name }?.obs ?? s3Name
        }
    }

    /// The S3 server-side encryption value of a request value, nil when unsupported.
    func serverSideEncryption(fromWire value: String) -> String? {
        switch self {
        case .s3: return ["AES256", "aws:kms", "aws:kms:dsse"].contains(value) ? value : nil
        case .obs: return S3Core.HeaderDialect.serverSideEncryptions.first { $0.obs == value }?.s3
        }
    }

    func wireServerSideEncryption(_ s3Value: String) -> String {
        self == .obs ? S3Core.HeaderDialect.serverSideEncryptions.first { $0.s3 == s3Value }?.obs ?? s3Value : s3Value
    }
}

