import S3Core

/// The store's side of the two header dialects (S3Core's `HeaderDialect` holds the
/// mapping itself).
///
/// Requests may name object attributes with `x-amz-*` headers (S3) or `x-obs-*` headers
/// (Huawei OBS); the store keeps every attribute in its S3 form and answers in the
/// dialect of the request's signature. OBS differs from S3 in three ways that matter
/// here: its storage classes are STANDARD / WARM / COLD (S3 STANDARD / STANDARD_IA /
/// GLACIER), SSE-KMS is `kms` (S3 `aws:kms`) and the KMS key header is
/// `x-obs-server-side-encryption-kms-key-id`. Every other header keeps its suffix.
extension HeaderDialect {
    /// The name of a prefixed header, e.g. `storage-class` → `x-obs-storage-class`.
    func header(_ suffix: String) -> String { prefix + suffix }

    var metadataPrefix: String { self == .s3 ? S3HeaderName.metaPrefix : OBSHeaderName.metaPrefix }
    var requestIdHeader: String { prefix + "request-id" }
    var hostIdHeader: String { prefix + "id-2" }
    var kmsKeyIdHeader: String { self == .s3 ? S3HeaderName.sseKMSKeyId : OBSHeaderName.sseKMSKeyId }

    /// The S3 name of a storage class as this dialect writes it, or nil for a value the
    /// dialect does not have. Case-sensitive, as both stores are.
    func storageClass(fromWire value: String) -> String? {
        self == .s3 ? (Self.s3StorageClasses.contains(value) ? value : nil) : Self.s3Value(of: value, in: Self.storageClasses)
    }

    /// The storage class as this dialect writes it; S3 classes without an OBS name are
    /// written as they are.
    func wireStorageClass(_ s3Name: String) -> String {
        self == .s3 ? s3Name : Self.storageClasses.first { $0.s3 == s3Name }?.obs ?? s3Name
    }

    /// The S3 server-side encryption value of a request value, nil when unsupported.
    func serverSideEncryption(fromWire value: String) -> String? {
        self == .s3 ? (Self.s3ServerSideEncryptions.contains(value) ? value : nil)
            : Self.s3Value(of: value, in: Self.serverSideEncryptions)
    }

    func wireServerSideEncryption(_ s3Value: String) -> String {
        self == .s3 ? s3Value : Self.serverSideEncryptions.first { $0.s3 == s3Value }?.obs ?? s3Value
    }

    private static func s3Value(of obsValue: String, in table: [(s3: String, obs: String)]) -> String? {
        table.first { $0.obs == obsValue }?.s3
    }
}
