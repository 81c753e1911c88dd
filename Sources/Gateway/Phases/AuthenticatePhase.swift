import Credentials
import S3Core
import S3Signing

extension RequestPreparer {
    /// The authenticate phase: the signature (SigV4 header or presigned, SigV2, OBS) →
    /// the principal of a gateway-issued key; or an unsigned request where anonymous
    /// reads are allowed. A refused request still says whom it claims to come from.
    func authenticate(_ request: inout PreparingRequest) throws(S3Error) {
        guard case .head(let head, let classified) = request.source else { return }
        let target = classified.target
        do throws(S3Error) {
            if RequestAuthenticator.isSigned(target: target, headers: head.headers) {
                let result = try authenticator.authenticate(method: head.method, target: target, headers: head.headers,
                                                            address: request.address, now: request.now)
                request.facts.accessKeyId = result.accessKeyId
                guard let known = credentials.identity(forAccessKey: result.accessKeyId) else { throw S3Error.invalidAccessKeyId() }
                request.identity = known
                request.facts.identity = known
                request.scheme = result.scheme
                request.payload = result.payload
            } else {
                try allowAnonymous(operation: request.operation, address: request.address, target: target)
            }
        } catch {
            // Whom the refused request claims to come from; read only now, as it is needed only now.
            if request.facts.accessKeyId == nil, RequestAuthenticator.isSigned(target: target, headers: head.headers) {
                request.facts.accessKeyId = RequestAuthenticator.claimedAccessKeyId(target: target, headers: head.headers)
            }
            throw error
        }
    }

    /// A CORS preflight is never signed (browsers send it on their own): it goes upstream
    /// re-signed with the anonymous profile, so the bucket's CORS settings answer it, as S3
    /// does — refused when the gateway has no such profile.
    func admitPreflight(_ request: inout PreparingRequest) throws(S3Error) {
        guard signers[Self.anonymousProfile] != nil else {
            throw S3Error.accessDenied("CORS preflights go upstream with the profile '\(Self.anonymousProfile)', which this gateway does not have")
        }
    }

    /// An unsigned GET/HEAD of an object in an `anonymous.read_buckets` bucket, as the
    /// object is: S3 refuses response header overrides (`?response-content-type=text/html`
    /// would serve any public object as a page) and version selection to anonymous readers.
    private func allowAnonymous(operation: S3Operation, address: S3Address, target: RequestTarget) throws(S3Error) {
        guard let bucket = address.bucket, configuration.anonymousReadBuckets.contains(bucket),
              operation == .getObject || operation == .headObject
        else { throw S3Error.accessDenied("Anonymous access is not allowed; sign the request with a gateway-issued key") }
        if let parameter = target.query.first(where: { $0.name.hasPrefix("response-") || $0.name == "versionId" }) {
            throw S3Error.invalidRequest("Anonymous requests cannot use the \(parameter.name) parameter; sign the request")
        }
    }
}
