/// How a request named its bucket.
public enum AddressingStyle: String, Sendable, Equatable {
    /// `Host: s3.example.com`, target `/bucket/key`.
    case path
    /// `Host: bucket.s3.example.com`, target `/key`.
    case virtualHosted = "virtual-hosted"
}

/// Where a request points: the bucket and key it names and how it named them.
public struct S3Address: Sendable, Equatable {
    public var style: AddressingStyle
    /// nil for service-level requests (`GET /` on the endpoint: ListBuckets).
    public var bucket: String?
    /// The percent-decoded object key, nil for bucket- and service-level requests. Kept
    /// exactly: `+` stays `+`, `%2F` decodes to `/`, leading and doubled slashes are part of
    /// the key.
    public var key: String?

    public init(style: AddressingStyle, bucket: String?, key: String?) {
        self.style = style
        self.bucket = bucket
        self.key = key
    }

    /// `/bucket/key`, `/bucket` or `/`: the resource named in error bodies and audit records.
    public var resource: String {
        guard let bucket else { return "/" }
        guard let key else { return "/\(bucket)" }
        return "/\(bucket)/\(key)"
    }
}

/// Resolves the bucket and key of a request from its Host header and path.
///
/// A Host equal to one of the configured base domains, or any other host (an IP address, a
/// name the gateway was not told about), is path-style. A Host of the form
/// `<bucket>.<base domain>` is virtual-hosted; bucket names may themselves contain dots.
public struct S3AddressResolver: Sendable {
    /// Base domains accepted for virtual-hosted requests, lowercase, without port.
    public let baseDomains: [String]

    public init(baseDomains: [String]) {
        self.baseDomains = baseDomains.map { $0.asciiLowercased }
    }

    /// The longest object key S3 accepts, in UTF-8 bytes.
    public static let maxKeyLength = 1024

    public func resolve(host: String?, target: RequestTarget) throws(S3Error) -> S3Address {
        if let host, let bucket = virtualHostedBucket(host: host) {
            let key = try decodedKey(String(target.rawPath.dropFirst()))
            return S3Address(style: .virtualHosted, bucket: bucket, key: key)
        }
        // Path-style: "/" bucket [ "/" key ]
        let path = target.rawPath.dropFirst()
        guard !path.isEmpty else { return S3Address(style: .path, bucket: nil, key: nil) }
        let bucketPart: Substring
        let keyPart: Substring
        if let slash = path.firstIndex(of: "/") {
            bucketPart = path[..<slash]
            keyPart = path[path.index(after: slash)...]
        } else {
            bucketPart = path
            keyPart = ""
        }
        guard let bucket = PercentEncoding.decode(bucketPart), !bucket.isEmpty, !bucket.utf8.contains(UInt8(ascii: "/")) else {
            throw S3Error.invalidURI("the bucket name in the path is not valid")
        }
        return S3Address(style: .path, bucket: bucket, key: try decodedKey(String(keyPart)))
    }

    /// The bucket named by a `Host` value of the form `<bucket>.<base>[:port]`. A host
    /// that is itself a base domain is path-style, and with nested bases
    /// (`example.com`, `s3.example.com`) the longest one that matches wins.
    public func virtualHostedBucket(host: String) -> String? {
        let name = Self.hostWithoutPort(host).asciiLowercased
        // Compared as bytes in place (this runs for every request): the longest base that
        // ends the name after a ".", unless the name is a base itself.
        var longest: Int?
        for base in baseDomains {
            let length = base.utf8.count
            if name.utf8Equals(base) { return nil }
            guard name.utf8.count > length + 1, length > longest ?? -1,
                  name.utf8.suffix(length + 1).first == UInt8(ascii: "."), name.utf8.suffix(length).elementsEqual(base.utf8)
            else { continue }
            longest = length
        }
        return longest.map { String(decoding: name.utf8.dropLast($0 + 1), as: UTF8.self) }
    }

    /// `host[:port]` or `[v6]:port` without the port.
    public static func hostWithoutPort(_ host: String) -> Substring {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return host[...close]
        }
        if let colon = host.lastIndex(of: ":") { return host[..<colon] }
        return host[...]
    }

    private func decodedKey(_ raw: String) throws(S3Error) -> String? {
        guard !raw.isEmpty else { return nil }
        guard let key = PercentEncoding.decode(raw) else {
            throw S3Error.invalidURI("the object key has an invalid percent-encoding")
        }
        guard key.utf8.count <= Self.maxKeyLength else {
            throw S3Error.keyTooLong(size: key.utf8.count, maxSize: Self.maxKeyLength)
        }
        return key
    }

    /// S3's bucket naming rules, checked before a name goes into the upstream's Host or
    /// path (a name such as `finance.s3.up.example:1` would otherwise address another
    /// host):
    ///
    ///     3 to 63 characters of a-z, 0-9, '.' and '-'; begins and ends with a letter or
    ///     digit; no two adjacent periods; not formatted as an IPv4 address
    public static func checkBucketName(_ bucket: String) throws(S3Error) {
        // One pass over the bytes, label by label (labels are what the periods separate).
        let valid = bucket.withUTF8Bytes { bytes in
            guard (3...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
            else { return false }
            var labels = 0, digitLabels = 0
            var labelLength = 0, labelIsDigits = true
            for index in 0...bytes.count {
                let byte = index < bytes.count ? bytes[index] : UInt8(ascii: ".")
                switch byte {
                case UInt8(ascii: "."):
                    // A period at either end, or two in a row, make an empty label.
                    guard labelLength > 0 else { return false }
                    labels += 1
                    if labelIsDigits { digitLabels += 1 }
                    labelLength = 0
                    labelIsDigits = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    labelLength += 1
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "-"):
                    labelLength += 1
                    labelIsDigits = false
                default:
                    return false
                }
            }
            // Four labels of digits look like an IPv4 address.
            return !(labels == 4 && digitLabels == 4)
        }
        guard valid else { throw S3Error.invalidBucketName(bucket) }
    }
}
