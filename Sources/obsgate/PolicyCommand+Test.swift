import ArgumentParser
import Foundation
import Policy
import YAMLConfig

extension PolicyCommand {
    /// `obsgate policy test FILE...`: the cases of each policy test file against its policy.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run policy unit tests: requests and the decisions their policy must reach.",
            discussion: """
                Each FILE is a policy test file (docs/policy.md, "Testing a policy"): the policy \
                it tests and its cases; or a policy, whose test file is tests/NAME.test.yaml or \
                NAME.test.yaml next to it. A failing case is printed as file:line: FAIL name: \
                what differs; the last line sums up.

                Examples:
                  obsgate policy test policies/*.yaml
                  obsgate policy test policies/tests/*.test.yaml

                Exit status: 0 when every case passes, 1 when one fails, 2 when a test file or \
                its policy cannot be read.
                """)

        @Flag(name: .long, help: "TLS ends in front of the gateway: do not require TLS for SSE-C.")
        var noRequireTLSForSSEC = false

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        @Argument(help: "Policy test files, or policies (their test files are found next to them).")
        var files: [String]

        /// The test file of FILE: FILE itself when it is one (`*.test.yaml`), otherwise the
        /// policy's: `tests/NAME.test.yaml` or `NAME.test.yaml` in its folder.
        static func testFile(for file: String) throws(ConfigError) -> String {
            guard !file.hasSuffix(".test.yaml"), !file.hasSuffix(".test.yml") else { return file }
            let url = URL(fileURLWithPath: file)
            let name = url.deletingPathExtension().lastPathComponent + ".test.yaml"
            let folder = url.deletingLastPathComponent()
            let candidates = [folder.appendingPathComponent("tests").appendingPathComponent(name), folder.appendingPathComponent(name)]
            if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found.relativePath }
            throw ConfigError(file: file, line: 1, column: 1,
                              message: "no test file for this policy: looked for \(candidates.map(\.relativePath).joined(separator: " and "))")
        }

        func run() throws {
            var reports: [FileReport] = []
            var unreadable = false
            for file in files {
                do throws(ConfigError) {
                    let suite = try PolicyTestSuite.load(path: try Self.testFile(for: file))
                    let policy = try UploadPolicy.load(path: suite.policyPath)
                    reports.append(FileReport(suite: suite, policy: policy, requireTLSForSSEC: !noRequireTLSForSSEC))
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    unreadable = true
                }
            }
            let passed = reports.reduce(0) { $0 + $1.cases.filter(\.passed).count }
            let failed = reports.reduce(0) { $0 + $1.cases.filter { !$0.passed }.count }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let summary = Summary(files: reports, passed: passed, failed: failed, unreadable: unreadable)
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                for report in reports {
                    for outcome in report.cases where !outcome.passed {
                        print("\(report.file):\(outcome.line): FAIL \(outcome.name): \(outcome.failures.joined(separator: "; "))")
                    }
                }
                print("policy test: \(passed) passed, \(failed) failed (\(reports.count) of \(files.count) files read)")
            }
            if unreadable { throw ExitCode(2) }
            if failed > 0 { throw ExitCode(1) }
        }

        struct FileReport: Encodable {
            let file: String
            let policy: String
            let policyVersion: String
            let cases: [CaseOutcome]

            init(suite: PolicyTestSuite, policy: UploadPolicy, requireTLSForSSEC: Bool) {
                file = suite.file
                self.policy = suite.policyPath
                policyVersion = policy.version
                cases = suite.cases.map { testCase in
                    let result = testCase.evaluate(policy, requireTLSForSSEC: requireTLSForSSEC)
                    let failures = testCase.failures(of: result)
                    return CaseOutcome(name: testCase.name, line: testCase.line, result: result, failures: failures,
                                       passed: failures.isEmpty)
                }
            }

            private enum CodingKeys: String, CodingKey {
                case file, policy, policyVersion = "policy_version", cases
            }
        }

        struct CaseOutcome: Encodable {
            let name: String
            let line: Int
            let result: PolicyTestResult
            let failures: [String]
            let passed: Bool
        }

        struct Summary: Encodable {
            let files: [FileReport]
            let passed: Int
            let failed: Int
            let unreadable: Bool
        }
    }

    /// `obsgate policy diff OLD NEW --cases FILE`: the cases whose decision a policy change
    /// changes — the review step before a reload.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which requests of a policy test file change decision between two policies.",
            discussion: """
                The cases' requests (their expectations are not read) are decided by OLD and by \
                NEW; each case whose decision, denying rule, error or changes differ is printed \
                as file:line: name, then its decision under each policy.

                Example:
                  obsgate policy diff policies/encryption.yaml /tmp/encryption-next.yaml \\
                    --cases policies/tests/encryption.test.yaml

                Exit status: 0 when no case changes, 1 when one does, 2 when a file cannot be read.
                """)

        @Option(name: .long, help: "A policy test file whose requests are decided (repeatable).")
        var cases: [String]

        @Flag(name: .long, help: "TLS ends in front of the gateway: do not require TLS for SSE-C.")
        var noRequireTLSForSSEC = false

        @Argument(help: "The policy in force.")
        var old: String

        @Argument(help: "The policy to compare it with.")
        var new: String

        func run() throws {
            let suites: [PolicyTestSuite]
            let before: UploadPolicy, after: UploadPolicy
            do throws(ConfigError) {
                before = try UploadPolicy.load(path: old)
                after = try UploadPolicy.load(path: new)
                suites = try cases.map { path throws(ConfigError) in try PolicyTestSuite.load(path: path) }
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
            var changed = 0, total = 0
            for suite in suites {
                for testCase in suite.cases {
                    total += 1
                    let was = testCase.evaluate(before, requireTLSForSSEC: !noRequireTLSForSSEC)
                    let becomes = testCase.evaluate(after, requireTLSForSSEC: !noRequireTLSForSSEC)
                    guard was != becomes else { continue }
                    changed += 1
                    print("\(suite.file):\(testCase.line): \(testCase.name)\n  old: \(was.summary)\n  new: \(becomes.summary)")
                }
            }
            print("policy diff: \(changed) of \(total) cases change decision")
            if changed > 0 { throw ExitCode(1) }
        }
    }
}
