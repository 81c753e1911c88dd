import Policy

extension AuditRecord {
    /// Records the upload policy's decision: outcome, matched rules, the denying rule and its
    /// reason, the mutations (redacted), what audit-mode rules would have done, and the
    /// policy version.
    public mutating func setPolicyDecision(_ policyDecision: PolicyDecision) {
        decision = AuditDecision(policyDecision.outcome)
        accessRule = policyDecision.accessRule
        rules = policyDecision.matchedRules
        deniedBy = policyDecision.deniedBy
        denyReason = policyDecision.denyReason
        mutations = policyDecision.mutations.map(Redaction.mutation)
        wouldHave = policyDecision.wouldHave.map(AuditDecision.init)
        wouldHaveDeniedBy = policyDecision.wouldHaveDeniedBy
        wouldHaveMutations = policyDecision.wouldHave == nil ? nil : policyDecision.wouldHaveMutations.map(Redaction.mutation)
        policyVersion = policyDecision.policyVersion
    }
}

extension AuditDecision {
    public init(_ outcome: PolicyDecision.Outcome) {
        switch outcome {
        case .allow: self = .allow
        case .allowWithMutations: self = .allowWithMutations
        case .deny: self = .deny
        case .auditOnly: self = .auditOnly
        }
    }
}
