import S3Core

/// A change the policy makes to a request's headers before it is re-signed. `set` names
/// the S3 dialect (`x-amz-…`) header; `remove` names each header actually present that
/// must go (either dialect, lowercase). Names compare case-insensitively.
public enum HeaderMutation: Sendable, Equatable, CustomStringConvertible {
    /// Replace every field of that name by one field with this value.
    case set(name: String, value: String)
    /// Remove every field of that name.
    case remove(name: String)

    public var description: String {
        switch self {
        case .set(let name, let value): "set \(name): \(value)"
        case .remove(let name): "remove \(name)"
        }
    }

    public func apply(to headers: inout HeaderFields) {
        switch self {
        case .set(let name, let value): headers.replace(name, with: value)
        case .remove(let name): headers.remove(name)
        }
    }
}

/// What the policy decided for one request, with everything the audit record and
/// `obsgate policy explain` need to say why.
public struct PolicyDecision: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// No enforce-mode rule changes or refuses the request, and no audit-mode rule matched.
        case allow
        /// Enforce-mode rules inject defaults or strip a header: apply `mutations`.
        case allowWithMutations
        /// An enforce-mode rule refuses the request (403 AccessDenied naming the rule), or the
        /// headers are ambiguous (the seed's 400 InvalidArgument).
        case deny(S3Error)
        /// The request passes unchanged, and audit-mode rules matched: `wouldHave` says
        /// what they would have done.
        case auditOnly

        public var name: String {
            switch self {
            case .allow: "allow"
            case .allowWithMutations: "allow-with-mutations"
            case .deny: "deny"
            case .auditOnly: "audit-only"
            }
        }

        public var description: String {
            if case .deny(let error) = self { return "deny (\(error.status) \(error.code): \(error.message))" }
            return name
        }

        public var isDeny: Bool { if case .deny = self { true } else { false } }
    }

    public var outcome: Outcome
    /// Every rule that matched the request (enforce and audit), in file order.
    public var matchedRules: [String]
    /// The enforce-mode rule that refused the request (the first in file order).
    public var deniedBy: String?
    /// Why `deniedBy` refused, in the policy's words (also when the rule's `deny_message`
    /// replaced it in the client's error): for audit records and `policy explain`.
    public var denyReason: String?
    /// Changes to apply (S3 dialect names) before re-signing.
    public var mutations: [HeaderMutation]
    /// Set when audit-mode rules matched: the outcome had they been enforced (`allow`,
    /// `allowWithMutations` or `deny`).
    public var wouldHave: Outcome?
    /// The rule that would have refused the request, had audit-mode rules been enforced.
    public var wouldHaveDeniedBy: String?
    public var wouldHaveDenyReason: String?
    /// The mutations that would have been applied, had audit-mode rules been enforced.
    public var wouldHaveMutations: [HeaderMutation]
    /// Hex SHA-256 of the policy file.
    public var policyVersion: String
    /// The access rule that decided whether the request may be made at all, or
    /// `accessDefault` when none selected it and the operation's default decided.
    public var accessRule: String?

    /// `accessRule` when no access rule selected the request (a reserved rule id).
    public static let accessDefault = "default"

    public init(outcome: Outcome, matchedRules: [String] = [], deniedBy: String? = nil, denyReason: String? = nil,
                mutations: [HeaderMutation] = [], wouldHave: Outcome? = nil, wouldHaveDeniedBy: String? = nil,
                wouldHaveDenyReason: String? = nil, wouldHaveMutations: [HeaderMutation] = [], policyVersion: String,
                accessRule: String? = nil) {
        self.outcome = outcome
        self.matchedRules = matchedRules
        self.deniedBy = deniedBy
        self.denyReason = denyReason
        self.mutations = mutations
        self.wouldHave = wouldHave
        self.wouldHaveDeniedBy = wouldHaveDeniedBy
        self.wouldHaveDenyReason = wouldHaveDenyReason
        self.wouldHaveMutations = wouldHaveMutations
        self.policyVersion = policyVersion
        self.accessRule = accessRule
    }

    /// The headers with the mutations applied, in order.
    public func applying(to headers: HeaderFields) -> HeaderFields {
        var result = headers
        for mutation in mutations { mutation.apply(to: &result) }
        return result
    }
}

// MARK: - JSON (for `policy explain --json` and audit records)

extension HeaderMutation: Encodable {
    private enum CodingKeys: String, CodingKey { case action, name, value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .set(let name, let value):
            try container.encode("set", forKey: .action)
            try container.encode(name, forKey: .name)
            try container.encode(value, forKey: .value)
        case .remove(let name):
            try container.encode("remove", forKey: .action)
            try container.encode(name, forKey: .name)
        }
    }
}

extension PolicyDecision: Encodable {
    private enum CodingKeys: String, CodingKey {
        case outcome, error, accessRule = "access_rule", matchedRules = "matched_rules", deniedBy = "denied_by"
        case denyReason = "deny_reason", mutations
        case wouldHave = "would_have", wouldHaveError = "would_have_error", wouldHaveDeniedBy = "would_have_denied_by"
        case wouldHaveDenyReason = "would_have_deny_reason"
        case wouldHaveMutations = "would_have_mutations", policyVersion = "policy_version"
    }

    private struct ErrorBody: Encodable {
        let status: Int
        let code: String
        let message: String
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outcome.name, forKey: .outcome)
        if case .deny(let error) = outcome {
            try container.encode(ErrorBody(status: error.status, code: error.code, message: error.message), forKey: .error)
        }
        try container.encodeIfPresent(accessRule, forKey: .accessRule)
        try container.encode(matchedRules, forKey: .matchedRules)
        try container.encodeIfPresent(deniedBy, forKey: .deniedBy)
        try container.encodeIfPresent(denyReason, forKey: .denyReason)
        try container.encode(mutations, forKey: .mutations)
        if let wouldHave {
            try container.encode(wouldHave.name, forKey: .wouldHave)
            if case .deny(let error) = wouldHave {
                try container.encode(ErrorBody(status: error.status, code: error.code, message: error.message),
                                     forKey: .wouldHaveError)
            }
            try container.encodeIfPresent(wouldHaveDeniedBy, forKey: .wouldHaveDeniedBy)
            try container.encodeIfPresent(wouldHaveDenyReason, forKey: .wouldHaveDenyReason)
            try container.encode(wouldHaveMutations, forKey: .wouldHaveMutations)
        }
        try container.encode(policyVersion, forKey: .policyVersion)
    }
}
