import Foundation
import Policy
import Testing
@testable import Gateway

/// `/metrics` parses with the reference Prometheus text parser (prometheus_client), and
/// its counters agree with the requests that were made.
@Suite struct MetricsTests {
    /// Every sample as `name{"label": "value", …}` → value, through prometheus_client.
    static func parse(_ text: String) throws -> [String: Double] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            samples = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for sample in family.samples:
                    samples[sample.name + json.dumps(sample.labels, sort_keys=True)] = sample.value
            print(json.dumps(samples))
            """
        let run = try Peers.run(["python3", "-c", script, file.path], timeout: 60)
        guard run.status == 0, let data = run.output.split(separator: "\n").last.map({ Data($0.utf8) }) else {
            throw Peers.PeerMissing(description: "prometheus_client could not parse /metrics: \(run.output)")
        }
        return try JSONDecoder().decode([String: Double].self, from: data)
    }

    /// An unknown key and an unsigned request are counted under names no client chooses.
    @Test func denialsByPrincipalNeverUseAClientsText() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start()
        #expect(try await stack.send("GET", "/metrics-bucket/k", accessKey: "NOSUCHKEY00000000001").status == 403)
        #expect(try await TestHTTPClient.send(port: stack.gateway.port, method: "DELETE", target: "/metrics-bucket/k",
                                              headers: [("Host", "127.0.0.1:\(stack.gateway.port)")]).status == 403)
        #expect(await eventually { sample("obsgate_requests_in_flight", in: stack.gateway.server.metricsText()) == 0 })
        let text = stack.gateway.server.metricsText()
        #expect(text.contains(#"obsgate_denials_by_principal_total{principal="unknown",reason="unknown_key"} 1"#), "\(text)")
        #expect(text.contains(#"obsgate_denials_by_principal_total{principal="anonymous",reason="unsigned"} 1"#))
        #expect(!text.contains("NOSUCHKEY"))
        await stack.stop()
    }

    @Test func countersAgreeWithTheRequestsMade() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try PolicyEnforcementTests.policy())
        #expect(try await stack.send("PUT", "/metrics-bucket").status == 200)
        for index in 0..<3 {
            #expect(try await stack.send("PUT", "/metrics-bucket/k\(index)", body: Array("abcd".utf8)).status == 200)
        }
        #expect(try await stack.send("PUT", "/metrics-bucket/cold", headers: [("x-amz-storage-class", "GLACIER")],
                                     body: [1]).status == 403)
        #expect(try await stack.send("GET", "/metrics-bucket/k0", secret: "wrong").status == 403)
        #expect(try await stack.send("GET", "/metrics-bucket/k0").status == 200)

        // A request is counted when its exchange completes on the gateway's event loop, which
        // may be just after the client got its answer: wait until none is in flight.
        #expect(await eventually { sample("obsgate_requests_in_flight", in: stack.gateway.server.metricsText()) == 0 })
        let samples = try Self.parse(stack.gateway.server.metricsText())
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            let encoded = String(decoding: try! JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys]), as: UTF8.self)
            return samples[name + encoded.replacingOccurrences(of: ":", with: ": ").replacingOccurrences(of: ",", with: ", ")]
        }
        // Every request counter, for the message of a mismatch below (a full-suite run once
        // read GetObject/allow/2xx as 0 after the client had its 200).
        let requestCounts = samples.filter { $0.key.hasPrefix("obsgate_requests_total") }.sorted { $0.key < $1.key }
        #expect(value("obsgate_requests_total", ["operation": "PutObject", "decision": "allow", "status_class": "2xx"]) == 3,
                "\(requestCounts)")
        #expect(value("obsgate_requests_total", ["operation": "CreateBucket", "decision": "allow", "status_class": "2xx"]) == 1)
        #expect(value("obsgate_requests_total", ["operation": "GetObject", "decision": "allow", "status_class": "2xx"]) == 1,
                "\(requestCounts)")
        // The policy's denial is a "deny"; the bad signature is "refused" by the gateway.
        #expect(value("obsgate_requests_total", ["operation": "PutObject", "decision": "deny", "status_class": "4xx"]) == 1)
        #expect(value("obsgate_requests_total", ["operation": "GetObject", "decision": "refused", "status_class": "4xx"]) == 1)
        #expect(value("obsgate_policy_denials_total", ["rule": "no-glacier"]) == 1)
        #expect(value("obsgate_policy_info", ["version": try PolicyEnforcementTests.policy().version]) == 1)
        let received = value("obsgate_bytes_received_total") ?? -1
        #expect(received == 12, "the refused upload's body was never read: \(received)")
        #expect(value("obsgate_upstream_connect_errors_total") == 0)
        #expect((value("obsgate_upstream_connections_opened_total") ?? 0) >= 1)
        #expect(value("obsgate_request_duration_seconds_count", ["operation": "PutObject"]) == 4)
        #expect(value("obsgate_upstream_duration_seconds_count", ["operation": "PutObject"]) == 3)
        // Who was refused or denied, and why; what the upstream itself answered.
        #expect(value("obsgate_denials_by_principal_total", ["principal": "tester", "reason": "policy"]) == 1)
        #expect(value("obsgate_denials_by_principal_total", ["principal": "tester", "reason": "signature"]) == 1)
        #expect(value("obsgate_upstream_responses_total", ["operation": "PutObject", "status_class": "2xx"]) == 3)
        #expect(value("obsgate_upstream_responses_total", ["operation": "GetObject", "status_class": "2xx"]) == 1)
        // (obsgate_ready needs an admin listener; scripts/observability-test.py checks it live.)
        #expect(await eventually {
            stack.gateway.server.metricsText().contains("obsgate_event_loop_lag_seconds_count{loop=\"0\"}")
        }, "the lag sampler runs")
        await stack.stop()
    }
}
