import S3Core
import YAMLConfig

/// Loading the policy file's `access:` list (docs/policy.md, "Access rules"): every entry
/// checked at load, unknown operation names refused, and an allow rule that a deny rule
/// makes impossible reported as the contradiction it is.
enum AccessRuleLoader {
    static let keys: Set<String> = [
        "id", "description", "mode", "effect", "principals", "groups", "operations", "buckets", "keys", "deny_message",
    ]

    /// The rules of an `access:` list. `ids` holds the ids (and lines) of the upload rules
    /// already loaded: ids are unique across both lists.
    static func rules(_ node: YAMLNode, ids: inout [String: Int]) throws(ConfigError) -> [AccessRule] {
        var rules: [AccessRule] = []
        var nodes: [YAMLNode] = []
        for entry in try RuleLoader.nonEmptySequence(node) {
            let rule = try rule(entry, index: rules.count)
            let fields = try entry.mapping(allowed: nil)
            if let line = ids[rule.id] {
                throw (try fields.required("id")).error("rule id '\(rule.id)' is already used by the rule at line \(line)")
            }
            ids[rule.id] = entry.line
            rules.append(rule)
            nodes.append(entry)
        }
        for (allow, entry) in zip(rules, nodes) where allow.effect == .allow && allow.mode == .enforce {
            if let deny = rules.first(where: { $0.effect == .deny && $0.mode == .enforce && $0.covers(allow) }) {
                throw entry.error("access rule '\(allow.id)' can never allow anything: access rule '\(deny.id)' denies everything it selects (an explicit deny wins)")
            }
        }
        return rules
    }

    static func rule(_ entry: YAMLNode, index: Int) throws(ConfigError) -> AccessRule {
        let fields = try entry.mapping(allowed: keys, required: ["id", "effect", "operations"])
        let id = try RuleLoader.ruleId(fields.required("id"))
        guard id != PolicyDecision.accessDefault else {
            throw (try fields.required("id")).error("'\(id)' is reserved: it names the default decision in audit records")
        }
        let effect = try fields.required("effect").word(AccessRule.Effect.self)
        var operations: Set<S3Operation> = []
        var classes: Set<OperationClass> = []
        for item in try RuleLoader.nonEmptySequence(fields.required("operations")) {
            let name = try item.nonEmptyString()
            if let operationClass = OperationClass(rawValue: name) {
                classes.insert(operationClass)
                continue
            }
            let rows = S3OperationTable.rows.filter { $0.name == name }
            guard !rows.isEmpty else {
                let known = OperationClass.allCases.map(\.rawValue).joined(separator: ", ")
                throw item.error("unknown operation '\(name)': name a class (\(known)) or an operation of docs/s3-operations.md")
            }
            for row in rows { operations.insert(row.operation) }
        }
        let (bucketLiterals, bucketGlobs) = try fields["buckets"].map { node throws(ConfigError) in
            try RuleLoader.bucketCriteria(node)
        } ?? ([], [])
        let (keyPrefix, keyGlob) = try fields["keys"].map { node throws(ConfigError) in
            try RuleLoader.keyCriteria(node)
        } ?? (nil, nil)
        return AccessRule(
            id: id, index: index, mode: try RuleLoader.mode(fields["mode"]), effect: effect,
            principals: try fields["principals"].map { node throws(ConfigError) in Set(try RuleLoader.nonEmptyStrings(node)) },
            groups: try fields["groups"].map { node throws(ConfigError) in Set(try RuleLoader.nonEmptyStrings(node)) },
            operations: operations, classes: classes, bucketLiterals: bucketLiterals, bucketGlobs: bucketGlobs,
            keyPrefix: keyPrefix, keyGlob: keyGlob, denyMessage: try fields["deny_message"]?.nonEmptyString())
    }
}

extension AccessRule {
    /// Whether this rule selects every request `other` selects (as far as the load can
    /// tell without requests: literal buckets against globs, prefixes against prefixes).
    func covers(_ other: AccessRule) -> Bool {
        let whoCovered: Bool
        if principals == nil && groups == nil {
            whoCovered = true
        } else if other.principals == nil && other.groups == nil {
            whoCovered = false
        } else {
            whoCovered = (other.principals ?? []).isSubset(of: principals ?? [])
                && (other.groups ?? []).isSubset(of: groups ?? [])
        }
        let operationsCovered = other.classes.isSubset(of: classes)
            && other.operations.allSatisfy { operations.contains($0) || classes.contains(OperationClass($0)) }
        let bucketsCovered: Bool
        if bucketLiterals.isEmpty && bucketGlobs.isEmpty {
            bucketsCovered = true
        } else {
            bucketsCovered = other.bucketGlobs.isEmpty && !other.bucketLiterals.isEmpty && other.bucketLiterals.allSatisfy { bucket in
                bucketLiterals.contains(bucket) || bucketGlobs.contains { $0.matches(bucket) }
            }
        }
        let keysCovered: Bool
        if keyPrefix == nil && keyGlob == nil {
            keysCovered = true
        } else if let keyPrefix, let otherPrefix = other.keyPrefix {
            keysCovered = otherPrefix.starts(with: keyPrefix)
        } else {
            keysCovered = false
        }
        return whoCovered && operationsCovered && bucketsCovered && keysCovered
    }
}
