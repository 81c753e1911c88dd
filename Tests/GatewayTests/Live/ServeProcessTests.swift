import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Gateway

/// `obsgate serve` as a process: configuration errors, --check-config, and SIGTERM draining.
@Suite(.serialized) final class ServeProcessTests {
    static let binary: String = ProcessInfo.processInfo.environment["OBSGATE_BINARY"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/obsgate").path

    /// The configuration directories of the test this instance runs (a suite instance lives
    /// for one test), removed when it ends.
    private var directories: [URL] = []

    deinit {
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
    }

    func writeConfiguration(_ yaml: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        directories.append(directory)
        try TestSetup.clientsYAML.write(to: directory.appendingPathComponent("clients.yaml"), atomically: true, encoding: .utf8)
        let file = directory.appendingPathComponent("obsgate.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func aBadConfigurationExitsWith2AndSaysWhere() throws {
        let file = try writeConfiguration(TestSetup.configurationYAML(extra: "timeouts:\n  drain: soon"))
        let result = try Peers.run([Self.binary, "serve", "--config", file.path], timeout: 30)
        #expect(result.status == 2)
        #expect(result.output.contains("obsgate.yaml:"), "\(result.output)")
        #expect(result.output.contains("error: timeouts.drain: expected an integer"), "\(result.output)")
    }

    @Test func checkConfigValidatesAndExits() throws {
        let file = try writeConfiguration(TestSetup.configurationYAML())
        let result = try Peers.run([Self.binary, "serve", "--config", file.path, "--check-config"], timeout: 30)
        #expect(result.status == 0, "\(result.output)")
        let missingSecret = try writeConfiguration(
            TestSetup.configurationYAML().replacingOccurrences(of: "secret_key: \(TestSetup.upstreamSecret)",
                                                               with: "secret_key_env: OBSGATE_TEST_UNSET_VARIABLE"))
        let failed = try Peers.run([Self.binary, "serve", "--config", missingSecret.path, "--check-config"], timeout: 30)
        #expect(failed.status == 2)
        #expect(failed.output.contains("OBSGATE_TEST_UNSET_VARIABLE is not set"))
    }

    /// `policy explain --config` judges the upload id a request names with the
    /// configuration's binding keys, as the gateway would (issue 15).
    @Test func policyExplainShowsTheUploadBinding() throws {
        let file = try writeConfiguration(TestSetup.configurationYAML(extra: UploadBindingPhaseTests.binding))
        let policy = file.deletingLastPathComponent().appendingPathComponent("policy.yaml")
        try "version: 1\naccess:\n  - {id: ops-abort, groups: [ops], operations: [others-uploads], effect: allow}\n"
            .write(to: policy, atomically: true, encoding: .utf8)
        let configuration = try GatewayConfiguration.load(path: file.path)
        let id = configuration.uploadBinding.binder.bind(.init(upstreamId: "2~up", bucket: "b", key: "k", initiator: "alice"))
        func explain(_ principal: String, _ groups: [String], _ target: String) throws -> (status: Int32, output: String) {
            try Peers.run([Self.binary, "policy", "explain", "--policy", policy.path, "--config", file.path, "--principal", principal]
                          + groups.flatMap { ["--group", $0] } + ["DELETE \(target)"], timeout: 30)
        }
        let own = try explain("alice", [], "/b/k?uploadId=\(id)")
        #expect(own.status == 0 && own.output.contains("upload id:  bound, initiated by alice; the upstream gets 2~up"), "\(own.output)")
        let other = try explain("bob", [], "/b/k?uploadId=\(id)")
        #expect(other.status == 1 && other.output.contains("other-principal, initiated by alice: refused 403 AccessDenied"), "\(other.output)")
        let granted = try explain("carol", ["ops"], "/b/k?uploadId=\(id)")
        #expect(granted.status == 0 && granted.output.contains("access rule ops-abort allows"), "\(granted.output)")
        let moved = try explain("alice", [], "/b/other?uploadId=\(id)")
        #expect(moved.status == 1 && moved.output.contains("upload id:  forged: refused 404 NoSuchUpload"), "\(moved.output)")
        let unjudged = try Peers.run([Self.binary, "policy", "explain", "--policy", policy.path, "DELETE /b/k?uploadId=\(id)"],
                                     timeout: 30)
        #expect(unjudged.status == 2 && unjudged.output.contains("give --config"), "\(unjudged.output)")
    }

    /// The policy author's loop (#17): a policy changed by mistake fails its tests at the
    /// case's file:line, and `policy diff` lists exactly the cases whose outcome changes.
    @Test func aBrokenPolicyFailsItsTestsAndDiffShowsTheChange() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let shipped = repository.appendingPathComponent("policies/encryption.yaml")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("tests"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let changed = directory.appendingPathComponent("encryption.yaml")
        try String(contentsOf: shipped, encoding: .utf8)
            .replacingOccurrences(of: "kms_key_ids: [testkey-1]", with: "kms_key_ids: [testkey-1, testkey-2]")
            .write(to: changed, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: repository.appendingPathComponent("policies/tests/encryption.test.yaml"),
                                         to: directory.appendingPathComponent("tests/encryption.test.yaml"))
        let shippedTests = try Peers.run([Self.binary, "policy", "test", shipped.path], timeout: 30)
        #expect(shippedTests.status == 0 && shippedTests.output.contains("0 failed"), "\(shippedTests.output)")
        let broken = try Peers.run([Self.binary, "policy", "test", changed.path], timeout: 30)
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("tests/encryption.test.yaml:28: FAIL another KMS key is refused"), "\(broken.output)")
        #expect(broken.output.contains("1 failed"))
        let diff = try Peers.run([Self.binary, "policy", "diff", shipped.path, changed.path, "--cases",
                                  repository.appendingPathComponent("policies/tests/encryption.test.yaml").path], timeout: 30)
        #expect(diff.status == 1 && diff.output.contains("policy diff: 1 of 7 cases change decision"), "\(diff.output)")
        #expect(diff.output.contains("another KMS key is refused\n  old: deny by sse-kms-only (AccessDenied)\n  new: allow"))
    }

    @Test func sigtermLetsAnInFlightRequestFinishThenExits() async throws {
        let upstream = try await ScriptedUpstream.start(
            answer: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow", delay: .seconds(2))
        let file = try writeConfiguration(TestSetup.configurationYAML(upstream: "http://127.0.0.1:\(upstream.port)",
                                                                          extra: "timeouts:\n  drain: 10"))
        let gateway = try await ServeProcess.start(configuration: file)
        defer { gateway.stop() }
        let port = gateway.port

        let headers = try TestSetup.signedHeaders(method: "GET", target: "/bucket/key", host: "127.0.0.1:\(port)")
        async let inFlight = TestHTTPClient.send(port: port, method: "GET", target: "/bucket/key",
                                                 headers: headers.map { ($0.name, $0.value) })
        // SIGTERM only once the request is really in flight: the upstream has it.
        #expect(await eventually { upstream.receivedText.contains("GET /bucket/key") })
        kill(gateway.pid, SIGTERM)
        let response = try await inFlight
        #expect(response.status == 200)
        #expect(response.bodyText == "slow")
        #expect(try await gateway.waitForExit() == 0, "the gateway exits once drained: \(gateway.output)")
        await upstream.stop()
    }

    @Test func sighupWithABrokenPolicyKeepsTheOldOneAndAGoodOneReplacesIt() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let configuration = try writeConfiguration(TestSetup.configurationYAML(
            upstream: "http://127.0.0.1:\(upstream.port)", extra: "policy: policy.yaml"))
        let policyFile = configuration.deletingLastPathComponent().appendingPathComponent("policy.yaml")
        try "version: 1\nrules:\n  - id: no-glacier\n    storage_class: {deny: [GLACIER]}\n"
            .write(to: policyFile, atomically: true, encoding: .utf8)
        let gateway = try await ServeProcess.start(configuration: configuration, admin: true)
        defer { gateway.stop() }
        let port = gateway.port
        let adminPort = try #require(gateway.adminPort)

        func glacierUpload() async throws -> Int {
            let headers = try TestSetup.signedHeaders(method: "PUT", target: "/bucket/cold", host: "127.0.0.1:\(port)",
                                                      headers: [("x-amz-storage-class", "GLACIER"), ("Content-Length", "0")])
            return try await TestHTTPClient.send(port: port, method: "PUT", target: "/bucket/cold",
                                                 headers: headers.map { ($0.name, $0.value) }).status
        }
        func metrics() async throws -> String {
            try await TestHTTPClient.send(port: adminPort, method: "GET", target: "/metrics", headers: [("Host", "admin")]).bodyText
        }
        #expect(try await glacierUpload() == 403)

        try "version: 1\nrules:\n  - id: broken\n    storage_clas: {}\n".write(to: policyFile, atomically: true, encoding: .utf8)
        kill(gateway.pid, SIGHUP)
        // SIGHUP and the file watcher may both try the broken file; wait for the first.
        let failed = try await eventually { (sample("obsgate_reload_failures_total", in: try await metrics()) ?? 0) >= 1 }
        let text = try await metrics()
        #expect(failed, "\(text)")
        #expect(try await glacierUpload() == 403, "the old policy stays in force")

        try "version: 1\nrules: []\n".write(to: policyFile, atomically: true, encoding: .utf8)
        kill(gateway.pid, SIGHUP)
        let replaced = try await eventually { try await glacierUpload() == 200 }
        #expect(replaced, "the new policy is in force")
        kill(gateway.pid, SIGTERM)
        await upstream.stop()
    }

    /// Deployments run the gateway as an unprivileged user: it must serve S3 requests then
    /// too (a socket option that needs CAP_NET_ADMIN once closed every connection).
    @Test func anUnprivilegedGatewayServesRequests() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let configuration = try writeConfiguration(TestSetup.configurationYAML(upstream: "http://127.0.0.1:\(upstream.port)"))
        // The unprivileged user must be able to read the configuration.
        for file in [configuration, configuration.deletingLastPathComponent().appendingPathComponent("clients.yaml")] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: configuration.deletingLastPathComponent().path)
        let gateway = try await ServeProcess.start(configuration: configuration, launcher: [
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
        ])
        defer { gateway.stop() }
        let port = gateway.port
        let headers = try TestSetup.signedHeaders(method: "GET", target: "/bucket/key", host: "127.0.0.1:\(port)")
        let response = try await TestHTTPClient.send(port: port, method: "GET", target: "/bucket/key",
                                                     headers: headers.map { ($0.name, $0.value) })
        #expect(response.status == 200)
        #expect(response.bodyText == "ok")
        await upstream.stop()
    }

    /// `event_loops: auto` starts one loop per CPU the process may run on: pinned to one
    /// CPU, one loop (two would only take turns on it); a count given is taken as written.
    @Test(arguments: [(nil, 1), (3, 3)] as [(Int?, Int)])
    func aGatewayPinnedToOneCPURunsOneEventLoopUnlessToldOtherwise(_ configured: Int?, _ expected: Int) async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let configuration = try writeConfiguration(TestSetup.configurationYAML(
            upstream: "http://127.0.0.1:\(upstream.port)", extra: configured.map { "event_loops: \($0)" } ?? ""))
        let gateway = try await ServeProcess.start(configuration: configuration, launcher: ["/usr/bin/taskset", "-c", "0"])
        defer { gateway.stop() }
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(gateway.pid)/task").map {
            try String(contentsOfFile: "/proc/\(gateway.pid)/task/\($0)/comm", encoding: .utf8)
        }
        #expect(threads.filter { $0.hasPrefix("NIO-ELT-") }.count == expected, "\(threads)")
        let headers = try TestSetup.signedHeaders(method: "GET", target: "/bucket/key", host: "127.0.0.1:\(gateway.port)")
        let response = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/key",
                                                     headers: headers.map { ($0.name, $0.value) })
        #expect(response.status == 200)
        await upstream.stop()
    }
}
