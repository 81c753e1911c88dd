import Policy
import S3Core
import S3Signing

/// How the gateway judged the upload id a request used; the audit record keeps it
/// (`upload_binding`, `upload_initiator`), `policy explain` shows it.
public struct UploadBindingOutcome: Equatable, Sendable, Encodable {
    public enum State: String, Sendable, Encodable {
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
    /// The access rule that let another principal use the upload (`others-uploads`).
    public var allowedBy: String?
}

/// The judgement on one upload id: what goes upstream, or the refusal.
public struct UploadBindingJudgement: Sendable {
    public var outcome: UploadBindingOutcome
    /// The id the upstream gets; nil when refused.
    public var upstreamId: String?
    public var refusal: S3Error?
}

extension UploadBindingConfiguration {
    /// Judges `clientId`, named for `request`'s bucket and `key` (a listing's marker names
    /// the key marker): it must verify (`UploadIdBinder`), or be a legacy id where those are
    /// allowed; unless it only marks a listing's page (`usesUpload` false), its initiator
    /// must be the request's principal or an `others-uploads` access rule must allow the
    /// principal; and a part (UploadPart, UploadPartCopy) must carry the initiation's SSE-C
    /// key (`sseCustomerKeyMD5`, its base64 MD5) or none, as the initiation did.
    public func judge(_ clientId: String, key: String, usesUpload: Bool, request: PolicyRequest, policy: UploadPolicy?,
                      sseCustomerKeyMD5: String?) -> UploadBindingJudgement {
        // An empty id is no upload: radosgw takes `DELETE /b/k?uploadId=` for a DeleteObject
        // the policy never judged. Refused whatever `legacy_ids` says.
        guard !clientId.isEmpty else {
            return UploadBindingJudgement(outcome: .init(state: .unbound), refusal: S3Error.noSuchUpload(clientId))
        }
        switch binder.verify(clientId, bucket: request.bucket ?? "", key: key) {
        case .forged:
            return UploadBindingJudgement(outcome: .init(state: .forged), refusal: S3Error.noSuchUpload(clientId))
        case .unbound:
            guard legacyIds == .allow else {
                return UploadBindingJudgement(outcome: .init(state: .unbound), refusal: S3Error.noSuchUpload(clientId))
            }
            return UploadBindingJudgement(outcome: .init(state: .legacy), upstreamId: clientId)
        case .bound(let upload):
            var outcome = UploadBindingOutcome(state: upload.initiator == nil ? .listed : .bound, initiator: upload.initiator)
            guard usesUpload else { return UploadBindingJudgement(outcome: outcome, upstreamId: upload.upstreamId) }
            if upload.initiator == nil || upload.initiator != request.principal {
                guard let rule = policy?.ruleAllowingOthersUpload(request) else {
                    outcome.state = .otherPrincipal
                    return UploadBindingJudgement(outcome: outcome, refusal: S3Error.accessDenied(upload.initiator == nil
                        ? "This upload id comes from a listing: only its initiator's own id, or an access rule allowing others-uploads, may use it"
                        : "This upload was initiated by another principal, and no access rule allows others-uploads"))
                }
                outcome.allowedBy = rule
            }
            if request.operation == .uploadPart || request.operation == .uploadPartCopy, upload.initiator != nil,
               !binder.sseCustomerKeyMatches(upload, md5: sseCustomerKeyMD5) {
                outcome.state = .sseCMismatch
                return UploadBindingJudgement(outcome: outcome, refusal: S3Error.invalidRequest(upload.usesSSEC
                    ? "The upload was initiated with SSE-C: every part must carry the same customer key"
                    : "The upload was initiated without SSE-C: its parts cannot carry a customer key"))
            }
            return UploadBindingJudgement(outcome: outcome, upstreamId: upload.upstreamId)
        }
    }

    /// The upload id a request names, and the key it is bound to: `uploadId` of the
    /// operations that use an upload; a listing's `upload-id-marker` with its `key-marker`.
    /// nil for other requests.
    public static func namedUpload(_ operation: S3Operation, key: String?,
                                   query: (String) -> String?) -> (parameter: String, id: String, key: String, usesUpload: Bool)? {
        switch operation {
        case .uploadPart, .uploadPartCopy, .completeMultipartUpload, .abortMultipartUpload, .listParts:
            guard let id = query("uploadId"), let key else { return nil }
            return ("uploadId", id, key, true)
        case .listMultipartUploads:
            // A listing's own id: where the next page starts, not a use of the upload.
            guard let marker = query("upload-id-marker"), !marker.isEmpty else { return nil }
            return ("upload-id-marker", marker, query("key-marker") ?? "", false)
        default:
            return nil
        }
    }
}

extension RequestPreparer {
    /// The upload-binding phase: a request that names a multipart upload must name it by
    /// the id the gateway handed out, for the bucket and key it was initiated for, as its
    /// initiator (or as a principal an `others-uploads` access rule allows), with the
    /// initiation's SSE-C key for a part (`UploadBindingConfiguration.judge`). The
    /// upstream gets the upstream's id.
    func bindUpload(_ request: inout PreparingRequest) throws(S3Error) {
        guard case .head(_, let classified) = request.source, let bucket = request.address.bucket else { return }
        if request.operation == .listMultipartUploads, let marker = classified.target.queryValue("key-marker"),
           configuration.uploadBinding.binder.isSealedListingMarker(marker) {
            let position = try Self.openListingMarker(marker, uploadIdMarker: classified.target.queryValue("upload-id-marker"),
                                                      bucket: bucket, binder: configuration.uploadBinding.binder)
            request.upstreamQuery["key-marker"] = position.key
            if !position.uploadId.isEmpty { request.upstreamQuery["upload-id-marker"] = position.uploadId }
            return
        }
        guard let named = UploadBindingConfiguration.namedUpload(request.operation, key: request.address.key,
                                                                 query: classified.target.queryValue)
        else { return }
        let policyRequest = PolicyRequest(operation: request.operation, bucket: request.address.bucket, key: named.key,
                                          principal: request.identity?.principal, groups: request.identity?.groups ?? [],
                                          headers: request.headers, isTLS: request.isTLS)
        let judgement = configuration.uploadBinding.judge(
            named.id, key: named.key, usesUpload: named.usesUpload, request: policyRequest, policy: policy,
            sseCustomerKeyMD5: request.headers[S3HeaderName.sseCustomerKeyMD5] ?? request.headers[OBSHeaderName.sseCustomerKeyMD5])
        request.facts.uploadBinding = judgement.outcome
        if let refusal = judgement.refusal { throw refusal }
        if let upstreamId = judgement.upstreamId { request.upstreamQuery[named.parameter] = upstreamId }
    }

    /// Where a listing's sealed `key-marker` says the next page starts
    /// (`UploadIdBinder.sealListingMarker`). The client sends no `upload-id-marker` with one
    /// (or an empty one): the gateway gave none, the marker holds the store's.
    static func openListingMarker(_ marker: String, uploadIdMarker: String?, bucket: String,
                                  binder: UploadIdBinder) throws(S3Error) -> UploadIdBinder.ListingPosition {
        guard let position = binder.openListingMarker(marker, bucket: bucket) else {
            throw S3Error.invalidArgument("The key-marker is not one this gateway issued for this bucket (altered, or sealed by a binding key it no longer has)")
        }
        guard uploadIdMarker?.isEmpty ?? true else {
            throw S3Error.invalidArgument("An upload-id-marker cannot go with a key-marker the gateway sealed: the marker says where the listing goes on")
        }
        return position
    }
}
