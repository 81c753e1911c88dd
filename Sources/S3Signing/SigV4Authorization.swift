import Crypto
import S3Core

/// `Credential=AKID/YYYYMMDD/region/service/aws4_request`: the access key may contain `/`
/// in principle, so the scope is taken from the right.
public struct SigV4Credential: Sendable, Equatable {
    public let accessKeyId: String
    public let scope: SigV4Scope

    public init(parsing text: some StringProtocol, malformed: (String) -> S3Error) throws(S3Error) {
        // The four '/' that end the access key and the scope's first three fields, found
        // from the right over the bytes.
        let parsed = text.withUTF8Bytes { bytes -> (accessKeyId: String, scope: SigV4Scope)? in
            var slashes = InlineArray<4, Int>(repeating: 0)
            var found = 0
            var index = bytes.count
            while index > 0, found < 4 {
                index -= 1
                if bytes[index] == UInt8(ascii: "/") {
                    slashes[found] = index
                    found += 1
                }
            }
            guard found == 4, bytes[(slashes[0] + 1)...].isBytes(of: "aws4_request") else { return nil }
            let date = bytes[(slashes[3] + 1)..<slashes[2]]
            guard date.count == 8, date.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
            return (text(0..<slashes[3]), SigV4Scope(date: text((slashes[3] + 1)..<slashes[2]),
                                                     region: text((slashes[2] + 1)..<slashes[1]),
                                                     service: text((slashes[1] + 1)..<slashes[0])))
        }
        guard let parsed else { throw malformed("The credential must be 'AccessKeyId/YYYYMMDD/region/s3/aws4_request'") }
        guard !parsed.accessKeyId.isEmpty else { throw malformed("The credential has no access key id") }
        accessKeyId = parsed.accessKeyId
        scope = parsed.scope
    }
}

/// The Authorization header of a SigV4 request:
///
///     AWS4-HMAC-SHA256 Credential=<credential>, SignedHeaders=<h1;h2>, Signature=<hex>
///
/// The separators may be `,` or `, ` (Huawei's SDK sends no space); each of the three
/// components must appear exactly once.
public struct SigV4Authorization: Sendable, Equatable {
    public let credential: SigV4Credential
    public let signedHeaders: [String]
    /// As the header gives it (a view of the header's storage, not a copy).
    public let signature: Substring

    public init(header: String) throws(S3Error) {
        let malformed = { (detail: String) in
            S3Error.authorizationHeaderMalformed("The authorization header is malformed; \(detail)")
        }
        let components: Components
        switch header.withUTF8Bytes({ Self.components(of: $0) }) {
        case .components(let found): components = found
        case .malformed(let detail): throw malformed(detail)
        }
        func text(_ range: Range<Int>) -> Substring {
            let utf8 = header.utf8
            return header[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)]
        }
        credential = try SigV4Credential(parsing: text(components.credential), malformed: malformed)
        signedHeaders = Self.signedHeaderNames(text(components.signedHeaders))
        signature = text(components.signature)
    }

    /// Where the three values are in the header, as byte offsets.
    private struct Components {
        var credential: Range<Int>
        var signedHeaders: Range<Int>
        var signature: Range<Int>
    }

    private enum Parse {
        case components(Components)
        case malformed(String)
    }

    /// The comma-separated `Name=value` components after the algorithm, over the header's
    /// bytes; optional whitespace around a component is dropped, an empty component (",,",
    /// a trailing ",") skipped.
    private static func components(of bytes: UnsafeBufferPointer<UInt8>) -> Parse {
        guard bytes.starts(with: prefix) else { return .malformed("unsupported algorithm") }
        var credential: Range<Int>?, signedHeaders: Range<Int>?, signature: Range<Int>?
        var componentStart = prefix.count
        while componentStart < bytes.count {
            let componentEnd = bytes[componentStart...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
            defer { componentStart = componentEnd + 1 }
            guard componentStart < componentEnd else { continue }
            let component = bytes.trimmingOWS(componentStart..<componentEnd)
            let (low, high) = (component.lowerBound, component.upperBound)
            guard let equals = bytes[low..<high].firstIndex(of: UInt8(ascii: "=")) else {
                let shown = String(decoding: bytes[low..<high], as: UTF8.self).prefix(40)
                return .malformed("'\(shown)' is not a 'Name=value' component")
            }
            let name = bytes[low..<equals]
            let value = (equals + 1)..<high
            func take(_ slot: inout Range<Int>?) -> Bool {
                guard slot == nil else { return false }
                slot = value
                return true
            }
            let taken: Bool
            if name.isBytes(of: "Credential") {
                taken = take(&credential)
            } else if name.isBytes(of: "SignedHeaders") {
                taken = take(&signedHeaders)
            } else if name.isBytes(of: "Signature") {
                taken = take(&signature)
            } else {
                return .malformed("it must contain exactly Credential, SignedHeaders and Signature")
            }
            guard taken else { return .malformed("\(String(decoding: name, as: UTF8.self)) is given twice") }
        }
        guard let credential, let signedHeaders, let signature else {
            return .malformed("it must contain exactly Credential, SignedHeaders and Signature")
        }
        return .components(Components(credential: credential, signedHeaders: signedHeaders, signature: signature))
    }

    /// `SignedHeaders` (of the header or the presigned query): the names between `;`
    /// bytes, empty ones kept (the verifier refuses them).
    public static func signedHeaderNames(_ text: some StringProtocol) -> [String] {
        text.withUTF8Bytes { bytes in
            var names: [String] = []
            names.reserveCapacity(8)
            var nameStart = 0
            for index in bytes.indices where bytes[index] == UInt8(ascii: ";") {
                names.append(String(decoding: bytes[nameStart..<index], as: UTF8.self))
                nameStart = index + 1
            }
            names.append(String(decoding: bytes[nameStart...], as: UTF8.self))
            return names
        }
    }

    /// `AWS4-HMAC-SHA256 `.
    private static let prefix = Array((SigV4.algorithm + " ").utf8)
}

/// What verifying an aws-chunked body needs from the request's seed signature.
public struct SigV4ChunkContext: Sendable, Equatable {
    public let signingKey: SigV4SigningKey
    public let amzDate: String
    public let scope: SigV4Scope
    /// The request's own signature, lowercase hex: the first chunk signature chains from it.
    public let seedSignature: String

    public init(signingKey: SigV4SigningKey, amzDate: String, scope: SigV4Scope, seedSignature: some StringProtocol) {
        self.signingKey = signingKey
        self.amzDate = amzDate
        self.scope = scope
        self.seedSignature = seedSignature.asciiLowercased
    }
}

extension Slice<UnsafeBufferPointer<UInt8>> {
    /// Whether the bytes are `literal`'s, compared over both buffers (iterating a `String`'s
    /// `UTF8View` here cost 2.6 % of a header verification).
    fileprivate func isBytes(of literal: StaticString) -> Bool {
        literal.withUTF8Buffer { elementsEqual($0) }
    }
}
