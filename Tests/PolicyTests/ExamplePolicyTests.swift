import Foundation
import Policy
import S3Core
import Testing

/// The ready-to-use policies in `policies/`: every file lints, and each does what its
/// comments and policies/README.md promise.
@Suite struct ExamplePolicyTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("policies")

    static func example(_ name: String) throws -> UploadPolicy {
        try UploadPolicy.load(path: directory.appendingPathComponent(name).path)
    }

    @Test func everyExampleLints() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        #expect(files == ["encryption.yaml", "organisation.yaml", "public-acl-ban.yaml", "redirect-safety.yaml",
                          "storage-class.yaml"])
        for file in files {
            let loaded = try UploadPolicy.load(path: Self.directory.appendingPathComponent(file).path)
            #expect(!loaded.ruleIds.isEmpty, "\(file)")
        }
    }

    /// organisation.yaml: who may do what, as policies/README.md says.
    @Test func theOrganisationSaysWhoMayDoWhat() throws {
        let loaded = try Self.example("organisation.yaml")
        #expect(loaded.accessRuleIds == ["platform-manages-buckets", "ci-uploads-only", "analytics-reads-only", "keep-audit-logs"])
        func decide(_ operation: S3Operation, bucket: String = "builds", principal: String = "p", groups: [String]) -> PolicyDecision {
            loaded.evaluate(makeRequest(operation, bucket: bucket, key: "k", principal: principal, groups: groups))
        }
        #expect(decide(.createBucket, groups: []).outcome.error?.message
                == "Denied: no access rule allows CreateBucket (bucket-create-delete), which is denied by default")
        #expect(!decide(.createBucket, groups: ["platform-admins"]).outcome.isDeny)
        #expect(decide(.getObject, groups: ["ci"]).outcome.error?.message
                == "CI principals may only upload and list (access rule 'ci-uploads-only')")
        #expect(decide(.putObject, groups: ["ci"]).mutations.count == 2, "the upload rules inject the KMS key")
        #expect(decide(.putObject, groups: ["analytics"]).deniedBy == "analytics-reads-only")
        #expect(decide(.deleteObject, bucket: "audit-logs", groups: ["platform-admins"]).deniedBy == "keep-audit-logs")
        #expect(!decide(.deleteObject, bucket: "scratch", groups: []).outcome.isDeny)
    }

    @Test func encryptionInjectsTheDefaultKey() throws {
        let loaded = try Self.example("encryption.yaml")
        let initiate = loaded.evaluate(makeRequest())
        #expect(initiate.mutations == [
            .set(name: "x-amz-server-side-encryption", value: "aws:kms"),
            .set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1"),
        ])
        let keyless = loaded.evaluate(makeRequest(.putObject, headers: [("x-obs-server-side-encryption", "kms")]))
        #expect(keyless.mutations == [.set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1")])
    }

    @Test(arguments: [
        [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")],
        [("x-amz-server-side-encryption", "AES256")],
        CustomerKey.s3,
    ])
    func encryptionRefusesOtherKeysAndKinds(_ headers: [(String, String)]) throws {
        let decision = try Self.example("encryption.yaml").evaluate(makeRequest(headers: headers))
        #expect(decision.deniedBy == "sse-kms-only")
        #expect(decision.outcome.error?.message.contains("rule 'sse-kms-only'") == true)
    }

    @Test func storageClass() throws {
        let loaded = try Self.example("storage-class.yaml")
        #expect(loaded.evaluate(makeRequest(bucket: "finance")).mutations == [.set(name: "x-amz-storage-class", value: "STANDARD")])
        #expect(loaded.evaluate(makeRequest(bucket: "finance", headers: [("x-amz-storage-class", "GLACIER")])).deniedBy
            == "no-archive-classes")
        #expect(loaded.evaluate(makeRequest(bucket: "archive-2024")).mutations == [.set(name: "x-amz-storage-class", value: "GLACIER")])
        #expect(loaded.evaluate(makeRequest(bucket: "archive-2024", headers: [("x-obs-storage-class", "STANDARD")])).deniedBy
            == "archive-buckets")
        let web = loaded.evaluate(makeRequest(bucket: "archive-2024", groups: ["web"], headers: [("x-obs-storage-class", "COLD")]))
        #expect(web.outcome == .auditOnly)
        #expect(web.wouldHaveDeniedBy == "web-team-hot-classes")
    }

    @Test func redirectSafety() throws {
        let loaded = try Self.example("redirect-safety.yaml")
        func decide(_ bucket: String, _ location: String) -> PolicyDecision {
            loaded.evaluate(makeRequest(.putObject, bucket: bucket, headers: [("x-amz-website-redirect-location", location)]))
        }
        #expect(decide("www-shop", "https://shop.example.com/sale").outcome == .allow)
        #expect(decide("www-shop", "https://evil.example/").deniedBy == "web-redirects-own-hosts")
        #expect(decide("ingest-raw", "https://evil.example/").mutations == [.remove(name: "x-amz-website-redirect-location")])
        #expect(decide("finance", "/docs/").outcome == .allow)
        #expect(decide("finance", "https://evil.example/").deniedBy == "relative-redirects-only")
    }

    @Test func publicACLBan() throws {
        let loaded = try Self.example("public-acl-ban.yaml")
        for acl in ["public-read", "public-read-write"] {
            #expect(loaded.evaluate(makeRequest(headers: [("x-amz-acl", acl)])).deniedBy == "no-public-acls")
        }
        for acl in ["public-read-delivered", "public-read-write-delivered"] {
            #expect(loaded.evaluate(makeRequest(headers: [("x-obs-acl", acl)])).deniedBy == "no-public-acls")
        }
        #expect(loaded.evaluate(makeRequest(headers: [("x-amz-acl", "private")])).outcome == .allow)
        #expect(loaded.evaluate(makeRequest(.putObjectConfiguration("acl"), headers: [("x-amz-acl", "public-read")])).deniedBy
            == "no-public-acls")
        #expect(loaded.evaluate(makeRequest(headers: [("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")])).deniedBy
            == "no-public-acls")
        #expect(loaded.evaluate(makeRequest(bucket: "public-assets", headers: [("x-amz-acl", "public-read")])).outcome == .allow)
        #expect(loaded.evaluate(makeRequest(bucket: "public-assets", headers: [("x-amz-acl", "public-read-write")])).deniedBy
            == "public-assets-read-only")
    }
}
