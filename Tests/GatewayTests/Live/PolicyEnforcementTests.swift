import Credentials
import DevUpstream
import Foundation
import Logging
import Policy
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// The upload policy enforced by the running gateway, in front of the development store
/// (which records what it receives, so injected headers and refused requests are visible).
@Suite(.serialized) struct PolicyEnforcementTests {
    static let policyText = """
        version: 1
        rules:
          - id: finance-kms
            match: {buckets: ["finance-*"]}
            encryption:
              require: sse-kms
              kms_key_ids: [testkey-1]
              default_kms_key_id: testkey-1
              default_when_absent: sse-kms
          - id: no-glacier
            storage_class: {deny: [GLACIER, DEEP_ARCHIVE]}
          - id: safe-redirects
            website_redirect: relative-only
          - id: public-acl-ban
            acl: {allow_canned: [private, bucket-owner-full-control]}
          - id: web-audit
            mode: audit
            match: {buckets: ["web-*"]}
            website_redirect: forbid
        access:
          - id: everyone-manages-buckets
            operations: [bucket-create-delete]
            effect: allow
        """

    static func policy() throws -> UploadPolicy { try UploadPolicy.parse(policyText, file: "policy.yaml") }

    @Test func anInitiateWithoutEncryptionGetsTheDefaultKeyInjected() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        #expect(try await stack.send("PUT", "/finance-reports").status == 200)
        let initiate = try await stack.send("POST", "/finance-reports/q3.pdf?uploads")
        #expect(initiate.status == 200, "\(initiate.bodyText)")
        let forwarded = try #require(stack.upstream.recordedRequests().last { $0.method == "POST" })
        #expect(forwarded.headers["x-amz-server-side-encryption"] == "aws:kms")
        #expect(forwarded.headers["x-amz-server-side-encryption-aws-kms-key-id"] == "testkey-1")
        await stack.stop()
    }

    /// The same violation, attempted every way a request can create an object or carry a
    /// header, is refused every time with the rule named, and never reaches the store.
    @Test(arguments: [
        ("POST", "/finance-reports/k?uploads", [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")], "finance-kms"),
        ("PUT", "/finance-reports/k", [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")], "finance-kms"),
        ("PUT", "/finance-reports/k", [("x-amz-copy-source", "/other/src"), ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")], "finance-kms"),
        ("PUT", "/finance-reports/k", [("x-obs-server-side-encryption", "kms"), ("x-obs-server-side-encryption-kms-key-id", "testkey-2")], "finance-kms"),
        ("PUT", "/finance-reports/k", [("X-AMZ-SERVER-SIDE-ENCRYPTION", "aws:kms"), ("x-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "testkey-2")], "finance-kms"),
        ("POST", "/archive/k?uploads", [("x-amz-storage-class", "GLACIER")], "no-glacier"),
        ("PUT", "/archive/k", [("x-obs-storage-class", "COLD")], "no-glacier"),
        ("PUT", "/archive/k?x-amz-storage-class=GLACIER", [], "no-glacier"),
        ("PUT", "/site/index.html", [("x-amz-website-redirect-location", "https://evil.example/")], "safe-redirects"),
        ("PUT", "/site/index.html", [("x-amz-acl", "public-read")], "public-acl-ban"),
        ("PUT", "/site/index.html", [("x-obs-acl", "public-read-delivered")], "public-acl-ban"),
    ] as [(String, String, [(String, String)], String)])
    func violationsAreRefusedEveryWay(_ method: String, _ target: String, _ headers: [(String, String)],
                                      _ rule: String) async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        let response = try await stack.send(method, target, headers: headers,
                                            body: method == "PUT" ? Array("data".utf8) : [])
        #expect(response.status == 403, "\(method) \(target): \(response.bodyText)")
        #expect(response.bodyText.contains("<Code>AccessDenied</Code>"))
        #expect(response.bodyText.contains("policy rule &apos;\(rule)&apos;"), "\(response.bodyText)")
        #expect(stack.upstream.recordedRequests().isEmpty)
        await stack.stop()
    }

    /// OBS's AppendObject creates content, so the policy judges it, in front of an OBS
    /// upstream; in front of an S3 upstream (which would read it as another operation) it
    /// is no operation at all.
    @Test func anAppendIsPolicedForAnOBSUpstreamAndRefusedForAnS3One() async throws {
        let obs = try await DevUpstreamGatewayTests.Stack.start(upstreamExtra: "signing: obs", policy: try Self.policy())
        let denied = try await obs.send("POST", "/archive/k?append&position=0", headers: [("x-obs-storage-class", "COLD")],
                                        body: Array("data".utf8))
        #expect(denied.status == 403, "\(denied.bodyText)")
        #expect(denied.bodyText.contains("policy rule &apos;no-glacier&apos;"), "\(denied.bodyText)")
        #expect(obs.upstream.recordedRequests().isEmpty)
        await obs.stop()

        let s3 = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        let refused = try await s3.send("POST", "/archive/k?append&position=0", body: Array("data".utf8))
        #expect(refused.status == 501, "\(refused.bodyText)")
        #expect(refused.bodyText.contains("is an OBS operation, and the upstream is not OBS"), "\(refused.bodyText)")
        #expect(s3.upstream.recordedRequests().isEmpty)
        await s3.stop()
    }

    @Test(arguments: [
        [("x-amz-storage-class", "STANDARD"), ("x-amz-storage-class", "GLACIER")],
        [("x-amz-storage-class", "STANDARD"), ("x-obs-storage-class", "COLD")],
    ] as [[(String, String)]])
    func ambiguousHeadersAreRefused(_ headers: [(String, String)]) async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        let response = try await stack.send("PUT", "/bucket/k", headers: headers, body: Array("x".utf8))
        #expect(response.status == 400, "\(response.bodyText)")
        #expect(response.bodyText.contains("<Code>InvalidArgument</Code>"))
        #expect(stack.upstream.recordedRequests().isEmpty)
        await stack.stop()
    }

    @Test func seedRulesApplyWithoutAnyPolicy() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start()
        let lowercase = try await stack.send("POST", "/bucket/k?uploads", headers: [("x-amz-storage-class", "standard")])
        #expect(lowercase.status == 400)
        #expect(lowercase.bodyText.contains("<Code>InvalidStorageClass</Code>"))
        let redirect = try await stack.send("POST", "/bucket/k?uploads", headers: [("x-amz-website-redirect-location", "ftp://x")])
        #expect(redirect.bodyText.contains("<Code>InvalidRedirectLocation</Code>"))
        let ssec = try await stack.send("POST", "/bucket/k?uploads", headers: [
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", Data(repeating: 7, count: 32).base64EncodedString()),
            ("x-amz-server-side-encryption-customer-key-MD5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ])
        #expect(ssec.status == 400, "SSE-C over plain HTTP, and a wrong key MD5")
        #expect(stack.upstream.recordedRequests().isEmpty)
        await stack.stop()
    }

    @Test func auditModeLetsTheRequestThrough() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        #expect(try await stack.send("PUT", "/web-assets").status == 200)
        let response = try await stack.send("PUT", "/web-assets/a.html", headers: [("x-amz-website-redirect-location", "/b.html")],
                                            body: Array("<html/>".utf8))
        #expect(response.status == 200)
        let forwarded = try #require(stack.upstream.recordedRequests().last { $0.method == "PUT" })
        #expect(forwarded.headers["x-amz-website-redirect-location"] == "/b.html")
        await stack.stop()
    }

    @Test func aBrokenReloadLeavesThePolicyInForceAndAGoodOneReplacesIt() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try Self.policy())
        let reloader = ConfigurationReloader(server: stack.gateway.server, watchedFiles: [], logger: Logger(label: "test")) {
            (try TestSetup.credentials(), try UploadPolicy.parse("version: 1\nrules:\n  - id: x\n    storage_clas: {}\n", file: "broken.yaml"))
        }
        reloader.reload(reason: "test")
        #expect(stack.gateway.server.reloadState.failures == 1)
        #expect(try await stack.send("PUT", "/abc/k", headers: [("x-amz-storage-class", "GLACIER")], body: [1]).status == 403)

        let permissive = ConfigurationReloader(server: stack.gateway.server, watchedFiles: [], logger: Logger(label: "test")) {
            (try TestSetup.credentials(), try UploadPolicy.parse("version: 1\naccess:\n  - {id: buckets, operations: [bucket-create-delete], effect: allow}\n",
                                                            file: "open.yaml"))
        }
        permissive.reload(reason: "test")
        #expect(stack.gateway.server.reloadState.failures == 1)
        #expect(try await stack.send("PUT", "/abc").status == 200)
        #expect(try await stack.send("PUT", "/abc/k", headers: [("x-amz-storage-class", "GLACIER")], body: [1]).status == 200)
        await stack.stop()
    }
}
