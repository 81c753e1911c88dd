import Policy
import S3Core

extension RequestPreparer {
    /// Whether a request's body is read whole and judged (`judgeBody`) before anything
    /// goes upstream: bucket configurations that could undo the upload rules, under a policy.
    public func judgesBody(_ prepared: PreparedRequest) -> Bool {
        prepared.operation == .restoreObject || (policy != nil && BucketConfigurationJudge.judgesBody(prepared.operation))
    }

    /// The judge phase: a bucket configuration (verified body, headers as they go
    /// upstream) against the upload rules of its bucket. Throws the denial naming the rule
    /// (kept in the decision of `facts`), or 400 for a body it cannot read.
    public func judgeBody(_ body: [UInt8], of prepared: PreparedRequest, facts: RequestFacts) throws(RequestRefusal) {
        var facts = facts
        facts.phase = .judgeBody
        if prepared.operation == .restoreObject {
            do throws(S3Error) {
                try RestoreRequestJudge.judge(body)
            } catch {
                throw RequestRefusal(error: error.about(prepared.address.resource), facts: facts)
            }
            return
        }
        guard let policy, let bucket = prepared.address.bucket else { return }
        do throws(S3Error) {
            guard let denial = try BucketConfigurationJudge.judge(operation: prepared.operation, bucket: bucket,
                                                                  headers: prepared.objectFields, body: body, policy: policy)
            else { return }
            if var decision = facts.decision {
                decision.outcome = .deny(denial.error)
                decision.deniedBy = denial.ruleId
                decision.denyReason = denial.reason
                if !decision.matchedRules.contains(denial.ruleId) { decision.matchedRules.append(denial.ruleId) }
                facts.decision = decision
                metrics?.policyEvaluated(matchedRules: [], deniedBy: denial.ruleId)
            }
            throw denial.error
        } catch {
            throw RequestRefusal(error: error.about(prepared.address.resource), facts: facts)
        }
    }
}
