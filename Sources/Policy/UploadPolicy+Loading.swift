import Crypto
import Foundation
import S3Core
import YAMLConfig

/// Loading the policy file (docs/policy.md). Everything is checked at load, and every
/// problem is a `ConfigError` at its line and column: unknown keys, wrong types, bad
/// globs and regular expressions, unknown storage classes, ACLs, encryption kinds and
/// operations, duplicate rule ids, and rules that contradict themselves.
extension UploadPolicy {
    public static func load(path: String) throws(ConfigError) -> UploadPolicy {
        let text = try ConfigFile.read(path, what: "the policy file")
        return try parse(text, file: path)
    }

    /// Parses a policy; `version` is the SHA-256 of the text's UTF-8 bytes (the file's bytes).
    public static func parse(_ text: String, file: String) throws(ConfigError) -> UploadPolicy {
        let version = hex(SHA256.hash(data: Array(text.utf8)))
        let document = try YAMLNode.parse(text, file: file)
        let root = try document.mapping(allowed: ["version", "rules", "access"], required: ["version"])
        try root.requireVersion(1)
        guard root["rules"] != nil || root["access"] != nil else {
            throw document.error("give upload rules (rules:), access rules (access:) or both")
        }
        var rules: [PolicyRule] = []
        var ids: [String: Int] = [:]
        for entry in try root["rules"]?.sequence() ?? [] {
            let rule = try RuleLoader.rule(entry, index: rules.count)
            if let line = ids[rule.id] {
                let fields = try entry.mapping(allowed: nil)
                throw (try fields.required("id")).error("rule id '\(rule.id)' is already used by the rule at line \(line)")
            }
            ids[rule.id] = entry.line
            rules.append(rule)
        }
        let accessRules = try root["access"].map { node throws(ConfigError) in try AccessRuleLoader.rules(node, ids: &ids) } ?? []
        return UploadPolicy(version: version, rules: rules, accessRules: accessRules)
    }
}

enum RuleLoader {
    static let ruleKeys: Set<String> = [
        "id", "description", "mode", "match", "storage_class", "encryption", "website_redirect", "acl", "metadata",
        "deny_message",
    ]
    static let actionKeys = ["storage_class", "encryption", "website_redirect", "acl", "metadata"]

    static func rule(_ entry: YAMLNode, index: Int) throws(ConfigError) -> PolicyRule {
        let fields = try entry.mapping(allowed: ruleKeys, required: ["id"])
        let id = try ruleId(fields.required("id"))
        guard actionKeys.contains(where: { fields[$0] != nil }) else {
            throw entry.error("rule '\(id)' enforces nothing: give at least one of \(actionKeys.joined(separator: ", "))")
        }
        return PolicyRule(
            id: id,
            description: try fields["description"]?.string(),
            index: index,
            mode: try mode(fields["mode"]),
            match: try fields["match"].map(match) ?? RuleMatch(),
            storageClass: try fields["storage_class"].map(storageClass),
            encryption: try fields["encryption"].map(encryption),
            websiteRedirect: try fields["website_redirect"].map(redirect),
            acl: try fields["acl"].map(acl),
            metadata: try fields["metadata"].map(metadata),
            denyMessage: try fields["deny_message"]?.nonEmptyString())
    }

    /// A rule id: letters, digits, '.', '_' and '-'.
    static func ruleId(_ node: YAMLNode) throws(ConfigError) -> String {
        let id = try node.nonEmptyString()
        guard id.utf8.allSatisfy({ isIdByte($0) }) else {
            throw node.error("a rule id uses letters, digits, '.', '_' and '-' only, found '\(id)'")
        }
        return id
    }

    static func isIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    // MARK: match

    static func match(_ node: YAMLNode) throws(ConfigError) -> RuleMatch {
        let fields = try node.mapping(allowed: ["buckets", "exclude_buckets", "keys", "principals", "groups", "operations"])
        var match = RuleMatch()
        if let buckets = fields["buckets"] {
            (match.bucketLiterals, match.bucketGlobs) = try bucketCriteria(buckets)
        }
        if let excluded = fields["exclude_buckets"] {
            for item in try nonEmptySequence(excluded) {
                let glob = try item.glob()
                if let literal = glob.literalText {
                    guard !match.bucketLiterals.contains(literal) else {
                        throw item.error("bucket '\(literal)' is both selected and excluded")
                    }
                    match.excludedBucketLiterals.insert(literal)
                } else {
                    match.excludedBucketGlobs.append(glob)
                }
            }
        }
        if let keys = fields["keys"] {
            (match.keyPrefix, match.keyGlob) = try keyCriteria(keys)
        }
        if let principals = fields["principals"] {
            match.principals = Set(try nonEmptyStrings(principals))
        }
        if let groups = fields["groups"] {
            match.groups = Set(try nonEmptyStrings(groups))
        }
        if let operations = fields["operations"] {
            var set: Set<PolicedOperation> = []
            for item in try nonEmptySequence(operations) {
                let name = try item.nonEmptyString()
                guard let operation = PolicedOperation(rawValue: name) else {
                    let known = PolicedOperation.allCases.map(\.rawValue).joined(separator: ", ")
                    throw item.error("unknown operation '\(name)' (the policy sees: \(known))")
                }
                set.insert(operation)
            }
            match.operations = set
        }
        return match
    }

    /// `buckets: [name or glob, ...]`: the literal names and the globs.
    static func bucketCriteria(_ node: YAMLNode) throws(ConfigError) -> (Set<String>, [Glob]) {
        var literals: Set<String> = []
        var globs: [Glob] = []
        for item in try nonEmptySequence(node) {
            let glob = try item.glob()
            if let literal = glob.literalText { literals.insert(literal) } else { globs.append(glob) }
        }
        return (literals, globs)
    }

    /// `keys: {prefix: P}` or `keys: {glob: G}`.
    static func keyCriteria(_ node: YAMLNode) throws(ConfigError) -> ([UInt8]?, Glob?) {
        let fields = try node.mapping(allowed: ["prefix", "glob"])
        switch (fields["prefix"], fields["glob"]) {
        case (let prefix?, nil): return (Array(try prefix.nonEmptyString().utf8), nil)
        case (nil, let glob?): return (nil, try glob.glob())
        case (_?, _?): throw node.error("give either prefix or glob, not both")
        case (nil, nil): throw node.error("give prefix or glob")
        }
    }

    /// `mode: enforce | audit`.
    static func mode(_ node: YAMLNode?) throws(ConfigError) -> PolicyRule.Mode {
        guard let node else { return .enforce }
        guard let value = PolicyRule.Mode(rawValue: try node.string()) else {
            throw node.error("expected enforce or audit, found '\(try node.string())'")
        }
        return value
    }

    // MARK: storage_class

    static func storageClass(_ node: YAMLNode) throws(ConfigError) -> StorageClassRule {
        let fields = try node.mapping(allowed: ["allow", "deny", "default"])
        guard !fields.isEmpty else { throw node.error("give at least one of allow, deny, default") }
        var rule = StorageClassRule()
        var allowNodes: [String: YAMLNode] = [:]
        if let allow = fields["allow"] {
            var names: [String] = []
            for item in try nonEmptySequence(allow) {
                let name = try storageClassName(item)
                if !names.contains(name) { names.append(name) }
                allowNodes[name] = item
            }
            rule.allow = names
        }
        if let deny = fields["deny"] {
            for item in try nonEmptySequence(deny) {
                let name = try storageClassName(item)
                if allowNodes[name] != nil {
                    throw item.error("storage class \(try item.string()) is both allowed and denied")
                }
                if !rule.deny.contains(name) { rule.deny.append(name) }
            }
        }
        if let defaultNode = fields["default"] {
            let name = try storageClassName(defaultNode)
            if let allow = rule.allow, !allow.contains(name) {
                throw defaultNode.error("the default storage class \(try defaultNode.string()) is not in this rule's allow list")
            }
            if rule.deny.contains(name) {
                throw defaultNode.error("the default storage class \(try defaultNode.string()) is denied by this rule")
            }
            rule.defaultClass = name
        }
        return rule
    }

    static func storageClassName(_ node: YAMLNode) throws(ConfigError) -> String {
        let name = try node.nonEmptyString()
        guard let canonical = StorageClass.canonical(name) else {
            let known = (StorageClass.s3Names + ["WARM", "COLD"]).joined(separator: ", ")
            throw node.error("unknown storage class '\(name)' (case-sensitive; one of: \(known))")
        }
        return canonical
    }

    // MARK: encryption

    static func encryption(_ node: YAMLNode) throws(ConfigError) -> EncryptionRule {
        let fields = try node.mapping(allowed: ["require", "forbid", "kms_key_ids", "default_kms_key_id", "default_when_absent"])
        guard !fields.isEmpty else {
            throw node.error("give at least one of require, forbid, kms_key_ids, default_kms_key_id, default_when_absent")
        }
        var rule = EncryptionRule()
        if let require = fields["require"] {
            let name = try require.nonEmptyString()
            if name == "any" {
                rule.require = .any
            } else if let kind = EncryptionKind.named(name) {
                rule.require = .kind(kind)
            } else {
                throw require.error("expected sse-kms, sse-c, sse-s3 or any, found '\(name)'")
            }
        }
        if let forbid = fields["forbid"] {
            for item in try nonEmptySequence(forbid) {
                let kind = try encryptionKind(item)
                if rule.require == .kind(kind) {
                    throw item.error("\(try item.string()) is both required and forbidden")
                }
                rule.forbid.insert(kind)
            }
            if rule.require == .any && rule.forbid.isSuperset(of: [.sseS3, .sseKMS, .sseC]) {
                throw forbid.error("every kind of encryption is forbidden, yet require: any asks for one")
            }
        }
        let kmsImpossible: String? = {
            if rule.forbid.contains(.sseKMS) { return "sse-kms is forbidden" }
            if case .kind(let kind) = rule.require, kind != .sseKMS { return "the rule requires \(kind.rawValue)" }
            return nil
        }()
        if let ids = fields["kms_key_ids"] {
            if let kmsImpossible { throw ids.error("KMS key ids are pointless here: \(kmsImpossible)") }
            var globs: [Glob] = []
            for item in try nonEmptySequence(ids) { globs.append(try item.glob()) }
            rule.kmsKeyIds = globs
        }
        if let key = fields["default_kms_key_id"] {
            if let kmsImpossible { throw key.error("a default KMS key id is pointless here: \(kmsImpossible)") }
            let value = try key.nonEmptyString()
            guard rule.allowsKey(value) else {
                throw key.error("the default KMS key id '\(value)' is not in this rule's kms_key_ids")
            }
            rule.defaultKMSKeyId = value
        }
        if let absent = fields["default_when_absent"] {
            let kind = try encryptionKind(absent)
            guard kind == .sseKMS || kind == .sseS3 else {
                throw absent.error("default_when_absent is sse-kms or sse-s3 (a customer key cannot be invented)")
            }
            if rule.forbid.contains(kind) {
                throw absent.error("the default \(kind.rawValue) is forbidden by this rule")
            }
            if case .kind(let required) = rule.require, required != kind {
                throw absent.error("the default \(kind.rawValue) contradicts require: \(required.rawValue)")
            }
            rule.defaultWhenAbsent = kind
        }
        return rule
    }

    static func encryptionKind(_ node: YAMLNode) throws(ConfigError) -> EncryptionKind {
        let name = try node.nonEmptyString()
        guard let kind = EncryptionKind.named(name) else {
            throw node.error("expected sse-kms, sse-c or sse-s3, found '\(name)'")
        }
        return kind
    }

    // MARK: website_redirect

    static func redirect(_ node: YAMLNode) throws(ConfigError) -> RedirectRule {
        if node.isScalar {
            switch try node.string() {
            case "forbid": return .forbid
            case "relative-only": return .relativeOnly
            case "strip": return .strip
            case let other:
                throw node.error("expected forbid, relative-only, strip or {allow_hosts: [...]}, found '\(other)'")
            }
        }
        let fields = try node.mapping(allowed: ["allow_hosts"], required: ["allow_hosts"])
        var hosts: [Glob] = []
        for item in try nonEmptySequence(fields.required("allow_hosts")) {
            let host = try item.nonEmptyString()
            guard !host.contains("/"), !host.contains(":"), !host.contains("@") else {
                throw item.error("a host name without scheme, port or path, e.g. www.example.com or *.example.com, found '\(host)'")
            }
            guard host == host.asciiLowercased else {
                throw item.error("host names are matched in lowercase; write '\(host.asciiLowercased)'")
            }
            hosts.append(try item.glob())
        }
        return .allowHosts(hosts)
    }

    // MARK: acl

    static func acl(_ node: YAMLNode) throws(ConfigError) -> ACLRule {
        let fields = try node.mapping(allowed: ["allow_canned", "allow_grant_headers", "block_public_access"])
        guard !fields.isEmpty else {
            throw node.error("give at least one of allow_canned, allow_grant_headers, block_public_access")
        }
        var rule = ACLRule()
        if let canned = fields["allow_canned"] {
            var names: [String] = []
            for item in try nonEmptySequence(canned) {
                let name = try item.nonEmptyString()
                guard CannedACL.names.contains(name) else {
                    throw item.error("unknown canned ACL '\(name)' (one of: \(CannedACL.names.sorted().joined(separator: ", ")))")
                }
                if !names.contains(name) { names.append(name) }
            }
            rule.allowCanned = names
        }
        if let grants = fields["allow_grant_headers"] { rule.allowGrantHeaders = try grants.bool() }
        if let block = fields["block_public_access"] {
            rule.blockPublicAccess = try block.bool()
            if rule.blockPublicAccess, let canned = fields["allow_canned"],
               let open = rule.allowCanned?.first(where: ACLRule.publicCanned.contains) {
                throw canned.error("the public canned ACL '\(open)' is allowed, yet block_public_access refuses it")
            }
        }
        return rule
    }

    // MARK: metadata

    static func metadata(_ node: YAMLNode) throws(ConfigError) -> MetadataRule {
        let fields = try node.mapping(allowed: ["required_keys", "key_pattern", "max_total_bytes"])
        guard !fields.isEmpty else { throw node.error("give at least one of required_keys, key_pattern, max_total_bytes") }
        var rule = MetadataRule()
        if let pattern = fields["key_pattern"] {
            let source = try pattern.nonEmptyString()
            do {
                rule.keyPattern = try KeyPattern(source)
            } catch {
                throw pattern.error("invalid regular expression '\(source)'")
            }
        }
        var requiredNodes: [(String, YAMLNode)] = []
        if let required = fields["required_keys"] {
            for item in try nonEmptySequence(required) {
                var key = try item.nonEmptyString()
                if key.asciiLowercased.hasPrefix("x-amz-meta-") || key.asciiLowercased.hasPrefix("x-obs-meta-") {
                    throw item.error("write the metadata key without its header prefix: '\(key.dropFirst(11))'")
                }
                guard key.utf8.allSatisfy(isTokenByte) else {
                    throw item.error("'\(key)' cannot be a header name (use letters, digits and -_.!#$%&'*+^`|~)")
                }
                key = key.asciiLowercased
                if let pattern = rule.keyPattern, !pattern.matches(key) {
                    throw item.error("the required key '\(key)' does not match this rule's key_pattern \(pattern.source)")
                }
                if !rule.requiredKeys.contains(key) { rule.requiredKeys.append(key) }
                requiredNodes.append((key, item))
            }
        }
        if let max = fields["max_total_bytes"] {
            rule.maxTotalBytes = try max.int(in: 0...SeedValidation.maxMetadataSize)
            if let limit = rule.maxTotalBytes, let (key, item) = requiredNodes.first(where: { $0.0.utf8.count > limit }) {
                throw item.error("the required key '\(key)' alone exceeds max_total_bytes \(limit)")
            }
        }
        return rule
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    // MARK: helpers

    static func nonEmptySequence(_ node: YAMLNode) throws(ConfigError) -> [YAMLNode] {
        let items = try node.sequence()
        guard !items.isEmpty else { throw node.error("the list must not be empty") }
        return items
    }

    static func nonEmptyStrings(_ node: YAMLNode) throws(ConfigError) -> [String] {
        var values: [String] = []
        for item in try nonEmptySequence(node) { values.append(try item.nonEmptyString()) }
        return values
    }
}

extension YAMLNode {
    /// A glob pattern (see `Glob`); a syntax error points at the pattern.
    public func glob() throws(ConfigError) -> Glob {
        let pattern = try nonEmptyString()
        do {
            return try Glob(pattern)
        } catch {
            throw self.error("invalid glob '\(pattern)': \(error.message)")
        }
    }
}
