import Crypto
import Foundation
import S3Core

/// Upload ids bound to their initiation, without state (any replica with the same keys
/// checks them): the id a client sees is the upstream's id followed by what binds it,
///
///     client-id  = upstream-id "." key-id "." initiator "." sse-tag "." tag
///     key-id     = 1*16( ALPHA / DIGIT / "-" / "_" )    ; which binding key signed
///     initiator  = base64url(principal) / "~"          ; "~": bound in a listing, who started it is unknown
///     sse-tag    = base64url(16 octets) / "n"          ; "n": the initiation used no SSE-C
///     tag        = base64url(16 octets)
///
/// `tag` is HMAC-SHA256 under the binding key, truncated to 128 bits, over the upstream id,
/// bucket, key, initiator and whether SSE-C was used; `sse-tag` is the same HMAC over `tag`
/// and the SSE-C key's MD5. Every field is length-prefixed, so no two bindings share an
/// input. The id is read from its end, so an upstream id may hold any characters (dots
/// included); base64url (RFC 4648 §5) and the separators are all URL-safe.
public struct UploadIdBinder: Sendable {
    public struct Key: Sendable {
        public let id: String
        /// The HMACs of the two tags with the key and their domain strings already fed:
        /// copied for each tag (a copy is cheap; keying an HMAC is two SHA-256 blocks).
        let uploadMAC: HMAC<SHA256>
        let sseMAC: HMAC<SHA256>
        /// Seals a listing's markers (`sealListingMarker`): an AES-GCM key derived from the
        /// binding key, so that no key of its own needs configuring or rotating.
        let markerKey: SymmetricKey

        public init(id: String, secret: String) {
            self.init(id: id, key: SymmetricKey(data: Data(secret.utf8)))
        }

        /// A key of random bytes, known to this process only.
        public static func random(id: String) -> Key { Key(id: id, key: SymmetricKey(size: .bits256)) }

        private init(id: String, key: SymmetricKey) {
            self.id = id
            var upload = HMAC<SHA256>(key: key)
            upload.update(data: Array("obsgate-upload-id-v1".utf8))
            uploadMAC = upload
            var sse = HMAC<SHA256>(key: key)
            sse.update(data: Array("obsgate-upload-sse-c-v1".utf8))
            sseMAC = sse
            markerKey = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("obsgate-listing-marker-v1".utf8), using: key))
        }

        /// A key id: 1–16 letters, digits, `-` or `_`.
        public static func isValidId(_ id: String) -> Bool {
            (1...16).contains(id.utf8.count) && id.utf8.allSatisfy(Self.isIdByte)
        }

        static func isIdByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// The first key binds new ids; every key verifies (rotation: add the new key first,
    /// drop the old one once its uploads are done).
    public let keys: [Key]

    public init(keys: [Key]) {
        precondition(!keys.isEmpty, "an upload id binder needs a key")
        self.keys = keys
    }

    /// What an upload is bound to.
    public struct Binding: Equatable, Sendable {
        public var upstreamId: String
        public var bucket: String
        public var key: String
        /// nil: bound in a listing, where who started it is not known.
        public var initiator: String?
        /// The base64 MD5 of the initiation's SSE-C key; nil without SSE-C.
        public var sseCustomerKeyMD5: String?

        public init(upstreamId: String, bucket: String, key: String, initiator: String?, sseCustomerKeyMD5: String? = nil) {
            self.upstreamId = upstreamId
            self.bucket = bucket
            self.key = key
            self.initiator = initiator
            self.sseCustomerKeyMD5 = sseCustomerKeyMD5
        }
    }

    /// An id the binder verified.
    public struct BoundUpload: Equatable, Sendable {
        public let upstreamId: String
        /// nil for an id bound in a listing.
        public let initiator: String?
        /// The initiation used SSE-C: parts must carry its key.
        public var usesSSEC: Bool { sseTag != nil }
        let keyIndex: Int
        let tag: [UInt8]
        let sseTag: [UInt8]?
    }

    public enum Verdict: Equatable, Sendable {
        case bound(BoundUpload)
        /// Not in the bound form: an id the gateway never handed out (made at the store
        /// before the gateway, or made up).
        case unbound
        /// In the bound form, but it does not verify for this bucket and key (altered,
        /// moved to another key, or signed by a key the gateway no longer has).
        case forged
    }

    public func bind(_ binding: Binding) -> String {
        let key = keys[0]
        let tag = Self.tag(key, binding.upstreamId, binding.bucket, binding.key, binding.initiator,
                           usesSSEC: binding.sseCustomerKeyMD5 != nil)
        let sseTag = binding.sseCustomerKeyMD5.map { Self.sseTag(key, tag: tag, md5: $0) }
        let length = binding.upstreamId.utf8.count + key.id.utf8.count + 4
            + (binding.initiator.map { Self.base64URLLength($0.utf8.count) } ?? 1)
            + (sseTag.map { Self.base64URLLength($0.count) } ?? 1) + Self.base64URLLength(tag.count)
        // Written once into a string of its length: an interpolation made a string per
        // base64url field and grew the id's.
        return BufferTextStream.string(capacity: length) { text in
            text.write(binding.upstreamId)
            text.write(".")
            text.write(key.id)
            text.write(".")
            if let initiator = binding.initiator { Self.writeBase64URL(initiator.utf8, into: &text) } else { text.write("~") }
            text.write(".")
            if let sseTag { Self.writeBase64URL(sseTag, into: &text) } else { text.write("n") }
            text.write(".")
            Self.writeBase64URL(tag, into: &text)
        }
    }

    public func verify(_ clientId: String, bucket: String, key objectKey: String) -> Verdict {
        let parts = clientId.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 5 else { return .unbound }
        let fields = parts.suffix(4)
        let keyId = String(fields[fields.startIndex]), initiatorText = fields[fields.startIndex + 1]
        let sseText = fields[fields.startIndex + 2], tagText = fields[fields.startIndex + 3]
        let upstreamId = parts.prefix(parts.count - 4).joined(separator: ".")
        guard Key.isValidId(keyId), !upstreamId.isEmpty, let tag = Self.decode(tagText, count: 16) else { return .unbound }
        let initiator: String?
        if initiatorText == "~" {
            initiator = nil
        } else {
            guard let bytes = Self.decode(initiatorText, count: nil), let text = String(validating: bytes, as: UTF8.self)
            else { return .unbound }
            initiator = text
        }
        let sseTag: [UInt8]?
        if sseText == "n" {
            sseTag = nil
        } else {
            guard let decoded = Self.decode(sseText, count: 16) else { return .unbound }
            sseTag = decoded
        }
        guard let keyIndex = keys.firstIndex(where: { $0.id == keyId }) else { return .forged }
        let expected = Self.tag(keys[keyIndex], upstreamId, bucket, objectKey, initiator, usesSSEC: sseTag != nil)
        guard ConstantTime.equals(expected, tag) else { return .forged }
        return .bound(BoundUpload(upstreamId: upstreamId, initiator: initiator, keyIndex: keyIndex, tag: tag, sseTag: sseTag))
    }

    /// Whether a request's SSE-C key (its base64 MD5, nil without SSE-C) is the one the
    /// upload was initiated with.
    public func sseCustomerKeyMatches(_ upload: BoundUpload, md5: String?) -> Bool {
        guard let sseTag = upload.sseTag else { return md5 == nil }
        guard let md5 else { return false }
        return ConstantTime.equals(Self.sseTag(keys[upload.keyIndex], tag: upload.tag, md5: md5), sseTag)
    }

    // MARK: - The tags

    private static func tag(_ key: Key, _ upstreamId: String, _ bucket: String, _ objectKey: String,
                            _ initiator: String?, usesSSEC: Bool) -> [UInt8] {
        let initiatorText = initiator ?? ""
        let length = 4 * 8 + upstreamId.utf8.count + bucket.utf8.count + objectKey.utf8.count + initiatorText.utf8.count + 2
        return truncatedMAC(key.uploadMAC, length: length) { message in
            message.writeLengthPrefixed(upstreamId)
            message.writeLengthPrefixed(bucket)
            message.writeLengthPrefixed(objectKey)
            message.writeLengthPrefixed(initiatorText)
            message.write(byte: initiator == nil ? 0 : 1)
            message.write(byte: usesSSEC ? 1 : 0)
        }
    }

    private static func sseTag(_ key: Key, tag: [UInt8], md5: String) -> [UInt8] {
        truncatedMAC(key.sseMAC, length: tag.count + 8 + md5.utf8.count) { message in
            tag.withUnsafeBytes { message.write(bytes: $0) }
            message.writeLengthPrefixed(md5)
        }
    }

    /// The first 128 bits of the MAC of the `length` bytes `message` writes. The message is
    /// gathered on the stack and given to the MAC in one piece: swift-crypto's generic
    /// `update` costs more per call than hashing the few bytes of a field.
    private static func truncatedMAC(_ keyed: HMAC<SHA256>, length: Int,
                                     _ message: (inout BufferTextStream) -> Void) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { buffer in
            var text = BufferTextStream(buffer)
            message(&text)
            var mac = keyed
            mac.update(data: text.written)
            return mac.finalize().withUnsafeBytes { Array($0.prefix(16)) }
        }
    }

    // MARK: - base64url without padding (RFC 4648 §5)

    static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ bytes: some Collection<UInt8>) -> String {
        BufferTextStream.string(capacity: base64URLLength(bytes.count)) { writeBase64URL(bytes, into: &$0) }
    }

    /// The length of `count` bytes in unpadded base64url.
    static func base64URLLength(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// Each group of three bytes as four characters; a last group of one or two bytes as
    /// two or three.
    static func writeBase64URL(_ bytes: some Collection<UInt8>, into text: inout BufferTextStream) {
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            let characters = second == nil ? 2 : third == nil ? 3 : 4
            for index in 0..<characters {
                text.write(byte: base64URLAlphabet[Int(group >> UInt32(18 - 6 * index) & 0x3F)])
            }
        }
    }

    /// nil unless `text` is canonical unpadded base64url (of `count` bytes, when given).
    static func decode(_ text: Substring, count: Int?) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.allSatisfy({ Key.isIdByte($0) }) else { return nil }
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.utf8.count % 4 != 0 { standard += "=" }
        guard let data = Data(base64Encoded: standard) else { return nil }
        let bytes = [UInt8](data)
        guard count == nil || bytes.count == count, base64URL(bytes) == text else { return nil }
        return bytes
    }
}

extension BufferTextStream {
    /// `field` with its length before it (8 bytes, big-endian): no two lists of fields make
    /// the same message.
    fileprivate mutating func writeLengthPrefixed(_ field: String) {
        withUnsafeBytes(of: UInt64(field.utf8.count).bigEndian) { write(bytes: $0) }
        write(field)
    }
}
