/// A configuration error that points at the place it was found, in the compiler style
/// editors and CI logs understand:
///
///     clients.yaml:12:5: error: clients[1].secret_env: environment variable ALICE_SECRET is not set
///
/// Messages name keys and expectations, never a secret value.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}
