import Foundation
import Policy
import Testing
@testable import Gateway

/// Issue 15: multipart upload ids bound to their initiation, against radosgw, through three
/// gateways — two sharing the binding key k1 (replicas), one rotated to [k2, k1] — with two
/// principals: `tester`, who may not list the parts of uploads under `hidden/` (so listings
/// hide them from it), and `platform`, whom an access rule lets use others' uploads only
/// under `stale/`. Every refusal is judged by what radosgw holds afterwards; see
/// Clients/upload_binding_scenarios.py.
@Suite(.serialized) struct UploadBindingTests {
    static let policyText = """
        version: 1
        access:
          - id: everyone-manages-buckets
            operations: [bucket-create-delete]
            effect: allow
          - id: admins-clean-stale-uploads
            groups: [platform-admins]
            operations: [others-uploads]
            keys: {prefix: "stale/"}
            effect: allow
          - id: tester-lists-no-hidden
            principals: [tester]
            operations: [ListParts]
            keys: {prefix: "hidden/"}
            effect: deny
        """

    static func binding(_ keys: [String]) -> String {
        let secrets = ["k1": "first-binding-key-0123456789abcdef", "k2": "second-binding-key-0123456789abcdef"]
        return "upload_binding:\n  keys:\n" + keys.map { "    - {id: \($0), secret: \"\(secrets[$0]!)\"}\n" }.joined()
            + "sse_c_requires_tls: false\n"
    }

    @Test func uploadsAreBoundToTheirInitiation() async throws {
        let rgw = try Peers.radosgw()
        let policy = try UploadPolicy.parse(Self.policyText, file: "binding-policy.yaml")
        func gateway(_ keys: [String]) async throws -> LiveGateway {
            try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey, upstreamSecret: rgw.secretKey, watchingForLeaks: true,
                                        extra: Self.binding(keys), policy: policy)
        }
        let first = try await gateway(["k1"]), second = try await gateway(["k1"]), rotated = try await gateway(["k2", "k1"])
        try Peers.expectScenariosPass("upload_binding_scenarios.py", [
            "--endpoint", first.endpoint, "--endpoint-2", second.endpoint, "--endpoint-rotated", rotated.endpoint,
            "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--other-access-key", TestSetup.adminKey, "--other-secret", TestSetup.adminSecret,
            "--upstream-endpoint", rgw.endpoint, "--upstream-access-key", rgw.accessKey, "--upstream-secret", rgw.secretKey,
        ], count: 10, timeout: 300)
        for gateway in [first, second, rotated] { await gateway.stop() }
    }
}
