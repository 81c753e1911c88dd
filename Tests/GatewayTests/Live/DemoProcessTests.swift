import Foundation
import Testing
import TestSupport

/// The README's first command, `obsgate demo`, as a newcomer runs it: the gateway and the
/// development store start, the printed instructions name the real endpoint, the awscli
/// commands they list do what their comments say, and the audit trail verifies afterwards.
@Suite(.serialized) struct DemoProcessTests {
    @Test func theDemoRunsAndItsInstructionsWork() async throws {
        let auditDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: auditDirectory) }
        let demo = try await ServeProcess.start([ServeProcessTests.binary, "demo", "--port", "0", "--admin-port", "0",
                                                 "--audit-dir", auditDirectory.path], admin: true)
        defer { demo.stop() }
        let endpoint = "http://127.0.0.1:\(demo.port)"
        #expect(await eventually { demo.output.contains("S3 endpoint     \(endpoint)") }, "\(demo.output)")
        #expect(demo.output.contains("admin endpoint  http://127.0.0.1:\(demo.adminPort ?? 0)/healthz"))

        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "GWDEMOACCESSKEY00001"
        environment["AWS_SECRET_ACCESS_KEY"] = "demo-secret-not-for-production"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        func aws(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(["aws", "--endpoint-url", endpoint] + arguments, environment: environment, timeout: 60)
        }
        let file = auditDirectory.appendingPathComponent("README.md")
        try Data("# hello\n".utf8).write(to: file)

        #expect(try aws(["s3", "mb", "s3://demo"]).status == 0)
        let copy = try aws(["s3", "cp", file.path, "s3://demo/docs/README.md"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let head = try aws(["s3api", "head-object", "--bucket", "demo", "--key", "docs/README.md"])
        #expect(head.stdout.contains("\"SSEKMSKeyId\": \"demo-key-1\""), "injected by the policy: \(head.stdout)")
        let cold = try aws(["s3api", "put-object", "--bucket", "demo", "--key", "cold.bin", "--storage-class", "GLACIER"])
        #expect(cold.status != 0 && cold.stderr.contains("AccessDenied") && cold.stderr.contains("demo-no-archive"), "\(cold.stderr)")
        let otherKey = try aws(["s3api", "put-object", "--bucket", "demo", "--key", "k", "--ssekms-key-id", "other",
                                "--server-side-encryption", "aws:kms"])
        #expect(otherKey.status != 0 && otherKey.stderr.contains("AccessDenied"), "\(otherKey.stderr)")
        var wrongSecret = environment
        wrongSecret["AWS_SECRET_ACCESS_KEY"] = "wrong"
        let forged = try runProcess(["aws", "--endpoint-url", endpoint, "s3", "ls", "s3://demo"], environment: wrongSecret, timeout: 60)
        #expect(forged.status != 0 && forged.stderr.contains("SignatureDoesNotMatch"), "\(forged.stderr)")

        demo.process.terminate()
        #expect(try await demo.waitForExit() == 0)
        let auditPath = auditDirectory.appendingPathComponent("audit.log").path
        let verify = try runProcess([ServeProcessTests.binary, "audit", "verify", auditPath], timeout: 60)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
