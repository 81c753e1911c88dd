import Foundation
import Testing
@testable import Audit

private func verify(_ bytes: [UInt8], file: String = "audit.log") -> Result<AuditChainVerifier.Summary, AuditChainBreak> {
    var verifier = AuditChainVerifier()
    do throws(AuditChainBreak) {
        return .success(try verifier.verify(bytes, file: file))
    } catch {
        return .failure(error)
    }
}

private func failure(_ bytes: [UInt8]) -> AuditChainBreak? {
    if case .failure(let failure) = verify(bytes) { return failure }
    return nil
}

/// Another byte in place of `byte`: a neighbouring digit, letter or hex digit where
/// there is one (so the JSON stays valid and only the hashes can tell), else one bit flipped.
private func plausibleReplacement(for byte: UInt8) -> UInt8 {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "8"), UInt8(ascii: "a")...UInt8(ascii: "y"), UInt8(ascii: "A")...UInt8(ascii: "Y"):
        byte + 1
    case UInt8(ascii: "9"), UInt8(ascii: "z"), UInt8(ascii: "Z"):
        byte - 1
    default:
        byte ^ 0x01
    }
}

@Suite("AuditChainVerifier")
struct AuditChainVerifierTests {
    @Test func anIntactChainVerifies() throws {
        var chain = AuditChain()
        let file = try sealedFile(records: 5, chain: &chain)
        let summary = try verify(file).get()
        #expect(summary == AuditChainVerifier.Summary(
            file: "audit.log", records: 5, anchor: .newChain, anchorPrev: AuditChain.genesis,
            firstSeq: 0, lastSeq: 5, lastHash: chain.lastHash))
    }

    @Test func anAnchorAloneVerifies() throws {
        var chain = AuditChain()
        #expect(try verify(try sealedFile(records: 0, chain: &chain)).get().records == 0)
    }

    /// Every byte of every line, changed two ways: the failure names that byte's line.
    @Test func anyChangedByteFailsOnItsLine() throws {
        var chain = AuditChain()
        let file = try sealedFile(records: 3, chain: &chain)
        var lineOf: [Int] = []
        var line = 1
        for byte in file {
            lineOf.append(line)
            if byte == UInt8(ascii: "\n") { line += 1 }
        }
        var misses: [String] = []
        for index in file.indices {
            for replacement in Set([plausibleReplacement(for: file[index]), file[index] ^ 0x01]) {
                var changed = file
                changed[index] = replacement
                let found = failure(changed)
                if found?.line != lineOf[index] {
                    misses.append("byte \(index) → \(replacement): \(found.map(String.init(describing:)) ?? "verified")")
                }
            }
        }
        #expect(misses.isEmpty, "\(misses.prefix(10))")
    }

    @Test func aChangedHashDigitIsAHashMismatch() throws {
        var chain = AuditChain()
        var lines = lines(of: try sealedFile(records: 3, chain: &chain))
        let text = String(decoding: lines[2], as: UTF8.self)
        lines[2] = Array(text.replacingOccurrences(of: "\"status\":200", with: "\"status\":201").utf8)
        let found = try #require(failure(joined(lines)))
        #expect(found.line == 3 && found.kind == .hashMismatch)
        #expect(found.description == "audit.log:3: error: hash mismatch: the line's hash does not match its content: the line was altered")
    }

    @Test(arguments: [2, 3, 4])
    func aRemovedLineFailsWhereTheGapIs(removed: Int) throws {
        var chain = AuditChain()
        var lines = lines(of: try sealedFile(records: 4, chain: &chain))
        lines.remove(at: removed - 1)
        let found = try #require(failure(joined(lines)))
        #expect(found.line == removed && found.kind == .missingLine)
        #expect(found.message.contains("expected seq \(removed - 1)") && found.message.contains("1 line is missing"))
    }

    @Test func removingTheAnchorFailsOnTheFirstLine() throws {
        var chain = AuditChain()
        let lines = lines(of: try sealedFile(records: 2, chain: &chain))
        let found = try #require(failure(joined(Array(lines.dropFirst()))))
        #expect(found.line == 1 && found.kind == .schema)
        #expect(found.message.hasPrefix("the first line of a file must be an anchor"))
    }

    /// The last line has no successor to vouch for it: removing it leaves a shorter chain
    /// that verifies, and only the kept last hash or the next file's anchor shows it.
    @Test func removingTheLastLineShowsOnlyInTheSummary() throws {
        var chain = AuditChain()
        let lines = lines(of: try sealedFile(records: 3, chain: &chain))
        let summary = try verify(joined(Array(lines.dropLast()))).get()
        #expect(summary.lastSeq == 2 && summary.lastHash != chain.lastHash)
    }

    @Test(arguments: [(2, 3), (3, 4), (2, 4)])
    func reorderedLinesFailOnTheFirstMovedLine(first: Int, second: Int) throws {
        var chain = AuditChain()
        var lines = lines(of: try sealedFile(records: 3, chain: &chain))
        lines.swapAt(first - 1, second - 1)
        let found = try #require(failure(joined(lines)))
        #expect(found.line == first && found.kind == .missingLine)
    }

    @Test func aRepeatedLineIsOutOfOrder() throws {
        var chain = AuditChain()
        var lines = lines(of: try sealedFile(records: 3, chain: &chain))
        lines.insert(lines[2], at: 3)
        let found = try #require(failure(joined(lines)))
        #expect(found.line == 4 && found.kind == .outOfOrder)
    }

    @Test func aCutOffLastLineIsTruncated() throws {
        var chain = AuditChain()
        let file = try sealedFile(records: 2, chain: &chain)
        for cut in [1, 40] {
            let found = try #require(failure(Array(file.dropLast(cut))))
            #expect(found.line == 3 && found.kind == .truncated)
        }
    }

    @Test func anEmptyFileFails() throws {
        let found = try #require(failure([]))
        #expect(found.line == 0 && found.kind == .schema)
        #expect(found.description == "audit.log: error: schema: the file is empty: an audit file starts with an anchor line")
    }

    @Test func anAnchorInsideAFileFails() throws {
        var chain = AuditChain()
        var file = try sealedFile(records: 1, chain: &chain)
        file += try chain.seal(AuditAnchor(.reopen, time: june1)) + [UInt8(ascii: "\n")]
        let found = try #require(failure(file))
        #expect(found.line == 3 && found.kind == .schema)
    }

    @Test func aNewChainAnchorMustStartFromZero() throws {
        var chain = AuditChain(lastHash: String(repeating: "1", count: 64), nextSeq: 7)
        let found = try #require(failure(try sealedFile(records: 1, chain: &chain)))
        #expect(found.line == 1 && found.kind == .schema)
    }

    @Test(arguments: [
        (#"{"schema":2}"#, AuditChainBreak.Kind.schema, "schema 2 is not one this obsgate reads (1)"),
        (#"{"seq":1}"#, .schema, "the line has no 'schema' field"),
        (#"[1,2]"#, .schema, "a line must be a JSON object"),
        (#"{"schema":"1"}"#, .schema, "field 'schema' is not a valid Int"),
        (#"{"schema":1,"seq":0}"#, .schema, "the line has no 'hash' field"),
        (#"not json"#, .badJSON, "the line is not valid JSON"),
        ("", .badJSON, "the line is not valid JSON"),
    ])
    func malformedLines(line: String, kind: AuditChainBreak.Kind, message: String) {
        let found = failure(Array(line.utf8) + [UInt8(ascii: "\n")])
        #expect(found == AuditChainBreak(file: "audit.log", line: 1, kind: kind, message: message))
    }

    /// A record line that is sealed correctly but lacks a required record field.
    @Test func aSealedLineWithoutARecordFieldIsASchemaError() throws {
        struct Partial: Encodable {
            var schema = 1, seq: UInt64 = 1, prev = "", hash = AuditChain.genesis, time = "2025-06-01T12:00:00.000Z"
        }
        var chain = AuditChain()
        var file = try sealedFile(records: 0, chain: &chain)
        var partial = Partial()
        partial.prev = chain.lastHash
        var line = try CanonicalJSONWriterTests.referenceJSON(partial)
        let range = try #require(AuditLineHash.hashValueRange(in: line))
        line.replaceSubrange(range, with: Array(AuditLineHash.hex(of: line).utf8))
        file += line + [UInt8(ascii: "\n")]
        let found = try #require(failure(file))
        #expect(found.line == 2 && found.kind == .schema && found.message.hasPrefix("missing field"))
    }
}

@Suite("AuditChainVerifier across files")
struct AuditChainVerifierFileSequenceTests {
    /// Three files as rotation leaves them: each anchor continues the file before.
    private func rotatedFiles() throws -> [[UInt8]] {
        var chain = AuditChain()
        return [try sealedFile(records: 2, chain: &chain),
                try sealedFile(records: 3, chain: &chain, anchor: .rotation),
                try sealedFile(records: 1, chain: &chain, anchor: .rotation)]
    }

    @Test func filesGivenInOrderVerify() throws {
        var verifier = AuditChainVerifier()
        let files = try rotatedFiles()
        var summaries: [AuditChainVerifier.Summary] = []
        for (index, file) in files.enumerated() {
            summaries.append(try verifier.verify(file, file: "audit.log.\(2 - index)"))
        }
        #expect(summaries.map(\.firstSeq) == [0, 3, 7])
        #expect(summaries.map(\.lastSeq) == [2, 6, 8])
        #expect(summaries[1].anchorPrev == summaries[0].lastHash)
        #expect(summaries[2].anchor == .rotation)
    }

    /// Alone, a rotated file's anchor cannot be checked against its predecessor: it
    /// verifies and says what it claims to follow.
    @Test func aRotatedFileAloneVerifies() throws {
        var verifier = AuditChainVerifier()
        let files = try rotatedFiles()
        let summary = try verifier.verify(files[1], file: "audit.log.1")
        #expect(summary.anchor == .rotation && summary.firstSeq == 3)
    }

    @Test func aMissingFileFailsOnTheNextAnchor() throws {
        var verifier = AuditChainVerifier()
        let files = try rotatedFiles()
        _ = try verifier.verify(files[0], file: "audit.log.2")
        #expect(throws: AuditChainBreak(file: "audit.log", line: 1, kind: .missingLine,
                                        message: "expected seq 3 after the last line of audit.log.2, found 7: 4 lines are missing")) {
            try verifier.verify(files[2], file: "audit.log")
        }
    }

    @Test func filesNewestFirstFail() throws {
        var verifier = AuditChainVerifier()
        let files = try rotatedFiles()
        _ = try verifier.verify(files[2], file: "audit.log")
        let found = try #require(throws: AuditChainBreak.self) { try verifier.verify(files[1], file: "audit.log.1") }
        #expect(found.file == "audit.log.1" && found.line == 1 && found.kind == .outOfOrder)
    }

    @Test func anAnchorNamingAnotherHashFails() throws {
        var other = AuditChain(lastHash: String(repeating: "f", count: 64), nextSeq: 3)
        let stranger = try sealedFile(records: 1, chain: &other, anchor: .rotation)
        var verifier = AuditChainVerifier()
        _ = try verifier.verify(try rotatedFiles()[0], file: "audit.log.1")
        #expect(throws: AuditChainBreak(file: "audit.log", line: 1, kind: .hashMismatch,
                                        message: "'prev' is not the hash of the last line of audit.log.1")) {
            try verifier.verify(stranger, file: "audit.log")
        }
    }

    /// A new chain (a fresh start) may follow any file.
    @Test func aNewChainMayFollow() throws {
        var verifier = AuditChainVerifier()
        _ = try verifier.verify(try rotatedFiles()[0], file: "a")
        var fresh = AuditChain()
        #expect(try verifier.verify(try sealedFile(records: 1, chain: &fresh), file: "b").anchor == .newChain)
    }

    @Test func filesAreReadFromDisk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let files = try rotatedFiles()
        for (index, file) in files.enumerated() {
            #expect(FileManager.default.createFile(atPath: directory.file("audit.log.\(2 - index)"), contents: Data(file)))
        }
        var verifier = AuditChainVerifier()
        for index in [2, 1, 0] { _ = try verifier.verify(fileAt: directory.file("audit.log.\(index)")) }
        var other = AuditChainVerifier()
        let found = try #require(throws: AuditChainBreak.self) { try other.verify(fileAt: directory.file("absent")) }
        #expect(found.kind == .unreadable && found.line == 0)
        #expect(found.description == directory.file("absent") + ": error: unreadable: cannot open: No such file or directory")
    }
}
