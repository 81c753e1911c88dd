import Crypto
import Foundation
import S3Core

/// Signs a request the gateway sends to the upstream store, in the scheme the upstream is
/// configured for. The same canonicalisation code verifies client requests, so what the
/// gateway signs is exactly what it would itself accept.
public struct UpstreamSigner: Sendable {
    public enum Scheme: String, Sendable, CaseIterable {
        /// AWS Signature Version 4 in the Authorization header.
        case v4
        /// AWS Signature Version 2 (`AWS AK:sig`).
        case v2
        /// Huawei OBS native (`OBS AK:sig`).
        case obs
    }

    public let scheme: Scheme
    public let credentials: SigningCredentials
    public let region: String
    public let keyCache: SigV4SigningKeyCache

    public init(scheme: Scheme, credentials: SigningCredentials, region: String,
                keyCache: SigV4SigningKeyCache = SigV4SigningKeyCache()) {
        self.scheme = scheme
        self.credentials = credentials
        self.region = region
        self.keyCache = keyCache
    }

    /// Adds the date, token and Authorization headers to `headers`, which must already hold
    /// `Host` and every header that is to be sent.
    ///
    /// - Parameters:
    ///   - target: the request-target as it will be sent upstream.
    ///   - address: how the upstream request names the bucket (SigV2/OBS resource).
    ///   - payloadHash: SigV4's `x-amz-content-sha256` (hex, or `UNSIGNED-PAYLOAD`).
    public func sign(method: String, target: RequestTarget, address: S3Address, headers: inout HeaderFields,
                     payloadHash: String = SigV4.unsignedPayload, now: Date) throws(S3Error) {
        headers.remove(S3HeaderName.authorization)
        switch scheme {
        case .v4:
            try signV4(method: method, target: target, headers: &headers, payloadHash: payloadHash, now: now)
        case .v2:
            signHMACV1(.aws, method: method, target: target, address: address, headers: &headers, now: now)
        case .obs:
            signHMACV1(.obs, method: method, target: target, address: address, headers: &headers, now: now)
        }
    }

    private func signV4(method: String, target: RequestTarget, headers: inout HeaderFields,
                        payloadHash: String, now: Date) throws(S3Error) {
        let amzDate = SigningTime.amzDate(now)
        headers.replace(S3HeaderName.amzDate, with: amzDate)
        headers.replace(S3HeaderName.contentSHA256, with: payloadHash)
        if let token = credentials.sessionToken { headers.replace(S3HeaderName.securityToken, with: token) }
        let signedHeaders = Self.headersToSign(headers)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: region)
        guard let canonicalRequestHash = try SigV4.canonicalRequestHash(
            method: method, rawPath: target.rawPath, query: target.query, headers: headers,
            signedHeaders: signedHeaders, payloadHash: payloadHash)
        else { throw S3Error.internalError("A header to sign vanished while signing") }
        let signature = SigV4.signature(signingKey: keyCache.signingKey(secret: credentials.secretAccessKey, scope: scope),
                                        amzDate: amzDate, scope: scope, canonicalRequestHash: canonicalRequestHash)
        headers.add("Authorization", Self.authorization(accessKeyId: credentials.accessKeyId, scope: scope,
                                                        signedHeaders: signedHeaders, signature: signature))
    }

    /// `AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=a;b, Signature=hex`, written
    /// once into a string of its exact length.
    static func authorization(accessKeyId: String, scope: SigV4Scope, signedHeaders: [String],
                              signature: HMAC<SHA256>.MAC) -> String {
        let credentialLabel = " Credential=", signedHeadersLabel = ", SignedHeaders=", signatureLabel = ", Signature="
        let length = SigV4.algorithm.utf8.count + credentialLabel.utf8.count + accessKeyId.utf8.count + 1
            + scope.textLength + signedHeadersLabel.utf8.count
            + signedHeaders.reduce(max(signedHeaders.count - 1, 0)) { $0 + $1.utf8.count }
            + signatureLabel.utf8.count + SHA256.byteCount * 2
        return BufferTextStream.string(capacity: length) { text in
            text.write(SigV4.algorithm)
            text.write(credentialLabel)
            text.write(accessKeyId)
            text.write("/")
            scope.write(into: &text)
            text.write(signedHeadersLabel)
            SigV4.writeSignedHeaders(signedHeaders, into: &text)
            text.write(signatureLabel)
            text.write(hexOf: signature)
        }
    }

    /// `host`, `content-md5`, `content-type` and every `x-amz-*` / `x-obs-*` header,
    /// lowercase and sorted: everything that carries meaning for the store is covered.
    static func headersToSign(_ headers: HeaderFields) -> [String] {
        var names: [String] = []
        names.reserveCapacity(headers.count)
        for field in headers {
            let name = field.name.asciiLowercased
            if name == S3HeaderName.host || name == S3HeaderName.contentMD5 || name == S3HeaderName.contentType
                || HeaderDialect.isDialectName(name) {
                names.append(name)
            }
        }
        names.sort { $0.utf8Precedes($1) }
        // A repeated field is one signed header (its values are joined).
        var index = 1
        while index < names.count {
            // Bytes, as they were sorted (`==` would merge canonically equivalent names).
            if names[index].utf8Equals(names[index - 1]) { names.remove(at: index) } else { index += 1 }
        }
        return names
    }

    private func signHMACV1(_ dialect: HMACV1Dialect, method: String, target: RequestTarget, address: S3Address,
                            headers: inout HeaderFields, now: Date) {
        headers.replace("Date", with: SigningTime.httpDate(now))
        if let token = credentials.sessionToken {
            headers.replace(dialect == .aws ? S3HeaderName.securityToken : OBSHeaderName.securityToken, with: token)
        }
        let resource = HMACV1.canonicalResources(dialect: dialect, address: address, target: target)[0]
        let stringToSign = HMACV1.stringToSign(dialect: dialect, method: method, headers: headers,
                                               dateLine: HMACV1.headerDateLine(dialect: dialect, headers: headers),
                                               canonicalResource: resource)
        let signature = HMACV1.signature(secret: credentials.secretAccessKey, stringToSign: stringToSign)
        headers.add("Authorization", "\(dialect.authorizationKeyword) \(credentials.accessKeyId):\(signature)")
    }
}
