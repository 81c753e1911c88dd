import Crypto
import Foundation
import S3Core

/// The first line of every audit file: where its chain comes from.
///
///     {"anchor":"rotation","hash":"…","prev":"<last hash of the previous file>","schema":1,"seq":1042,"time":"…"}
public struct AuditAnchor: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// A chain starts here; `prev` is 64 zeros and `seq` is 0.
        case newChain = "new-chain"
        /// The writer rotated the previous file (`max_bytes`); `prev` is the hash of its last line.
        case rotation
        /// The file was gone or empty when the writer reopened it (logrotate moved it away);
        /// `prev` is the hash of the last line written to the file it had open before.
        case reopen
    }

    public private(set) var schema = AuditRecord.currentSchema
    public var anchor: Reason
    public var time: AuditTimestamp
    public internal(set) var seq: UInt64?
    public internal(set) var prev: String?
    public internal(set) var hash: String?

    public init(_ reason: Reason, time: AuditTimestamp) {
        anchor = reason
        self.time = time
    }
}

/// The hash chain of one audit stream (a file and the files rotated from it, or stdout).
///
/// Each line is canonical JSON — keys sorted, no white space, `/` unescaped — and carries:
/// - `seq`: one more than the line before, so a removed, repeated or reordered line shows
///   as a gap even where hashes alone could not say which line is wrong;
/// - `prev`: hex SHA-256 of the previous line's exact bytes (without its newline);
/// - `hash`: hex SHA-256 of this line's exact bytes with this value written as 64 zeros.
///   `prev` protects every line but the last; `hash` makes a change to the last line (or
///   any line) show on that very line.
///
/// The hashes are over the bytes written, so a verifier never re-encodes anything.
public struct AuditChain: Sendable, Equatable {
    /// `prev` of a new chain's anchor.
    public static let genesis = String(repeating: "0", count: 64)

    /// Hex SHA-256 of the last line sealed.
    public private(set) var lastHash: String
    public private(set) var nextSeq: UInt64

    public init(lastHash: String = AuditChain.genesis, nextSeq: UInt64 = 0) {
        self.lastHash = lastHash
        self.nextSeq = nextSeq
    }

    /// The chain that continues after an existing line (the last line of a file being
    /// appended to); nil when the line is not a sealed audit line.
    public init?(continuingAfter line: [UInt8]) {
        guard let fields = try? JSONDecoder().decode(AuditLineFields.self, from: Data(line)),
              let seq = fields.seq, seq < UInt64.max
        else { return nil }
        self.init(lastHash: AuditLineHash.hex(of: line), nextSeq: seq + 1)
    }

    /// The record as a sealed line (without the newline), and the chain advanced past it.
    public mutating func seal(_ record: AuditRecord) throws -> [UInt8] {
        var sealed = record.canonicalJSON(seq: nextSeq, prev: lastHash, hash: Self.genesis)
        try advance(sealing: &sealed.bytes, hashValueStart: sealed.hashValueStart)
        return sealed.bytes
    }

    /// The anchor as a sealed line (without the newline), and the chain advanced past it.
    public mutating func seal(_ anchor: AuditAnchor) throws -> [UInt8] {
        var sealed = anchor.canonicalJSON(seq: nextSeq, prev: lastHash, hash: Self.genesis)
        try advance(sealing: &sealed.bytes, hashValueStart: sealed.hashValueStart)
        return sealed.bytes
    }

    /// `line` has 64 zeros for its `hash` value, starting at `hashValueStart` (the encoder
    /// says where it wrote them; the line is not searched for them). They are overwritten in
    /// place, the line being the caller's only copy.
    private mutating func advance(sealing line: inout [UInt8], hashValueStart: Int?) throws {
        guard let start = hashValueStart else {
            throw EncodingError.invalidValue(line, .init(codingPath: [], debugDescription: "no hash field in the encoded line"))
        }
        let range = start..<(start + 64)
        let selfHash = SHA256.hash(data: line)
        line.withUnsafeMutableBytes { bytes in
            selfHash.withUnsafeBytes { writeHex($0, into: UnsafeMutableRawBufferPointer(rebasing: bytes[range])) }
        }
        lastHash = AuditLineHash.hex(of: line)
        nextSeq += 1
    }
}

/// The chain fields every line has, read without assuming whether it is a record or an anchor.
struct AuditLineFields: Decodable {
    var schema: Int?
    var anchor: String?
    var seq: UInt64?
    var prev: String?
    var hash: String?
}

enum AuditLineHash {
    static func hex(of bytes: some DataProtocol) -> String {
        S3Core.hex(SHA256.hash(data: bytes))
    }

    private static let hashKey = Array(#""hash":""#.utf8)

    /// The 64 bytes of the `hash` value in a line: after the only occurrence of `"hash":"`.
    /// A string value cannot contain an unescaped `"`, and no nested object of a record has
    /// a `hash` key, so in a well-formed line there is exactly one; any other count is nil.
    static func hashValueRange(in line: [UInt8]) -> Range<Int>? {
        let key = hashKey
        return line.withUnsafeBufferPointer { line -> Range<Int>? in
            key.withUnsafeBufferPointer { key -> Range<Int>? in
                var found: Int?
                var index = 0
                while index + key.count <= line.count {
                    if line[index] == key[0], UnsafeBufferPointer(rebasing: line[index..<(index + key.count)]).elementsEqual(key) {
                        guard found == nil else { return nil }
                        found = index + key.count
                        index += key.count
                    } else {
                        index += 1
                    }
                }
                guard let start = found, start + 65 <= line.count, line[start + 64] == UInt8(ascii: "\"") else { return nil }
                return start..<(start + 64)
            }
        }
    }

    /// Whether a line's `hash` value is the hash of the line with that value zeroed.
    static func selfHashMatches(_ line: [UInt8]) -> Bool {
        guard let range = hashValueRange(in: line) else { return false }
        var zeroed = line
        zeroed.replaceSubrange(range, with: repeatElement(UInt8(ascii: "0"), count: 64))
        return line[range].elementsEqual(hex(of: zeroed).utf8)
    }
}
