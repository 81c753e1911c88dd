import S3Core
import YAMLConfig

/// A configured change to the response headers the client gets, optionally scoped by
/// operation and status:
///
///     response_headers:
///       - remove: [x-obs-id-2]
///       - set: {Strict-Transport-Security: "max-age=63072000"}
///       - operations: [GetObject, HeadObject]
///         status: [2xx]
///         set: {Cache-Control: private}
///         rename: {x-amz-meta-team: x-amz-meta-owner}
///
/// Within a rule the actions run in the order remove, rename, set (replaces every field
/// of the name), add; rules run in file order.
public struct ResponseHeaderRule: Sendable, Equatable {
    /// S3 operation names (`GetObject`, …); nil applies to every operation.
    public var operations: Set<String>?
    /// Status classes (`2` for 2xx) and exact codes; nil applies to every status.
    public var statusClasses: Set<Int>?
    public var statusCodes: Set<Int>?
    public var remove: [String] = []
    public var rename: [(from: String, to: String)] = []
    public var set: [(name: String, value: String)] = []
    public var add: [(name: String, value: String)] = []

    public func applies(operation: String?, status: Int) -> Bool {
        if let operations, !operations.contains(operation ?? "") { return false }
        if statusClasses != nil || statusCodes != nil {
            return statusClasses?.contains(status / 100) == true || statusCodes?.contains(status) == true
        }
        return true
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.operations == rhs.operations && lhs.statusClasses == rhs.statusClasses && lhs.statusCodes == rhs.statusCodes
            && lhs.remove == rhs.remove && lhs.rename.elementsEqual(rhs.rename) { $0 == $1 }
            && lhs.set.elementsEqual(rhs.set) { $0 == $1 } && lhs.add.elementsEqual(rhs.add) { $0 == $1 }
    }

    static func parseList(_ node: YAMLNode) throws(ConfigError) -> [ResponseHeaderRule] {
        var rules: [ResponseHeaderRule] = []
        for item in try node.sequence() {
            let fields = try item.mapping(allowed: ["operations", "status", "remove", "rename", "set", "add"])
            var rule = ResponseHeaderRule()
            if let operations = fields["operations"] { rule.operations = Set(try operations.stringList()) }
            if let status = fields["status"] {
                var classes = Set<Int>(), codes = Set<Int>()
                for entry in try status.sequence() {
                    let text = try entry.nonEmptyString()
                    if text.count == 3, text.hasSuffix("xx"), let digit = Int(text.prefix(1)), (1...5).contains(digit) {
                        classes.insert(digit)
                    } else if let code = Int(text), (100...599).contains(code) {
                        codes.insert(code)
                    } else {
                        throw entry.error("expected a status class like 2xx or a status code, found '\(text)'")
                    }
                }
                rule.statusClasses = classes
                rule.statusCodes = codes
            }
            if let remove = fields["remove"] { rule.remove = try remove.stringList().map(\.asciiLowercased) }
            if let rename = fields["rename"] {
                for (from, to) in try rename.mapping(allowed: nil).sorted(by: { $0.value.line < $1.value.line }) {
                    rule.rename.append((from.asciiLowercased, try to.nonEmptyString()))
                }
            }
            for key in ["set", "add"] {
                guard let node = fields[key] else { continue }
                var pairs: [(String, String)] = []
                for (name, value) in try node.mapping(allowed: nil).sorted(by: { $0.value.line < $1.value.line }) {
                    let text = try value.string()
                    guard !text.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                        throw value.error("a header value cannot contain CR, LF or NUL")
                    }
                    pairs.append((name, text))
                }
                if key == "set" { rule.set = pairs } else { rule.add = pairs }
            }
            guard !rule.remove.isEmpty || !rule.rename.isEmpty || !rule.set.isEmpty || !rule.add.isEmpty else {
                throw item.error("a response header rule needs at least one of remove, rename, set, add")
            }
            rules.append(rule)
        }
        return rules
    }
}
