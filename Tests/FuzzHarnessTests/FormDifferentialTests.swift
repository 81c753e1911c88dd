import Foundation
import FuzzHarness
import TestSupport
import Testing

/// The forms differential (fuzz/differential/forms.py, docs/fuzzing.md): Python generates
/// random browser form bodies, the gateway reads each one (FormVerdicts: the parser, and
/// for a form that verifies, the body rewritten for the store), and Python's three
/// multipart parsers read the same bodies. A reference that reads a form the gateway
/// accepted — or the body it sent upstream — differently is a disagreement, and fails
/// the test with the form that showed it.
///
/// CI runs a fixed seed; a longer run takes `OBSGATE_FORMS_DIFFERENTIAL_COUNT` and
/// `OBSGATE_FORMS_DIFFERENTIAL_SEED`, and `OBSGATE_FORMS_DIFFERENTIAL_DIR` keeps the cases
/// and answers there (to run `forms.py compare` on them again).
@Suite struct FormDifferentialTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // the repository
        .appendingPathComponent("fuzz/differential/forms.py")

    @Test func pythonsParsersReadEveryFormTheGatewayAcceptsAsItDoes() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["OBSGATE_FORMS_DIFFERENTIAL_COUNT"] ?? "3000"
        let seed = environment["OBSGATE_FORMS_DIFFERENTIAL_SEED"] ?? "20261204"
        let python = environment["OBSGATE_PYTHON"] ?? "python3"
        let kept = environment["OBSGATE_FORMS_DIFFERENTIAL_DIR"]
        let folder = kept.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-forms-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { if kept == nil { try? FileManager.default.removeItem(at: folder) } }
        let cases = folder.appendingPathComponent("cases.jsonl"), answers = folder.appendingPathComponent("answers.jsonl")

        let generated = try runProcess([python, Self.script.path, "generate", "--seed", seed, "--count", count, cases.path])
        try #require(generated.status == 0, "forms.py generate exited with \(generated.status) (run scripts/install-test-deps.sh): \(generated.stderr.suffix(2000))")
        let lines = try Data(contentsOf: cases).split(separator: UInt8(ascii: "\n"))
        let answered = lines.map { FormVerdicts.verdict(forJSONLine: $0) }.joined(separator: "\n") + "\n"
        try Data(answered.utf8).write(to: answers)

        let compared = try runProcess([python, Self.script.path, "compare", cases.path, answers.path])
        print(compared.stdout.suffix(1000))
        #expect(compared.status == 0 && !compared.timedOut,
                "seed \(seed): \(compared.stdout.suffix(8000))\(compared.stderr.suffix(2000))")
    }
}
