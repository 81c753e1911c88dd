import Policy
import Testing
import YAMLConfig

/// Every load error, at the exact line and column of the offending text.
@Suite struct PolicyLoadErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let line: Int
        let column: Int
        /// A fragment the message must contain.
        let message: String
        var testDescription: String { name }
    }

    /// Prefix for cases about one rule: the rule starts on line 3.
    static let head = "version: 1\nrules:\n"

    static let cases: [Case] = [
        // document
        Case(name: "empty document", yaml: "", line: 1, column: 1, message: "the document is empty"),
        Case(name: "invalid YAML", yaml: "version: 1\nrules: [\n", line: 3, column: 1, message: "invalid YAML"),
        Case(name: "unknown top-level key", yaml: "version: 1\nrulez: []\n", line: 2, column: 1,
             message: "unknown key 'rulez'"),
        Case(name: "neither rules nor access", yaml: "version: 1\n", line: 1, column: 1,
             message: "give upload rules (rules:), access rules (access:) or both"),
        Case(name: "version 2", yaml: "version: 2\nrules: []\n", line: 1, column: 10, message: "only version 1"),
        Case(name: "version as text", yaml: "version: one\nrules: []\n", line: 1, column: 10, message: "expected an integer"),
        Case(name: "rules not a list", yaml: "version: 1\nrules: {}\n", line: 2, column: 8, message: "expected a list"),
        // rule keys
        Case(name: "unknown rule key", yaml: head + "  - id: a\n    storage-class: {deny: [COLD]}\n", line: 4, column: 5,
             message: "unknown key 'storage-class'"),
        Case(name: "missing id", yaml: head + "  - storage_class: {deny: [COLD]}\n", line: 3, column: 5,
             message: "missing required key 'id'"),
        Case(name: "id with a space", yaml: head + "  - id: my rule\n    storage_class: {deny: [COLD]}\n", line: 3, column: 9,
             message: "a rule id uses letters"),
        Case(name: "duplicate id", yaml: head + "  - id: a\n    acl: {allow_canned: [private]}\n  - id: a\n    acl: {allow_canned: [private]}\n",
             line: 5, column: 9, message: "rule id 'a' is already used by the rule at line 3"),
        Case(name: "rule that enforces nothing", yaml: head + "  - id: a\n    match: {buckets: [x]}\n", line: 3, column: 5,
             message: "rule 'a' enforces nothing"),
        Case(name: "unknown mode", yaml: head + "  - id: a\n    mode: enforced\n    acl: {allow_grant_headers: false}\n", line: 4, column: 11,
             message: "expected enforce or audit, found 'enforced'"),
        Case(name: "empty deny message", yaml: head + "  - id: a\n    deny_message: \"\"\n    acl: {allow_grant_headers: false}\n",
             line: 4, column: 19, message: "must not be empty"),
        // match
        Case(name: "unknown match key", yaml: head + "  - id: a\n    match: {bucket: [x]}\n    acl: {allow_grant_headers: false}\n",
             line: 4, column: 13, message: "unknown key 'bucket'"),
        Case(name: "empty bucket list", yaml: head + "  - id: a\n    match: {buckets: []}\n    acl: {allow_grant_headers: false}\n",
             line: 4, column: 22, message: "the list must not be empty"),
        Case(name: "bucket glob never closed", yaml: head + "  - id: a\n    match:\n      buckets: [ok, \"fin[ance\"]\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 21, message: "invalid glob 'fin[ance'"),
        Case(name: "triple star", yaml: head + "  - id: a\n    match:\n      buckets: [\"a***\"]\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 17, message: "'***' is not a wildcard"),
        Case(name: "reversed range", yaml: head + "  - id: a\n    match:\n      buckets: [\"log-[9-0]\"]\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 17, message: "the range '9-0' is reversed"),
        Case(name: "bucket both selected and excluded",
             yaml: head + "  - id: a\n    match:\n      buckets: [x]\n      exclude_buckets: [y, x]\n    acl: {allow_grant_headers: false}\n",
             line: 6, column: 28, message: "bucket 'x' is both selected and excluded"),
        Case(name: "keys with prefix and glob",
             yaml: head + "  - id: a\n    match:\n      keys: {prefix: a/, glob: \"a/*\"}\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 13, message: "give either prefix or glob"),
        Case(name: "keys without prefix or glob",
             yaml: head + "  - id: a\n    match:\n      keys: {}\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 13, message: "give prefix or glob"),
        Case(name: "bad key glob", yaml: head + "  - id: a\n    match:\n      keys: {glob: \"logs/\\\\\"}\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 20, message: "ends with an escape character"),
        Case(name: "unknown operation", yaml: head + "  - id: a\n    match:\n      operations: [PutObject, GetObject]\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 31, message: "unknown operation 'GetObject'"),
        Case(name: "principals as a string", yaml: head + "  - id: a\n    match:\n      principals: alice\n    acl: {allow_grant_headers: false}\n",
             line: 5, column: 19, message: "expected a list"),
        // storage_class
        Case(name: "unknown storage class", yaml: head + "  - id: a\n    storage_class:\n      allow: [STANDARD, glacier]\n",
             line: 5, column: 25, message: "unknown storage class 'glacier'"),
        Case(name: "storage class allowed and denied (across dialects)",
             yaml: head + "  - id: a\n    storage_class:\n      allow: [STANDARD, GLACIER]\n      deny: [COLD]\n",
             line: 6, column: 14, message: "storage class COLD is both allowed and denied"),
        Case(name: "default not in the allow list",
             yaml: head + "  - id: a\n    storage_class:\n      allow: [STANDARD]\n      default: WARM\n",
             line: 6, column: 16, message: "the default storage class WARM is not in this rule's allow list"),
        Case(name: "default denied", yaml: head + "  - id: a\n    storage_class:\n      deny: [GLACIER]\n      default: COLD\n",
             line: 6, column: 16, message: "the default storage class COLD is denied by this rule"),
        Case(name: "empty storage_class", yaml: head + "  - id: a\n    storage_class: {}\n", line: 4, column: 20,
             message: "give at least one of allow, deny, default"),
        Case(name: "unknown storage_class key", yaml: head + "  - id: a\n    storage_class: {allowed: [STANDARD]}\n", line: 4, column: 21,
             message: "unknown key 'allowed'"),
        // encryption
        Case(name: "unknown requirement", yaml: head + "  - id: a\n    encryption: {require: kms}\n", line: 4, column: 27,
             message: "expected sse-kms, sse-c, sse-s3 or any, found 'kms'"),
        Case(name: "required and forbidden", yaml: head + "  - id: a\n    encryption:\n      require: sse-kms\n      forbid: [sse-c, sse-kms]\n",
             line: 6, column: 23, message: "sse-kms is both required and forbidden"),
        Case(name: "any required, all forbidden",
             yaml: head + "  - id: a\n    encryption:\n      require: any\n      forbid: [sse-c, sse-kms, sse-s3]\n",
             line: 6, column: 15, message: "every kind of encryption is forbidden"),
        Case(name: "unknown forbidden kind", yaml: head + "  - id: a\n    encryption:\n      forbid: [none]\n",
             line: 5, column: 16, message: "expected sse-kms, sse-c or sse-s3, found 'none'"),
        Case(name: "KMS keys with SSE-KMS forbidden",
             yaml: head + "  - id: a\n    encryption:\n      forbid: [sse-kms]\n      kms_key_ids: [testkey-1]\n",
             line: 6, column: 20, message: "KMS key ids are pointless here: sse-kms is forbidden"),
        Case(name: "default KMS key with sse-s3 required",
             yaml: head + "  - id: a\n    encryption:\n      require: sse-s3\n      default_kms_key_id: testkey-1\n",
             line: 6, column: 27, message: "the rule requires sse-s3"),
        Case(name: "default KMS key outside the allow list",
             yaml: head + "  - id: a\n    encryption:\n      kms_key_ids: [\"arn:aws:kms:*:*:key/*\"]\n      default_kms_key_id: testkey-1\n",
             line: 6, column: 27, message: "the default KMS key id 'testkey-1' is not in this rule's kms_key_ids"),
        Case(name: "bad KMS key glob", yaml: head + "  - id: a\n    encryption:\n      kms_key_ids: [\"arn:aws:kms:[x\"]\n",
             line: 5, column: 21, message: "invalid glob"),
        Case(name: "default SSE-C", yaml: head + "  - id: a\n    encryption:\n      default_when_absent: sse-c\n",
             line: 5, column: 28, message: "default_when_absent is sse-kms or sse-s3"),
        Case(name: "default contradicts require",
             yaml: head + "  - id: a\n    encryption:\n      require: sse-kms\n      default_when_absent: sse-s3\n",
             line: 6, column: 28, message: "the default sse-s3 contradicts require: sse-kms"),
        Case(name: "default forbidden", yaml: head + "  - id: a\n    encryption:\n      forbid: [sse-s3]\n      default_when_absent: sse-s3\n",
             line: 6, column: 28, message: "the default sse-s3 is forbidden by this rule"),
        Case(name: "empty KMS key list", yaml: head + "  - id: a\n    encryption: {kms_key_ids: []}\n",
             line: 4, column: 31, message: "the list must not be empty"),
        // website_redirect
        Case(name: "unknown redirect mode", yaml: head + "  - id: a\n    website_redirect: block\n", line: 4, column: 23,
             message: "expected forbid, relative-only, strip or {allow_hosts: [...]}, found 'block'"),
        Case(name: "host with scheme", yaml: head + "  - id: a\n    website_redirect:\n      allow_hosts: [\"https://example.com\"]\n",
             line: 5, column: 21, message: "a host name without scheme"),
        Case(name: "upper-case host", yaml: head + "  - id: a\n    website_redirect:\n      allow_hosts: [Example.com]\n",
             line: 5, column: 21, message: "write 'example.com'"),
        Case(name: "unknown redirect key", yaml: head + "  - id: a\n    website_redirect: {hosts: [a.com]}\n", line: 4, column: 24,
             message: "unknown key 'hosts'"),
        Case(name: "redirect as a list", yaml: head + "  - id: a\n    website_redirect: [forbid]\n", line: 4, column: 23,
             message: "expected a mapping"),
        // acl
        Case(name: "unknown canned ACL", yaml: head + "  - id: a\n    acl:\n      allow_canned: [private, public]\n",
             line: 5, column: 31, message: "unknown canned ACL 'public'"),
        Case(name: "grant flag not a bool", yaml: head + "  - id: a\n    acl:\n      allow_grant_headers: yes\n",
             line: 5, column: 28, message: "expected true or false, found 'yes'"),
        // metadata
        Case(name: "bad regular expression", yaml: head + "  - id: a\n    metadata:\n      key_pattern: \"[a-\"\n",
             line: 5, column: 20, message: "invalid regular expression"),
        Case(name: "regular expression escaping its anchors", yaml: head + "  - id: a\n    metadata:\n      key_pattern: \"a)|(b\"\n",
             line: 5, column: 20, message: "invalid regular expression 'a)|(b'"),
        Case(name: "required key with its prefix", yaml: head + "  - id: a\n    metadata:\n      required_keys: [x-amz-meta-cost-centre]\n",
             line: 5, column: 23, message: "write the metadata key without its header prefix: 'cost-centre'"),
        Case(name: "required key that is no header name", yaml: head + "  - id: a\n    metadata:\n      required_keys: [\"cost centre\"]\n",
             line: 5, column: 23, message: "cannot be a header name"),
        Case(name: "required key outside the key pattern",
             yaml: head + "  - id: a\n    metadata:\n      key_pattern: \"[a-z]+\"\n      required_keys: [cost-centre]\n",
             line: 6, column: 23, message: "the required key 'cost-centre' does not match this rule's key_pattern"),
        Case(name: "metadata limit above 8 KB", yaml: head + "  - id: a\n    metadata:\n      max_total_bytes: 9000\n",
             line: 5, column: 24, message: "must be between 0 and 8192, found 9000"),
        Case(name: "metadata limit quoted", yaml: head + "  - id: a\n    metadata:\n      max_total_bytes: \"100\"\n",
             line: 5, column: 24, message: "expected an integer"),
        Case(name: "required key longer than the limit",
             yaml: head + "  - id: a\n    metadata:\n      required_keys: [cost-centre]\n      max_total_bytes: 4\n",
             line: 5, column: 23, message: "the required key 'cost-centre' alone exceeds max_total_bytes 4"),
    ]

    @Test(arguments: cases)
    func refuses(_ testCase: Case) throws {
        let error = try #require(throws: ConfigError.self) {
            try UploadPolicy.parse(testCase.yaml, file: "policy.yaml")
        }
        #expect(error.file == "policy.yaml")
        #expect(error.message.contains(testCase.message), "message: \(error.message)")
        #expect(error.line == testCase.line && error.column == testCase.column,
                "at \(error.line):\(error.column), expected \(testCase.line):\(testCase.column): \(error.message)")
        #expect(error.description.hasPrefix("policy.yaml:\(error.line):\(error.column): error: "))
    }

    @Test func messagesCarryTheKeyPath() throws {
        let error = try #require(throws: ConfigError.self) {
            try UploadPolicy.parse(Self.head + "  - id: a\n  - id: b\n    storage_class: {default: cold}\n", file: "p.yaml")
        }
        // The first rule fails first: it enforces nothing.
        #expect(error.line == 3)
        let second = try #require(throws: ConfigError.self) {
            try UploadPolicy.parse(Self.head + "  - id: b\n    storage_class: {default: cold}\n", file: "p.yaml")
        }
        #expect(second.message.hasPrefix("rules[0].storage_class.default: unknown storage class 'cold'"))
    }

    @Test func loadReportsAnUnreadableFile() throws {
        let error = try #require(throws: ConfigError.self) {
            try UploadPolicy.load(path: "/nonexistent/policy.yaml")
        }
        #expect(error.description.hasPrefix("/nonexistent/policy.yaml:1:1: error: cannot read the policy file"))
    }
}
