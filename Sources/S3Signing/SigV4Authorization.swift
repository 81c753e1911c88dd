import Crypto
import S3Core

/// `Credential=AKID/YYYYMMDD/region/service/aws4_request`: the access key may contain `/`
/// in principle, so the scope is taken from the right.
public struct SigV4Credential: Sendable, Equatable {
    public let accessKeyId: String
    public let scope: SigV4Scope

    public init(parsing text: some StringProtocol, malformed: (String) -> S3Error) throws(S3Error) {
        // The four fields after the access key, taken from the right without splitting.
        let text = Substring(text)
        let utf8 = text.utf8
        var end = utf8.endIndex
        var fields: [Substring] = []
        fields.reserveCapacity(4)
        var index = utf8.endIndex
        while index > utf8.startIndex, fields.count < 4 {
            let previous = utf8.index(before: index)
            if utf8[previous] == UInt8(ascii: "/") {
                fields.append(text[index..<end])
                end = previous
            }
            index = previous
        }
        guard fields.count == 4, fields[0] == "aws4_request",
              fields[3].utf8.count == 8, fields[3].utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else {
            throw malformed("The credential must be 'AccessKeyId/YYYYMMDD/region/s3/aws4_request'")
        }
        let accessKeyId = String(text[utf8.startIndex..<end])
        guard !accessKeyId.isEmpty else { throw malformed("The credential has no access key id") }
        self.accessKeyId = accessKeyId
        scope = SigV4Scope(date: String(fields[3]), region: String(fields[2]), service: String(fields[1]))
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
        let utf8 = header.utf8
        guard utf8.starts(with: Self.prefix) else { throw malformed("unsupported algorithm") }
        var credentialText: Substring?, signedHeadersText: Substring?, signatureText: Substring?
        // The components between commas, walked in place; an empty one (",,", a trailing
        // ",") is skipped.
        var componentStart = utf8.index(utf8.startIndex, offsetBy: Self.prefix.count)
        while componentStart < utf8.endIndex {
            let componentEnd = utf8[componentStart...].firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
            defer { componentStart = componentEnd < utf8.endIndex ? utf8.index(after: componentEnd) : componentEnd }
            guard componentStart < componentEnd else { continue }
            let trimmed = header[componentStart..<componentEnd].trimmingOWS
            guard let equals = trimmed.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw malformed("'\(trimmed.prefix(40))' is not a 'Name=value' component")
            }
            let name = trimmed[..<equals]
            let value = trimmed[trimmed.index(after: equals)...]
            func take(_ slot: inout Substring?) throws(S3Error) {
                guard slot == nil else { throw malformed("\(name) is given twice") }
                slot = value
            }
            if name.utf8.elementsEqual("Credential".utf8) {
                try take(&credentialText)
            } else if name.utf8.elementsEqual("SignedHeaders".utf8) {
                try take(&signedHeadersText)
            } else if name.utf8.elementsEqual("Signature".utf8) {
                try take(&signatureText)
            } else {
                throw malformed("it must contain exactly Credential, SignedHeaders and Signature")
            }
        }
        guard let credentialText, let signedHeadersText, let signatureText else {
            throw malformed("it must contain exactly Credential, SignedHeaders and Signature")
        }
        credential = try SigV4Credential(parsing: credentialText, malformed: malformed)
        signedHeaders = Self.signedHeaderNames(signedHeadersText)
        signature = signatureText
    }

    /// `SignedHeaders` (of the header or the presigned query): the names between `;`
    /// bytes, empty ones kept (the verifier refuses them).
    public static func signedHeaderNames(_ text: some StringProtocol) -> [String] {
        let text = Substring(text)
        var names: [String] = []
        names.reserveCapacity(8)
        var nameStart = text.startIndex
        for index in text.utf8.indices where text.utf8[index] == UInt8(ascii: ";") {
            names.append(String(text[nameStart..<index]))
            nameStart = text.utf8.index(after: index)
        }
        names.append(String(text[nameStart...]))
        return names
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
