import S3Core

/// The organisation's upload policy: rules loaded from one YAML file, indexed by bucket,
/// evaluated against every request that creates or replaces object content.
///
/// How matching rules combine (docs/policy.md, "How rules combine"):
///
/// 1. A rule matches when every criterion of its `match:` holds.
/// 2. Defaults first: each default (storage class, SSE when absent, KMS key id) comes from
///    the most specific matching enforce-mode rule that sets it — a literal bucket beats a
///    bucket glob beats no bucket criterion, then the longest key prefix, then the earlier
///    rule in the file. A `strip` redirect rule removes the redirect.
/// 3. Then every matching enforce-mode rule checks the request as changed by step 2; the
///    first rule in file order that finds a violation denies (403 AccessDenied naming it),
///    and the changes are dropped. Any deny wins.
/// 4. Audit-mode rules never change the request: the decision records what would have
///    happened had they been enforced (`wouldHave`).
public struct UploadPolicy: Sendable {
    /// Hex SHA-256 of the policy file's bytes.
    public let version: String
    let rules: [PolicyRule]
    /// The `access:` list: who may perform which operations (evaluated first).
    let accessRules: [AccessRule]
    /// Rule indices by literal bucket name.
    private let rulesByBucket: [String: [Int]]
    /// Rules with at least one bucket glob (checked for every request).
    private let bucketGlobRules: [Int]
    /// Rules without a bucket criterion.
    private let anyBucketRules: [Int]

    init(version: String, rules: [PolicyRule], accessRules: [AccessRule] = []) {
        self.version = version
        self.rules = rules
        self.accessRules = accessRules
        var byBucket: [String: [Int]] = [:]
        var globs: [Int] = []
        var any: [Int] = []
        for rule in rules {
            for bucket in rule.match.bucketLiterals { byBucket[bucket, default: []].append(rule.index) }
            if !rule.match.bucketGlobs.isEmpty { globs.append(rule.index) }
            if rule.match.anyBucket { any.append(rule.index) }
        }
        rulesByBucket = byBucket
        bucketGlobRules = globs
        anyBucketRules = any
    }

    /// The upload rule ids in file order.
    public var ruleIds: [String] { rules.map(\.id) }
    /// The access rule ids in file order.
    public var accessRuleIds: [String] { accessRules.map(\.id) }

    /// The rules that can match a request for this bucket, in file order: its literal
    /// entries, the glob rules and the rules for any bucket. Rules for other literal
    /// buckets cost nothing.
    func candidates(for bucket: String?) -> [Int] {
        let literal = bucket.flatMap { rulesByBucket[$0] } ?? []
        let globs = bucket == nil ? [] : bucketGlobRules
        return Self.merge(Self.merge(literal, globs), anyBucketRules)
    }

    /// Merges two ascending index lists, dropping duplicates.
    private static func merge(_ a: [Int], _ b: [Int]) -> [Int] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var result: [Int] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            let next: Int
            if j == b.count || (i < a.count && a[i] <= b[j]) { next = a[i]; i += 1 } else { next = b[j]; j += 1 }
            if result.last != next { result.append(next) }
        }
        return result
    }

    /// The access rule that lets the request's principal use a multipart upload another
    /// principal initiated (`others-uploads`); nil: none does, and the request is refused.
    public func ruleAllowingOthersUpload(_ request: PolicyRequest) -> String? {
        accessRules.allowingOthersUpload(request)
    }

    /// The decision on a request: the access rules first (who may do this at all), then
    /// the upload rules. `headers` are its upload headers when the caller has read them
    /// already (`SeedValidation.validate` returns them); read here otherwise.
    public func evaluate(_ request: PolicyRequest, headers known: UploadHeaders? = nil) -> PolicyDecision {
        let access = accessRules.evaluate(request)
        if let denial = access.denial {
            return PolicyDecision(outcome: .deny(denial), matchedRules: access.matched, deniedBy: access.rule,
                                  denyReason: access.denyReason, policyVersion: version,
                                  accessRule: access.rule ?? PolicyDecision.accessDefault)
        }
        var decision = evaluateUploadRules(request, headers: known)
        decision.accessRule = access.rule ?? PolicyDecision.accessDefault
        decision.matchedRules = access.matched + decision.matchedRules
        if let wouldHaveDenial = access.wouldHaveDenial, decision.wouldHave == nil || decision.wouldHave?.isDeny == false {
            decision.wouldHave = .deny(wouldHaveDenial)
            decision.wouldHaveDeniedBy = access.wouldHaveDeniedBy
            decision.wouldHaveDenyReason = wouldHaveDenial.message
            decision.wouldHaveMutations = []
            if decision.outcome == .allow { decision.outcome = .auditOnly }
        }
        return decision
    }

    private func evaluateUploadRules(_ request: PolicyRequest, headers known: UploadHeaders?) -> PolicyDecision {
        guard let operation = PolicedOperation(request.operation) else {
            return PolicyDecision(outcome: .allow, policyVersion: version)
        }
        let headers: UploadHeaders
        do throws(S3Error) {
            if let known { headers = known } else { headers = try UploadHeaders(reading: request.headers) }
        } catch {
            // Ambiguous headers: the seed rules refuse them first; the policy never guesses.
            return PolicyDecision(outcome: .deny(error), policyVersion: version)
        }
        var matched: [MatchedRule] = []
        for index in candidates(for: request.bucket) {
            let rule = rules[index]
            if let specificity = rule.match.specificity(
                bucket: request.bucket, key: request.key, principal: request.principal,
                groups: request.groups, operation: operation) {
                matched.append(MatchedRule(rule: rule, specificity: specificity))
            }
        }
        let enforced = matched.allSatisfy { $0.rule.mode == .enforce } ? matched : matched.filter { $0.rule.mode == .enforce }
        let actual = Self.combine(enforced, headers: headers, operation: operation)
        var decision = PolicyDecision(outcome: actual.outcome, matchedRules: matched.map(\.rule.id),
                                      deniedBy: actual.deniedBy, denyReason: actual.denyReason,
                                      mutations: actual.mutations, policyVersion: version)
        if enforced.count < matched.count {
            let hypothetical = Self.combine(matched, headers: headers, operation: operation)
            decision.wouldHave = hypothetical.outcome
            decision.wouldHaveDeniedBy = hypothetical.deniedBy
            decision.wouldHaveDenyReason = hypothetical.denyReason
            decision.wouldHaveMutations = hypothetical.mutations
            if decision.outcome == .allow { decision.outcome = .auditOnly }
        }
        return decision
    }

    struct MatchedRule {
        let rule: PolicyRule
        let specificity: Specificity
    }

    struct Combination {
        var outcome: PolicyDecision.Outcome
        var deniedBy: String?
        var denyReason: String?
        var mutations: [HeaderMutation]
    }

    /// Steps 2 and 3 of the combination rule over `rules` (in file order), all taken as
    /// enforced.
    static func combine(_ rules: [MatchedRule], headers original: UploadHeaders,
                        operation: PolicedOperation) -> Combination {
        var headers = original
        var mutations: [HeaderMutation] = []
        func set(_ header: UploadHeader, _ value: String) {
            headers.set(header, to: value)
            mutations.append(.set(name: header.s3Name, value: value))
        }
        if operation.receivesDefaults {
            if headers[.storageClass] == nil, let value = mostSpecific(rules, { $0.storageClass?.defaultClass }) {
                set(.storageClass, value)
            }
            switch headers.encryption {
            case .none:
                if let kind = mostSpecific(rules, { $0.encryption?.defaultWhenAbsent }) {
                    set(.serverSideEncryption, kind == .sseKMS ? "aws:kms" : "AES256")
                    if kind == .sseKMS, let key = mostSpecific(rules, { $0.encryption?.defaultKMSKeyId }) {
                        set(.kmsKeyId, key)
                    }
                }
            case .sseKMS:
                if headers[.kmsKeyId] == nil, let key = mostSpecific(rules, { $0.encryption?.defaultKMSKeyId }) {
                    set(.kmsKeyId, key)
                }
            case .sseS3, .sseC, .unrecognized:
                break
            }
        }
        if operation.carriesObjectHeaders, let redirect = headers[.websiteRedirectLocation],
           rules.contains(where: { $0.rule.websiteRedirect?.isStrip == true }) {
            for name in redirect.names { mutations.append(.remove(name: name)) }
            headers.remove(.websiteRedirectLocation)
        }
        for matched in rules {
            if let reason = matched.rule.violation(headers, operation: operation) {
                return Combination(outcome: .deny(matched.rule.denial(reason)), deniedBy: matched.rule.id,
                                   denyReason: reason, mutations: [])
            }
        }
        return Combination(outcome: mutations.isEmpty ? .allow : .allowWithMutations, deniedBy: nil, mutations: mutations)
    }

    /// The value from the most specific rule that sets it; ties go to the earlier rule.
    private static func mostSpecific<Value>(_ rules: [MatchedRule], _ value: (PolicyRule) -> Value?) -> Value? {
        var best: (specificity: Specificity, value: Value)?
        for matched in rules {
            guard let candidate = value(matched.rule) else { continue }
            if best == nil || best!.specificity < matched.specificity {
                best = (matched.specificity, candidate)
            }
        }
        return best?.value
    }
}
