import Gateway
import S3Core

/// Fuzz target `classifier`: the gateway's parse and classify phases
/// (`RequestPreparer.classify`): the request-target (origin-form only), Host → bucket and
/// key, method + query + header names → the operation's row of the closed table. The input
/// is a request head (`RawRequestHead`); `s3.gateway.test` is the virtual-host domain.
///
/// Invariants:
/// - a classified request names a bucket that follows S3's naming rules and a key of at
///   most 1,024 bytes;
/// - the same request addressed the other way (path-style ↔ virtual-hosted) is the same
///   operation on the same bucket and key.
public enum ClassifierTarget {
    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let head = RawRequestHead(Substring(String(decoding: bytes, as: UTF8.self))),
              let classified = classify(head)
        else { return }
        let address = classified.address
        if let bucket = address.bucket {
            Invariant.check((try? S3AddressResolver.checkBucketName(bucket)) != nil, "bucket \(bucket.debugDescription) accepted")
        }
        Invariant.check((address.key?.utf8.count ?? 0) <= S3AddressResolver.maxKeyLength, "a key of \(address.key?.utf8.count ?? 0) bytes accepted")
        guard let bucket = address.bucket, let other = otherAddressing(of: head, target: classified.target, style: address.style, bucket: bucket) else { return }
        let again = classify(other)
        Invariant.check(again?.operation == classified.operation && again?.address.bucket == bucket && again?.address.key == address.key,
                        "\(head.method) \(head.target) (\(address.style.rawValue)) is \(classified.operation.name) on \(address.resource); "
                            + "as \(other.method) \(other.target) Host \(other.headers["host"] ?? "") it is \(again.map { "\($0.operation.name) on \($0.address.resource)" } ?? "refused")")
    }

    static func classify(_ head: RawRequestHead) -> ClassifiedRequest? {
        try? FuzzGateway.preparer.classify(ClientRequestHead(method: head.method, uri: head.target, headers: head.headers))
    }

    /// The request with its bucket moved from the path to the Host, or the other way.
    private static func otherAddressing(of head: RawRequestHead, target: RequestTarget, style: AddressingStyle,
                                        bucket: String) -> RawRequestHead? {
        var other = head
        let query = target.rawQuery.map { "?" + $0 } ?? ""
        switch style {
        case .path:
            let afterBucket = target.rawPath.dropFirst().drop { $0 != "/" }
            other.target = (afterBucket.isEmpty ? "/" : String(afterBucket)) + query
            other.headers.replace("Host", with: "\(bucket).\(FuzzGateway.virtualHostDomain)")
        case .virtualHosted:
            other.target = "/\(bucket)\(target.rawPath)" + query
            other.headers.replace("Host", with: FuzzGateway.virtualHostDomain)
        }
        return other
    }
}
