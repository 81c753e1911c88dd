import Foundation
import S3Core
import S3Signing

/// A signed request with what judging it needs: the one access key and secret the verifier
/// knows, the region, the clock, and the virtual-host base (nil: path-style only). The
/// signature fuzz target reads it as text, the botocore differential as a JSON line.
struct SignatureCase: Decodable {
    var now: Double
    var region: String
    var virtualHostBase: String?
    var accessKey: String
    var secretKey: String
    var method: String
    var target: String
    var headers: [[String]]

    private enum CodingKeys: String, CodingKey {
        case now, region, method, target, headers
        case virtualHostBase = "virtual_host_base", accessKey = "access_key", secretKey = "secret_key"
    }

    init(now: Double, region: String, virtualHostBase: String?, accessKey: String, secretKey: String,
         method: String, target: String, headers: [[String]]) {
        self.now = now
        self.region = region
        self.virtualHostBase = virtualHostBase
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.method = method
        self.target = target
        self.headers = headers
    }

    /// The text form:
    ///
    ///     NOW-EPOCH-SECONDS SP REGION [SP VIRTUAL-HOST-BASE] LF
    ///     ACCESS-KEY LF
    ///     SECRET-KEY LF
    ///     request head (RawRequestHead)
    init?(text: String) {
        // Split on scalars: a CRLF is one Character, which a split on "\n" would not cut.
        let lines = text.unicodeScalars.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(Substring.init)
        guard lines.count == 4 else { return nil }
        let clock = lines[0].split(separator: " ")
        // `now` stands for the gateway's clock, never a client's text: an instant before 2100.
        guard clock.count == 2 || clock.count == 3, let now = Double(clock[0]), (0..<4_102_444_800).contains(now),
              let head = RawRequestHead(lines[3])
        else { return nil }
        self.now = now
        region = String(clock[1])
        virtualHostBase = clock.count == 3 ? String(clock[2]) : nil
        accessKey = String(lines[1])
        secretKey = String(lines[2])
        method = head.method
        target = head.target
        headers = head.headers.map { [$0.name, $0.value] }
    }

    var headerFields: HeaderFields {
        HeaderFields(headers.map { ($0.first ?? "", $0.dropFirst().first ?? "") })
    }

    /// The verifier's answer: who signed, or the S3 error it refuses with.
    func verdict() -> Result<AuthenticatedRequest, S3Error> {
        verdict(method: method, target: target)
    }

    func verdict(method: String, target: String) -> Result<AuthenticatedRequest, S3Error> {
        let headers = headerFields
        let authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: [region]),
                                                 secrets: OneSecret(accessKey: accessKey, secret: secretKey))
        let resolver = S3AddressResolver(baseDomains: virtualHostBase.map { [$0] } ?? [])
        return Result { () throws(S3Error) in
            let parsed = try RequestTarget(parsing: target)
            let address = try resolver.resolve(host: headers[S3HeaderName.host], target: parsed)
            return try authenticator.authenticate(method: method, target: parsed, headers: headers, address: address,
                                                  now: Date(timeIntervalSince1970: now))
        }
    }
}

/// The verifier's secrets: one access key.
struct OneSecret: SecretLookup {
    let accessKey: String
    let secret: String

    func secret(forAccessKey accessKeyId: String) -> String? { accessKeyId == accessKey ? secret : nil }
}
