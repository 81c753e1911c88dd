import Policy
import S3Core

extension RequestPreparer {
    /// The police phase: the seed header rules, then the access rules and the upload
    /// policy, counted; the decision (a denial included) is kept in the facts, and its
    /// header changes are applied — to a form's fields too, which the upstream form then
    /// carries and its policy document pins (defaults are injected into forms as into
    /// every other way to create an object).
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
        if var form = request.form {
            for mutation in decision.mutations {
                switch mutation {
                case .set(let name, let value): form = form.settingField(ofHeader: name, to: value)
                case .remove(let name): form = form.removingField(ofHeader: name)
                }
            }
            request.form = form
        }
        request.headers = decision.applying(to: request.headers)
    }
}
