import Foundation
import Policy
import S3Core
import Testing

/// How matching rules combine (docs/policy.md): defaults from the most specific rule,
/// checks by every rule on the changed request, the first denying rule in file order named,
/// audit-mode rules recorded but never applied.
@Suite struct CombinationTests {
    @Test func everyDenyingRuleCouldAnswerTheFirstInFileOrderIsNamed() throws {
        let loaded = try policy(rules: """
              - id: a-no-cold
                storage_class: {deny: [COLD]}
              - id: b-kms
                encryption: {require: sse-kms}
              - id: c-no-cold-either
                match: {buckets: [finance]}
                storage_class: {deny: [COLD]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-obs-storage-class", "COLD")]))
        #expect(decision.deniedBy == "a-no-cold")
        #expect(decision.matchedRules == ["a-no-cold", "b-kms", "c-no-cold-either"])
        let second = loaded.evaluate(makeRequest(headers: [("x-amz-storage-class", "STANDARD")]))
        #expect(second.deniedBy == "b-kms")
    }

    /// A literal bucket beats a bucket glob beats any bucket, wherever they sit in the file.
    @Test(arguments: [
        ("finance", "GLACIER"),        // literal rule
        ("fin-eu", "STANDARD_IA"),     // glob rule
        ("marketing", "STANDARD"),     // any-bucket rule
    ])
    func defaultsComeFromTheMostSpecificBucket(bucket: String, expected: String) throws {
        let loaded = try policy(rules: """
              - id: literal
                match: {buckets: [finance]}
                storage_class: {default: COLD}
              - id: glob
                match: {buckets: ["fin*"]}
                storage_class: {default: WARM}
              - id: any
                storage_class: {default: STANDARD}

            """)
        let decision = loaded.evaluate(makeRequest(bucket: bucket))
        #expect(decision.mutations == [.set(name: "x-amz-storage-class", value: expected)])
    }

    @Test func theFileOrderDoesNotChangeSpecificity() throws {
        let loaded = try policy(rules: """
              - id: any
                storage_class: {default: STANDARD}
              - id: glob
                match: {buckets: ["fin*"]}
                storage_class: {default: WARM}
              - id: literal
                match: {buckets: [finance]}
                storage_class: {default: COLD}

            """)
        #expect(loaded.evaluate(makeRequest()).mutations == [.set(name: "x-amz-storage-class", value: "GLACIER")])
    }

    @Test func aLiteralBucketBeatsALongerKeyPrefixUnderAGlob() throws {
        let loaded = try policy(rules: """
              - id: glob-deep
                match: {buckets: ["fin*"], keys: {prefix: reports/2024/}}
                storage_class: {default: WARM}
              - id: literal
                match: {buckets: [finance]}
                storage_class: {default: COLD}

            """)
        let decision = loaded.evaluate(makeRequest(key: "reports/2024/q3.csv"))
        #expect(decision.mutations == [.set(name: "x-amz-storage-class", value: "GLACIER")])
    }

    @Test(arguments: [
        ("reports/2024/q3.csv", "STANDARD_IA"),  // the longest prefix
        ("reports/2023/q3.csv", "GLACIER"),      // the shorter one
        ("logs/x", "STANDARD"),                  // no key criterion
    ])
    func thenTheLongestKeyPrefix(key: String, expected: String) throws {
        let loaded = try policy(rules: """
              - id: bucket
                match: {buckets: [finance]}
                storage_class: {default: STANDARD}
              - id: reports
                match: {buckets: [finance], keys: {prefix: reports/}}
                storage_class: {default: COLD}
              - id: reports-2024
                match: {buckets: [finance], keys: {glob: "reports/2024/**"}}
                storage_class: {default: WARM}

            """)
        #expect(loaded.evaluate(makeRequest(key: key)).mutations == [.set(name: "x-amz-storage-class", value: expected)])
    }

    @Test func equallySpecificRulesDefaultByFileOrder() throws {
        let loaded = try policy(rules: """
              - id: first
                match: {buckets: [finance]}
                encryption: {default_kms_key_id: testkey-1}
              - id: second
                match: {buckets: [finance]}
                encryption: {default_kms_key_id: testkey-2}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-server-side-encryption", "aws:kms")]))
        #expect(decision.mutations == [.set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1")])
    }

    @Test func defaultsFromDifferentRulesAddUp() throws {
        let loaded = try policy(rules: """
              - id: storage
                storage_class: {default: WARM}
              - id: encryption
                match: {buckets: [finance]}
                encryption: {default_when_absent: sse-kms}
              - id: key
                encryption: {default_kms_key_id: testkey-1}

            """)
        let decision = loaded.evaluate(makeRequest())
        #expect(decision.outcome == .allowWithMutations)
        #expect(decision.mutations == [
            .set(name: "x-amz-storage-class", value: "STANDARD_IA"),
            .set(name: "x-amz-server-side-encryption", value: "aws:kms"),
            .set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1"),
        ])
        #expect(decision.applying(to: HeaderFields([("Host", "gw")])) == HeaderFields([
            ("Host", "gw"), ("x-amz-storage-class", "STANDARD_IA"), ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1"),
        ]))
    }

    /// Defaults are checked by every rule: a default one rule injects can be refused by another.
    @Test func anInjectedDefaultIsCheckedByTheOtherRules() throws {
        let loaded = try policy(rules: """
              - id: finance-default
                match: {buckets: [finance]}
                encryption: {default_when_absent: sse-kms, default_kms_key_id: testkey-1}
              - id: org-keys
                encryption: {kms_key_ids: [testkey-2]}

            """)
        let decision = loaded.evaluate(makeRequest())
        #expect(decision.deniedBy == "org-keys")
        #expect(decision.outcome.error?.message.contains("KMS key 'testkey-1'") == true)
        #expect(decision.mutations.isEmpty)
    }

    @Test func aDefaultSatisfiesAnotherRulesRequirement() throws {
        let loaded = try policy(rules: """
              - id: require
                encryption: {require: sse-kms}
              - id: default
                match: {buckets: [finance]}
                encryption: {default_when_absent: sse-kms}

            """)
        #expect(loaded.evaluate(makeRequest()).outcome == .allowWithMutations)
        #expect(loaded.evaluate(makeRequest(bucket: "other")).deniedBy == "require")
    }

    @Test func aStripSatisfiesAForbid() throws {
        let loaded = try policy(rules: """
              - id: forbid
                website_redirect: forbid
              - id: strip
                match: {buckets: [finance]}
                website_redirect: strip

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-website-redirect-location", "https://evil.example")]))
        #expect(decision.outcome == .allowWithMutations)
        #expect(decision.mutations == [.remove(name: "x-amz-website-redirect-location")])
        #expect(loaded.evaluate(makeRequest(bucket: "other", headers: [("x-amz-website-redirect-location", "/a")])).deniedBy == "forbid")
    }

    @Test func aDenyDropsTheMutations() throws {
        let loaded = try policy(rules: """
              - id: default
                storage_class: {default: STANDARD}
              - id: acl
                acl: {allow_canned: [private]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-acl", "public-read")]))
        #expect(decision.deniedBy == "acl")
        #expect(decision.mutations.isEmpty)
    }

    @Test func theDenyMessageReplacesTheReasonAndNamesTheRule() throws {
        let loaded = try policy(rules: """
              - id: no-glacier
                storage_class: {deny: [GLACIER]}
                deny_message: Nothing goes to GLACIER from the web team

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-storage-class", "GLACIER")]))
        let error = try #require(decision.outcome.error)
        #expect(error == S3Error.accessDenied("Nothing goes to GLACIER from the web team (policy rule 'no-glacier')"))
        #expect(decision.denyReason == "storage class GLACIER in x-amz-storage-class is not allowed")
        #expect(error.xmlBody(requestId: "r").contains("<Code>AccessDenied</Code><Message>Nothing goes to GLACIER from the web team (policy rule &apos;no-glacier&apos;)</Message>"))
    }

    /// The policy never guesses: headers the seed would refuse as ambiguous are refused here too.
    @Test func ambiguousHeadersAreRefusedEvenWithoutTheSeedPhase() throws {
        let loaded = try policy(rules: "  - id: r\n    storage_class: {deny: [GLACIER]}\n")
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-storage-class", "STANDARD"), ("x-obs-storage-class", "COLD")]))
        #expect(decision.outcome.error?.code == "InvalidArgument")
        #expect(decision.matchedRules.isEmpty)
    }

    @Test func theVersionIsTheSHA256OfTheFile() throws {
        let text = "version: 1\nrules: []\n"
        // printf 'version: 1\nrules: []\n' | sha256sum
        #expect(try policy(text).version == "7f2c43106364d8112fcc3060e4ab8b20f5d1a17d9cbf3c2540529663004adff8")
        let a = try policy(text).version
        let b = try policy(text + "# comment\n").version
        #expect(a.count == 64 && a.allSatisfy(\.isHexDigit))
        #expect(a != b)
        #expect(try policy(text).evaluate(makeRequest())
                == PolicyDecision(outcome: .allow, policyVersion: a, accessRule: PolicyDecision.accessDefault))
    }
}

@Suite struct AuditModeTests {
    @Test func anAuditRuleThatWouldDenyLetsTheRequestPass() throws {
        let loaded = try policy(rules: """
              - id: web-no-cold
                mode: audit
                storage_class: {deny: [COLD]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-obs-storage-class", "COLD")]))
        #expect(decision.outcome == .auditOnly)
        #expect(decision.mutations.isEmpty)
        #expect(decision.matchedRules == ["web-no-cold"])
        #expect(decision.deniedBy == nil)
        #expect(decision.wouldHave?.error?.code == "AccessDenied")
        #expect(decision.wouldHaveDeniedBy == "web-no-cold")
        #expect(decision.wouldHaveDenyReason == "storage class COLD (GLACIER) in x-obs-storage-class is not allowed")
    }

    @Test func anAuditRuleThatWouldAllowIsRecorded() throws {
        let loaded = try policy(rules: "  - id: audit\n    mode: audit\n    storage_class: {deny: [COLD]}\n")
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-storage-class", "STANDARD")]))
        #expect(decision.outcome == .auditOnly)
        #expect(decision.wouldHave == .allow)
    }

    @Test func anAuditRuleNeverInjectsItsDefaults() throws {
        let loaded = try policy(rules: """
              - id: audit-kms
                mode: audit
                encryption: {default_when_absent: sse-kms, default_kms_key_id: testkey-1}

            """)
        let decision = loaded.evaluate(makeRequest())
        #expect(decision.outcome == .auditOnly)
        #expect(decision.mutations.isEmpty)
        #expect(decision.wouldHave == .allowWithMutations)
        #expect(decision.wouldHaveMutations == [
            .set(name: "x-amz-server-side-encryption", value: "aws:kms"),
            .set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1"),
        ])
    }

    @Test func enforcedMutationsApplyWhileTheAuditRuleRecordsADeny() throws {
        let loaded = try policy(rules: """
              - id: default
                storage_class: {default: STANDARD}
              - id: audit-acl
                mode: audit
                acl: {allow_canned: [private]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-acl", "public-read")]))
        #expect(decision.outcome == .allowWithMutations)
        #expect(decision.mutations == [.set(name: "x-amz-storage-class", value: "STANDARD")])
        #expect(decision.wouldHaveDeniedBy == "audit-acl")
        #expect(decision.wouldHaveMutations.isEmpty)
    }

    @Test func anEnforcedDenyStandsBesideAnAuditRule() throws {
        let loaded = try policy(rules: """
              - id: audit-first
                mode: audit
                storage_class: {deny: [COLD]}
              - id: enforce
                storage_class: {deny: [COLD]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-obs-storage-class", "COLD")]))
        #expect(decision.deniedBy == "enforce")
        #expect(decision.wouldHaveDeniedBy == "audit-first")
    }

    @Test func noAuditRuleNoWouldHave() throws {
        let loaded = try policy(rules: "  - id: r\n    storage_class: {deny: [COLD]}\n")
        #expect(loaded.evaluate(makeRequest()).wouldHave == nil)
        #expect(loaded.evaluate(makeRequest()).outcome == .allow)
    }

    @Test func theDecisionEncodesAsJSON() throws {
        let loaded = try policy(rules: """
              - id: default
                storage_class: {default: STANDARD}
              - id: audit-acl
                mode: audit
                acl: {allow_canned: [private]}

            """)
        let decision = loaded.evaluate(makeRequest(headers: [("x-amz-acl", "public-read")]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(decision), as: UTF8.self)
        #expect(json.contains(#""matched_rules":["default","audit-acl"]"#))
        #expect(json.contains(#""mutations":[{"action":"set","name":"x-amz-storage-class","value":"STANDARD"}]"#))
        #expect(json.contains(#""outcome":"allow-with-mutations""#))
        #expect(json.contains(#""would_have":"deny""#))
        #expect(json.contains(#""would_have_denied_by":"audit-acl""#))
        #expect(json.contains(#""policy_version":"\#(loaded.version)""#))
    }
}
