import ArgumentParser
import Audit
import Foundation
import Gateway
import Policy
import S3Core
import YAMLConfig

/// `obsgate policy lint FILE...`, `explain ...`, `test FILE...` and `diff OLD NEW`: check
/// policy files the way the gateway loads them, show what the policy decides for one
/// request, run a policy's unit tests, and show what a policy change changes.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with upload policy files.",
        subcommands: [Lint.self, Explain.self, Test.self, Diff.self, Bench.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate policy files; exit 0 when all are valid, 1 otherwise.",
            discussion: "Errors are printed as file:line:col: error: message.")

        @Argument(help: "Policy YAML files.")
        var files: [String]

        func run() throws {
            var failed = false
            for file in files {
                do {
                    let policy = try UploadPolicy.load(path: file)
                    print("\(file): ok, \(policy.ruleIds.count) rules, \(policy.accessRuleIds.count) access rules, version \(policy.version)")
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the seed checks and the policy decision for one request.",
            discussion: """
                Example:
                  obsgate policy explain --policy policies/encryption.yaml --principal alice \\
                    'POST /finance/q3.csv?uploads' -H 'x-amz-storage-class: STANDARD'

                Exit status: 0 when the request would be allowed (with or without changes), \
                1 when it would be refused, 2 when the policy or the request cannot be read.
                """)

        @Option(name: .long, help: "The policy file.")
        var policy: String

        @Option(name: .long, help: "The principal sending the request (omit for an anonymous request).")
        var principal: String?

        @Option(name: .long, help: "A group of the principal (repeatable).")
        var group: [String] = []

        @Flag(name: .long, help: "The request arrives over TLS (SSE-C needs it).")
        var tls = false

        @Flag(name: .long, help: "TLS ends in front of the gateway: do not require TLS for SSE-C.")
        var noRequireTLSForSSEC = false

        @Option(name: .long, help: "A base domain for virtual-hosted requests (repeatable): Host <bucket>.<domain>.")
        var virtualHostDomain: [String] = []

        @Option(name: [.customShort("H"), .long], help: "A request header, 'name: value' (repeatable).")
        var header: [String] = []

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        @Option(name: .long, help: "The gateway configuration: its upload_binding keys judge the upload id the request names.")
        var config: String?

        @Argument(help: "The request line, e.g. 'POST /bucket/key?uploads'.")
        var request: String

        func run() throws {
            let loaded: UploadPolicy
            do {
                loaded = try UploadPolicy.load(path: policy)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
            var headers = HeaderFields()
            for line in header {
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                    throw ValidationError("a header is 'name: value', found '\(line)'")
                }
                headers.add(String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            }
            let policyRequest: PolicyRequest
            do {
                policyRequest = try PolicyRequest(requestLine: request, headers: headers, principal: principal,
                                                  groups: group, isTLS: tls, virtualHostDomains: virtualHostDomain)
            } catch {
                FileHandle.standardError.write(Data("error: the request cannot be read: \(error.code): \(error.message)\n".utf8))
                throw ExitCode(2)
            }
            var explanation = PolicyExplanation(request: policyRequest, policy: loaded,
                                                requireTLSForSSEC: !noRequireTLSForSSEC)
            let target = request.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
            if let query = try? RequestTarget(parsing: target),
               let named = UploadBindingConfiguration.namedUpload(policyRequest.operation, key: policyRequest.key,
                                                                  query: query.queryValue) {
                guard let config else {
                    FileHandle.standardError.write(Data("error: the request names an upload id; give --config for the keys that judge it\n".utf8))
                    throw ExitCode(2)
                }
                let configuration: GatewayConfiguration
                do {
                    configuration = try GatewayConfiguration.load(path: config)
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    throw ExitCode(2)
                }
                explanation.uploadBinding = configuration.uploadBinding.judge(
                    named.id, key: named.key, usesUpload: named.usesUpload, request: policyRequest, policy: loaded,
                    sseCustomerKeyMD5: headers[S3HeaderName.sseCustomerKeyMD5] ?? headers[OBSHeaderName.sseCustomerKeyMD5])
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(explanation), as: UTF8.self))
            } else {
                print(explanation.text)
            }
            if explanation.isRefused { throw ExitCode(1) }
        }
    }
}

extension PolicyCommand {
    /// `obsgate policy bench`: the evaluation time per request for synthetic policies of
    /// several sizes (bench/policy-evaluation.sh). Each policy has N-2 rules for literal
    /// buckets (a key prefix, a storage-class default and an encryption check each), one
    /// bucket-glob rule and one rule for every bucket; requests go to random policed
    /// buckets, so the cost reported is what a request pays when most rules cannot match it.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure policy evaluation time per request for policies of several sizes.")

        @Option(name: .long, help: "Rule counts to measure (repeatable).")
        var rules: [Int] = [10, 10_000]

        @Option(name: .long, help: "Requests evaluated per rule count.")
        var requests = 200_000

        func run() throws {
            var baseline: Double?
            for count in rules where count >= 2 {
                var text = "version: 1\nrules:\n"
                for index in 0..<(count - 2) {
                    text += """
                          - id: r\(index)
                            match: {buckets: [bucket-\(index)], keys: {prefix: p\(index % 4)/}}
                            storage_class: {default: WARM, deny: [COLD]}
                            encryption: {kms_key_ids: [testkey-1], default_kms_key_id: testkey-1}

                        """
                }
                text += "  - id: teams\n    match: {buckets: [\"team-*\"]}\n    website_redirect: relative-only\n"
                text += "  - id: everywhere\n    acl: {allow_canned: [private, bucket-owner-full-control]}\n"
                let policy = try UploadPolicy.parse(text, file: "bench-\(count).yaml")
                let buckets = max(count - 2, 1)
                var generator = SystemRandomNumberGenerator()
                let samples: [PolicyRequest] = (0..<1024).map { _ in
                    let bucket = Int.random(in: 0..<buckets, using: &generator)
                    return PolicyRequest(
                        operation: .createMultipartUpload, bucket: "bucket-\(bucket)", key: "p\(bucket % 4)/object",
                        principal: "alice", groups: ["finance"],
                        headers: HeaderFields([("x-amz-server-side-encryption", "aws:kms"), ("x-amz-acl", "private"),
                                               ("x-amz-meta-cost-centre", "cc-42")]))
                }
                var outcomes = 0
                let clock = ContinuousClock()
                let elapsed = clock.measure {
                    for index in 0..<requests {
                        if case .allowWithMutations = policy.evaluate(samples[index & 1023]).outcome { outcomes += 1 }
                    }
                }
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let perRequest = seconds / Double(requests) * 1e9
                let ratio = baseline.map { String(format: " (%.2fx the first)", perRequest / $0) } ?? ""
                if baseline == nil { baseline = perRequest }
                print(String(format: "%6d rules: %8.0f ns per request%@  [%d of %d changed]", count, perRequest, ratio,
                             outcomes, requests))
            }
        }
    }
}

/// What `policy explain` reports: the request as classified, the seed checks, the decision
/// and the headers the upstream would get.
struct PolicyExplanation: Encodable {
    let operation: String
    let bucket: String?
    let key: String?
    let principal: String?
    let groups: [String]
    let tls: Bool
    /// The seed rule that refused the request, if one did (the policy is then not consulted).
    let seedError: S3Error?
    let decision: PolicyDecision?
    let resultingHeaders: [(name: String, value: String)]
    /// How the upload id the request names is judged (`--config`'s upload_binding keys).
    var uploadBinding: UploadBindingJudgement?

    init(request: PolicyRequest, policy: UploadPolicy, requireTLSForSSEC: Bool) {
        operation = request.operation.name
        bucket = request.bucket
        key = request.key
        principal = request.principal
        groups = request.groups
        tls = request.isTLS
        do throws(S3Error) {
            let decision = try SeedValidation.police(request, policy: policy, requireTLSForSSEC: requireTLSForSSEC)!
            seedError = nil
            self.decision = decision
            resultingHeaders = decision.outcome.isDeny ? [] : Array(decision.applying(to: request.headers))
        } catch {
            seedError = error
            decision = nil
            resultingHeaders = []
        }
    }

    var isRefused: Bool { seedError != nil || decision?.outcome.isDeny == true || uploadBinding?.refusal != nil }

    var text: String {
        var lines: [String] = []
        lines.append("operation:  \(operation)")
        lines.append("bucket:     \(bucket ?? "-")")
        lines.append("key:        \(key ?? "-")")
        lines.append("principal:  \(principal ?? "(anonymous)")\(groups.isEmpty ? "" : " groups: \(groups.joined(separator: ", "))")")
        lines.append("tls:        \(tls ? "yes" : "no")")
        if let seedError {
            lines.append("seed:       refused: \(seedError.status) \(seedError.code): \(seedError.message)")
            lines.append("decision:   deny (seed rule; the policy was not consulted)")
            return lines.joined(separator: "\n")
        }
        lines.append("seed:       ok")
        guard let decision else { return lines.joined(separator: "\n") }
        lines.append("decision:   \(decision.outcome)")
        if let accessRule = decision.accessRule {
            lines.append("access:     \(accessRule == PolicyDecision.accessDefault ? "no access rule selected it; the default applies" : "access rule \(accessRule)")")
        }
        if let deniedBy = decision.deniedBy {
            lines.append("denied by:  \(deniedBy): \(decision.denyReason ?? "")")
        }
        lines.append("rules:      \(decision.matchedRules.isEmpty ? "(none matched)" : decision.matchedRules.joined(separator: ", "))")
        if decision.mutations.isEmpty {
            lines.append("mutations:  (none)")
        } else {
            lines.append("mutations:")
            lines += decision.mutations.map { "  \($0)" }
        }
        if let wouldHave = decision.wouldHave {
            lines.append("audit mode: would have been \(wouldHave)")
            if let rule = decision.wouldHaveDeniedBy {
                lines.append("  by rule \(rule): \(decision.wouldHaveDenyReason ?? "")")
            }
            lines += decision.wouldHaveMutations.map { "  would \($0)" }
        }
        lines.append("policy:     \(decision.policyVersion)")
        if let uploadBinding {
            let outcome = uploadBinding.outcome
            var line = "upload id:  \(outcome.state.rawValue)"
            if let initiator = outcome.initiator { line += ", initiated by \(initiator)" }
            if let rule = outcome.allowedBy { line += ", used by another principal as access rule \(rule) allows" }
            if let refusal = uploadBinding.refusal {
                line += ": refused \(refusal.status) \(refusal.code): \(refusal.message)"
            } else if let upstreamId = uploadBinding.upstreamId {
                line += "; the upstream gets \(upstreamId)"
            }
            lines.append(line)
        }
        if !resultingHeaders.isEmpty {
            lines.append("headers:")
            lines += resultingHeaders.map { "  \($0.name): \(Redaction.value($0.value, named: $0.name))" }
        }
        return lines.joined(separator: "\n")
    }

    private enum CodingKeys: String, CodingKey {
        case operation, bucket, key, principal, groups, tls, seed, decision, headers, refused
        case uploadBinding = "upload_binding"
    }

    private struct UploadBindingBody: Encodable {
        let outcome: UploadBindingOutcome
        let upstreamId: String?
        let refusal: SeedBody?

        enum CodingKeys: String, CodingKey { case state, initiator, allowedBy = "allowed_by", upstreamId = "upstream_id", refusal }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(outcome.state, forKey: .state)
            try container.encodeIfPresent(outcome.initiator, forKey: .initiator)
            try container.encodeIfPresent(outcome.allowedBy, forKey: .allowedBy)
            try container.encodeIfPresent(upstreamId, forKey: .upstreamId)
            try container.encodeIfPresent(refusal, forKey: .refusal)
        }
    }

    private struct SeedBody: Encodable {
        let status: Int
        let code: String
        let message: String
    }

    private struct HeaderBody: Encodable {
        let name: String
        let value: String
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(operation, forKey: .operation)
        try container.encode(bucket, forKey: .bucket)
        try container.encode(key, forKey: .key)
        try container.encode(principal, forKey: .principal)
        try container.encode(groups, forKey: .groups)
        try container.encode(tls, forKey: .tls)
        if let seedError {
            try container.encode(SeedBody(status: seedError.status, code: seedError.code, message: seedError.message), forKey: .seed)
        } else {
            try container.encode("ok", forKey: .seed)
        }
        try container.encodeIfPresent(decision, forKey: .decision)
        try container.encode(resultingHeaders.map { HeaderBody(name: $0.name, value: Redaction.value($0.value, named: $0.name)) },
                             forKey: .headers)
        try container.encodeIfPresent(uploadBinding.map { judgement in
            UploadBindingBody(outcome: judgement.outcome, upstreamId: judgement.upstreamId,
                              refusal: judgement.refusal.map { SeedBody(status: $0.status, code: $0.code, message: $0.message) })
        }, forKey: .uploadBinding)
        try container.encode(isRefused, forKey: .refused)
    }
}
