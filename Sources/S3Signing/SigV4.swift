import Crypto
import Foundation
import S3Core
import Synchronization

/// AWS Signature Version 4 as S3 applies it (AWS S3 API reference, "Signature
/// Calculations for the Authorization Header"):
///
///     CanonicalRequest =
///       HTTPMethod + "\n" +
///       CanonicalURI + "\n" +         ; UriEncode(path) once, "/" kept, no normalisation
///       CanonicalQueryString + "\n" + ; UriEncode(name)=UriEncode(value), sorted, "&"-joined
///       CanonicalHeaders + "\n" +     ; lowercase(name):trimall(value)\n, sorted
///       SignedHeaders + "\n" +        ; lowercase names, ";"-joined
///       HashedPayload                 ; hex sha256, UNSIGNED-PAYLOAD or STREAMING-...
///
///     StringToSign = "AWS4-HMAC-SHA256\n" + amz-date + "\n" + scope + "\n" + hex(SHA256(CanonicalRequest))
///     scope        = YYYYMMDD "/" region "/" service "/aws4_request"
///     SigningKey   = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, YYYYMMDD), region), service), "aws4_request")
///     Signature    = hex(HMAC(SigningKey, StringToSign))
///
/// S3 differs from the generic AWS suite: the path is encoded once (a `%2F` the client
/// sent stays `%2F`), and dot segments and `//` are kept.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// CanonicalURI from the raw path: each `/`-separated segment is percent-decoded and
    /// encoded again with `UriEncode`, so `$` sent raw and `%24` sent encoded both give
    /// `%24`, and an encoded slash inside a segment stays `%2F`.
    public static func canonicalURI(rawPath: String) throws(S3Error) -> String {
        // A path of unreserved bytes and slashes is its own canonical form.
        if rawPath.utf8.allSatisfy({ PercentEncoding.isUnreserved($0) || $0 == UInt8(ascii: "/") }) { return rawPath }
        var segments: [String] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: false) {
            guard let decoded = PercentEncoding.decode(segment) else {
                throw S3Error.invalidURI("the request path has an invalid percent-encoding")
            }
            segments.append(PercentEncoding.encode(decoded))
        }
        return segments.joined(separator: "/")
    }

    /// CanonicalQueryString: every parameter (a parameter without `=` has an empty value),
    /// name and value `UriEncode`d, sorted by encoded name then value. `excluding` drops the
    /// presigned URL's own `X-Amz-Signature`.
    public static func canonicalQuery(_ parameters: [QueryParameter], excluding: String? = nil) -> String {
        var text = ""
        writeCanonicalQuery(parameters, excluding: excluding, into: &text)
        return text
    }

    static func writeCanonicalQuery(_ parameters: [QueryParameter], excluding: String?,
                                    into out: inout some TextOutputStream) {
        // No parameter or one (`?uploads`), the common cases: nothing to sort.
        if parameters.count <= 1 {
            if let only = parameters.first, only.name != excluding {
                out.write(PercentEncoding.encode(only.name))
                out.write("=")
                out.write(PercentEncoding.encode(only.value))
            }
            return
        }
        var encoded: [(name: String, value: String)] = []
        encoded.reserveCapacity(parameters.count)
        for parameter in parameters where parameter.name != excluding {
            encoded.append((PercentEncoding.encode(parameter.name), PercentEncoding.encode(parameter.value)))
        }
        encoded.sort {
            $0.name.utf8Equals($1.name) ? $0.value.utf8Precedes($1.value) : $0.name.utf8Precedes($1.name)
        }
        for (index, parameter) in encoded.enumerated() {
            if index > 0 { out.write("&") }
            out.write(parameter.name)
            out.write("=")
            out.write(parameter.value)
        }
    }

    /// CanonicalHeaders for the given signed header names (lowercase, in signing order):
    /// repeated fields are joined with ",", values trimmed and inner runs of spaces
    /// collapsed. Returns nil when a signed header is absent from the request.
    public static func canonicalHeaders(_ headers: HeaderFields, signedHeaders: [String]) -> String? {
        var text = ""
        return writeCanonicalHeaders(headers, signedHeaders: signedHeaders, into: &text) ? text : nil
    }

    /// Writes CanonicalHeaders; false when a signed header is absent from the request.
    static func writeCanonicalHeaders(_ headers: HeaderFields, signedHeaders: [String],
                                      into out: inout some TextOutputStream) -> Bool {
        for name in signedHeaders {
            var found = false
            for field in headers where field.name.asciiCaseInsensitiveEquals(name) {
                if found {
                    out.write(",")
                } else {
                    out.write(name)
                    out.write(":")
                }
                out.write(trimAll(field.value))
                found = true
            }
            guard found else { return false }
            out.write("\n")
        }
        return true
    }

    public static func canonicalRequest(method: String, canonicalURI: String, canonicalQuery: String,
                                        canonicalHeaders: String, signedHeaders: [String],
                                        payloadHash: String) -> String {
        "\(method)\n\(canonicalURI)\n\(canonicalQuery)\n\(canonicalHeaders)\n"
            + "\(signedHeaders.joined(separator: ";"))\n\(payloadHash)"
    }

    /// SHA-256 of the canonical request, hashed as its pieces are produced (the request
    /// path never builds the text); nil when a signed header is absent.
    static func canonicalRequestHash(method: String, rawPath: String, query: [QueryParameter],
                                     excludingQuery: String? = nil, headers: HeaderFields, signedHeaders: [String],
                                     payloadHash: String) throws(S3Error) -> SHA256.Digest? {
        let uri = try canonicalURI(rawPath: rawPath)
        return withUnsafeTemporaryAllocation(byteCount: SHA256TextStream.bufferSize, alignment: 1) { buffer in
            var out = SHA256TextStream(buffer: buffer)
            out.write(method)
            out.write("\n")
            out.write(uri)
            out.write("\n")
            writeCanonicalQuery(query, excluding: excludingQuery, into: &out)
            out.write("\n")
            guard writeCanonicalHeaders(headers, signedHeaders: signedHeaders, into: &out) else { return nil }
            out.write("\n")
            writeSignedHeaders(signedHeaders, into: &out)
            out.write("\n")
            out.write(payloadHash)
            return out.finalize()
        }
    }

    /// SignedHeaders: the names, ";"-separated.
    static func writeSignedHeaders(_ names: [String], into out: inout some TextOutputStream) {
        for (index, name) in names.enumerated() {
            if index > 0 { out.write(";") }
            out.write(name)
        }
    }

    public static func stringToSign(amzDate: String, scope: SigV4Scope, canonicalRequest: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope.text)\n\(hexSHA256(of: canonicalRequest))"
    }

    /// hex(HMAC-SHA256(signingKey, text)).
    public static func signature(signingKey: SigV4SigningKey, stringToSign: String) -> String {
        hex(signatureBytes(signingKey: signingKey, stringToSign: stringToSign))
    }

    static func signatureBytes(signingKey: SigV4SigningKey, stringToSign: String) -> [UInt8] {
        var mac = signingKey.keyedMAC
        stringToSign.withUTF8Bytes { mac.update(data: UnsafeRawBufferPointer($0)) }
        return Array(mac.finalize())
    }

    /// HMAC-SHA256(signingKey, StringToSign) for a canonical request given by its hash. The
    /// string to sign is written into a buffer on the stack and given to the MAC in one
    /// piece: swift-crypto's `HMAC.update(data:)` is generic and not inlinable, so each call
    /// pays generic metadata look-ups that cost more than hashing the few bytes it is given.
    static func signature(signingKey: SigV4SigningKey, amzDate: String, scope: SigV4Scope,
                          canonicalRequestHash: SHA256.Digest) -> HMAC<SHA256>.MAC {
        let hexLength = SHA256.byteCount * 2
        let length = algorithm.utf8.count + 1 + amzDate.utf8.count + 1 + scope.textLength + 1 + hexLength
        return withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { buffer in
            var text = BufferTextStream(buffer)
            text.write(algorithm)
            text.write("\n")
            text.write(amzDate)
            text.write("\n")
            scope.write(into: &text)
            text.write("\n")
            text.write(hexOf: canonicalRequestHash)
            var mac = signingKey.keyedMAC
            mac.update(data: text.written)
            return mac.finalize()
        }
    }

    /// Whether a signature as the client wrote it (64 hex digits, either case) is `expected`,
    /// compared in constant time and without decoding it.
    static func signatureMatches(_ provided: some StringProtocol, _ expected: HMAC<SHA256>.MAC) -> Bool {
        provided.withUTF8Bytes { provided in
            guard provided.count == SHA256.byteCount * 2 else { return false }
            return expected.withUnsafeBytes { mac in
                withUnsafeTemporaryAllocation(byteCount: mac.count * 2, alignment: 1) { text in
                    writeHex(mac, into: text)
                    var difference: UInt8 = 0
                    for index in 0..<text.count { difference |= asciiLower(provided[index]) ^ text[index] }
                    return difference == 0
                }
            }
        }
    }

    /// `trimall`: leading and trailing whitespace removed, inner runs of spaces and tabs
    /// reduced to one space.
    static func trimAll(_ value: String) -> String {
        if !needsTrimming(value) { return value }
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")); pendingSpace = false }
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension SigV4 {
    /// Whether `trimAll` would change the value: whitespace at either end, a tab, or two
    /// spaces in a row (most values have none, and are used as they are).
    static func needsTrimming(_ value: String) -> Bool {
        guard let first = value.utf8.first, let last = value.utf8.last else { return false }
        if first == UInt8(ascii: " ") || last == UInt8(ascii: " ") { return true }
        var previousSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\t") || (byte == UInt8(ascii: " ") && previousSpace) { return true }
            previousSpace = byte == UInt8(ascii: " ")
        }
        return false
    }
}

/// The credential scope `YYYYMMDD/region/service/aws4_request`.
public struct SigV4Scope: Sendable, Hashable {
    public let date: String
    public let region: String
    public let service: String

    public init(date: String, region: String, service: String = "s3") {
        self.date = date
        self.region = region
        self.service = service
    }

    public var text: String { "\(date)/\(region)/\(service)/aws4_request" }

    /// The length of `text` in bytes.
    var textLength: Int { date.utf8.count + region.utf8.count + service.utf8.count + "///aws4_request".utf8.count }

    /// `text`, written piece by piece.
    func write(into out: inout some TextOutputStream) {
        out.write(date)
        out.write("/")
        out.write(region)
        out.write("/")
        out.write(service)
        out.write("/aws4_request")
    }
}

/// SHA-256 of the text written into it in many small pieces (a canonical request is some
/// thirty): the pieces are gathered in a buffer the caller provides, and hashed a buffer at
/// a time, not a piece at a time.
struct SHA256TextStream: TextOutputStream {
    /// Enough for the canonical request of a usual request in one piece.
    static let bufferSize = 1024

    private var hash = SHA256()
    private var pending: BufferTextStream

    init(buffer: UnsafeMutableRawBufferPointer) { pending = BufferTextStream(buffer) }

    mutating func write(_ string: String) {
        string.withUTF8Bytes { bytes in
            let bytes = UnsafeRawBufferPointer(bytes)
            if bytes.count > pending.unwritten.count {
                flush()
                // Longer than the whole buffer: hashed as it is.
                guard bytes.count <= pending.unwritten.count else { return hash.update(bufferPointer: bytes) }
            }
            pending.write(bytes: bytes)
        }
    }

    mutating func finalize() -> SHA256.Digest {
        flush()
        return hash.finalize()
    }

    private mutating func flush() {
        hash.update(bufferPointer: pending.written)
        pending.removeAll()
    }
}

/// A derived SigV4 signing key with HMAC-SHA256's key schedule already run: the key's
/// inner and outer pad blocks are hashed once, when the key is derived, so a signature
/// costs the hashing of its own text only (keying an HMAC is two SHA-256 blocks and half
/// a dozen allocations, more than the string to sign itself costs).
public struct SigV4SigningKey: Sendable, Equatable {
    public let key: SymmetricKey
    /// HMAC(key) before any text: copied for each signature.
    let keyedMAC: HMAC<SHA256>

    public init(_ key: SymmetricKey) {
        self.key = key
        keyedMAC = HMAC(key: key)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.key == rhs.key }
}

/// Derived SigV4 signing keys, cached per (secret, date, region, service): a derivation
/// is four HMACs, a cache hit a dictionary look-up. Keys roll over daily, so the cache is
/// bounded and simply emptied when full.
public final class SigV4SigningKeyCache: Sendable {
    private struct Entry: Hashable {
        let secret: String
        let scope: SigV4Scope
    }

    private let keys = Mutex<[Entry: SigV4SigningKey]>([:])
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    public func signingKey(secret: String, scope: SigV4Scope) -> SigV4SigningKey {
        let entry = Entry(secret: secret, scope: scope)
        if let key = keys.withLock({ $0[entry] }) { return key }
        let key = Self.derive(secret: secret, scope: scope)
        keys.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[entry] = key
        }
        return key
    }

    public static func derive(secret: String, scope: SigV4Scope) -> SigV4SigningKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
        }
        let dateKey = hmac(SymmetricKey(data: Data(("AWS4" + secret).utf8)), scope.date)
        return SigV4SigningKey(hmac(hmac(hmac(dateKey, scope.region), scope.service), "aws4_request"))
    }
}

public func hexSHA256(_ data: some DataProtocol) -> String {
    hex(SHA256.hash(data: data))
}

/// hex(SHA256(text's UTF-8)), hashing the string's own storage.
public func hexSHA256(of text: String) -> String {
    var hash = SHA256()
    text.withUTF8Bytes { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    return hex(hash.finalize())
}

