import Foundation
import S3Core
import Testing
@testable import S3Signing

/// A SigV2 / OBS signature covers its own dialect's prefixed headers and its sub-resource
/// list, nothing else: whatever it does not cover and could change what the request does
/// is refused, so the holder of a signature (a presigned URL above all) cannot add it.
@Suite struct HMACV1CoverageTests {
    static let accessKey = "GWTESTKEY"
    static let secret = "test-secret"
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// A request signed in the header form of `dialect`, with `headers` (each signed if it
    /// has the dialect's prefix, as the grammar says).
    static func headerSigned(_ method: String, _ target: String, headers: [(String, String)] = [],
                             dialect: HMACV1Dialect = .aws) throws -> (RequestTarget, HeaderFields) {
        let parsed = try RequestTarget(parsing: target)
        var fields = HeaderFields([("Host", "s3.example.com"), ("Date", SigningTime.httpDate(now))] + headers)
        let address = try S3AddressResolver(baseDomains: []).resolve(host: "s3.example.com", target: parsed)
        let resource = HMACV1.canonicalResources(dialect: dialect, address: address, target: parsed)[0]
        let stringToSign = HMACV1.stringToSign(dialect: dialect, method: method, headers: fields,
                                               dateLine: HMACV1.headerDateLine(dialect: dialect, headers: fields),
                                               canonicalResource: resource)
        fields.add("Authorization", "\(dialect.authorizationKeyword) \(accessKey):\(HMACV1.signature(secret: secret, stringToSign: stringToSign))")
        return (parsed, fields)
    }

    /// A SigV2 presigned URL: the prefixed parameters of `signedQuery` are signed as the
    /// headers they stand for; `appended` is added after signing.
    static func querySigned(_ method: String, _ path: String, signedQuery: [(String, String)] = [],
                            expires: Int, appended: String = "") throws -> RequestTarget {
        let unsigned = try RequestTarget(parsing: path)
        let address = try S3AddressResolver(baseDomains: []).resolve(host: "s3.example.com", target: unsigned)
        let resource = HMACV1.canonicalResources(dialect: .aws, address: address, target: unsigned)[0]
        let stringToSign = HMACV1.stringToSign(dialect: .aws, method: method, headers: HeaderFields(signedQuery),
                                               dateLine: String(expires), canonicalResource: resource)
        let signature = PercentEncoding.encode(HMACV1.signature(secret: secret, stringToSign: stringToSign))
        let extra = signedQuery.map { "&\($0.0)=\(PercentEncoding.encode($0.1))" }.joined()
        let separator = path.contains("?") ? "&" : "?"
        return try RequestTarget(parsing: "\(path)\(separator)AWSAccessKeyId=\(accessKey)&Expires=\(expires)&Signature=\(signature)\(extra)\(appended)")
    }

    static func authenticate(_ method: String, _ target: RequestTarget, _ headers: HeaderFields = HeaderFields([("Host", "s3.example.com")]),
                             maxPresignedLifetime: TimeInterval = 604_800) throws(S3Error) -> AuthenticatedRequest {
        let address = try S3AddressResolver(baseDomains: []).resolve(host: "s3.example.com", target: target)
        let authenticator = RequestAuthenticator(
            settings: AuthenticationSettings(regions: ["us-east-1"], maxPresignedLifetime: maxPresignedLifetime),
            secrets: StaticSecrets(secrets: [accessKey: secret]))
        return try authenticator.authenticate(method: method, target: target, headers: headers, address: address, now: now)
    }

    @Test func aSignedRequestOfTheDialectVerifies() throws {
        let (target, headers) = try Self.headerSigned("PUT", "/bucket/key", headers: [("x-amz-acl", "private")])
        #expect(try Self.authenticate("PUT", target, headers).scheme == .sigV2Header)
        let (obsTarget, obsHeaders) = try Self.headerSigned("PUT", "/bucket/key", headers: [("x-obs-acl", "private")],
                                                            dialect: .obs)
        #expect(try Self.authenticate("PUT", obsTarget, obsHeaders).scheme == .obsHeader)
        // Listing parameters are not signed under SigV2 (nor by S3): they may stay unsigned.
        let (list, listHeaders) = try Self.headerSigned("GET", "/bucket?prefix=a&max-keys=2&delimiter=/")
        #expect(try Self.authenticate("GET", list, listHeaders).scheme == .sigV2Header)
    }

    @Test("what a header signature does not cover is refused", arguments: [
        ("/bucket/key", [("x-obs-copy-source", "/bucket/secret")], HMACV1Dialect.aws, "x-obs-copy-source"),
        ("/bucket/key", [("x-amz-acl", "public-read")], .obs, "x-amz-acl"),
        ("/bucket/key?retention", [], .aws, "retention"),
        ("/bucket/key?x-amz-acl=public-read", [], .aws, "x-amz-acl"),
        ("/bucket/key?attributes", [], .aws, "attributes"),
        ("/bucket?ownershipControls", [], .aws, "ownershipControls"),
        ("/bucket?analytics&id=a", [], .aws, "id"),
    ] as [(String, [(String, String)], HMACV1Dialect, String)])
    func uncoveredHeaderFormParts(_ target: String, _ headers: [(String, String)], _ dialect: HMACV1Dialect,
                                  _ named: String) throws {
        let (parsed, fields) = try Self.headerSigned("PUT", target, headers: headers, dialect: dialect)
        let error = #expect(throws: S3Error.self) { try Self.authenticate("PUT", parsed, fields) }
        #expect(error?.code == "InvalidArgument")
        #expect(error?.message.contains(named) == true, "\(error?.message ?? "")")
    }

    /// botocore's SigV2 presigned PUT signs `x-amz-*` parameters as headers; an
    /// `x-obs-copy-source` appended to such a URL is covered by nothing.
    @Test func anOBSParameterAppendedToASigV2URLIsRefused() throws {
        let expires = Int(Self.now.timeIntervalSince1970) + 3600
        let url = try Self.querySigned("PUT", "/bucket/key", signedQuery: [("x-amz-storage-class", "STANDARD")],
                                       expires: expires)
        #expect(try Self.authenticate("PUT", url).scheme == .sigV2Query)
        let tampered = try Self.querySigned("PUT", "/bucket/key", signedQuery: [("x-amz-storage-class", "STANDARD")],
                                            expires: expires, appended: "&x-obs-copy-source=%2Fbucket%2Fsecret.xlsx")
        let error = #expect(throws: S3Error.self) { try Self.authenticate("PUT", tampered) }
        #expect(error?.code == "InvalidArgument")
        #expect(error?.message.contains("x-obs-copy-source") == true)
    }

    @Test func aQuerySignedURLValidForLongerThanTheLimitIsRefused() throws {
        let now = Int(Self.now.timeIntervalSince1970)
        #expect(try Self.authenticate("GET", Self.querySigned("GET", "/bucket/key", expires: now + 604_800)).scheme == .sigV2Query)
        let tooLong = try Self.querySigned("GET", "/bucket/key", expires: now + 604_801)
        let error = #expect(throws: S3Error.self) { try Self.authenticate("GET", tooLong) }
        #expect(error?.code == "AccessDenied")
        let hour = try Self.querySigned("GET", "/bucket/key", expires: now + 3601)
        #expect(throws: S3Error.self) { try Self.authenticate("GET", hour, maxPresignedLifetime: 3600) }
    }
}
