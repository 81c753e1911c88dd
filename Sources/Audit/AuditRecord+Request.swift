import S3Core

extension AuditRecord {
    /// Records the storage- and protection-relevant headers, redacted
    /// (`Redaction.recordedHeaders(_:)`); nothing when none of them is present.
    public mutating func setHeaders(_ fields: HeaderFields) {
        let recorded = Redaction.recordedHeaders(fields)
        headers = recorded.isEmpty ? nil : recorded
    }

    /// The multipart upload a request names in its `uploadId` query parameter: UploadPart,
    /// UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload and ListParts. (For
    /// CreateMultipartUpload the id comes back in the response body instead, and the
    /// gateway records the one it bound.)
    public static func uploadId(of operation: S3Operation, target: RequestTarget) -> String? {
        switch operation {
        case .uploadPart, .uploadPartCopy, .completeMultipartUpload, .abortMultipartUpload, .listParts:
            target.queryValue("uploadId")
        default:
            nil
        }
    }
}
