import Foundation
import S3Core
import YAMLConfig

/// Policy unit tests (`obsgate policy test`, docs/policy.md "Testing a policy"): a YAML file
/// of cases next to the policy, each a request and the decision the policy must reach for
/// it — in the spirit of `opa test`:
///
///     version: 1
///     policy: encryption.yaml                  # relative to this file
///     cases:
///       - name: an initiate without encryption gets testkey-1
///         request: POST /photos/cat.jpg?uploads
///         headers: {x-amz-storage-class: STANDARD}
///         principal: alice                     # omitted: an anonymous request
///         groups: [ci]
///         tls: true                            # the request arrives over TLS (SSE-C needs it)
///         expect:
///           decision: allow-with-mutations     # allow | allow-with-mutations | deny | audit-only
///           denied_by: sse-kms-only            # the denying rule; `seed` for the seed rules
///           error: AccessDenied                # the S3 error code of a denial
///           mutations:                         # exactly these changes, in order
///             - "set x-amz-server-side-encryption: aws:kms"
///
/// A request line that cannot be read is an error of the file, found when it is loaded.
public struct PolicyTestSuite: Sendable {
    public let file: String
    /// The policy the cases test, resolved against the file's folder.
    public let policyPath: String
    public let cases: [PolicyTestCase]

    public static func load(path: String) throws(ConfigError) -> PolicyTestSuite {
        try parse(ConfigFile.read(path, what: "the policy test file"), file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> PolicyTestSuite {
        let root = try YAMLNode.parse(text, file: file).mapping(allowed: ["version", "policy", "cases"],
                                                                 required: ["version", "policy", "cases"])
        try root.requireVersion(1)
        let policy = try root.required("policy").nonEmptyString()
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        let policyPath = policy.hasPrefix("/") ? policy : folder.appendingPathComponent(policy).standardized.path
        var cases: [PolicyTestCase] = []
        for entry in try root.required("cases").sequence() {
            cases.append(try PolicyTestCase(entry))
        }
        guard !cases.isEmpty else { throw root.node.error("a policy test file needs at least one case") }
        return PolicyTestSuite(file: file, policyPath: policyPath, cases: cases)
    }
}

/// One request and what the policy must decide for it.
public struct PolicyTestCase: Sendable {
    public let name: String
    /// Where the case starts in its file, for a failure's `file:line`.
    public let line: Int
    public let request: PolicyRequest
    public let expected: Expectation

    public struct Expectation: Sendable, Equatable {
        public let decision: String
        public let deniedBy: String?
        public let errorCode: String?
        /// nil: not checked.
        public let mutations: [String]?
    }

    static let decisions = ["allow", "allow-with-mutations", "deny", "audit-only"]

    init(_ node: YAMLNode) throws(ConfigError) {
        let fields = try node.mapping(allowed: ["name", "request", "headers", "principal", "groups", "tls", "expect"],
                                      required: ["name", "request", "expect"])
        name = try fields.required("name").nonEmptyString()
        line = node.line
        var headers = HeaderFields()
        if let headerNode = fields["headers"] {
            for (headerName, value) in try headerNode.mapping(allowed: nil).sorted(by: { $0.value.line < $1.value.line }) {
                headers.add(headerName, try value.string())
            }
        }
        let requestNode = try fields.required("request")
        let requestLine = try requestNode.nonEmptyString()
        let principal = try fields["principal"]?.nonEmptyString()
        let groups = try fields["groups"]?.stringList() ?? []
        let isTLS = try fields["tls"]?.bool() ?? false
        do throws(S3Error) {
            request = try PolicyRequest(requestLine: requestLine, headers: headers, principal: principal,
                                        groups: groups, isTLS: isTLS)
        } catch {
            throw requestNode.error("the request cannot be read: \(error.code): \(error.message)")
        }
        let expect = try fields.required("expect").mapping(allowed: ["decision", "denied_by", "error", "mutations"],
                                                           required: ["decision"])
        let decisionNode = try expect.required("decision")
        let decision = try decisionNode.string()
        guard Self.decisions.contains(decision) else {
            throw decisionNode.error("unknown decision '\(decision)': one of \(Self.decisions.joined(separator: ", "))")
        }
        expected = Expectation(decision: decision, deniedBy: try expect["denied_by"]?.nonEmptyString(),
                               errorCode: try expect["error"]?.nonEmptyString(),
                               mutations: try expect["mutations"]?.stringList())
    }

    /// What the gateway decides for the request: the seed rules, then the policy.
    public func evaluate(_ policy: UploadPolicy, requireTLSForSSEC: Bool = true) -> PolicyTestResult {
        do throws(S3Error) {
            guard let decision = try SeedValidation.police(request, policy: policy, requireTLSForSSEC: requireTLSForSSEC)
            else { return PolicyTestResult(decision: "allow", deniedBy: nil, errorCode: nil, mutations: []) }
            var errorCode: String?
            if case .deny(let error) = decision.outcome { errorCode = error.code }
            return PolicyTestResult(decision: decision.outcome.name, deniedBy: decision.deniedBy, errorCode: errorCode,
                                    mutations: decision.mutations.map(\.description))
        } catch {
            return PolicyTestResult(decision: "deny", deniedBy: PolicyTestResult.seedRules, errorCode: error.code, mutations: [])
        }
    }

    /// How `result` differs from what the case expects; empty when the case passes.
    public func failures(of result: PolicyTestResult) -> [String] {
        var failures: [String] = []
        if result.decision != expected.decision {
            failures.append("expected decision \(expected.decision), got \(result.decision)")
        }
        if let deniedBy = expected.deniedBy, result.deniedBy != deniedBy {
            failures.append("expected denied_by \(deniedBy), got \(result.deniedBy ?? "none")")
        }
        if let errorCode = expected.errorCode, result.errorCode != errorCode {
            failures.append("expected error \(errorCode), got \(result.errorCode ?? "none")")
        }
        if let mutations = expected.mutations, result.mutations != mutations {
            failures.append("expected mutations [\(mutations.joined(separator: "; "))], got [\(result.mutations.joined(separator: "; "))]")
        }
        return failures
    }
}

/// What the policy decided for a case, in the terms a case expects.
public struct PolicyTestResult: Sendable, Equatable, Encodable {
    /// `denied_by` of a request the seed rules refuse (the policy is not consulted).
    public static let seedRules = "seed"

    public let decision: String
    public let deniedBy: String?
    public let errorCode: String?
    public let mutations: [String]

    public var summary: String {
        var text = decision
        if let deniedBy { text += " by \(deniedBy)" }
        if let errorCode { text += " (\(errorCode))" }
        if !mutations.isEmpty { text += ": " + mutations.joined(separator: "; ") }
        return text
    }

    private enum CodingKeys: String, CodingKey {
        case decision, deniedBy = "denied_by", errorCode = "error", mutations
    }
}
