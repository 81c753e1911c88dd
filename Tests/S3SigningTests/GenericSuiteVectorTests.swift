import Crypto
import Foundation
import S3Core
import Testing
@testable import S3Signing

/// The generic AWS SigV4 suites (aws-c-auth and botocore's aws4_testsuite), run through
/// the S3 canonicalisation. Cases whose expected values follow generic-service rules that
/// S3 does not share are listed in `notApplicable` with the reason, and the test checks
/// that each of them really differs — so the list cannot hide a regression.
@Suite struct GenericSuiteVectorTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let scope = SigV4Scope(date: "20150830", region: "us-east-1", service: "service")
    static let amzDate = "20150830T123600Z"

    /// Case name → why S3 canonicalisation gives a different answer than the generic suite.
    static let notApplicable: [String: String] = [
        "get-relative-normalized": "the suite normalises dot segments; S3 keeps them (no path normalisation)",
        "get-relative-relative-normalized": "the suite normalises dot segments; S3 keeps them",
        "get-slash-dot-slash-normalized": "the suite normalises '/./'; S3 keeps it",
        "get-slash-normalized": "the suite collapses '//'; S3 keeps it",
        "get-slash-pointless-dot-normalized": "the suite normalises '/.'; S3 keeps it",
        "get-slashes-normalized": "the suite collapses '//'; S3 keeps it",
        "normalize-path/get-relative": "the suite normalises dot segments; S3 keeps them",
        "normalize-path/get-relative-relative": "the suite normalises dot segments; S3 keeps them",
        "normalize-path/get-slash": "the suite collapses '//'; S3 keeps it",
        "normalize-path/get-slash-dot-slash": "the suite normalises '/./'; S3 keeps it",
        "normalize-path/get-slash-pointless-dot": "the suite normalises '/.'; S3 keeps it",
        "normalize-path/get-slashes": "the suite collapses '//'; S3 keeps it",
    ]

    /// Presigned (query) forms that differ for S3 only.
    static let notApplicableToQueryForm: [String: String] = [
        "post-sts-header-after": "the session token is appended after signing (omit_session_token), a convention of other services; S3 signs X-Amz-Security-Token with the rest of the query",
    ]

    /// Cases whose request uses obs-fold (a header value continued on the next line):
    /// the gateway refuses such a request as broken HTTP (RFC 9112 §5.2) before any
    /// signature is checked, so its canonical form never arises.
    static let refusedAsBrokenHTTP: Set<String> = ["get-header-value-multiline"]

    static var awsCAuthCases: [String] { Fixtures.directories("vectors/aws-c-auth/v4") }

    static var botocoreCases: [String] {
        Fixtures.directories("vectors/botocore-aws4_testsuite").flatMap { name -> [String] in
            let nested = Fixtures.directories("vectors/botocore-aws4_testsuite/\(name)")
            return nested.isEmpty ? [name] : nested.map { "\(name)/\($0)" }
        }
    }

    @Test(arguments: awsCAuthCases)
    func awsCAuthHeaderForm(name: String) throws {
        let signed = RawRequestFile(try Fixtures.text("vectors/aws-c-auth/v4/\(name)/header-signed-request.txt"))
        let expected = try Fixtures.text("vectors/aws-c-auth/v4/\(name)/header-canonical-request.txt")
        let signature = try Fixtures.text("vectors/aws-c-auth/v4/\(name)/header-signature.txt")
        try check(name: name, request: signed, expectedCanonical: expected, expectedSignature: signature, presigned: false)
    }

    @Test(arguments: awsCAuthCases)
    func awsCAuthQueryForm(name: String) throws {
        let signed = RawRequestFile(try Fixtures.text("vectors/aws-c-auth/v4/\(name)/query-signed-request.txt"))
        let expected = try Fixtures.text("vectors/aws-c-auth/v4/\(name)/query-canonical-request.txt")
        let signature = try Fixtures.text("vectors/aws-c-auth/v4/\(name)/query-signature.txt")
        try check(name: name, request: signed, expectedCanonical: expected, expectedSignature: signature, presigned: true)
    }

    @Test(arguments: botocoreCases)
    func botocoreSuite(name: String) throws {
        let base = "vectors/botocore-aws4_testsuite/\(name)/\(name.split(separator: "/").last!)"
        let signed = RawRequestFile(try Fixtures.text("\(base).sreq"))
        let expected = try Fixtures.text("\(base).creq")
        let authorization = try Fixtures.text("\(base).authz")
        let signature = String(authorization.split(separator: "=").last!)
        try check(name: name, request: signed, expectedCanonical: expected, expectedSignature: signature, presigned: false)
    }

    private func check(name: String, request: RawRequestFile, expectedCanonical: String,
                       expectedSignature: String, presigned: Bool) throws {
        if Self.refusedAsBrokenHTTP.contains(name) {
            #expect(request.hasFoldedHeader, "\(name) is listed as obs-fold but has none")
            return
        }
        let target = try RequestTarget(parsing: request.target)
        let signedHeaders: [String]
        let query: String
        if presigned {
            signedHeaders = target.queryValue("X-Amz-SignedHeaders")!.split(separator: ";").map(String.init)
            query = SigV4.canonicalQuery(target.query, excluding: "X-Amz-Signature")
        } else {
            signedHeaders = try SigV4Authorization(header: request.headers["Authorization"]!).signedHeaders
            query = SigV4.canonicalQuery(target.query)
        }
        // The payload line is the one input the suites choose differently from S3 (the
        // generic query form hashes the empty body where S3 says UNSIGNED-PAYLOAD).
        let payloadHash = String(expectedCanonical.split(separator: "\n", omittingEmptySubsequences: false).last!)
        let canonical = SigV4.canonicalRequest(
            method: request.method, canonicalURI: try SigV4.canonicalURI(rawPath: target.rawPath),
            canonicalQuery: query,
            canonicalHeaders: try #require(SigV4.canonicalHeaders(request.headers, signedHeaders: signedHeaders)),
            signedHeaders: signedHeaders, payloadHash: payloadHash)
        let signature = SigV4.signature(
            signingKey: SigV4SigningKeyCache.derive(secret: Self.secret, scope: Self.scope),
            stringToSign: SigV4.stringToSign(amzDate: Self.amzDate, scope: Self.scope, canonicalRequest: canonical))
        // The verifier and the upstream signer never build that text: they hash it as it is
        // written and write the string to sign into the MAC. Both ways must agree.
        let streamedHash = try #require(try SigV4.canonicalRequestHash(
            method: request.method, rawPath: target.rawPath, query: target.query,
            excludingQuery: presigned ? "X-Amz-Signature" : nil, headers: request.headers,
            signedHeaders: signedHeaders, payloadHash: payloadHash))
        #expect(hex(streamedHash) == hexSHA256(of: canonical), "\(name): streamed canonical request")
        let streamedSignature = SigV4.signature(
            signingKey: SigV4SigningKeyCache.derive(secret: Self.secret, scope: Self.scope), amzDate: Self.amzDate,
            scope: Self.scope, canonicalRequestHash: streamedHash)
        #expect(hex(streamedSignature) == signature, "\(name): streamed string to sign")
        if let reason = Self.notApplicable[name] ?? (presigned ? Self.notApplicableToQueryForm[name] : nil) {
            #expect(canonical != expectedCanonical, "\(name) is listed as not applicable (\(reason)) but matches")
        } else {
            #expect(canonical == expectedCanonical, "\(name)")
            #expect(signature == expectedSignature.trimmingCharacters(in: .whitespacesAndNewlines), "\(name)")
            #expect(SigV4.signatureMatches(expectedSignature.trimmingCharacters(in: .whitespacesAndNewlines), streamedSignature))
        }
    }
}
