import Logging

/// Writes log events through another handler with every value made safe for a one-line
/// `key=value` format. Log lines carry what clients chose (a percent-decoded key, a claimed
/// access key, a `traceparent`): a key such as `/b/x%0Astatus=204%20principal=admin`
/// must not start a line or a field of its own.
///
/// A metadata value made only of printable ASCII other than space, `"` and `\` is written
/// as it is (request ids, operation names, numbers stay readable); any other value is
/// quoted, with `"` and `\` escaped and every control character (C0, DEL, C1) and line
/// separator (U+2028, U+2029) written as `\n`, `\r`, `\t` or `\u{XX}`. Printable non-ASCII
/// text (a key `é`) stays as it is inside the quotes. Messages are the gateway's own words
/// with at most an error's description in them: only their control characters are escaped.
public struct EscapingLogHandler: LogHandler {
    private var wrapped: any LogHandler

    public init(wrapping handler: any LogHandler) {
        wrapped = handler
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var escaped = event
        escaped.message = Logger.Message(stringLiteral: Self.escapeControls(event.message.description))
        escaped.metadata = event.metadata?.mapValues(Self.escape)
        wrapped.log(event: escaped)
    }

    static func escape(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let convertible): .string(escape(convertible.description))
        case .array(let values): .array(values.map(escape))
        case .dictionary(let values): .dictionary(values.mapValues(escape))
        }
    }

    /// The value as it may stand in a log line (see the type's comment).
    public static func escape(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return text
        }
        return "\"" + escapeControls(text, quotes: true) + "\""
    }

    /// The text with its control characters and line separators escaped, and with
    /// `quotes`, its `"` and `\` too.
    static func escapeControls(_ text: String, quotes: Bool = false) -> String {
        // Printable ASCII (every message the gateway writes itself) has nothing to escape.
        if !quotes, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"" where quotes: out += "\\\""
            case "\\" where quotes: out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028
                || scalar.value == 0x2029:
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
