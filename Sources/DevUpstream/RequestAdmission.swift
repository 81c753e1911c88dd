import Foundation
import S3Core
import S3Signing

/// The first phase of every request: parse the target, resolve bucket and key (path-style,
/// or virtual-hosted under `localhost`), verify the signature and classify the operation.
/// Nothing is read from the body until a request has been admitted, so an unsigned or
/// unsupported upload is refused before its `100 Continue`.
struct RequestAdmission: Sendable {
    let authenticator: RequestAuthenticator
    let resolver = S3AddressResolver(baseDomains: ["localhost"])

    /// Why a request was refused, and who had signed it when the refusal came after the
    /// signature checked out.
    struct Refusal: Error {
        var error: S3Error
        var accessKeyId: String?
    }

    init(credentials: [SigningCredentials], regions: Set<String>) {
        authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: regions),
                                             secrets: ConfiguredSecrets(credentials))
    }

    func admit(method: String, uri: String, headers: HeaderFields, now: Date) throws(Refusal) -> S3Request {
        let target: RequestTarget
        let address: S3Address
        let authenticated: AuthenticatedRequest
        do {
            target = try RequestTarget(parsing: uri)
            address = try resolver.resolve(host: headers[S3HeaderName.host], target: target)
            authenticated = try authenticator.authenticate(method: method, target: target, headers: headers,
                                                           address: address, now: now)
        } catch {
            throw Refusal(error: error, accessKeyId: nil)
        }
        let operation = S3OperationClassifier.classify(method: method, address: address, target: target,
                                                       headers: headers, acceptsOBSOperations: true)
        guard OperationExecutor.supports(operation) else {
            let reason = if case .unknown(let reason) = operation { reason } else { operation.name }
            throw Refusal(error: S3Error.notImplemented("A header or query you provided implies functionality that is not implemented (\(reason))."),
                          accessKeyId: authenticated.accessKeyId)
        }
        let obsSigned = authenticated.scheme.dialect == .obs
        let obsHeaders = headers.contains { $0.name.hasASCIICaseInsensitivePrefix(OBSHeaderName.prefix) }
        return S3Request(method: method, target: target, headers: headers, address: address,
                         operation: operation, accessKeyId: authenticated.accessKeyId,
                         payload: authenticated.payload,
                         requestDialect: obsSigned || obsHeaders ? .obs : .s3,
                         responseDialect: obsSigned ? .obs : .s3)
    }
}

/// The configured keys, as the authenticator looks them up.
struct ConfiguredSecrets: SecretLookup {
    private let secrets: [String: String]

    init(_ credentials: [SigningCredentials]) {
        secrets = Dictionary(credentials.map { ($0.accessKeyId, $0.secretAccessKey) }) { _, last in last }
    }

    func secret(forAccessKey accessKeyId: String) -> String? {
        secrets[accessKeyId]
    }
}
