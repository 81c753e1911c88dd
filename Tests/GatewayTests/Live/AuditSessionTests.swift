import Foundation
import Testing

/// The acceptance test of the audit trail (issue 6): `obsgate serve` as a process (as user
/// nobody when the tests run as root) with `audit: {flush: per-record, fail_closed: true}`,
/// in front of Ceph radosgw through a relay the script can stop. A scripted boto3 session of
/// allowed, mutated, denied, refused, failed (upstream stopped) and aborted requests, with the
/// audit directory made read-only for a while; then the audit file has exactly one record
/// per request as the client saw it, the upload ids boto3 received, none of the secrets used;
/// `/metrics` parses with prometheus_client and agrees with the file; `obsgate audit verify`
/// passes, and names the right line once a byte is changed or a line removed. See
/// Clients/audit_session.py for the scenarios.
@Suite(.serialized) struct AuditSessionTests {
    struct Results: Decodable {
        struct Scenario: Decodable {
            let name: String
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

    @Test func aScriptedSessionLeavesOneVerifiableRecordPerRequest() throws {
        let rgw = try Peers.radosgw()
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("audit-session-\(UUID().uuidString).json")
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("audit-session-\(UUID().uuidString).yaml")
        try PolicyEnforcementTests.policyText.write(to: policy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: policy) }
        let run = try Peers.run([
            "python3", Peers.clientsDirectory.appendingPathComponent("audit_session.py").path,
            "--obsgate", ServeProcessTests.binary,
            "--rgw-endpoint", rgw.endpoint, "--rgw-access-key", rgw.accessKey, "--rgw-secret", rgw.secretKey,
            "--policy", policy.path, "--out", results.path,
        ], timeout: 300)
        let data = try #require(try? Data(contentsOf: results), "no results written:\n\(run.output.suffix(3000))")
        let decoded = try JSONDecoder().decode(Results.self, from: data)
        let log = decoded.gatewayLogTail.map { "\n--- gateway log (tail) ---\n\($0)" } ?? ""
        #expect(decoded.scenarios.count == 11, "\(run.output.suffix(3000))")
        for scenario in decoded.scenarios {
            #expect(scenario.ok, "\(scenario.name): \(scenario.detail)\(log)")
        }
        #expect(run.status == 0, "\(run.output.suffix(3000))")
    }
}
