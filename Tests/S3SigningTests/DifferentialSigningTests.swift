import Foundation
import S3Core
import Testing
@testable import S3Signing

/// Several hundred requests signed by botocore (SigV4 header and presigned, SigV2 header
/// and query) and by Huawei's OBS SDK (OBS header and query), with random keys over an
/// alphabet of space, `+`, `%`, `=`, `:`, `@`, `~`, `/` and non-ASCII. Every valid one must
/// verify; every variant with one character changed in a signed part must not.
@Suite struct DifferentialSigningTests {
    struct Corpus: Decodable {
        let generator: String
        let cases: [SignedCase]
    }

    struct SignedCase: Decodable {
        let id: String
        let scheme: String
        let access_key: String
        let secret_key: String
        let region: String
        let signed_at: Double
        let method: String
        let target: String
        let headers: [[String]]
        let virtual_host_base: String?
        let expect: String
        let tamper: String?
    }

    static let corpus: Result<Corpus, any Error> = Result {
        try ExternalGenerator.run("generate_signed_requests.py", as: Corpus.self)
    }

    func verify(_ signed: SignedCase) throws(S3Error) -> AuthenticatedRequest {
        let headers = HeaderFields(signed.headers.map { ($0[0], $0[1]) })
        let target = try RequestTarget(parsing: signed.target)
        let resolver = S3AddressResolver(baseDomains: signed.virtual_host_base.map { [$0] } ?? [])
        let address = try resolver.resolve(host: headers["Host"], target: target)
        let authenticator = RequestAuthenticator(
            settings: AuthenticationSettings(regions: ["us-east-1", "cn-north-4"]),
            secrets: StaticSecrets(secrets: [signed.access_key: signed.secret_key]))
        return try authenticator.authenticate(method: signed.method, target: target, headers: headers,
                                              address: address, now: Date(timeIntervalSince1970: signed.signed_at))
    }

    @Test func everyValidCaseVerifiesAndEveryTamperedOneIsRefused() throws {
        let corpus = try Self.corpus.get()
        let valid = corpus.cases.filter { $0.expect == "valid" }
        let invalid = corpus.cases.filter { $0.expect == "invalid" }
        #expect(valid.count >= 300, "generator \(corpus.generator) produced too few cases")
        #expect(invalid.count >= valid.count)
        for scheme in ["sigv4-header", "sigv4-presigned", "sigv2-header", "sigv2-query", "obs-header", "obs-query"] {
            #expect(valid.contains { $0.scheme == scheme }, "no \(scheme) case")
        }
        for signed in valid {
            do {
                let result = try verify(signed)
                #expect(result.scheme.rawValue == signed.scheme, "\(signed.id)")
                #expect(result.accessKeyId == signed.access_key, "\(signed.id)")
            } catch {
                Issue.record("\(signed.id) \(signed.method) \(signed.target) was refused: \(error)")
            }
        }
        for signed in invalid {
            do {
                _ = try verify(signed)
                Issue.record("\(signed.id) (\(signed.tamper ?? "")) was accepted: \(signed.method) \(signed.target)")
            } catch {
                #expect(error.status == 403 || error.status == 400, "\(signed.id): \(error)")
            }
        }
    }
}
