import Policy
import S3Core

/// A valid SSE-C triple (a 256-bit key, its MD5) and a 512-bit one.
enum CustomerKey {
    static let key256 = "K7QkYpBkM5+hca27fsNkUnNVaobncnLht/rCB2o/9Cw="
    static let md5Of256 = "HHZSrfZMtS69FCj/xN8ppg=="
    /// The MD5 printed beside `key256` in the OBS reference; it is not the key's MD5.
    static let documentedMD5 = "4XvB3tbNTN+tIEVa0/fGaQ=="
    static let key512 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
    static let md5Of512 = "stP1a8GX/ZhdWWUHm15xSA=="
    static let key128 = "AAECAwQFBgcICQoLDA0ODw=="
    static let md5Of128 = "GsHvAelsrxvg0ykzGk/CqA=="

    static let s3: [(String, String)] = [
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key", key256),
        ("x-amz-server-side-encryption-customer-key-MD5", md5Of256),
    ]
    static let obs: [(String, String)] = [
        ("x-obs-server-side-encryption-customer-algorithm", "AES256"),
        ("x-obs-server-side-encryption-customer-key", key256),
        ("x-obs-server-side-encryption-customer-key-MD5", md5Of256),
    ]
}

func makeRequest(_ operation: S3Operation = .createMultipartUpload, bucket: String? = "finance",
                 key: String? = "reports/q3.csv", principal: String? = "alice", groups: [String] = [],
                 headers: [(String, String)] = [], tls: Bool = true) -> PolicyRequest {
    PolicyRequest(operation: operation, bucket: bucket, key: key, principal: principal, groups: groups,
                  headers: HeaderFields(headers), isTLS: tls)
}

func policy(_ text: String) throws -> UploadPolicy {
    try UploadPolicy.parse(text, file: "policy.yaml")
}

/// `version: 1` and a `rules:` list around the given rule lines.
func policy(rules: String) throws -> UploadPolicy {
    try policy("version: 1\nrules:\n" + rules)
}

extension PolicyDecision.Outcome {
    var error: S3Error? { if case .deny(let error) = self { error } else { nil } }
}
