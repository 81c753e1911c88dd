import Foundation
import TestSupport
import Testing

/// The real peers the suite runs against, started by `scripts/test` (through
/// `scripts/peers.sh`) before `swift test`. A test that needs a peer that is not running
/// fails with the command that starts it: it never skips.
enum Peers {
    struct Radosgw {
        let endpoint: String
        let accessKey = "0555b35654ad1656d804"
        let secretKey = "h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=="
    }

    struct PeerMissing: Error, CustomStringConvertible {
        let description: String
    }

    static func radosgw() throws -> Radosgw {
        guard let endpoint = ProcessInfo.processInfo.environment["OBSGATE_RGW_ENDPOINT"] else {
            throw PeerMissing(description: "radosgw is not running: run scripts/test, or `bash scripts/peers.sh start-rgw` and export OBSGATE_RGW_ENDPOINT=http://127.0.0.1:8000")
        }
        return Radosgw(endpoint: endpoint)
    }

    /// Runs a program to completion with a time limit; returns its exit status and output
    /// (standard output, then standard error).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 600) throws -> (status: Int32, output: String) {
        let result = try runProcess(arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                    timeout: timeout)
        return (result.status, result.stdout + result.stderr + (result.timedOut ? "\n(timed out after \(Int(timeout)) s)" : ""))
    }

    static let clientsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Clients")

    /// What a scenario script of Clients/ writes with `--out`.
    struct ScenarioResults: Decodable {
        struct Scenario: Decodable {
            let name: String
            let client: String?
            let ok: Bool
            let detail: String
        }
        let scenarios: [Scenario]
        let gatewayLogTail: String?

        enum CodingKeys: String, CodingKey {
            case scenarios
            case gatewayLogTail = "gateway_log_tail"
        }
    }

    /// Runs a scenario script of Clients/ with `arguments` and `--out`, and expects exactly
    /// `count` scenarios (one that is no longer registered never reports a failure), each
    /// ok, and exit status 0. Returns the results for checks of their own.
    @discardableResult
    static func expectScenariosPass(_ script: String, _ arguments: [String], count: Int, timeout: TimeInterval,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ScenarioResults {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(script)-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try run(["python3", clientsDirectory.appendingPathComponent(script).path] + arguments + ["--out", out.path],
                          timeout: timeout)
        let data = try #require(try? Data(contentsOf: out), "\(script) wrote no results:\n\(run.output.suffix(3000))",
                                sourceLocation: sourceLocation)
        let results = try JSONDecoder().decode(ScenarioResults.self, from: data)
        let log = results.gatewayLogTail.map { "\n--- gateway log (tail) ---\n\($0)" } ?? ""
        #expect(results.scenarios.count == count, "\(script) ran \(results.scenarios.map(\.name)):\n\(run.output.suffix(3000))",
                sourceLocation: sourceLocation)
        for scenario in results.scenarios {
            #expect(scenario.ok, "\(scenario.client.map { "\($0) " } ?? "")\(scenario.name): \(scenario.detail)\(log)",
                    sourceLocation: sourceLocation)
        }
        #expect(run.status == 0, "\(run.output.suffix(3000))", sourceLocation: sourceLocation)
        return results
    }
}
