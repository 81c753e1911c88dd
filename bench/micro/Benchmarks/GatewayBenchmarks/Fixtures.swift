import Credentials
import Foundation
import Gateway
import Policy
import S3Core
import S3Signing

/// What the benchmarks share: a gateway configuration with one client key in front of a
/// SigV4 upstream, the shipped encryption policy, and requests signed the way a client with
/// the gateway-issued key signs them. Signatures are dated when the benchmark starts (the
/// gateway accepts them for its 15-minute clock skew).
enum Fixture {
    static let clientKey = "GWBENCHCLIENT0000001"
    static let clientSecret = "bench-client-secret/with+symbols="
    static let host = "127.0.0.1:9000"
    static let now = Date()

    static let clientsYAML = """
        version: 1
        clients:
          - {access_key: \(clientKey), secret: "\(clientSecret)", principal: bench, groups: [ci]}
        """
    static let configurationYAML = """
        listeners: [{address: 127.0.0.1:0}]
        upstream:
          endpoint: http://127.0.0.1:8000
          region: us-east-1
          profiles: {default: {access_key: UPSTREAMKEY000000001, secret_key: upstream-secret-0123456789}}
        credentials: clients.yaml
        """

    static let configuration = try! GatewayConfiguration.parse(configurationYAML, file: "obsgate.yaml",
                                                               baseDirectory: "/etc/obsgate", environment: [:])
    static let credentials = try! ClientCredentials.parse(clientsYAML, file: "clients.yaml")

    /// policies/encryption.yaml of this repository: SSE-KMS required, testkey-1 injected.
    static let encryptionPolicy: UploadPolicy = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // GatewayBenchmarks
            .deletingLastPathComponent().deletingLastPathComponent()  // bench/micro
            .deletingLastPathComponent().deletingLastPathComponent()  // the repository
        return try! UploadPolicy.load(path: root.appendingPathComponent("policies/encryption.yaml").path)
    }()

    /// A policy of `count` rules, one per bucket `bucket-N`, each requiring SSE-KMS with the
    /// bucket's own key and injecting it: the shape of a policy that grows with the teams.
    static func perBucketPolicy(rules count: Int) -> UploadPolicy {
        var yaml = "version: 1\nrules:\n"
        for index in 0..<count {
            yaml += """
                  - id: bucket-\(index)-kms
                    match: {buckets: [bucket-\(index)], operations: [CreateMultipartUpload, PutObject, CopyObject]}
                    encryption: {require: sse-kms, kms_key_ids: [key-\(index)], default_kms_key_id: key-\(index), default_when_absent: sse-kms}

                """
        }
        return try! UploadPolicy.parse(yaml, file: "generated.yaml")
    }

    static func preparer(policy: UploadPolicy? = encryptionPolicy) -> RequestPreparer {
        try! RequestPreparer(configuration: configuration, credentials: credentials, policy: policy)
    }

    /// The header fields of a request signed in the SigV4 Authorization header with the
    /// client key (what boto3 sends for an initiate).
    static func signedHeaders(method: String, target: String, headers: [(String, String)] = [],
                              payloadHash: String = SigV4.unsignedPayload) -> HeaderFields {
        var fields = HeaderFields([("Host", host), ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux")]
                                  + headers)
        let parsed = try! RequestTarget(parsing: target)
        let address = try! S3AddressResolver(baseDomains: []).resolve(host: host, target: parsed)
        let signer = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(accessKeyId: clientKey, secretAccessKey: clientSecret),
                                    region: "us-east-1")
        try! signer.sign(method: method, target: parsed, address: address, headers: &fields, payloadHash: payloadHash, now: now)
        return fields
    }

    static let initiateTarget = "/bench/some/key.bin?uploads"
    static let initiateHead = ClientRequestHead(method: "POST", uri: initiateTarget,
                                                headers: signedHeaders(method: "POST", target: initiateTarget))

    /// A presigned GET (SigV4 query form, signed headers `host`), as
    /// `generate_presigned_url` makes it.
    static let presignedGetTarget: String = {
        let amzDate = SigningTime.amzDate(now)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: "us-east-1")
        let unsignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=\(clientKey)%2F\(scope.date)%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=\(amzDate)&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        let target = try! RequestTarget(parsing: "/bench/some/key.bin?" + unsignedQuery)
        let canonical = SigV4.canonicalRequest(
            method: "GET", canonicalURI: try! SigV4.canonicalURI(rawPath: target.rawPath),
            canonicalQuery: SigV4.canonicalQuery(target.query),
            canonicalHeaders: SigV4.canonicalHeaders(HeaderFields([("Host", host)]), signedHeaders: ["host"])!,
            signedHeaders: ["host"], payloadHash: SigV4.unsignedPayload)
        let key = SigV4SigningKeyCache.derive(secret: clientSecret, scope: scope)
        let signature = SigV4.signature(signingKey: key,
                                        stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        return "/bench/some/key.bin?" + unsignedQuery + "&X-Amz-Signature=" + signature
    }()
}
