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
    @Test func aScriptedSessionLeavesOneVerifiableRecordPerRequest() throws {
        let rgw = try Peers.radosgw()
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("audit-session-\(UUID().uuidString).yaml")
        try PolicyEnforcementTests.policyText.write(to: policy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: policy) }
        try Peers.expectScenariosPass("audit_session.py", [
            "--obsgate", ServeProcessTests.binary,
            "--rgw-endpoint", rgw.endpoint, "--rgw-access-key", rgw.accessKey, "--rgw-secret", rgw.secretKey,
            "--policy", policy.path,
        ], count: 11, timeout: 300)
    }
}
