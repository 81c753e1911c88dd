import Policy
import S3Core
import Testing
import YAMLConfig

/// The policy file's access rules: who may perform which operations on which buckets and
/// keys, evaluated as IAM does (an explicit deny wins, then an allow, then the default).
@Suite struct AccessRuleTests {
    static let organisation = """
        version: 1
        rules:
          - id: no-glacier
            storage_class: {deny: [GLACIER]}
        access:
          - id: ci-upload-only
            principals: [ci]
            operations: [read, list, delete, object-config, bucket-config]
            effect: deny
            deny_message: CI principals may only upload
          - id: admins-manage-buckets
            groups: [admins]
            operations: [bucket-config, bucket-create-delete]
            effect: allow
          - id: no-deletes-in-archive
            operations: [delete, DeleteBucket]
            buckets: [archive-*]
            effect: deny
          - id: analytics-read-only
            groups: [analytics]
            operations: [write, multipart, delete, object-config]
            effect: deny
          - id: reports-prefix-audit
            mode: audit
            operations: [write]
            buckets: [reports]
            keys: {prefix: "tmp/"}
            effect: deny
        """

    static func decide(_ operation: S3Operation, bucket: String? = "finance", key: String? = "k",
                       principal: String? = "alice", groups: [String] = []) throws -> PolicyDecision {
        try policy(organisation).evaluate(makeRequest(operation, bucket: bucket, key: key, principal: principal, groups: groups))
    }

    /// Secure by default: with a policy and no rule selecting them, bucket creation and
    /// deletion and every bucket-configuration write are denied; everything else passes.
    @Test(arguments: [
        (S3Operation.createBucket, false), (.deleteBucket, false), (.putBucketConfiguration("policy"), false),
        (.putBucketConfiguration("acl"), false), (.deleteBucketConfiguration("publicAccessBlock"), false),
        (.putBucketConfiguration("lifecycle"), false), (.getBucketConfiguration("lifecycle"), true),
        (.getObject, true), (.putObject, true), (.deleteObject, true), (.putObjectConfiguration("tagging"), true),
        (.listObjectsV2, true), (.uploadPart, true),
    ])
    func defaults(_ operation: S3Operation, _ allowed: Bool) throws {
        let decision = try Self.decide(operation, key: operation == .createBucket ? nil : "k")
        #expect(decision.outcome.isDeny == !allowed, "\(operation.name): \(decision.outcome)")
        #expect(decision.accessRule == PolicyDecision.accessDefault)
        if !allowed {
            #expect(decision.outcome.error?.code == "AccessDenied")
            #expect(decision.outcome.error?.message.contains("denied by default") == true)
        }
    }

    @Test func anAllowRuleAdmitsAndIsNamed() throws {
        let decision = try Self.decide(.putBucketConfiguration("lifecycle"), key: nil, principal: "root", groups: ["admins"])
        #expect(!decision.outcome.isDeny)
        #expect(decision.accessRule == "admins-manage-buckets")
        #expect(decision.matchedRules.contains("admins-manage-buckets"))
    }

    /// An explicit deny wins over an allow that selects the same request.
    @Test func anExplicitDenyWins() throws {
        let decision = try Self.decide(.deleteBucket, bucket: "archive-2026", key: nil, groups: ["admins"])
        #expect(decision.deniedBy == "no-deletes-in-archive")
        #expect(decision.accessRule == "no-deletes-in-archive")
        #expect(decision.outcome.error?.message.contains("access rule 'no-deletes-in-archive'") == true)
        #expect(try Self.decide(.deleteBucket, bucket: "scratch", key: nil, groups: ["admins"]).outcome.isDeny == false)
    }

    @Test func classesAndNamesSelect() throws {
        #expect(try Self.decide(.getObject, principal: "ci").deniedBy == "ci-upload-only")
        #expect(try Self.decide(.getObject, principal: "ci").outcome.error?.message == "CI principals may only upload (access rule 'ci-upload-only')")
        #expect(try Self.decide(.putObject, principal: "ci").outcome.isDeny == false)
        #expect(try Self.decide(.deleteObjects, bucket: "archive-1", key: nil).deniedBy == "no-deletes-in-archive")
        #expect(try Self.decide(.completeMultipartUpload, groups: ["analytics"]).deniedBy == "analytics-read-only")
        #expect(try Self.decide(.getObject, groups: ["analytics"]).outcome.isDeny == false)
    }

    /// The upload rules still apply after an access rule allowed the request.
    @Test func uploadRulesRunAfterAccessRules() throws {
        let decision = try policy(Self.organisation).evaluate(makeRequest(.putObject, principal: "ci",
                                                                          headers: [("x-amz-storage-class", "GLACIER")]))
        #expect(decision.deniedBy == "no-glacier")
    }

    @Test func auditModeRulesOnlySayWhatTheyWouldHaveDone() throws {
        let decision = try Self.decide(.putObject, bucket: "reports", key: "tmp/x")
        #expect(decision.outcome == .auditOnly)
        #expect(decision.wouldHaveDeniedBy == "reports-prefix-audit")
        #expect(decision.matchedRules.contains("reports-prefix-audit"))
        #expect(try Self.decide(.putObject, bucket: "reports", key: "final/x").outcome == .allow)
    }

    /// Every operation of the closed table is in exactly one class, and every row name
    /// can be used in `operations`.
    @Test func everyRowHasAClassAndANameRulesCanUse() throws {
        for row in S3OperationTable.rows {
            let text = "version: 1\naccess:\n  - {id: r, operations: [\(row.name)], effect: deny}\n"
            let decision = try policy(text).evaluate(makeRequest(row.operation))
            #expect(decision.deniedBy == "r", "\(row.name)")
            #expect(OperationClass.allCases.contains(OperationClass(row.operation)))
        }
    }

    @Test(arguments: [
        ("access:\n  - {id: a, operations: [Frobnicate], effect: allow}\n", "unknown operation 'Frobnicate'"),
        ("access:\n  - {id: a, operations: [read], effect: maybe}\n", "expected allow or deny"),
        ("access:\n  - {id: default, operations: [read], effect: allow}\n", "'default' is reserved"),
        ("access:\n  - {id: a, effect: allow}\n", "missing required key 'operations'"),
        ("rules:\n  - {id: a, storage_class: {deny: [GLACIER]}}\naccess:\n  - {id: a, operations: [read], effect: allow}\n",
         "rule id 'a' is already used"),
        ("access:\n  - {id: everyone-no-config, operations: [bucket-config], effect: deny}\n  - {id: admins, groups: [admins], operations: [PutBucketPolicy], effect: allow}\n",
         "access rule 'admins' can never allow anything: access rule 'everyone-no-config' denies everything it selects"),
    ])
    func loadErrors(_ yaml: String, _ message: String) {
        let error = #expect(throws: ConfigError.self) { try policy("version: 1\n" + yaml) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    /// A narrower deny does not make a broader allow impossible.
    @Test func aNarrowerDenyIsNoContradiction() throws {
        _ = try policy("""
            version: 1
            access:
              - {id: no-archive-config, operations: [bucket-config], buckets: [archive], effect: deny}
              - {id: admins, groups: [admins], operations: [bucket-config], effect: allow}
            """)
    }
}
