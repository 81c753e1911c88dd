import Yams

/// A node of a YAML configuration document with its location and its key path, and
/// strict typed accessors: every wrong type, unknown key or duplicate key becomes a
/// `ConfigError` at the offending line and column. Configuration loaders (client
/// credentials, gateway config, policies) read their files through this one type.
public struct YAMLNode {
    public let node: Node
    public let file: String
    /// Where the node sits in the document, e.g. `clients[1].secret`; empty for the root.
    public let path: String

    /// Parses a whole document. An empty document is an error: a configuration file with
    /// nothing in it is almost always a mistake (a truncated deploy, a wrong mount).
    public static func parse(_ text: String, file: String) throws(ConfigError) -> YAMLNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.parseError(error, text: text, file: file)
        } catch {
            throw ConfigError(file: file, line: 1, column: 1, message: "cannot parse the YAML document")
        }
        guard let root else { throw ConfigError(file: file, line: 1, column: 1, message: "the document is empty") }
        return YAMLNode(node: root, file: file, path: "")
    }

    /// A located message for a libyaml error. Only libyaml's own descriptions and key names
    /// go into it, never document text: the document may hold secrets.
    private static func parseError(_ error: YamlError, text: String, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column,
                               message: "key \(keys) is given twice")
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { location(ofScalarOffset: $0, in: text) } ?? (1, 1)
            return ConfigError(file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        default:
            return ConfigError(file: file, line: 1, column: 1, message: "cannot parse the YAML document")
        }
    }

    /// Line and column (1-based, columns in Unicode scalars as libyaml counts) of a scalar offset.
    private static func location(ofScalarOffset offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == offset { break }
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// A stand-in for a value given as a command-line flag, so that validation shared with
    /// the file reports `<command line>:1:1: error: --flag: ...`.
    public static func commandLine(_ flag: String) -> YAMLNode {
        YAMLNode(node: Node(""), file: "<command line>", path: flag)
    }

    public var line: Int { node.mark?.line ?? 1 }

    /// Whether the node is a scalar (for keys that take either a word or a mapping).
    public var isScalar: Bool { node.scalar != nil }
    public var column: Int { node.mark?.column ?? 1 }

    /// An error at this node, prefixed with its key path.
    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, message: path.isEmpty ? message : "\(path): \(message)")
    }

    /// The node as a mapping whose keys must all be in `allowed` (any key when nil, for
    /// user-named entries); keys in `required` must be present. Returns the values by key.
    public func mapping(allowed: Set<String>?, required: Set<String> = []) throws(ConfigError) -> YAMLFields {
        guard let mapping = node.mapping else { throw error("expected a mapping (key: value), found \(kind)") }
        var values: [String: YAMLNode] = [:]
        for (keyNode, valueNode) in mapping {
            let keyEntry = YAMLNode(node: keyNode, file: file, path: path)
            guard let key = keyNode.scalar?.string else { throw keyEntry.error("keys must be plain strings") }
            if let allowed, !allowed.contains(key) {
                let known = allowed.sorted().joined(separator: ", ")
                throw keyEntry.error("unknown key '\(key)' (expected one of: \(known))")
            }
            guard values[key] == nil else { throw keyEntry.error("key '\(key)' is given twice") }
            values[key] = YAMLNode(node: valueNode, file: file, path: path.isEmpty ? key : "\(path).\(key)")
        }
        let fields = YAMLFields(of: self, values: values)
        for key in required.sorted() { _ = try fields.required(key) }
        return fields
    }

    public func sequence() throws(ConfigError) -> [YAMLNode] {
        guard let sequence = node.sequence else { throw error("expected a list, found \(kind)") }
        return sequence.enumerated().map { YAMLNode(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    /// A string scalar. YAML's implicit typing would read `on` or `1e3` as other types;
    /// a quoted or plain scalar is taken as the text written.
    public func string() throws(ConfigError) -> String {
        guard let scalar = node.scalar else { throw error("expected a string, found \(kind)") }
        if scalar.style == .plain, ["~", "null", "Null", "NULL"].contains(scalar.string) {
            throw error("expected a string, found null (quote it if it is meant as text)")
        }
        return scalar.string
    }

    /// A non-empty string.
    public func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    public func int(in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let scalar = node.scalar, scalar.style == .plain, let value = Int(scalar.string) else {
            throw error("expected an integer")
        }
        if let range, !range.contains(value) {
            throw error("must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
        return value
    }

    public func bool() throws(ConfigError) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { throw error("expected true or false") }
        switch scalar.string {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false, found '\(scalar.string)'")
        }
    }

    /// A word naming a case of `T` by its raw value; anything else is an error listing the
    /// words there are (in declaration order).
    public func word<T: RawRepresentable & CaseIterable>(_ type: T.Type = T.self) throws(ConfigError) -> T
        where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            let words = T.allCases.map(\.rawValue)
            let listed = words.count > 1 ? words.dropLast().joined(separator: ", ") + " or " + words.last! : words.joined()
            throw error("expected \(listed), found '\(text)'")
        }
        return value
    }

    public func stringList() throws(ConfigError) -> [String] {
        var values: [String] = []
        for item in try sequence() { values.append(try item.nonEmptyString()) }
        return values
    }

    private var kind: String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
