import Policy
import S3Core
import S3Signing

/// How the gateway judged the upload id a request used; the audit record keeps it
/// (`upload_binding`, `upload_initiator`).
public struct UploadBindingOutcome: Equatable, Sendable {
    public enum State: String, Sendable {
        /// A bound id, verified: the initiation's bucket, key and initiator.
        case bound
        /// A bound id from a listing: who initiated the upload is not known.
        case listed
        /// An id the gateway never bound, let through (`legacy_ids: allow`).
        case legacy
        /// Refused: a bound id that does not verify (404 NoSuchUpload).
        case forged
        /// Refused: an id the gateway never bound (`legacy_ids: refuse`; 404 NoSuchUpload).
        case unbound
        /// Refused: another principal's upload, and no `others-uploads` rule allows it (403).
        case otherPrincipal = "other-principal"
        /// Refused: a part whose SSE-C key is not the initiation's (400).
        case sseCMismatch = "sse-c-mismatch"
    }

    public var state: State
    public var initiator: String?
}

extension RequestPreparer {
    /// The upload-binding phase: a request that names a multipart upload must name it by
    /// the id the gateway handed out (`UploadIdBinder`), for the bucket and key it was
    /// initiated for, as its initiator (or as a principal an `others-uploads` access rule
    /// allows), with the initiation's SSE-C key for a part. The upstream gets the
    /// upstream's id. ListMultipartUploads' `upload-id-marker` is an id of a listing.
    func bindUpload(_ request: inout PreparingRequest) throws(S3Error) {
        guard case .head(_, let classified) = request.source, let bucket = request.address.bucket else { return }
        switch request.operation {
        case .uploadPart, .uploadPartCopy, .completeMultipartUpload, .abortMultipartUpload, .listParts:
            guard let clientId = classified.target.queryValue("uploadId"), let key = request.address.key else { return }
            request.upstreamQuery["uploadId"] = try upstreamUploadId(clientId, bucket: bucket, key: key, usesUpload: true,
                                                                     request: &request)
        case .listMultipartUploads:
            guard let marker = classified.target.queryValue("upload-id-marker"), !marker.isEmpty else { return }
            let keyMarker = classified.target.queryValue("key-marker") ?? ""
            // A listing's own id: where the next page starts, not a use of the upload.
            request.upstreamQuery["upload-id-marker"] = try upstreamUploadId(marker, bucket: bucket, key: keyMarker,
                                                                              usesUpload: false, request: &request)
        default:
            return
        }
    }

    private func upstreamUploadId(_ clientId: String, bucket: String, key: String, usesUpload: Bool,
                                  request: inout PreparingRequest) throws(S3Error) -> String {
        let binding = configuration.uploadBinding
        switch binding.binder.verify(clientId, bucket: bucket, key: key) {
        case .forged:
            request.facts.uploadBinding = UploadBindingOutcome(state: .forged)
            throw S3Error.noSuchUpload(clientId)
        case .unbound:
            guard binding.legacyIds == .allow else {
                request.facts.uploadBinding = UploadBindingOutcome(state: .unbound)
                throw S3Error.noSuchUpload(clientId)
            }
            request.facts.uploadBinding = UploadBindingOutcome(state: .legacy)
            return clientId
        case .bound(let upload):
            var outcome = UploadBindingOutcome(state: upload.initiator == nil ? .listed : .bound, initiator: upload.initiator)
            request.facts.uploadBinding = outcome
            guard usesUpload else { return upload.upstreamId }
            let principal = request.identity?.principal
            if upload.initiator == nil || upload.initiator != principal {
                let policyRequest = PolicyRequest(operation: request.operation, bucket: bucket, key: key, principal: principal,
                                                  groups: request.identity?.groups ?? [], headers: request.headers,
                                                  isTLS: request.isTLS)
                guard policy?.ruleAllowingOthersUpload(policyRequest) != nil else {
                    outcome.state = .otherPrincipal
                    request.facts.uploadBinding = outcome
                    throw S3Error.accessDenied(upload.initiator == nil
                        ? "This upload id comes from a listing: only its initiator's own id, or an access rule allowing others-uploads, may use it"
                        : "This upload was initiated by another principal, and no access rule allows others-uploads")
                }
            }
            if request.operation == .uploadPart || request.operation == .uploadPartCopy, upload.initiator != nil {
                let md5 = request.headers[S3HeaderName.sseCustomerKeyMD5] ?? request.headers[OBSHeaderName.sseCustomerKeyMD5]
                guard binding.binder.sseCustomerKeyMatches(upload, md5: md5) else {
                    outcome.state = .sseCMismatch
                    request.facts.uploadBinding = outcome
                    throw S3Error.invalidRequest(upload.usesSSEC
                        ? "The upload was initiated with SSE-C: every part must carry the same customer key"
                        : "The upload was initiated without SSE-C: its parts cannot carry a customer key")
                }
            }
            return upload.upstreamId
        }
    }
}
