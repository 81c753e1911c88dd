import Foundation
import Policy
import Testing
import TestSupport
@testable import Gateway

/// Access rules and bucket configuration in front of real stores: a principal may change
/// a bucket's configuration only where an access rule allows it, and an allowed change is
/// still judged against the bucket's upload rules. Judged by what the store holds
/// afterwards and by what an anonymous client can then do straight at the store.
@Suite(.serialized) struct BucketConfigurationTests {
    /// `tester` (group qa) may create and delete buckets but not configure them;
    /// `platform` (group platform-admins) may configure them, within the upload rules:
    /// no archive classes, SSE-KMS with testkey-1, no public access, relative redirects.
    static let policyText = """
        version: 1
        access:
          - id: everyone-manages-buckets
            operations: [bucket-create-delete]
            effect: allow
          - id: admins-configure-buckets
            groups: [platform-admins]
            operations: [bucket-config]
            effect: allow
        rules:
          - id: no-archive
            storage_class: {deny: [GLACIER, DEEP_ARCHIVE]}
          - id: kms-only
            encryption: {require: sse-kms, kms_key_ids: [testkey-1], default_kms_key_id: testkey-1, default_when_absent: sse-kms}
          - id: no-public
            acl: {allow_canned: [private, bucket-owner-full-control], block_public_access: true}
          - id: relative-redirects
            website_redirect: relative-only
        """

    static func policy() throws -> UploadPolicy { try UploadPolicy.parse(policyText, file: "bucket-config.yaml") }

    /// The gateway keys of both principals, as Clients/bucket_config_scenarios.py takes them.
    static func clientArguments(_ gateway: LiveGateway) -> [String] {
        ["--endpoint", gateway.endpoint,
         "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
         "--admin-access-key", TestSetup.adminKey, "--admin-secret", TestSetup.adminSecret]
    }

    /// The three cases of issue 12 reproduced against radosgw (a public bucket policy, a
    /// public-read-write bucket ACL, a lifecycle transition to GLACIER after 0 days), the
    /// same requests from the principal allowed to configure buckets, a private bucket
    /// policy and an expiration-only lifecycle that are allowed, DELETE ?lifecycle and the
    /// public-access block's removal, and a control that plants the forbidden
    /// configurations with radosgw's own key. Judged by the configuration read back with
    /// radosgw's key and by what an anonymous client can then do straight at radosgw.
    @Test func radosgwKeepsNoConfigurationThePolicyForbids() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey, watchingForLeaks: true, policy: try Self.policy())
        try Peers.expectScenariosPass("bucket_config_scenarios.py", Self.clientArguments(gateway) + [
            "--upstream-endpoint", rgw.endpoint, "--upstream-access-key", rgw.accessKey,
            "--upstream-secret", rgw.secretKey, "--store", "radosgw",
        ], count: 9, timeout: 300)
        await gateway.stop()
    }

    /// The bucket configurations radosgw does not implement -- default encryption, website
    /// (RedirectAllRequestsTo, routing rules) and replication -- against a moto S3 server
    /// started for this test: forbidden bodies refused naming their rule, allowed ones
    /// stored as sent, DELETE ?encryption refused where a rule requires encryption, and a
    /// control that plants the forbidden configurations with the upstream key.
    @Test func motoKeepsNoConfigurationThePolicyForbids() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let gateway = try await LiveGateway.start(upstream: moto.endpoint, upstreamKey: MotoServer.accessKey,
                                                  upstreamSecret: MotoServer.secretKey, policy: try Self.policy())
        try Peers.expectScenariosPass("bucket_config_scenarios.py", Self.clientArguments(gateway) + [
            "--upstream-endpoint", moto.endpoint, "--upstream-access-key", MotoServer.accessKey,
            "--upstream-secret", MotoServer.secretKey, "--store", "moto",
        ], count: 4, timeout: 300)
        await gateway.stop()
    }
}

/// A moto S3 server (`python3 -m moto.server`, from moto[server] of
/// scripts/requirements-test.txt, installed by scripts/install-test-deps.sh) as a child
/// process for the duration of one test. It is told port 0 of 127.0.0.1 and its port is
/// read from its ` * Running on http://127.0.0.1:PORT` line, so no port is guessed; its
/// output goes to a file, kept for failure messages. moto's default
/// configuration checks no signature: any key works, and the tests judge what it stores.
final class MotoServer {
    static let accessKey = "testing"
    static let secretKey = "testing"

    let process: Process
    let port: Int
    /// Where the server's output goes: a file, so a chatty server never blocks on a pipe.
    private let outputFile: URL

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, outputFile: URL) {
        self.process = process
        self.port = port
        self.outputFile = outputFile
    }

    /// Starts the server on a port of its choosing and waits (60 s at most) until it says
    /// which: werkzeug prints ` * Running on http://127.0.0.1:PORT` once it listens. A
    /// missing moto is a failure naming the install step, never a skip.
    static func start() async throws -> MotoServer {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-moto-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        let output = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = output
        process.standardError = output
        try process.runWithNoSignalBlocked()
        var port: Int?
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline, port == nil {
            try await Task.sleep(for: .milliseconds(100))
            port = Self.port(in: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "")
        }
        guard let port else {
            let running = process.isRunning
            if running {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            throw Peers.PeerMissing(description: """
                moto \(running ? "did not say its port within 60 s" : "did not start"): it is moto[server]==5.2.5 of \
                scripts/requirements-test.txt; run scripts/install-test-deps.sh. Its output:
                \(((try? String(contentsOf: outputFile, encoding: .utf8)) ?? "").suffix(3000))
                """)
        }
        return MotoServer(process: process, port: port, outputFile: outputFile)
    }

    /// The port of werkzeug's ` * Running on http://127.0.0.1:PORT` line.
    private static func port(in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.contains("Running on http://127.0.0.1:") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            return Int(line[line.index(after: colon)...].prefix { $0.isNumber })
        }
        return nil
    }

    /// Ends the server. SIGKILL: moto's server ignores SIGTERM and SIGINT (a run left one
    /// behind per test), and it keeps nothing that needs a clean exit.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: outputFile)
    }
}
