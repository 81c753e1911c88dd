import Foundation
import FuzzHarness
import Synchronization
import Testing

/// Every file of fuzz/corpus/TARGET goes through its fuzz target's entry function, as a
/// regression test: the seeds and every input a fuzzer run found and was kept
/// (docs/fuzzing.md) must keep holding the target's invariants. An invariant the gateway
/// breaks is recorded as an issue naming the file, instead of ending the process as it
/// does under libFuzzer.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // the repository
        .appendingPathComponent("fuzz/corpus")

    /// The files of one target's corpus, by name.
    static func files(_ target: String) -> [String] {
        let folder = corpus.appendingPathComponent(target)
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted().map { "\(target)/\($0)" }
    }

    func replay(_ file: String) throws {
        let target = String(file.prefix { $0 != "/" })
        let entry = try #require(FuzzTargets.entries[target], "no fuzz target \(target)")
        let bytes = try Data(contentsOf: Self.corpus.appendingPathComponent(file))
        let violations = Mutex<[String]>([])
        Invariant.$reporter.withValue({ message in violations.withLock { $0.append(message) } }) {
            bytes.withUnsafeBytes { entry($0) }
        }
        for violation in violations.withLock({ $0 }) {
            Issue.record("\(file): \(violation)")
        }
    }

    @Test func everyTargetHasASeedCorpus() {
        for target in FuzzTargets.entries.keys {
            #expect(Self.files(target).count >= 5, "fuzz/corpus/\(target) has fewer than 5 files")
        }
    }

    @Test(arguments: files("signatures")) func signatures(_ file: String) throws { try replay(file) }
    @Test(arguments: files("chunked")) func chunked(_ file: String) throws { try replay(file) }
    @Test(arguments: files("classifier")) func classifier(_ file: String) throws { try replay(file) }
    @Test(arguments: files("dialect")) func dialect(_ file: String) throws { try replay(file) }
    @Test(arguments: files("policy")) func policy(_ file: String) throws { try replay(file) }
    @Test(arguments: files("form")) func form(_ file: String) throws { try replay(file) }
    @Test(arguments: files("xml")) func xml(_ file: String) throws { try replay(file) }
    @Test(arguments: files("pipeline")) func pipeline(_ file: String) throws { try replay(file) }
}
