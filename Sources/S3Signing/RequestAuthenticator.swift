import Crypto
import Foundation
import S3Core

/// Which signature a request carried.
public enum SignatureScheme: String, Sendable, Equatable {
    case sigV4Header = "sigv4-header"
    case sigV4Presigned = "sigv4-presigned"
    case sigV2Header = "sigv2-header"
    case sigV2Query = "sigv2-query"
    case obsHeader = "obs-header"
    case obsQuery = "obs-query"

    /// The header dialect of a client that signs this way: its responses are put in it.
    public var dialect: HeaderDialect { self == .obsHeader || self == .obsQuery ? .obs : .s3 }
}

/// What the body of an authenticated request still has to prove.
public enum PayloadExpectation: Sendable, Equatable {
    /// Nothing: `UNSIGNED-PAYLOAD`, SigV2 and OBS signatures do not cover the body.
    case unsigned
    /// The body's SHA-256 must equal this lowercase hex value.
    case sha256(String)
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: aws-chunked with signed chunks.
    case signedChunks(SigV4ChunkContext, trailer: Bool)
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked without chunk signatures, with a
    /// trailing checksum.
    case unsignedChunksWithTrailer
}

/// A request whose signature checked out.
public struct AuthenticatedRequest: Sendable, Equatable {
    public let accessKeyId: String
    public let scheme: SignatureScheme
    public let payload: PayloadExpectation
}

/// The settings the verifier checks a request against.
public struct AuthenticationSettings: Sendable {
    /// Regions a SigV4 credential scope may name.
    public var regions: Set<String>
    /// The largest difference between a header-signed request's date and the gateway's
    /// clock; S3 uses 15 minutes. Presigned URLs are judged by their expiry instead.
    public var maxClockSkew: TimeInterval
    /// The service a SigV4 credential scope must name: `s3`.
    public var service: String
    /// The longest a SigV2 / OBS query-signed URL may stay valid, counted from now: their
    /// `Expires` is an absolute time the signer picks, so without this bound a URL could be
    /// valid for ever. SigV4's `X-Amz-Expires` has the same bound by definition (7 days).
    public var maxPresignedLifetime: TimeInterval

    public init(regions: Set<String>, maxClockSkew: TimeInterval = 900, service: String = "s3",
                maxPresignedLifetime: TimeInterval = 604_800) {
        self.regions = regions
        self.maxClockSkew = maxClockSkew
        self.service = service
        self.maxPresignedLifetime = maxPresignedLifetime
    }

    /// The checks of a SigV4 credential scope, for every form that carries one (header,
    /// presigned URL, browser form): its date is the signing date's, its region one of
    /// `regions`, its service `service`. `subject` names the carrier in the messages
    /// ("the authorization header"), `dateName` the signing date's field.
    public func checkScope(_ scope: SigV4Scope, amzDate: String, subject: String, dateName: String,
                           malformed: (String) -> S3Error) throws(S3Error) {
        guard scope.date == String(amzDate.prefix(8)) else {
            throw malformed("Invalid credential date \"\(scope.date.prefix(64))\". This date is not the same as \(dateName): \"\(amzDate.prefix(8))\".")
        }
        guard regions.contains(scope.region) else {
            let expected = regions.sorted().joined(separator: "' or '")
            throw malformed("\(subject) is malformed; the region '\(scope.region.prefix(64))' is wrong; expecting '\(expected)'")
        }
        guard scope.service == service else {
            throw malformed("\(subject) is malformed; incorrect service \"\(scope.service.prefix(64))\". This endpoint belongs to \"\(service)\".")
        }
    }
}

/// Verifies the signature of a client request: SigV4 (Authorization header or presigned
/// query), SigV2 (header or query) and OBS native (header or query). It answers who signed
/// (the access key) and what the body must still prove, or throws the S3 error S3 itself
/// would answer. No error carries the expected signature or the string to sign.
public struct RequestAuthenticator: Sendable {
    public let settings: AuthenticationSettings
    public let secrets: any SecretLookup
    public let keyCache: SigV4SigningKeyCache

    public init(settings: AuthenticationSettings, secrets: any SecretLookup,
                keyCache: SigV4SigningKeyCache = SigV4SigningKeyCache()) {
        self.settings = settings
        self.secrets = secrets
        self.keyCache = keyCache
    }

    /// Whether the request carries any signature at all; unsigned requests are anonymous.
    public static func isSigned(target: RequestTarget, headers: HeaderFields) -> Bool {
        headers.contains(S3HeaderName.authorization)
            || target.hasQuery("X-Amz-Signature") || target.hasQuery("X-Amz-Credential")
            || target.hasQuery("Signature")
    }

    /// The access key id a request claims to be signed with, read without verifying
    /// anything: for the audit record of a request whose key is unknown or whose signature
    /// does not match. nil when no well-formed credential is given.
    public static func claimedAccessKeyId(target: RequestTarget, headers: HeaderFields) -> String? {
        if let authorization = headers[S3HeaderName.authorization] {
            if authorization.hasPrefix(SigV4.algorithm + " ") {
                return try? SigV4Authorization(header: authorization).credential.accessKeyId
            }
            for dialect in [HMACV1Dialect.aws, .obs] where authorization.hasPrefix(dialect.authorizationKeyword + " ") {
                let credentials = authorization.dropFirst(dialect.authorizationKeyword.count + 1)
                guard let colon = credentials.lastIndex(of: ":"), colon != credentials.startIndex else { return nil }
                return String(credentials[..<colon])
            }
            return nil
        }
        if let credential = target.queryValue("X-Amz-Credential") {
            return try? SigV4Credential(parsing: credential, malformed: S3Error.authorizationQueryParametersError).accessKeyId
        }
        return target.queryValue(HMACV1Dialect.aws.accessKeyParameter) ?? target.queryValue(HMACV1Dialect.obs.accessKeyParameter)
    }

    /// The dialect of the signature a request carries, read without verifying it — the same
    /// dispatch as `authenticate` — for the answer to a request refused before or during
    /// verification. `target` is nil when the request-target did not even parse.
    public static func claimedDialect(target: RequestTarget?, headers: HeaderFields) -> HeaderDialect {
        if let authorization = headers[S3HeaderName.authorization] {
            return authorization.hasPrefix(HMACV1Dialect.obs.authorizationKeyword + " ") ? .obs : .s3
        }
        guard let target, !target.hasQuery("X-Amz-Signature"), !target.hasQuery("X-Amz-Credential"),
              target.hasQuery("Signature"), target.hasQuery(HMACV1Dialect.obs.accessKeyParameter)
        else { return .s3 }
        return .obs
    }

    public func authenticate(method: String, target: RequestTarget, headers: HeaderFields,
                             address: S3Address, now: Date) throws(S3Error) -> AuthenticatedRequest {
        let authorizationField = headers.first(S3HeaderName.authorization)
        let presignedV4 = target.hasQuery("X-Amz-Algorithm") || target.hasQuery("X-Amz-Signature")
            || target.hasQuery("X-Amz-Credential")
        let queryV2 = target.hasQuery("Signature")
        let mechanisms = (authorizationField == nil ? 0 : 1) + (presignedV4 ? 1 : 0) + (queryV2 && !presignedV4 ? 1 : 0)
        guard mechanisms <= 1 else {
            throw S3Error.invalidArgument("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
        }
        guard (authorizationField?.occurrences ?? 0) <= 1 else {
            throw S3Error.invalidArgument("The Authorization header was given more than once")
        }
        let request = SignedRequest(method: method, target: target, headers: headers, address: address)
        if let authorization = authorizationField?.value {
            if authorization.hasPrefix(SigV4.algorithm + " ") {
                return try verifySigV4Header(request, authorization: authorization, now: now)
            }
            for dialect in [HMACV1Dialect.aws, .obs] where authorization.hasPrefix(dialect.authorizationKeyword + " ") {
                return try verifyHMACV1Header(request, dialect: dialect, authorization: authorization, now: now)
            }
            throw S3Error.invalidArgument("Unsupported Authorization Type")
        }
        if presignedV4 { return try verifySigV4Presigned(request, now: now) }
        if queryV2 {
            let dialect: HMACV1Dialect = target.hasQuery(HMACV1Dialect.obs.accessKeyParameter) ? .obs : .aws
            return try verifyHMACV1Query(request, dialect: dialect, now: now)
        }
        throw S3Error.accessDenied("Anonymous access is not allowed")
    }

    // MARK: SigV4

    private func verifySigV4Header(_ request: SignedRequest, authorization: String,
                                   now: Date) throws(S3Error) -> AuthenticatedRequest {
        let parsed = try SigV4Authorization(header: authorization)
        let secret = try secret(for: parsed.credential.accessKeyId)
        // x-amz-date, or failing that the Date header (which S3 also accepts; the string to
        // sign then carries it in the basic ISO 8601 form).
        let amzDate: String
        let date: Date
        if let text = request.headers[S3HeaderName.amzDate], let parsed = SigningTime.parseAmzDate(text) {
            (amzDate, date) = (text, parsed)
        } else if request.headers[S3HeaderName.amzDate] == nil, let text = request.headers[S3HeaderName.date],
                  let parsed = SigningTime.parseHTTPDate(text.trimmingCharacters(in: .whitespaces)),
                  parsed.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) == 0 {
            (amzDate, date) = (SigningTime.amzDate(parsed), parsed)
        } else {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        }
        try settings.checkScope(parsed.credential.scope, amzDate: amzDate, subject: "The authorization header",
                                dateName: "X-Amz-Date", malformed: S3Error.authorizationHeaderMalformed)
        try checkSkew(date, requestTime: amzDate, now: now)
        guard let payloadHash = request.headers[S3HeaderName.contentSHA256] else {
            throw S3Error.invalidRequest("Missing required header for this request: x-amz-content-sha256")
        }
        let key = keyCache.signingKey(secret: secret, scope: parsed.credential.scope)
        let payload = try payloadExpectation(payloadHash, chunks: SigV4ChunkContext(
            signingKey: key, amzDate: amzDate, scope: parsed.credential.scope, seedSignature: parsed.signature))
        try checkSigV4(request, signedHeaders: parsed.signedHeaders,
                       payloadHash: payloadHash, amzDate: amzDate, scope: parsed.credential.scope,
                       key: key, signature: parsed.signature)
        return AuthenticatedRequest(accessKeyId: parsed.credential.accessKeyId, scheme: .sigV4Header,
                                    payload: payload)
    }

    private func verifySigV4Presigned(_ request: SignedRequest, now: Date) throws(S3Error) -> AuthenticatedRequest {
        let query = request.target
        try Self.refuseRepeated(["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                                 "X-Amz-Signature", "X-Amz-Security-Token"], in: query,
                                error: S3Error.authorizationQueryParametersError)
        guard let algorithm = query.queryValue("X-Amz-Algorithm"),
              let credentialText = query.queryValue("X-Amz-Credential"),
              let amzDate = query.queryValue("X-Amz-Date"),
              let expiresText = query.queryValue("X-Amz-Expires"),
              let signedHeadersText = query.queryValue("X-Amz-SignedHeaders"),
              let signature = query.queryValue("X-Amz-Signature")
        else {
            throw S3Error.authorizationQueryParametersError("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        }
        guard algorithm == SigV4.algorithm else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let credential = try SigV4Credential(parsing: credentialText, malformed: S3Error.authorizationQueryParametersError)
        let secret = try secret(for: credential.accessKeyId)
        guard let date = SigningTime.parseAmzDate(amzDate) else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        guard let expires = Int(expiresText) else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Expires should be a number")
        }
        // S3's answers: longer than a week is a malformed URL (400); zero or negative (a URL
        // that expired before it was made, `ExpiresIn=-1000`) is an expired one (403).
        guard expires <= 604_800 else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        }
        try settings.checkScope(credential.scope, amzDate: amzDate, subject: "The authorization header",
                                dateName: "X-Amz-Date", malformed: S3Error.authorizationQueryParametersError)
        if expires <= 0 || now.timeIntervalSince(date) > TimeInterval(expires) {
            throw S3Error.requestExpired(details: [
                ("X-Amz-Expires", expiresText),
                ("Expires", SigningTime.iso8601(date.addingTimeInterval(TimeInterval(expires)))),
                ("ServerTime", SigningTime.iso8601(now)),
            ])
        }
        if date.timeIntervalSince(now) > settings.maxClockSkew {
            throw S3Error.accessDenied("Request is not valid yet")
        }
        let payloadHash = request.headers[S3HeaderName.contentSHA256] ?? SigV4.unsignedPayload
        let signedHeaders = SigV4Authorization.signedHeaderNames(signedHeadersText)
        let key = keyCache.signingKey(secret: secret, scope: credential.scope)
        let payload = try payloadExpectation(payloadHash, chunks: SigV4ChunkContext(
            signingKey: key, amzDate: amzDate, scope: credential.scope, seedSignature: signature))
        try checkSigV4(request, signedHeaders: signedHeaders,
                       excludingQuery: "X-Amz-Signature",
                       payloadHash: payloadHash, amzDate: amzDate, scope: credential.scope, key: key,
                       signature: signature)
        return AuthenticatedRequest(accessKeyId: credential.accessKeyId, scheme: .sigV4Presigned,
                                    payload: payload)
    }

    /// A query that gives an authentication parameter twice is ambiguous (which one was
    /// checked, which one would a store read?): refused rather than judged by the first.
    private static func refuseRepeated(_ names: [String], in target: RequestTarget,
                                       error: (String) -> S3Error) throws(S3Error) {
        for name in names where target.query.lazy.filter({ $0.name == name }).count > 1 {
            throw error("\(name) is given more than once")
        }
    }

    private func checkSigV4(_ request: SignedRequest, signedHeaders: [String], excludingQuery: String? = nil,
                            payloadHash: String, amzDate: String, scope: SigV4Scope,
                            key: SigV4SigningKey, signature: some StringProtocol) throws(S3Error) {
        guard signedHeaders.contains(S3HeaderName.host) else {
            throw S3Error.accessDenied("The host header must be signed")
        }
        guard signedHeaders.allSatisfy({ name in
            !name.isEmpty && !name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }) else {
            throw S3Error.authorizationHeaderMalformed("SignedHeaders must be lowercase header names separated by ';'")
        }
        try checkEveryPrefixedHeaderIsSigned(request.headers, signedHeaders: signedHeaders)
        guard let canonicalRequestHash = try SigV4.canonicalRequestHash(
            method: request.method, rawPath: request.target.rawPath, query: request.target.query,
            excludingQuery: excludingQuery, headers: request.headers, signedHeaders: signedHeaders, payloadHash: payloadHash)
        else { throw S3Error.signatureDoesNotMatch() }
        let expected = SigV4.signature(signingKey: key, amzDate: amzDate, scope: scope,
                                       canonicalRequestHash: canonicalRequestHash)
        guard SigV4.signatureMatches(signature, expected) else { throw S3Error.signatureDoesNotMatch() }
    }

    /// AWS refuses a SigV4 request with an unsigned `x-amz-*` header; the gateway also
    /// refuses unsigned `x-obs-*` headers, because the policy reads both dialects and an
    /// unsigned header could have been added by anyone on the path.
    private func checkEveryPrefixedHeaderIsSigned(_ headers: HeaderFields, signedHeaders: [String]) throws(S3Error) {
        var unsigned: [String] = []
        for field in headers where HeaderDialect.isDialectName(field.name) {
            guard !signedHeaders.contains(where: { $0.asciiCaseInsensitiveEquals(field.name) }) else { continue }
            let name = field.name.asciiLowercased
            if !unsigned.contains(name) { unsigned.append(name) }
        }
        guard unsigned.isEmpty else {
            throw S3Error.accessDenied("There were headers present in the request which were not signed: \(unsigned.joined(separator: ", "))")
        }
    }

    /// `chunks` is only made for a chunk-signed body (it copies the seed signature).
    private func payloadExpectation(_ value: String,
                                    chunks: @autoclosure () -> SigV4ChunkContext) throws(S3Error) -> PayloadExpectation {
        switch value {
        case SigV4.unsignedPayload: return .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": return .signedChunks(chunks(), trailer: false)
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": return .signedChunks(chunks(), trailer: true)
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": return .unsignedChunksWithTrailer
        default:
            guard value.utf8.count == 64, value.utf8.allSatisfy({ PercentEncoding.hexValue($0) != nil }) else {
                throw S3Error.invalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.")
            }
            return .sha256(value.asciiLowercased)
        }
    }

    // MARK: SigV2 and OBS

    private func verifyHMACV1Header(_ request: SignedRequest, dialect: HMACV1Dialect, authorization: String,
                                    now: Date) throws(S3Error) -> AuthenticatedRequest {
        // "AWS" SP AccessKeyId ":" Signature — the access key may itself contain ':'
        // (OpenStack Swift's "account:user"), the base64 signature never does.
        let credentials = authorization.dropFirst(dialect.authorizationKeyword.count + 1)
        guard let colon = credentials.lastIndex(of: ":"), colon != credentials.startIndex else {
            throw S3Error.invalidArgument("The \(dialect.authorizationKeyword) Authorization header must be '\(dialect.authorizationKeyword) AccessKeyId:Signature'")
        }
        let accessKeyId = String(credentials[..<colon])
        let signature = String(credentials[credentials.index(after: colon)...])
        let secret = try secret(for: accessKeyId)
        // Only a date the signature covers counts: the dialect's own date header (signed
        // among its prefixed headers) or Date (signed on the Date line). An x-amz-date on an
        // OBS-signed request is not signed, so it must not be able to refresh a replay.
        let dateText = request.headers[dialect.dateHeader] ?? request.headers[S3HeaderName.date]
        guard let dateText, let date = SigningTime.parseHTTPDate(dateText.trimmingCharacters(in: .whitespaces)) else {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        }
        try checkSkew(date, requestTime: dateText, now: now)
        try checkHMACV1Coverage(request, dialect: dialect, queryForm: false)
        try checkHMACV1(request, dialect: dialect, dateLine: HMACV1.headerDateLine(dialect: dialect, headers: request.headers),
                        secret: secret, signature: signature)
        return AuthenticatedRequest(accessKeyId: accessKeyId, scheme: dialect == .aws ? .sigV2Header : .obsHeader,
                                    payload: .unsigned)
    }

    private func verifyHMACV1Query(_ request: SignedRequest, dialect: HMACV1Dialect,
                                   now: Date) throws(S3Error) -> AuthenticatedRequest {
        try Self.refuseRepeated([dialect.accessKeyParameter, "Expires", "Signature"], in: request.target,
                                error: S3Error.invalidArgument)
        guard let accessKeyId = request.target.queryValue(dialect.accessKeyParameter),
              let expiresText = request.target.queryValue("Expires"),
              let signature = request.target.queryValue("Signature")
        else {
            throw S3Error.accessDenied("Query-string authentication requires the Signature, Expires and \(dialect.accessKeyParameter) parameters")
        }
        let secret = try secret(for: accessKeyId)
        guard let expires = Int64(expiresText) else {
            throw S3Error.accessDenied("Invalid date (should be seconds since epoch): \(S3Error.printable(expiresText))")
        }
        guard now.timeIntervalSince1970 <= TimeInterval(expires) else {
            throw S3Error.requestExpired(details: [
                ("Expires", SigningTime.iso8601(Date(timeIntervalSince1970: TimeInterval(expires)))),
                ("ServerTime", SigningTime.iso8601(now)),
            ])
        }
        guard TimeInterval(expires) - now.timeIntervalSince1970 <= settings.maxPresignedLifetime else {
            throw S3Error.accessDenied("Expires is more than \(Int(settings.maxPresignedLifetime)) seconds in the future; the gateway accepts query-signed URLs valid for at most that long")
        }
        try checkHMACV1Coverage(request, dialect: dialect, queryForm: true)
        // A query-signed URL carries its x-amz-* (x-obs-*) headers as query parameters
        // (botocore moves them there after signing them as headers), so they count as the
        // canonical headers they were signed as, unless the client also sent the header.
        var signedView = request
        for parameter in request.target.query where parameter.name.hasASCIICaseInsensitivePrefix(dialect.headerPrefix) {
            if !signedView.headers.contains(parameter.name) { signedView.headers.add(parameter.name, parameter.value) }
        }
        try checkHMACV1(signedView, dialect: dialect, dateLine: expiresText, secret: secret, signature: signature)
        return AuthenticatedRequest(accessKeyId: accessKeyId, scheme: dialect == .aws ? .sigV2Query : .obsQuery,
                                    payload: .unsigned)
    }

    /// A SigV2 / OBS signature covers the dialect's own prefixed headers and the query
    /// parameters of its sub-resource list, nothing else: a header of the other dialect
    /// (`x-obs-copy-source` under SigV2) or a parameter outside the list that chooses what
    /// the request does (`?retention` under SigV2) could be added by anyone holding the
    /// signature. Such requests are refused; only parameters that merely page or filter a
    /// listing (`HMACV1.unsignedReadParameters`) may be unsigned, as S3 has them.
    private func checkHMACV1Coverage(_ request: SignedRequest, dialect: HMACV1Dialect, queryForm: Bool) throws(S3Error) {
        let otherPrefix = dialect == .aws ? OBSHeaderName.prefix : S3HeaderName.prefix
        for field in request.headers where field.name.hasASCIICaseInsensitivePrefix(otherPrefix) {
            throw S3Error.invalidArgument("The header \(field.name.asciiLowercased) is not covered by a \(dialect.signatureName) signature; sign the request in the \(otherPrefix)* dialect or leave it out")
        }
        for parameter in request.target.query {
            let name = parameter.name
            if S3OperationClassifier.authenticationParameters.contains(name) || dialect.isSubresource(name)
                || HMACV1.unsignedReadParameters.contains(name) { continue }
            // The query form signs its prefixed parameters as the headers they stand for.
            if queryForm, name.hasASCIICaseInsensitivePrefix(dialect.headerPrefix) { continue }
            throw S3Error.invalidArgument("The query parameter \(name) is not covered by a \(dialect.signatureName) signature")
        }
    }

    private func checkHMACV1(_ request: SignedRequest, dialect: HMACV1Dialect, dateLine: String,
                             secret: String, signature: String) throws(S3Error) {
        guard let provided = Data(base64Encoded: signature), provided.count == 20 else {
            throw S3Error.signatureDoesNotMatch()
        }
        var matched = false
        for resource in HMACV1.canonicalResources(dialect: dialect, address: request.address, target: request.target) {
            let stringToSign = HMACV1.stringToSign(dialect: dialect, method: request.method, headers: request.headers,
                                                   dateLine: dateLine, canonicalResource: resource)
            matched = ConstantTime.equals(provided, HMACV1.macBytes(secret: secret, stringToSign: stringToSign)) || matched
        }
        guard matched else { throw S3Error.signatureDoesNotMatch() }
    }

    // MARK: Shared

    private func secret(for accessKeyId: String) throws(S3Error) -> String {
        guard let secret = secrets.secret(forAccessKey: accessKeyId) else { throw S3Error.invalidAccessKeyId() }
        return secret
    }

    private func checkSkew(_ date: Date, requestTime: String, now: Date) throws(S3Error) {
        guard abs(now.timeIntervalSince(date)) <= settings.maxClockSkew else {
            throw S3Error.requestTimeTooSkewed(requestTime: requestTime, serverTime: SigningTime.amzDate(now),
                                               maxSkewSeconds: Int(settings.maxClockSkew))
        }
    }
}

/// The parts of a request a signature covers.
struct SignedRequest {
    let method: String
    let target: RequestTarget
    var headers: HeaderFields
    let address: S3Address
}
