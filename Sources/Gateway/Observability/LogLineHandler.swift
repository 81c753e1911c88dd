import Audit
import Logging
import NIOConcurrencyHelpers
import S3Core
#if canImport(Glibc)
import Glibc
#endif

/// The gateway's log lines, in swift-log's `StreamLogHandler` layout, each written with one
/// `write` while a lock is held (lines from several threads never interleave):
///
///     line  = time SP level SP label ":" *( SP key "=" value ) SP "[" source "]" SP message LF
///     time  = the local time as strftime's "%Y-%m-%dT%H:%M:%S%z"
///
/// with the metadata in key order. The line is written straight into its bytes: the generic
/// handler built, merged, sorted and joined strings for each line, 7 % of a request's CPU at
/// `info` (bench/README.md).
///
/// Every value is made safe for a one-line `key=value` format. Log lines carry what clients
/// chose (a percent-decoded key, a claimed access key, a `traceparent`): a key such as
/// `/b/x%0Astatus=204%20principal=admin` must not start a line or a field of its own.
///
/// A metadata value made only of printable ASCII other than space, `"` and `\` is written
/// as it is (request ids, operation names, numbers stay readable); any other value is
/// quoted, with `"` and `\` escaped and every control character (C0, DEL, C1) and line
/// separator (U+2028, U+2029) written as `\n`, `\r`, `\t` or `\u{XX}`. Printable non-ASCII
/// text (a key `é`) stays as it is inside the quotes. Messages are the gateway's own words
/// with at most an error's description in them: only their control characters are escaped.
public struct LogLineHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: Output

    /// Where the lines go: a file descriptor, standard error unless a test gives another.
    public final class Output: Sendable {
        let descriptor: Int32
        let lock = NIOLock()

        public init(descriptor: Int32) { self.descriptor = descriptor }

        public static let standardError = Output(descriptor: STDERR_FILENO)

        func write(_ line: [UInt8]) {
            // As swift-log's stream handler does, a line that cannot be written is lost:
            // there is nowhere left to say so.
            lock.withLock { _ = POSIXFile.writeAll(descriptor, line, path: "the log") }
        }
    }

    public init(label: String, level: Logger.Level, output: Output = .standardError) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // The handler's own metadata, then the provider's, then the event's: each later
        // one wins a key (as in swift-log's stream handler).
        var fields = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { fields.merge(provided) { $1 } }
        if let explicit = event.metadata, !explicit.isEmpty {
            if fields.isEmpty { fields = explicit } else { fields.merge(explicit) { $1 } }
        }
        if let error = event.error {
            fields["error.message"] = "\(error)"
            fields["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line: [UInt8] = []
        line.reserveCapacity(512)
        Self.appendTimestamp(time(nil), to: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.level.rawValue.utf8)
        if !label.isEmpty { line.append(UInt8(ascii: " ")) }
        line.append(contentsOf: label.utf8)
        line.append(UInt8(ascii: ":"))
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            if case .string(let text) = value {
                line.append(contentsOf: Self.escape(text).utf8)
            } else {
                line.append(contentsOf: Self.escape(value).description.utf8)
            }
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: event.source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: Self.escapeControls(event.message.description).utf8)
        line.append(UInt8(ascii: "\n"))
        output.write(line)
    }

    /// `seconds` since the epoch as local time, `%Y-%m-%dT%H:%M:%S%z` (2026-12-04T21:51:10+0000):
    /// the civil time of the seconds moved by the zone's offset at that instant, written by
    /// the same writer as the signing and audit timestamps.
    static func appendTimestamp(_ seconds: time_t, to line: inout [UInt8]) {
        var clock = seconds
        var local = tm()
        guard localtime_r(&clock, &local) != nil else {
            line.append(contentsOf: "<unknown>".utf8)
            return
        }
        withUnsafeTemporaryAllocation(byteCount: BufferTextStream.timestampCapacity, alignment: 1) { storage in
            var text = BufferTextStream(storage)
            text.write(dateAndTime: CivilTime(epochSeconds: Int64(seconds) + Int64(local.tm_gmtoff)), extended: true)
            let offset = Int(local.tm_gmtoff) / 60
            text.write(offset < 0 ? "-" as StaticString : "+")
            text.write(abs(offset) / 60 * 100 + abs(offset) % 60, width: 4)
            line.append(contentsOf: text.written)
        }
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
