/// The first place an audit chain does not hold, in the compiler style editors and CI
/// logs understand: `audit.log:17: error: hash mismatch: …`.
public struct AuditChainBreak: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong. A struct over a closed set of names, so that kinds can be added.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String

        /// The line is not JSON (a flipped brace, a split or joined line).
        public static let badJSON = Kind(name: "bad JSON")
        /// A line's own `hash` does not match its bytes, or its `prev` does not match the
        /// line before it (or the last line of the previous file).
        public static let hashMismatch = Kind(name: "hash mismatch")
        /// `seq` jumps forward: lines (or a whole rotated file) are missing before this one.
        public static let missingLine = Kind(name: "missing line")
        /// `seq` goes back or repeats: a line was moved or duplicated.
        public static let outOfOrder = Kind(name: "out of order")
        /// Valid JSON that is not an audit line of a known schema (a missing or mistyped
        /// field, an unknown schema version, an anchor out of place).
        public static let schema = Kind(name: "schema")
        /// The file ends without a newline: its last write was cut off.
        public static let truncated = Kind(name: "truncated")
        /// The file cannot be read.
        public static let unreadable = Kind(name: "unreadable")

        public var description: String { name }
    }

    public let file: String
    /// 1-based line number; 0 when the problem is the file as a whole.
    public let line: Int
    public let kind: Kind
    public let message: String

    public init(file: String, line: Int, kind: Kind, message: String) {
        self.file = file
        self.line = line
        self.kind = kind
        self.message = message
    }

    public var description: String {
        line == 0 ? "\(file): error: \(kind): \(message)" : "\(file):\(line): error: \(kind): \(message)"
    }
}
