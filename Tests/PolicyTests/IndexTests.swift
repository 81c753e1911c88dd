@testable import Policy
import S3Core
import Testing

/// Evaluation is indexed by literal bucket: rules for other buckets cost nothing.
@Suite struct IndexTests {
    static let rules: String = {
        var text = "version: 1\nrules:\n"
        for index in 0..<10_000 {
            text += "  - id: r\(index)\n    match: {buckets: [bucket-\(index)], keys: {prefix: p\(index % 7)/}}\n    storage_class: {default: WARM}\n"
        }
        text += "  - id: glob\n    match: {buckets: [\"team-*\"]}\n    storage_class: {deny: [COLD]}\n"
        text += "  - id: everywhere\n    acl: {allow_canned: [private]}\n"
        return text
    }()

    @Test func candidatesAreTheBucketsOwnRulesPlusGlobAndAnyBucketRules() throws {
        let loaded = try UploadPolicy.parse(Self.rules, file: "big.yaml")
        #expect(loaded.ruleIds.count == 10_002)
        #expect(loaded.candidates(for: "bucket-9999") == [9999, 10_000, 10_001])
        #expect(loaded.candidates(for: "unrelated") == [10_000, 10_001])
        #expect(loaded.candidates(for: nil) == [10_001])

        let decision = loaded.evaluate(makeRequest(.putObject, bucket: "bucket-9999", key: "p3/x"))
        #expect(decision.matchedRules == ["r9999", "everywhere"])
        #expect(decision.mutations == [.set(name: "x-amz-storage-class", value: "STANDARD_IA")])
        #expect(loaded.evaluate(makeRequest(.putObject, bucket: "bucket-9999", key: "p4/x")).matchedRules == ["everywhere"])
    }

    @Test func aRuleWithLiteralAndGlobBucketsIsOneCandidate() throws {
        let loaded = try policy(rules: "  - id: both\n    match: {buckets: [finance, \"fin*\"]}\n    storage_class: {deny: [COLD]}\n")
        #expect(loaded.candidates(for: "finance") == [0])
        #expect(loaded.candidates(for: "fin-eu") == [0])
    }
}
