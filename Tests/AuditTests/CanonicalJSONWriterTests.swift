import Foundation
import Testing
import TestSupport
@testable import Audit

/// The hand-written canonical JSON of the audit lines against `JSONEncoder` with the
/// options the audit trail used before it (`.sortedKeys`, `.withoutEscapingSlashes`): the
/// same bytes for every record and anchor, whatever their strings hold.
@Suite struct CanonicalJSONWriterTests {
    static func referenceJSON(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    /// Every byte below 0x80 (controls, quote, backslash, slash, DEL), and characters of two,
    /// three and four UTF-8 bytes, the line separators JavaScript minds included.
    static let characters: [Character] = (0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }
        + ["é", "€", "中", "😀", "\u{2028}", "\u{2029}", "\u{FEFF}"]

    static func text(_ random: inout SplitMix) -> String {
        String((0..<Int.random(in: 0...12, using: &random)).map { _ in characters.randomElement(using: &random)! })
    }

    static func mutations(_ random: inout SplitMix) -> [AuditMutation] {
        (0..<Int.random(in: 0...3, using: &random)).map { _ in
            AuditMutation(action: Bool.random(using: &random) ? .set : .remove, name: text(&random),
                          value: Bool.random(using: &random) ? text(&random) : nil)
        }
    }

    static func record(_ random: inout SplitMix) -> AuditRecord {
        var record = AuditRecord(time: AuditTimestamp(millisecondsSince1970: Int64.random(in: 0...4_102_444_800_000, using: &random)),
                                 requestId: text(&random), method: text(&random), operation: text(&random),
                                 decision: AuditDecision.allCases.randomElement(using: &random)!)
        record.upstreamRequestId = Bool.random(using: &random) ? text(&random) : nil
        record.clientAddress = Bool.random(using: &random) ? text(&random) : nil
        record.principal = Bool.random(using: &random) ? text(&random) : nil
        record.accessKeyId = Bool.random(using: &random) ? text(&random) : nil
        record.bucket = Bool.random(using: &random) ? text(&random) : nil
        record.key = Bool.random(using: &random) ? text(&random) : nil
        record.accessRule = Bool.random(using: &random) ? text(&random) : nil
        record.rules = (0..<Int.random(in: 0...3, using: &random)).map { _ in text(&random) }
        record.deniedBy = Bool.random(using: &random) ? text(&random) : nil
        record.refusedIn = Bool.random(using: &random) ? text(&random) : nil
        record.denyReason = Bool.random(using: &random) ? text(&random) : nil
        record.mutations = mutations(&random)
        record.wouldHave = Bool.random(using: &random) ? AuditDecision.allCases.randomElement(using: &random)! : nil
        record.wouldHaveDeniedBy = Bool.random(using: &random) ? text(&random) : nil
        record.wouldHaveMutations = Bool.random(using: &random) ? mutations(&random) : nil
        record.policyVersion = Bool.random(using: &random) ? text(&random) : nil
        if Bool.random(using: &random) {
            let pairs = (0..<Int.random(in: 0...4, using: &random)).map { _ in (text(&random), text(&random)) }
            record.headers = Dictionary(pairs) { first, _ in first }
        }
        record.status = Bool.random(using: &random) ? Int.random(in: 100...599, using: &random) : nil
        record.errorCode = Bool.random(using: &random) ? text(&random) : nil
        record.uploadId = Bool.random(using: &random) ? text(&random) : nil
        record.uploadBinding = Bool.random(using: &random) ? text(&random) : nil
        record.uploadInitiator = Bool.random(using: &random) ? text(&random) : nil
        record.suppressed = Bool.random(using: &random) ? Int.random(in: 0...Int.max, using: &random) : nil
        record.truncated = Bool.random(using: &random) ? Bool.random(using: &random) : nil
        record.bytesIn = Int64.random(in: Int64.min...Int64.max, using: &random)
        record.bytesOut = Int64.random(in: 0...Int64.max, using: &random)
        record.durationMs = Int64.random(in: 0...1_000_000, using: &random)
        record.seq = Bool.random(using: &random) ? UInt64.random(in: 0...UInt64.max, using: &random) : nil
        record.prev = Bool.random(using: &random) ? text(&random) : nil
        record.hash = Bool.random(using: &random) ? text(&random) : nil
        return record
    }

    @Test func recordsAreWrittenAsJSONEncoderWritesThem() throws {
        var random = SplitMix(state: 20_261_204)
        for _ in 0..<3000 {
            let record = Self.record(&random)
            let expected = try Self.referenceJSON(record)
            #expect(record.canonicalJSON == expected,
                    "\(String(decoding: record.canonicalJSON, as: UTF8.self))\n\(String(decoding: expected, as: UTF8.self))")
        }
        let empty = AuditRecord(time: AuditTimestamp(millisecondsSince1970: 0), requestId: "", method: "", operation: "", decision: .refused)
        #expect(empty.canonicalJSON == (try Self.referenceJSON(empty)))
    }

    @Test func anchorsAreWrittenAsJSONEncoderWritesThem() throws {
        var random = SplitMix(state: 7)
        for reason in AuditAnchor.Reason.allCases {
            var anchor = AuditAnchor(reason, time: AuditTimestamp(millisecondsSince1970: 1_748_779_200_000))
            #expect(anchor.canonicalJSON == (try Self.referenceJSON(anchor)))
            anchor.seq = UInt64.random(in: 0...UInt64.max, using: &random)
            anchor.prev = Self.text(&random)
            anchor.hash = AuditChain.genesis
            #expect(anchor.canonicalJSON == (try Self.referenceJSON(anchor)))
        }
    }
}
