@testable import Policy
import S3Core
import Testing
import YAMLConfig

/// Bucket-configuration writes judged against the upload rules: for each check a valid
/// document, a forbidden one (denied by the rule) and a malformed one (400), with real S3
/// and OBS documents.
@Suite struct BucketConfigurationJudgeTests {
    static let s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    static let obsNamespace = "http://obs.myhwclouds.com/doc/2015-06-30/"

    /// Judges `body` written to `bucket` under the given rules.
    func judge(_ operation: S3Operation, _ body: String = "", bucket: String = "finance",
               headers: [(String, String)] = [], rules: String) throws -> BucketConfigurationDenial? {
        try BucketConfigurationJudge.judge(operation: operation, bucket: bucket, headers: HeaderFields(headers),
                                           body: Array(body.utf8), policy: policy(rules: rules))
    }

    /// The denial, which must name `rule` in a 403 AccessDenied carrying the reason.
    func expectDenial(_ denial: BucketConfigurationDenial?, rule: String, reason: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        guard let denial else {
            Issue.record("expected a denial by '\(rule)'", sourceLocation: sourceLocation)
            return
        }
        #expect(denial.ruleId == rule, sourceLocation: sourceLocation)
        #expect(denial.reason.contains(reason), "\(denial.reason)", sourceLocation: sourceLocation)
        #expect(denial.error.code == "AccessDenied", sourceLocation: sourceLocation)
        #expect(denial.error.status == 403, sourceLocation: sourceLocation)
        #expect(denial.error.message == "Denied by policy rule '\(rule)': \(denial.reason)", sourceLocation: sourceLocation)
    }

    // MARK: - which operations

    @Test func judgedOperations() {
        for subresource in ["lifecycle", "intelligent-tiering", "replication", "encryption", "acl", "policy",
                            "publicAccessBlock", "website", "storageClass", "storagePolicy"] {
            #expect(BucketConfigurationJudge.judgesBody(.putBucketConfiguration(subresource)), "\(subresource)")
        }
        #expect(BucketConfigurationJudge.judgesBody(.createBucket))
        #expect(!BucketConfigurationJudge.judgesBody(.putBucketConfiguration("cors")))
        #expect(!BucketConfigurationJudge.judgesBody(.putBucketConfiguration("tagging")))
        // The deletions that weaken a bucket are judged on their (empty) body.
        #expect(BucketConfigurationJudge.judgesBody(.deleteBucketConfiguration("encryption")))
        #expect(BucketConfigurationJudge.judgesBody(.deleteBucketConfiguration("publicAccessBlock")))
        #expect(!BucketConfigurationJudge.judgesBody(.deleteBucketConfiguration("lifecycle")))
        #expect(!BucketConfigurationJudge.judgesBody(.getBucketConfiguration("lifecycle")))
        #expect(!BucketConfigurationJudge.judgesBody(.putObject))
    }

    @Test func otherOperationsAreNotJudged() throws {
        let rules = "  - id: sc\n    storage_class: {allow: [STANDARD]}\n"
        #expect(try judge(.putBucketConfiguration("cors"), "not xml", rules: rules) == nil)
        #expect(try judge(.deleteBucketConfiguration("lifecycle"), rules: rules) == nil)
        #expect(try judge(.putObject, "not xml", rules: rules) == nil)
    }

    // MARK: - 1. lifecycle

    static let storageRule = """
          - id: sc
            match: {buckets: [finance], keys: {prefix: reports/}, principals: [bob], operations: [PutObject]}
            storage_class: {allow: [STANDARD, WARM]}

        """

    static func lifecycle(_ transition: String, noncurrent: String = "STANDARD_IA", namespace: String = Self.s3Namespace) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <LifecycleConfiguration xmlns="\(namespace)">
          <Rule>
            <ID>archive-logs</ID>
            <Filter><Prefix>logs/</Prefix></Filter>
            <Status>Enabled</Status>
            <Transition><Days>30</Days><StorageClass>\(transition)</StorageClass></Transition>
            <NoncurrentVersionTransition>
              <NoncurrentDays>30</NoncurrentDays>
              <StorageClass>\(noncurrent)</StorageClass>
            </NoncurrentVersionTransition>
            <Expiration><Days>365</Days></Expiration>
          </Rule>
        </LifecycleConfiguration>
        """
    }

    @Test func lifecycleAllowed() throws {
        // The rule's keys, principals and operations criteria do not narrow a bucket setting.
        #expect(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("STANDARD_IA"), rules: Self.storageRule) == nil)
        #expect(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("WARM", noncurrent: "WARM",
                                                                               namespace: Self.obsNamespace),
                          rules: Self.storageRule) == nil)
    }

    @Test func lifecycleForbidden() throws {
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("GLACIER"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class GLACIER in Transition/StorageClass is not allowed (allowed: STANDARD, STANDARD_IA)")
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("STANDARD", noncurrent: "DEEP_ARCHIVE"),
                               rules: Self.storageRule),
                     rule: "sc", reason: "storage class DEEP_ARCHIVE in NoncurrentVersionTransition/StorageClass is not allowed")
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("COLD", namespace: Self.obsNamespace),
                               rules: Self.storageRule),
                     rule: "sc", reason: "storage class COLD (GLACIER) in Transition/StorageClass is not allowed")
    }

    @Test func lifecycleSpellingsThatMustNotHideAClass() throws {
        // CDATA, a namespace prefix and surrounding whitespace are the same class to the store.
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("<![CDATA[GLACIER]]>"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class GLACIER in Transition/StorageClass")
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("\n  GLACIER  \n"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class GLACIER in Transition/StorageClass")
        let prefixed = """
            <s3:LifecycleConfiguration xmlns:s3="\(Self.s3Namespace)"><s3:Rule><s3:Status>Enabled</s3:Status>\
            <s3:Transition><s3:Days>1</s3:Days><s3:StorageClass>GLACIER</s3:StorageClass></s3:Transition>\
            </s3:Rule></s3:LifecycleConfiguration>
            """
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), prefixed, rules: Self.storageRule),
                     rule: "sc", reason: "storage class GLACIER in Transition/StorageClass")
    }

    @Test func lifecycleMalformed() throws {
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), "<LifecycleConfiguration><Rule>", rules: Self.storageRule)
        }
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), "", rules: Self.storageRule)
        }
        // A DTD (entity expansion) is refused, whatever it declares.
        let entity = """
            <?xml version="1.0"?>
            <!DOCTYPE LifecycleConfiguration [<!ENTITY c "GLACIER">]>
            <LifecycleConfiguration><Rule><Transition><StorageClass>&c;</StorageClass></Transition></Rule></LifecycleConfiguration>
            """
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), entity, rules: Self.storageRule)
        }
        // Nesting far deeper than any configuration.
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), deep, rules: Self.storageRule)
        }
    }

    @Test func onlyRulesSelectingTheBucketJudge() throws {
        let rules = """
              - id: sc
                match: {buckets: ["fin*"], exclude_buckets: [finance-sandbox]}
                storage_class: {deny: [GLACIER]}
              - id: dry-run
                mode: audit
                storage_class: {deny: [DEEP_ARCHIVE]}

            """
        expectDenial(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("GLACIER"), bucket: "finance", rules: rules),
                     rule: "sc", reason: "GLACIER")
        #expect(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("GLACIER"), bucket: "finance-sandbox", rules: rules) == nil)
        #expect(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("GLACIER"), bucket: "web", rules: rules) == nil)
        // Audit-mode rules never refuse.
        #expect(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("DEEP_ARCHIVE"), rules: rules) == nil)
        // An unreadable body is refused even where no rule looks at it.
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), "<Lifecycle", bucket: "web", rules: rules)
        }
    }

    @Test func denyMessageReplacesTheReason() throws {
        let rules = "  - id: sc\n    storage_class: {deny: [GLACIER]}\n    deny_message: No archive classes\n"
        let denial = try #require(try judge(.putBucketConfiguration("lifecycle"), Self.lifecycle("GLACIER"), rules: rules))
        #expect(denial.error == S3Error.accessDenied("No archive classes (policy rule 'sc')"))
        #expect(denial.reason.contains("GLACIER"))
    }

    // MARK: - 2. intelligent-tiering

    static func tiering(_ tiers: [String]) -> String {
        let entries = tiers.enumerated().map { "<Tiering><Days>\(90 * ($0 + 1))</Days><AccessTier>\($1)</AccessTier></Tiering>" }
        return """
            <IntelligentTieringConfiguration xmlns="\(Self.s3Namespace)">
              <Id>archive</Id>
              <Filter><Prefix>old/</Prefix></Filter>
              <Status>Enabled</Status>
              \(entries.joined(separator: "\n  "))
            </IntelligentTieringConfiguration>
            """
    }

    @Test func intelligentTiering() throws {
        let rules = "  - id: no-deep\n    storage_class: {deny: [DEEP_ARCHIVE]}\n"
        #expect(try judge(.putBucketConfiguration("intelligent-tiering"), Self.tiering(["ARCHIVE_ACCESS"]), rules: rules) == nil)
        expectDenial(try judge(.putBucketConfiguration("intelligent-tiering"), Self.tiering(["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]),
                               rules: rules),
                     rule: "no-deep", reason: "storage class DEEP_ARCHIVE_ACCESS (DEEP_ARCHIVE) in Tiering/AccessTier is not allowed")
        let cold = "  - id: no-cold\n    storage_class: {deny: [COLD]}\n"
        expectDenial(try judge(.putBucketConfiguration("intelligent-tiering"), Self.tiering(["ARCHIVE_ACCESS"]), rules: cold),
                     rule: "no-cold", reason: "ARCHIVE_ACCESS (GLACIER)")
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("intelligent-tiering"), "<IntelligentTieringConfiguration><Tiering>", rules: rules)
        }
    }

    // MARK: - 3. replication

    static func replicationConfiguration(_ storageClass: String) -> String {
        """
        <ReplicationConfiguration xmlns="\(Self.s3Namespace)">
          <Role>arn:aws:iam::123456789012:role/replication</Role>
          <Rule>
            <ID>everything</ID>
            <Priority>1</Priority>
            <Status>Enabled</Status>
            <Filter/>
            <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
            <Destination>
              <Bucket>arn:aws:s3:::finance-replica</Bucket>
              <StorageClass>\(storageClass)</StorageClass>
            </Destination>
          </Rule>
        </ReplicationConfiguration>
        """
    }

    @Test func replicationDestinations() throws {
        #expect(try judge(.putBucketConfiguration("replication"), Self.replicationConfiguration("STANDARD"), rules: Self.storageRule) == nil)
        expectDenial(try judge(.putBucketConfiguration("replication"), Self.replicationConfiguration("DEEP_ARCHIVE"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class DEEP_ARCHIVE in Destination/StorageClass is not allowed")
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("replication"), "<ReplicationConfiguration><Rule></ReplicationConfiguration>",
                      rules: Self.storageRule)
        }
    }

    // MARK: - 4. OBS storageClass and storagePolicy

    @Test func obsBucketStorageClass() throws {
        let storageClass = { (value: String) in "<StorageClass xmlns=\"\(Self.obsNamespace)\">\(value)</StorageClass>" }
        #expect(try judge(.putBucketConfiguration("storageClass"), storageClass("WARM"), rules: Self.storageRule) == nil)
        expectDenial(try judge(.putBucketConfiguration("storageClass"), storageClass("COLD"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class COLD (GLACIER) in StorageClass is not allowed")
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("storageClass"), "<StorageClass>COLD</Storage>", rules: Self.storageRule)
        }
    }

    @Test func obsStoragePolicy() throws {
        let storagePolicy = { (value: String) in
            "<StoragePolicy xmlns=\"\(Self.obsNamespace)\"><DefaultStorageClass>\(value)</DefaultStorageClass></StoragePolicy>"
        }
        #expect(try judge(.putBucketConfiguration("storagePolicy"), storagePolicy("STANDARD"), rules: Self.storageRule) == nil)
        expectDenial(try judge(.putBucketConfiguration("storagePolicy"), storagePolicy("COLD"), rules: Self.storageRule),
                     rule: "sc", reason: "storage class COLD (GLACIER) in DefaultStorageClass is not allowed")
        // OBS v2 sends DefaultStorageClass to ?storageClass as well.
        expectDenial(try judge(.putBucketConfiguration("storageClass"), storagePolicy("DEEP_ARCHIVE"), rules: Self.storageRule),
                     rule: "sc", reason: "DEEP_ARCHIVE in DefaultStorageClass")
        // A name the policy does not know is refused by a deny list, which cannot compare it.
        let denyOnly = "  - id: sc-deny\n    storage_class: {deny: [COLD]}\n"
        expectDenial(try judge(.putBucketConfiguration("storagePolicy"), storagePolicy("cold"), rules: denyOnly),
                     rule: "sc-deny", reason: "storage class 'cold' in DefaultStorageClass is not one the policy knows")
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("storagePolicy"), "<StoragePolicy><DefaultStorageClass>", rules: Self.storageRule)
        }
    }

    // MARK: - 5. encryption

    static let kmsRule = """
          - id: kms
            encryption: {require: sse-kms, kms_key_ids: ["arn:aws:kms:*:*:key/*"]}

        """

    static func encryption(_ algorithm: String?, key: String? = nil, namespace: String = Self.s3Namespace) -> String {
        var apply = ""
        if let algorithm {
            let keyElement = key.map { "<KMSMasterKeyID>\($0)</KMSMasterKeyID>" } ?? ""
            apply = "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>\(algorithm)</SSEAlgorithm>\(keyElement)</ApplyServerSideEncryptionByDefault>"
        }
        return """
            <ServerSideEncryptionConfiguration xmlns="\(namespace)">
              <Rule>\(apply)<BucketKeyEnabled>true</BucketKeyEnabled></Rule>
            </ServerSideEncryptionConfiguration>
            """
    }

    @Test func encryptionAllowed() throws {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        #expect(try judge(.putBucketConfiguration("encryption"), Self.encryption("aws:kms", key: key), rules: Self.kmsRule) == nil)
        #expect(try judge(.putBucketConfiguration("encryption"), Self.encryption("kms", key: key, namespace: Self.obsNamespace),
                          rules: Self.kmsRule) == nil)
    }

    @Test func encryptionForbidden() throws {
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption("AES256"), rules: Self.kmsRule),
                     rule: "kms", reason: "the bucket's default encryption must be SSE-KMS")
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption("aws:kms"), rules: Self.kmsRule),
                     rule: "kms", reason: "SSE-KMS without a key id (KMSMasterKeyID) is not allowed")
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption("aws:kms", key: "testkey-2"), rules: Self.kmsRule),
                     rule: "kms", reason: "KMS key 'testkey-2' in KMSMasterKeyID is not allowed (allowed keys: arn:aws:kms:*:*:key/*)")
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption(nil), rules: Self.kmsRule),
                     rule: "kms", reason: "the configuration sets none")
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption("SM4"), rules: Self.kmsRule),
                     rule: "kms", reason: "the encryption algorithm 'SM4' in SSEAlgorithm is not one the policy knows")
        let noS3 = "  - id: no-sse-s3\n    encryption: {forbid: [sse-s3]}\n"
        expectDenial(try judge(.putBucketConfiguration("encryption"), Self.encryption("AES256", namespace: Self.obsNamespace),
                               rules: noS3),
                     rule: "no-sse-s3", reason: "is not allowed as the bucket's default encryption (SSEAlgorithm AES256)")
        #expect(try judge(.putBucketConfiguration("encryption"), Self.encryption("aws:kms"), rules: noS3) == nil)
    }

    @Test func encryptionRequiringSSECLeavesTheBucketDefaultAlone() throws {
        // A bucket default cannot be SSE-C; each upload must still carry the SSE-C headers.
        let rules = "  - id: ssec\n    encryption: {require: sse-c}\n"
        #expect(try judge(.putBucketConfiguration("encryption"), Self.encryption("AES256"), rules: rules) == nil)
    }

    @Test func encryptionRemoved() throws {
        expectDenial(try judge(.deleteBucketConfiguration("encryption"), rules: Self.kmsRule),
                     rule: "kms", reason: "removing the bucket's default encryption is not allowed")
        #expect(try judge(.deleteBucketConfiguration("encryption"), rules: "  - id: f\n    encryption: {forbid: [sse-c]}\n") == nil)
    }

    @Test func encryptionMalformed() throws {
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("encryption"), "<ServerSideEncryptionConfiguration><Rule>", rules: Self.kmsRule)
        }
    }

    // MARK: - 6. acl and CreateBucket

    static let aclRule = "  - id: acl\n    acl: {allow_canned: [private, bucket-owner-full-control]}\n"
    static let blockRule = "  - id: block\n    acl: {block_public_access: true}\n"
    static let openRule = "  - id: open\n    acl: {allow_canned: [private, public-read]}\n"

    static func accessControlPolicy(_ publicGrant: String) -> String {
        """
        <AccessControlPolicy xmlns="\(Self.s3Namespace)">
          <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>owner</DisplayName></Owner>
          <AccessControlList>
            <Grant>
              <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
                <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
              </Grantee>
              <Permission>FULL_CONTROL</Permission>
            </Grant>
            \(publicGrant)
          </AccessControlList>
        </AccessControlPolicy>
        """
    }

    static let allUsersRead = """
        <Grant>
          <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">
            <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>
          </Grantee>
          <Permission>READ</Permission>
        </Grant>
        """

    static let obsEveryoneRead = """
        <AccessControlPolicy xmlns="\(Self.obsNamespace)">
          <Owner><ID>b4bf1b36d9ca43d984fbcb9491b6fce9</ID></Owner>
          <AccessControlList>
            <Grant><Grantee><ID>b4bf1b36d9ca43d984fbcb9491b6fce9</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
            <Grant><Grantee><Canned>Everyone</Canned></Grantee><Permission>READ</Permission></Grant>
          </AccessControlList>
        </AccessControlPolicy>
        """

    @Test func aclAllowed() throws {
        let acl = S3Operation.putBucketConfiguration("acl")
        #expect(try judge(acl, headers: [("x-amz-acl", "private")], rules: Self.aclRule) == nil)
        #expect(try judge(acl, Self.accessControlPolicy(""), rules: Self.aclRule) == nil)
        #expect(try judge(acl, headers: [("x-amz-grant-read", "id=\"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be\"")],
                          rules: Self.aclRule) == nil)
        // A rule that allows a public canned ACL accepts public grants too.
        #expect(try judge(acl, Self.accessControlPolicy(Self.allUsersRead), rules: Self.openRule) == nil)
        #expect(try judge(acl, headers: [("x-amz-acl", "public-read")], rules: Self.openRule) == nil)
    }

    @Test func aclForbidden() throws {
        let acl = S3Operation.putBucketConfiguration("acl")
        expectDenial(try judge(acl, headers: [("X-Obs-Acl", "public-read")], rules: Self.aclRule),
                     rule: "acl", reason: "canned ACL 'public-read' in x-obs-acl is not allowed (allowed: private, bucket-owner-full-control)")
        expectDenial(try judge(acl, headers: [("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")],
                               rules: Self.aclRule),
                     rule: "acl", reason: "the ACL grant header x-amz-grant-read naming AllUsers makes the bucket public")
        expectDenial(try judge(acl, headers: [("x-amz-grant-write", "uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\"")],
                               rules: Self.blockRule),
                     rule: "block", reason: "AuthenticatedUsers makes the bucket public, which this rule forbids (block_public_access)")
        expectDenial(try judge(acl, Self.accessControlPolicy(Self.allUsersRead), rules: Self.aclRule),
                     rule: "acl", reason: "the ACL grant of READ to AllUsers (Grant/Grantee/URI) makes the bucket public")
        expectDenial(try judge(acl, Self.obsEveryoneRead, rules: Self.blockRule),
                     rule: "block", reason: "the ACL grant of READ to Everyone (Grant/Grantee/Canned)")
        expectDenial(try judge(acl, headers: [("x-amz-acl", "public-read")], rules: Self.blockRule),
                     rule: "block", reason: "canned ACL 'public-read' in x-amz-acl makes the bucket public (block_public_access)")
    }

    @Test func aclMalformed() throws {
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("acl"), "<AccessControlPolicy><AccessControlList>", rules: Self.aclRule)
        }
    }

    @Test func createBucket() throws {
        let location = """
            <CreateBucketConfiguration xmlns="\(Self.s3Namespace)"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>
            """
        #expect(try judge(.createBucket, rules: Self.aclRule) == nil)
        #expect(try judge(.createBucket, location, headers: [("x-amz-acl", "private")], rules: Self.aclRule) == nil)
        expectDenial(try judge(.createBucket, location, headers: [("x-amz-acl", "public-read-write")], rules: Self.aclRule),
                     rule: "acl", reason: "canned ACL 'public-read-write' in x-amz-acl is not allowed")
        expectDenial(try judge(.createBucket, headers: [("x-obs-grant-read", "id=Everyone")], rules: Self.blockRule),
                     rule: "block", reason: "the ACL grant header x-obs-grant-read naming Everyone")
        // The bucket's default storage class (OBS) is judged by storage_class.
        expectDenial(try judge(.createBucket, headers: [("x-obs-storage-class", "COLD")], rules: Self.storageRule),
                     rule: "sc", reason: "storage class COLD (GLACIER) in x-obs-storage-class is not allowed")
        expectDenial(try judge(.createBucket, headers: [("x-default-storage-class", "GLACIER")], rules: Self.storageRule),
                     rule: "sc", reason: "storage class GLACIER in x-default-storage-class is not allowed")
        #expect(try judge(.createBucket, headers: [("x-obs-storage-class", "WARM")], rules: Self.storageRule) == nil)
        #expect(throws: S3Error.malformedXML()) {
            try judge(.createBucket, "<CreateBucketConfiguration>", rules: Self.aclRule)
        }
    }

    // MARK: - 7. bucket policy

    static func bucketPolicy(_ statement: String) -> String {
        #"{"Version": "2012-10-17", "Statement": "# + statement + "}"
    }

    static let publicRead = #"""
        [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
          "Resource": "arn:aws:s3:::finance/*"}]
        """#

    @Test func policyAllowed() throws {
        let policy = S3Operation.putBucketConfiguration("policy")
        let account = #"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:*", "Resource": "arn:aws:s3:::finance/*"}"#
        #expect(try judge(policy, Self.bucketPolicy(account), rules: Self.aclRule) == nil)
        let denyEveryone = #"[{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::finance/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]"#
        #expect(try judge(policy, Self.bucketPolicy(denyEveryone), rules: Self.blockRule) == nil)
        #expect(try judge(policy, Self.bucketPolicy(Self.publicRead), rules: Self.openRule) == nil)
    }

    @Test func policyForbidden() throws {
        let policy = S3Operation.putBucketConfiguration("policy")
        expectDenial(try judge(policy, Self.bucketPolicy(Self.publicRead), rules: Self.aclRule),
                     rule: "acl", reason: "the bucket policy's statement 'PublicRead' allows everyone")
        let awsList = #"{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "*"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::finance/*"}"#
        expectDenial(try judge(policy, Self.bucketPolicy(awsList), rules: Self.blockRule),
                     rule: "block", reason: "the bucket policy's statement 1 allows everyone")
        let notPrincipal = #"[{"Sid": "a", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}, {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "*"}]"#
        expectDenial(try judge(policy, Self.bucketPolicy(notPrincipal), rules: Self.blockRule),
                     rule: "block", reason: "statement 2 allows everyone")
    }

    @Test func policyMalformed() throws {
        let policy = S3Operation.putBucketConfiguration("policy")
        for body in ["not json", "", #"[{"Statement": []}]"#, "{}", #"{"Statement": "*"}"#, #"{"Statement": ["x"]}"#,
                     #"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}"#,
                     // The same key twice (escaped or not): the store might read the other one.
                     #"{"Statement": [], "\u0053tatement": [{"Effect": "Allow", "Principal": "*"}]}"#] {
            #expect(throws: S3Error.malformedPolicy(), "\(body)") { try judge(policy, body, rules: Self.aclRule) }
        }
        // Keys repeated in different objects are fine.
        let twoStatements = #"{"Statement": [{"Effect": "Deny", "Principal": "*"}, {"Effect": "Deny", "Principal": "*"}]}"#
        #expect(try judge(policy, twoStatements, rules: Self.aclRule) == nil)
    }

    // MARK: - 8. public access block

    static func accessBlock(policy: String = "true", restrict: String? = "true") -> String {
        """
        <PublicAccessBlockConfiguration xmlns="\(Self.s3Namespace)">
          <BlockPublicAcls>true</BlockPublicAcls>
          <IgnorePublicAcls>true</IgnorePublicAcls>
          <BlockPublicPolicy>\(policy)</BlockPublicPolicy>
          \(restrict.map { "<RestrictPublicBuckets>\($0)</RestrictPublicBuckets>" } ?? "")
        </PublicAccessBlockConfiguration>
        """
    }

    @Test func publicAccessBlockSettings() throws {
        let put = S3Operation.putBucketConfiguration("publicAccessBlock")
        #expect(try judge(put, Self.accessBlock(), rules: Self.blockRule) == nil)
        expectDenial(try judge(put, Self.accessBlock(policy: "false"), rules: Self.blockRule),
                     rule: "block", reason: "the configuration leaves BlockPublicPolicy false or out")
        expectDenial(try judge(put, Self.accessBlock(restrict: nil), rules: Self.blockRule),
                     rule: "block", reason: "leaves RestrictPublicBuckets false or out")
        expectDenial(try judge(.deleteBucketConfiguration("publicAccessBlock"), rules: Self.blockRule),
                     rule: "block", reason: "removing the bucket's public access block is not allowed")
        // Without block_public_access the public access block is the owner's business.
        #expect(try judge(put, Self.accessBlock(policy: "false"), rules: Self.aclRule) == nil)
        #expect(try judge(.deleteBucketConfiguration("publicAccessBlock"), rules: Self.aclRule) == nil)
        #expect(throws: S3Error.malformedXML()) {
            try judge(put, "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>", rules: Self.blockRule)
        }
    }

    // MARK: - 9. website

    static func website(_ redirect: String) -> String {
        """
        <WebsiteConfiguration xmlns="\(Self.s3Namespace)">
          <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
          <ErrorDocument><Key>error.html</Key></ErrorDocument>
          <RoutingRules>
            <RoutingRule>
              <Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>
              <Redirect>\(redirect)<ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect>
            </RoutingRule>
          </RoutingRules>
        </WebsiteConfiguration>
        """
    }

    static let redirectAll = """
        <WebsiteConfiguration xmlns="\(Self.s3Namespace)">
          <RedirectAllRequestsTo><HostName>www.evil.example</HostName><Protocol>https</Protocol></RedirectAllRequestsTo>
        </WebsiteConfiguration>
        """

    static let indexOnly = """
        <WebsiteConfiguration xmlns="\(Self.s3Namespace)"><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>
        """

    static let hostsRule = "  - id: hosts\n    website_redirect: {allow_hosts: [example.com, \"*.example.com\"]}\n"

    @Test func websiteAllowHosts() throws {
        let put = S3Operation.putBucketConfiguration("website")
        #expect(try judge(put, Self.website("<Protocol>https</Protocol><HostName>docs.example.com</HostName>"), rules: Self.hostsRule) == nil)
        #expect(try judge(put, Self.website("<Protocol>https</Protocol><HostName>Docs.Example.COM.</HostName>"), rules: Self.hostsRule) == nil)
        #expect(try judge(put, Self.website(""), rules: Self.hostsRule) == nil)  // same host
        expectDenial(try judge(put, Self.website("<Protocol>https</Protocol><HostName>evil.example</HostName>"), rules: Self.hostsRule),
                     rule: "hosts", reason: "the website redirect host 'evil.example' in RoutingRule 1 Redirect is not allowed (allowed hosts: example.com, *.example.com)")
        expectDenial(try judge(put, Self.website("<Protocol>https</Protocol><HostName>docs.example.com@evil.example</HostName>"),
                               rules: Self.hostsRule),
                     rule: "hosts", reason: "is not allowed (allowed hosts")
        expectDenial(try judge(put, Self.website("<HostName>docs.example.com</HostName>"), rules: Self.hostsRule),
                     rule: "hosts", reason: "must be relative or https:// (Protocol https)")
        expectDenial(try judge(put, Self.website("<Protocol>http</Protocol><HostName>docs.example.com</HostName>"), rules: Self.hostsRule),
                     rule: "hosts", reason: "must be relative or https://")
        expectDenial(try judge(put, Self.redirectAll, rules: Self.hostsRule),
                     rule: "hosts", reason: "the website redirect host 'www.evil.example' in RedirectAllRequestsTo is not allowed")
    }

    @Test func websiteOtherRedirectRules() throws {
        let put = S3Operation.putBucketConfiguration("website")
        let relative = "  - id: rel\n    website_redirect: relative-only\n"
        #expect(try judge(put, Self.website(""), rules: relative) == nil)
        expectDenial(try judge(put, Self.website("<HostName>docs.example.com</HostName>"), rules: relative),
                     rule: "rel", reason: "only relative website redirects are allowed; RoutingRule 1 Redirect redirects to the host 'docs.example.com'")
        let forbid = "  - id: none\n    website_redirect: forbid\n"
        #expect(try judge(put, Self.indexOnly, rules: forbid) == nil)
        expectDenial(try judge(put, Self.website(""), rules: forbid),
                     rule: "none", reason: "website redirects (RoutingRule 1 Redirect) are not allowed")
        let strip = "  - id: strip\n    website_redirect: strip\n"
        #expect(try judge(put, Self.indexOnly, rules: strip) == nil)
        expectDenial(try judge(put, Self.redirectAll, rules: strip),
                     rule: "strip", reason: "cannot be stripped")
    }

    @Test func websiteMalformed() throws {
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("website"), "<WebsiteConfiguration><RoutingRules>", rules: Self.hostsRule)
        }
    }

    // MARK: - size limit

    @Test func oversizeBodies() throws {
        let limit = BucketConfigurationJudge.maxBodyBytes
        // Exactly at the limit is read (trailing whitespace after the root element is allowed).
        let document = Self.lifecycle("STANDARD_IA")
        let atLimit = document + String(repeating: " ", count: limit - document.utf8.count)
        #expect(atLimit.utf8.count == limit)
        #expect(try judge(.putBucketConfiguration("lifecycle"), atLimit, rules: Self.storageRule) == nil)
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("lifecycle"), atLimit + " ", rules: Self.storageRule)
        }
        #expect(throws: S3Error.malformedXML()) {
            try judge(.createBucket, atLimit + " ", rules: Self.aclRule)
        }
        #expect(throws: S3Error.malformedXML()) {
            try judge(.putBucketConfiguration("acl"), atLimit + " ", rules: Self.aclRule)
        }
        let json = Self.bucketPolicy(Self.publicRead)
        let bigPolicy = json + String(repeating: " ", count: limit + 1 - json.utf8.count)
        #expect(throws: S3Error.malformedPolicy()) {
            try judge(.putBucketConfiguration("policy"), bigPolicy, rules: Self.openRule)
        }
    }

    @Test func errorsAreS3Errors() {
        #expect(S3Error.malformedXML().code == "MalformedXML")
        #expect(S3Error.malformedXML().status == 400)
        #expect(S3Error.malformedPolicy().code == "MalformedPolicy")
        #expect(S3Error.malformedPolicy().status == 400)
        #expect(S3Error.malformedPolicy().message == "Policies must be valid JSON and the first byte must be '{'")
    }

    // MARK: - block_public_access loading and uploads

    @Test func blockPublicAccessLoadsAlone() throws {
        let loaded = try policy(rules: Self.blockRule)
        let acl = try #require(loaded.rules.first?.acl)
        #expect(acl.blockPublicAccess)
        #expect(acl.allowCanned == nil)
        #expect(acl.forbidsPublic)
    }

    @Test func blockPublicAccessContradictingAllowCannedIsRefused() {
        #expect(throws: ConfigError.self) {
            try policy(rules: "  - id: a\n    acl: {allow_canned: [private, public-read], block_public_access: true}\n")
        }
        #expect(throws: ConfigError.self) {
            try policy(rules: "  - id: a\n    acl: {block_public_access: yes}\n")
        }
    }

    @Test func blockPublicAccessOnUploads() throws {
        let loaded = try policy(rules: "  - id: block\n    acl: {allow_grant_headers: true, block_public_access: true}\n")
        let publicCanned = loaded.evaluate(makeRequest(.putObject, headers: [("x-amz-acl", "public-read")]))
        #expect(publicCanned.outcome.error?.message.contains("makes the object public (block_public_access)") == true)
        let publicGrant = loaded.evaluate(makeRequest(.putObject, headers: [
            ("x-obs-grant-read", "id=Everyone"),
        ]))
        #expect(publicGrant.outcome.error?.message.contains("x-obs-grant-read names Everyone") == true)
        let privateGrant = loaded.evaluate(makeRequest(.putObject, headers: [("x-amz-grant-read", "id=\"abc\"")]))
        #expect(privateGrant.outcome == .allow)
        #expect(loaded.evaluate(makeRequest(.putObject, headers: [("x-amz-acl", "private")])).outcome == .allow)
    }
}
