import Policy
import S3Core

extension RequestPreparer {
    /// The police phase: the seed header rules, then the access rules and the upload
    /// policy, counted; the decision (a denial included) is kept in the facts, and its
    /// header changes are applied. A form's fields are covered by the client's signed
    /// policy document: a decision that would change them refuses the form instead.
    func police(_ request: inout PreparingRequest) throws(S3Error) {
        let policyRequest = PolicyRequest(operation: request.operation, bucket: request.address.bucket,
                                          key: request.address.key, principal: request.identity?.principal,
                                          groups: request.identity?.groups ?? [], headers: request.headers,
                                          isTLS: request.isTLS)
        guard var decision = try SeedValidation.police(policyRequest, policy: policy,
                                                       requireTLSForSSEC: configuration.sseCRequiresTLS)
        else { return }
        if let form = request.form, let policy, !decision.outcome.isDeny {
            // Where the form sends the browser afterwards is judged like a website redirect.
            for field in form.forwardedFields where UploadPolicy.formRedirectFields.contains(field.name.asciiLowercased) {
                guard let denial = policy.formRedirectDenial(policyRequest, field: field.name, target: field.value) else { continue }
                decision.outcome = .deny(denial.error)
                decision.deniedBy = denial.rule
                decision.denyReason = denial.error.message
                decision.mutations = []
                break
            }
        }
        metrics?.policyEvaluated(matchedRules: decision.matchedRules, deniedBy: decision.deniedBy)
        request.facts.decision = decision
        request.decision = decision
        if case .deny(let error) = decision.outcome { throw error }
        if case .form = request.source, !decision.mutations.isEmpty, decision.outcome != .auditOnly {
            throw S3Error.accessDenied("Policy rules \(decision.matchedRules.joined(separator: ", ")) would change this form upload (\(decision.mutations.map(\.description).joined(separator: "; "))); send those fields in the form")
        }
        request.headers = decision.applying(to: request.headers)
    }
}
