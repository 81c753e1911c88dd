import Foundation

/// Checks audit files line by line and reports the first place the chain breaks.
///
/// Files given one after another are one sequence: a file whose anchor is `rotation` or
/// `reopen` must continue the file before it (its `prev` is that file's last hash, its
/// `seq` the next number); a `new-chain` anchor starts a new chain. The first file's
/// anchor is taken as it stands — `Summary.anchorPrev` says what it claims to follow.
///
/// Per line, in this order: JSON; `schema`; the line's own `hash`; the line's shape (an
/// anchor first, records after it); `seq` one more than the line before; `prev` equal to
/// the hash of the line before. So a changed byte is reported on the line it is in, a
/// removed or reordered line where the sequence jumps. Removing the last lines of the
/// newest file leaves no gap to find: compare `Summary.lastSeq` and `lastHash` with a
/// copy kept elsewhere, or with the next file's anchor once it exists.
public struct AuditChainVerifier {
    /// What one intact file holds.
    public struct Summary: Sendable, Equatable {
        public let file: String
        /// Lines other than the anchor.
        public let records: Int
        public let anchor: AuditAnchor.Reason
        /// The anchor's `prev`: the last hash of the file this one continues.
        public let anchorPrev: String
        public let firstSeq: UInt64
        public let lastSeq: UInt64
        /// Hex SHA-256 of the last line: the next file's anchor must name it.
        public let lastHash: String
    }

    /// The end of the last file verified.
    private var previous: (file: String, chain: AuditChain)?

    public init() {}

    /// Verifies the next file of the sequence, reading it in chunks.
    public mutating func verify(fileAt path: String) throws(AuditChainBreak) -> Summary {
        let unreadable = { (error: AuditIOError) in
            AuditChainBreak(file: path, line: 0, kind: .unreadable, message: error.message)
        }
        let fd: Int32
        do throws(AuditIOError) { fd = try POSIXFile.openForReading(path) } catch { throw unreadable(error) }
        defer { POSIXFile.closeQuietly(fd) }
        var check = FileCheck(file: path, previous: previous)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count: Int
            do throws(AuditIOError) { count = try POSIXFile.readChunk(fd, into: &buffer, path: path) } catch { throw unreadable(error) }
            if count == 0 { break }
            try check.consume(buffer[0..<count])
        }
        return try finish(check)
    }

    /// Verifies the next file of the sequence from its contents.
    public mutating func verify(_ contents: [UInt8], file: String) throws(AuditChainBreak) -> Summary {
        var check = FileCheck(file: file, previous: previous)
        try check.consume(contents[...])
        return try finish(check)
    }

    private mutating func finish(_ check: FileCheck) throws(AuditChainBreak) -> Summary {
        var check = check
        let summary = try check.finish()
        previous = (summary.file, AuditChain(lastHash: summary.lastHash, nextSeq: summary.lastSeq + 1))
        return summary
    }
}

/// The checks over one file.
private struct FileCheck {
    let file: String
    let previous: (file: String, chain: AuditChain)?
    private var pending: [UInt8] = []
    private var lineNumber = 0
    /// The chain after the last line checked.
    private var chain = AuditChain()
    private var anchor: AuditAnchor?
    private var firstSeq: UInt64 = 0

    init(file: String, previous: (file: String, chain: AuditChain)?) {
        self.file = file
        self.previous = previous
    }

    mutating func consume(_ bytes: ArraySlice<UInt8>) throws(AuditChainBreak) {
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            pending.append(contentsOf: bytes[start..<newline])
            try check(pending)
            pending.removeAll(keepingCapacity: true)
            start = newline + 1
        }
        pending.append(contentsOf: bytes[start...])
    }

    mutating func finish() throws(AuditChainBreak) -> AuditChainVerifier.Summary {
        if !pending.isEmpty {
            throw failure(lineNumber + 1, .truncated, "the last line does not end with a newline: its write was cut off")
        }
        guard let anchor, let anchorPrev = anchor.prev else {
            throw failure(0, .schema, "the file is empty: an audit file starts with an anchor line")
        }
        return AuditChainVerifier.Summary(
            file: file, records: lineNumber - 1, anchor: anchor.anchor, anchorPrev: anchorPrev,
            firstSeq: firstSeq, lastSeq: chain.nextSeq - 1, lastHash: chain.lastHash)
    }

    private mutating func check(_ line: [UInt8]) throws(AuditChainBreak) {
        lineNumber += 1
        let number = lineNumber
        let fields: AuditLineFields = try decode(line, number: number)
        guard let schema = fields.schema else { throw failure(number, .schema, "the line has no 'schema' field") }
        guard schema == AuditRecord.currentSchema else {
            throw failure(number, .schema, "schema \(schema) is not one this obsgate reads (\(AuditRecord.currentSchema))")
        }
        guard fields.hash != nil else { throw failure(number, .schema, "the line has no 'hash' field") }
        guard AuditLineHash.selfHashMatches(line) else {
            throw failure(number, .hashMismatch, "the line's hash does not match its content: the line was altered")
        }
        guard let seq = fields.seq, let prev = fields.prev else {
            throw failure(number, .schema, "the line has no '\(fields.seq == nil ? "seq" : "prev")' field")
        }
        if number == 1 {
            try checkAnchor(line, seq: seq, prev: prev)
            firstSeq = seq
        } else {
            guard fields.anchor == nil else {
                throw failure(number, .schema, "an anchor may only be the first line of a file")
            }
            let _: AuditRecord = try decode(line, number: number)
            try checkLink(number: number, seq: seq, prev: prev, expected: chain, after: "line \(number - 1)")
        }
        chain = AuditChain(lastHash: AuditLineHash.hex(of: line), nextSeq: seq + 1)
    }

    private mutating func checkAnchor(_ line: [UInt8], seq: UInt64, prev: String) throws(AuditChainBreak) {
        let anchor: AuditAnchor
        do {
            anchor = try JSONDecoder().decode(AuditAnchor.self, from: Data(line))
        } catch {
            throw failure(1, .schema, "the first line of a file must be an anchor (\(Self.describe(error)))")
        }
        self.anchor = anchor
        if anchor.anchor == .newChain {
            guard prev == AuditChain.genesis, seq == 0 else {
                throw failure(1, .schema, "a new-chain anchor must have seq 0 and prev 0…0")
            }
        } else if let previous {
            try checkLink(number: 1, seq: seq, prev: prev, expected: previous.chain, after: "the last line of \(previous.file)")
        }
    }

    private func checkLink(number: Int, seq: UInt64, prev: String, expected: AuditChain,
                           after predecessor: String) throws(AuditChainBreak) {
        if seq > expected.nextSeq {
            let gap = seq - expected.nextSeq
            throw failure(number, .missingLine,
                          "expected seq \(expected.nextSeq) after \(predecessor), found \(seq): \(gap) line\(gap == 1 ? " is" : "s are") missing")
        }
        if seq < expected.nextSeq {
            throw failure(number, .outOfOrder,
                          "expected seq \(expected.nextSeq) after \(predecessor), found \(seq): a line was moved or repeated")
        }
        guard prev == expected.lastHash else {
            throw failure(number, .hashMismatch, "'prev' is not the hash of \(predecessor)")
        }
    }

    private func decode<T: Decodable>(_ line: [UInt8], number: Int) throws(AuditChainBreak) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(line))
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw failure(number, .badJSON, "the line is not valid JSON")
        } catch {
            throw failure(number, .schema, Self.describe(error))
        }
    }

    private static func describe(_ error: any Error) -> String {
        let path = { (context: DecodingError.Context) in
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            let parent = path(context)
            return "missing field '\(parent.isEmpty ? key.stringValue : "\(parent).\(key.stringValue)")'"
        case .typeMismatch(let type, let context)?, .valueNotFound(let type, let context)?:
            let field = path(context)
            return field.isEmpty ? "a line must be a JSON object" : "field '\(field)' is not a valid \(type)"
        case .dataCorrupted(let context)?:
            return "field '\(path(context))': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private func failure(_ line: Int, _ kind: AuditChainBreak.Kind, _ message: String) -> AuditChainBreak {
        AuditChainBreak(file: file, line: line, kind: kind, message: message)
    }
}
