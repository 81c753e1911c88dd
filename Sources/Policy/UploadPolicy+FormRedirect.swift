import S3Core

extension UploadPolicy {
    /// The form fields that send the browser somewhere after a form upload (S3's POST
    /// Object: a 303 to `success_action_redirect`, or to the older `redirect`).
    public static let formRedirectFields = ["success_action_redirect", "redirect"]

    /// Judges where a browser form upload sends the browser afterwards by the
    /// `website_redirect` rules that match the form (enforce mode), as a website redirect
    /// would be judged: an upload form must not become an open redirect. The first rule in
    /// file order that refuses the target denies (403 naming the rule); `strip` refuses it
    /// too, since a form's answer is the store's. nil when every rule allows it.
    public func formRedirectDenial(_ request: PolicyRequest, field: String, target: String) -> (rule: String, error: S3Error)? {
        guard let operation = PolicedOperation(request.operation) else { return nil }
        for index in candidates(for: request.bucket) {
            let rule = rules[index]
            guard rule.mode == .enforce, let redirect = rule.websiteRedirect,
                  rule.match.specificity(bucket: request.bucket, key: request.key,
                                         principal: request.principal, groups: request.groups,
                                         operation: operation) != nil,
                  let reason = redirect.violation(target: target, in: "the form field \(field)")
            else { continue }
            return (rule.id, rule.denial(reason))
        }
        return nil
    }
}
