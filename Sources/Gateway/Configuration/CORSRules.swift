import NIOHTTP1
import Policy
import S3Core
import YAMLConfig

/// CORS answered by the gateway itself, for stores without CORS support. The rules are S3's
/// bucket CORS configuration (PutBucketCors's `CORSRule`), each scoped to bucket patterns:
///
///     cors:
///       - buckets: [web-uploads, "site-*"]
///         allowed_origins: ["https://app.example.com", "https://*.example.com"]
///         allowed_methods: [GET, PUT, POST, HEAD]
///         allowed_headers: ["*"]
///         expose_headers: [ETag, x-amz-version-id]
///         max_age_seconds: 600
///
/// For a bucket some rule names, the gateway answers every preflight from these rules and
/// sets the `Access-Control-*` fields of every response (the store's are dropped); other
/// buckets' preflights go to the store. As in S3, the first rule whose origin, method and
/// every requested header match answers; an origin or header pattern holds at most one `*`,
/// which matches any run of characters; header names match without regard to case.
public struct CORSRule: Sendable, Equatable {
    public var buckets: [Glob]
    public var allowedOrigins: [CORSPattern]
    /// `GET`, `PUT`, `POST`, `DELETE`, `HEAD`, as S3 allows.
    public var allowedMethods: [String]
    public var allowedHeaders: [CORSPattern] = []
    public var exposeHeaders: [String] = []
    public var maxAgeSeconds: Int?

    static let methods: Set<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"]

    func allows(origin: String, method: String) -> Bool {
        allowedMethods.contains(method) && allowedOrigins.contains { $0.matches(origin) }
    }

    /// Every requested header (lowercased) is allowed by some pattern.
    func allows(headers: [String]) -> Bool {
        headers.allSatisfy { header in allowedHeaders.contains { $0.matches(header) } }
    }

    /// The fields of an answer this rule allowed: the origin (`*` when the rule allows
    /// any; the page's own otherwise, with credentials allowed, as S3 answers), the
    /// exposed headers and how long a browser may keep the answer.
    func answerFields(origin: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        if allowedOrigins.contains(where: \.isAny) {
            fields.append(("Access-Control-Allow-Origin", "*"))
        } else {
            fields.append(("Access-Control-Allow-Origin", origin))
            fields.append(("Access-Control-Allow-Credentials", "true"))
        }
        fields.append(("Access-Control-Allow-Methods", allowedMethods.joined(separator: ", ")))
        if !exposeHeaders.isEmpty { fields.append(("Access-Control-Expose-Headers", exposeHeaders.joined(separator: ", "))) }
        if let maxAgeSeconds { fields.append(("Access-Control-Max-Age", String(maxAgeSeconds))) }
        return fields
    }

    static func parseList(_ node: YAMLNode) throws(ConfigError) -> [CORSRule] {
        var rules: [CORSRule] = []
        for item in try node.sequence() {
            let fields = try item.mapping(allowed: ["buckets", "allowed_origins", "allowed_methods", "allowed_headers",
                                                    "expose_headers", "max_age_seconds"],
                                          required: ["buckets", "allowed_origins", "allowed_methods"])
            var buckets: [Glob] = []
            for entry in try fields.required("buckets").sequence() { buckets.append(try entry.glob()) }
            let methodsNode = try fields.required("allowed_methods")
            let methods = try methodsNode.stringList()
            if let unknown = methods.first(where: { !Self.methods.contains($0) }) {
                throw methodsNode.error("'\(unknown)' is not a method CORS rules allow (GET, PUT, POST, DELETE, HEAD)")
            }
            var rule = CORSRule(buckets: buckets,
                                allowedOrigins: try CORSPattern.parseList(fields.required("allowed_origins"), lowercased: false),
                                allowedMethods: methods)
            if let headers = fields["allowed_headers"] { rule.allowedHeaders = try CORSPattern.parseList(headers, lowercased: true) }
            if let expose = fields["expose_headers"] { rule.exposeHeaders = try expose.stringList() }
            if let maxAge = fields["max_age_seconds"] { rule.maxAgeSeconds = try maxAge.int(in: 0...86_400) }
            guard !buckets.isEmpty, !rule.allowedOrigins.isEmpty, !methods.isEmpty else {
                throw item.error("a CORS rule needs at least one bucket, origin and method")
            }
            rules.append(rule)
        }
        return rules
    }
}

/// An S3 CORS `AllowedOrigin` or `AllowedHeader`: text with at most one `*`, which matches
/// any run of characters.
public struct CORSPattern: Sendable, Equatable {
    let prefix: String
    /// nil: no `*`, the text must equal `prefix`.
    let suffix: String?

    var isAny: Bool { prefix.isEmpty && suffix == "" }

    func matches(_ text: String) -> Bool {
        guard let suffix else { return text == prefix }
        return text.utf8.count >= prefix.utf8.count + suffix.utf8.count && text.hasPrefix(prefix) && text.hasSuffix(suffix)
    }

    static func parseList(_ node: YAMLNode, lowercased: Bool) throws(ConfigError) -> [CORSPattern] {
        var patterns: [CORSPattern] = []
        for entry in try node.sequence() {
            let text = try entry.nonEmptyString()
            let parts = (lowercased ? text.asciiLowercased : text).split(separator: "*", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw entry.error("a CORS pattern holds at most one '*'") }
            patterns.append(CORSPattern(prefix: String(parts[0]), suffix: parts.count == 2 ? String(parts[1]) : nil))
        }
        return patterns
    }
}

/// The gateway's CORS rules, and its answers from them.
public struct GatewayCORS: Sendable, Equatable {
    public var rules: [CORSRule]

    public init(rules: [CORSRule]) { self.rules = rules }

    /// Whether the gateway, not the store, answers CORS for this bucket.
    func answers(for bucket: String?) -> Bool {
        guard let bucket else { return false }
        return rules.contains { $0.buckets.contains { $0.matches(bucket) } }
    }

    private func rules(for bucket: String) -> some Sequence<CORSRule> {
        rules.lazy.filter { $0.buckets.contains { $0.matches(bucket) } }
    }

    /// The answer to a preflight about `bucket` (which `answers(for:)`): its fields when a
    /// rule allows the origin, method and every header asked for; S3's errors otherwise.
    func preflight(bucket: String, headers: HeaderFields) throws(S3Error) -> [(String, String)] {
        guard let origin = headers["origin"] else {
            throw S3Error.badRequest("Insufficient information. Origin request header needed.")
        }
        guard let method = headers["access-control-request-method"], CORSRule.methods.contains(method) else {
            throw S3Error.badRequest("Invalid Access-Control-Request-Method: \(headers["access-control-request-method"] ?? "null")")
        }
        let requested = (headers["access-control-request-headers"] ?? "").split(separator: ",").compactMap { name in
            let trimmed = name.trimmingOWS.asciiLowercased
            return trimmed.isEmpty ? nil : trimmed
        }
        guard let rule = rules(for: bucket).first(where: { $0.allows(origin: origin, method: method) && $0.allows(headers: requested) })
        else { throw Self.forbidden }
        var fields = rule.answerFields(origin: origin)
        if !requested.isEmpty { fields.append(("Access-Control-Allow-Headers", requested.joined(separator: ", "))) }
        fields.append(("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"))
        return fields
    }

    /// The `Access-Control-*` fields of an actual request's answer (any the store sent are
    /// replaced): a rule's, when one allows the request's origin and method; none otherwise.
    /// `Vary: Origin` either way, so a cache does not give one origin's answer to another.
    func responseFields(bucket: String, origin: String?, method: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        if let origin, let rule = rules(for: bucket).first(where: { $0.allows(origin: origin, method: method) }) {
            fields = rule.answerFields(origin: origin)
        }
        fields.append(("Vary", "Origin"))
        return fields
    }

    /// S3's answer to a preflight no rule allows.
    static let forbidden =
        S3Error(code: "AccessForbidden",
                message: "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                status: 403)
}

extension HTTPHeaders {
    /// Replaces every `Access-Control-*` field with `fields` (the gateway's CORS answer); a
    /// `Vary` among them is added to the ones present.
    mutating func setCORSFields(_ fields: [(String, String)]) {
        let names = self.map(\.name).filter { $0.asciiLowercased.hasPrefix("access-control-") }
        for name in Set(names) { remove(name: name) }
        for (name, value) in fields { add(name: name, value: value) }
    }
}
