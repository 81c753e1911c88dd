import Credentials
import Crypto
@testable import FormUpload
import Foundation
import S3Core
import S3Signing
@testable import Gateway

/// Configurations and credentials shared by the gateway tests.
enum TestSetup {
    static let clientKey = "GWTESTCLIENT00000001"
    static let clientSecret = "client-secret/with+symbols="
    /// A second principal, `platform`, in the `platform-admins` group: access rules tell
    /// it from `tester`.
    static let adminKey = "GWTESTADMIN000000001"
    static let adminSecret = "admin-secret-0123456789"
    static let upstreamKey = "UPSTREAMKEY000000001"
    static let upstreamSecret = "upstream-secret-0123456789"

    static let clientsYAML = """
        version: 1
        clients:
          - access_key: \(clientKey)
            secret: "\(clientSecret)"
            principal: tester
            groups: [qa]
          - access_key: \(adminKey)
            secret: "\(adminSecret)"
            principal: platform
            groups: [platform-admins]
        """

    static func configurationYAML(upstream: String = "http://127.0.0.1:8000", signing: String = "v4",
                                  addressing: String = "path", extra: String = "") -> String {
        """
        listeners:
          - address: 127.0.0.1:0
        upstream:
          endpoint: \(upstream)
          region: us-east-1
          signing: \(signing)
          addressing: \(addressing)
          profiles:
            default:
              access_key: \(upstreamKey)
              secret_key: \(upstreamSecret)
        virtual_host_domains: [s3.gateway.test]
        credentials: clients.yaml
        \(extra)
        """
    }

    static func configuration(_ yaml: String = configurationYAML()) throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(yaml, file: "obsgate.yaml", baseDirectory: "/etc/obsgate", environment: [:])
    }

    static func credentials() throws -> ClientCredentials {
        try ClientCredentials.parse(clientsYAML, file: "clients.yaml")
    }

    static func preparer(_ yaml: String = configurationYAML()) throws -> RequestPreparer {
        try RequestPreparer(configuration: try configuration(yaml), credentials: try credentials())
    }

    /// A browser form (SigV4 POST policy, signed with the test client key) uploading
    /// `file` to `bucket`/`key`: its multipart body and Content-Type.
    static func signedForm(bucket: String, key: String, file: String, now: Date = Date()) throws
        -> (body: String, contentType: String) {
        let amzDate = SigningTime.amzDate(now)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: "us-east-1")
        let credential = "\(clientKey)/\(scope.text)"
        let document: [String: Any] = [
            "expiration": PostPolicy.formatExpiration(now.addingTimeInterval(600)),
            "conditions": [["bucket": bucket], ["key": key], ["x-amz-algorithm": "AWS4-HMAC-SHA256"],
                           ["x-amz-credential": credential], ["x-amz-date": amzDate]],
        ]
        let policy = try JSONSerialization.data(withJSONObject: document).base64EncodedString()
        let signingKey = SigV4SigningKeyCache.derive(secret: clientSecret, scope: scope)
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(policy.utf8), using: signingKey.key))
        let fields = [("key", key), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
                      ("x-amz-date", amzDate), ("policy", policy), ("x-amz-signature", signature)]
        let boundary = "obsgate-test-boundary"
        var body = fields.map { "--\(boundary)\r\nContent-Disposition: form-data; name=\"\($0.0)\"\r\n\r\n\($0.1)\r\n" }.joined()
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n"
            + "Content-Type: text/plain\r\n\r\n\(file)\r\n--\(boundary)--\r\n"
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// Headers of a request signed (SigV4 header form) with the test client key, as a
    /// client with the gateway-issued key would send them.
    static func signedHeaders(method: String, target: String, host: String, headers: [(String, String)] = [],
                              payloadHash: String = SigV4.unsignedPayload, now: Date = Date(),
                              accessKey: String = clientKey, secret: String = clientSecret) throws -> HeaderFields {
        var fields = HeaderFields([("Host", host)] + headers)
        let parsed = try RequestTarget(parsing: target)
        let address = try S3AddressResolver(baseDomains: ["s3.gateway.test"]).resolve(host: host, target: parsed)
        let signer = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(accessKeyId: accessKey, secretAccessKey: secret),
                                    region: "us-east-1")
        try signer.sign(method: method, target: parsed, address: address, headers: &fields, payloadHash: payloadHash, now: now)
        return fields
    }

    /// A SigV4 presigned target for `path` (signed header `host`) with the test client key,
    /// as `generate_presigned_url` makes it; `query` is added before the signature.
    static func presignedTarget(method: String, path: String, query: String = "", host: String = "127.0.0.1:9000",
                                expires: Int = 300, now: Date = Date()) throws -> String {
        let amzDate = SigningTime.amzDate(now)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: "us-east-1")
        let signing = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(PercentEncoding.encode("\(clientKey)/\(scope.text)"))"
            + "&X-Amz-Date=\(amzDate)&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host" + (query.isEmpty ? "" : "&\(query)")
        let unsigned = try RequestTarget(parsing: "\(path)?\(signing)")
        let canonical = SigV4.canonicalRequest(
            method: method, canonicalURI: try SigV4.canonicalURI(rawPath: unsigned.rawPath),
            canonicalQuery: SigV4.canonicalQuery(unsigned.query), canonicalHeaders: "host:\(host)\n",
            signedHeaders: ["host"], payloadHash: SigV4.unsignedPayload)
        let signature = SigV4.signature(signingKey: SigV4SigningKeyCache.derive(secret: clientSecret, scope: scope),
                                        stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        return "\(path)?\(signing)&X-Amz-Signature=\(signature)"
    }

    static func signedClientHead(method: String, target: String, headers: [(String, String)] = [],
                                 payloadHash: String = SigV4.unsignedPayload, host: String = "127.0.0.1:9000",
                                 now: Date) throws -> ClientRequestHead {
        ClientRequestHead(method: method, uri: target,
                          headers: try signedHeaders(method: method, target: target, host: host, headers: headers,
                                                     payloadHash: payloadHash, now: now))
    }
}
