import Foundation
import Policy
import Testing
@testable import Gateway

/// awscli, boto3 (SigV4 header and presigned, SigV2, checksum trailers, 100-continue),
/// s3cmd (v2 and v4) and rclone through the gateway in front of Ceph radosgw, with a
/// gateway-issued key that radosgw does not know. See Clients/client_matrix.py for the
/// scenarios; each one checks the bytes, listings or error codes the client saw.
@Suite(.serialized) struct RadosgwClientTests {
    struct Results: Decodable {
        struct Scenario: Decodable {
            let name: String
            let client: String?
            let ok: Bool
            let detail: String
        }
        let scenarios: [Scenario]
    }

    @Test func everyClientScenarioPassesThroughTheGateway() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey)
        defer { Task { await gateway.stop() } }
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).json")
        let run = try Peers.run([
            "python3", Peers.clientsDirectory.appendingPathComponent("client_matrix.py").path,
            "--endpoint", gateway.endpoint, "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--out", results.path,
        ], timeout: 1200)
        let decoded = try JSONDecoder().decode(Results.self, from: Data(contentsOf: results))
        #expect(decoded.scenarios.count >= 9, "too few scenarios ran:\n\(run.output.suffix(3000))")
        for client in ["awscli", "boto3", "s3cmd", "rclone"] {
            #expect(decoded.scenarios.contains { $0.client?.hasPrefix(client) ?? false }, "no \(client) scenario")
        }
        for scenario in decoded.scenarios {
            #expect(scenario.ok, "\(scenario.client ?? "") \(scenario.name): \(scenario.detail)")
        }
        #expect(run.status == 0, "\(run.output.suffix(3000))")
    }

    /// The upload policy against real SSE-KMS: an injected default key is applied by
    /// radosgw and reported on HEAD; violations are refused naming their rule.
    @Test func thePolicyIsEnforcedInFrontOfRadosgw() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey, policy: try PolicyEnforcementTests.policy())
        defer { Task { await gateway.stop() } }
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString).json")
        let run = try Peers.run([
            "python3", Peers.clientsDirectory.appendingPathComponent("policy_scenarios.py").path,
            "--endpoint", gateway.endpoint, "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--out", results.path,
        ], timeout: 300)
        let decoded = try JSONDecoder().decode(Results.self, from: Data(contentsOf: results))
        #expect(decoded.scenarios.count == 11, "\(run.output.suffix(3000))")
        for scenario in decoded.scenarios {
            #expect(scenario.ok, "\(scenario.name): \(scenario.detail)")
        }
        #expect(run.status == 0, "\(run.output.suffix(3000))")
    }
}
