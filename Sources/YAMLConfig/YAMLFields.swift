import Foundation

/// The entries of a YAML mapping by key, as `YAMLNode.mapping(allowed:required:)` checked
/// them: an optional key is read with the subscript, a required one with `required(_:)`,
/// which cannot fail for a key the mapping required (and says where, should it).
public struct YAMLFields: Sequence {
    /// The mapping the fields belong to, for errors about it.
    public let node: YAMLNode
    private let values: [String: YAMLNode]

    init(of node: YAMLNode, values: [String: YAMLNode]) {
        self.node = node
        self.values = values
    }

    public subscript(key: String) -> YAMLNode? { values[key] }

    public func required(_ key: String) throws(ConfigError) -> YAMLNode {
        guard let value = values[key] else { throw node.error("missing required key '\(key)'") }
        return value
    }

    public var isEmpty: Bool { values.isEmpty }
    public var keys: Dictionary<String, YAMLNode>.Keys { values.keys }

    public func makeIterator() -> Dictionary<String, YAMLNode>.Iterator { values.makeIterator() }

    /// `version`, a required key, names the one layout the loaders know.
    public func requireVersion(_ supported: Int) throws(ConfigError) {
        let version = try required("version")
        guard try version.int() == supported else { throw version.error("only version \(supported) is supported") }
    }
}

/// Reading a configuration file: UTF-8 text, or an error located at the file itself.
public enum ConfigFile {
    /// `what` names the file in the error (`the policy file`).
    public static func read(_ path: String, what: String) throws(ConfigError) -> String {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ConfigError(file: path, line: 1, column: 1, message: "cannot read \(what): \(error.localizedDescription)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, line: 1, column: 1, message: "\(what) is not UTF-8")
        }
        return text
    }
}
