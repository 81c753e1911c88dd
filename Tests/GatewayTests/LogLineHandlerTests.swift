import Glibc
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import Gateway

/// Log lines cannot be forged through the values clients choose.
@Suite struct LogLineHandlerTests {
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// Every byte value (as the scalar it stands for) and the line separators: what comes
    /// out has no control character, and is either the plain token it was or one quoted
    /// value with no bare quote inside.
    @Test(arguments: Array(0...255) + [0x2028, 0x2029])
    func everyCharacterIsSafe(_ value: Int) throws {
        let scalar = try #require(Unicode.Scalar(UInt32(value)))
        let text = "a\(Character(scalar))b"
        let escaped = LogLineHandler.escape(text)
        #expect(!escaped.unicodeScalars.contains(where: Self.isControl), "\(value): \(escaped.debugDescription)")
        let plain = value > 0x20 && value < 0x7F && value != 0x22 && value != 0x5C
        if plain {
            #expect(escaped == text)
        } else {
            #expect(escaped.hasPrefix("\"") && escaped.hasSuffix("\""), "\(value): \(escaped)")
            let inner = escaped.dropFirst().dropLast()
            var previous: Character = " "
            for character in inner {
                #expect(character != "\"" || previous == "\\", "\(value): a bare quote in \(escaped)")
                previous = previous == "\\" && character == "\\" ? " " : character
            }
        }
    }

    @Test func aHostileKeyStaysOneValue() {
        #expect(LogLineHandler.escape("/b/x\nstatus=204 principal=admin")
                == #""/b/x\nstatus=204 principal=admin""#)
        #expect(LogLineHandler.escape("say \"hi\" \\ bye") == #""say \"hi\" \\ bye""#)
        #expect(LogLineHandler.escape("/bucket/é") == "\"/bucket/é\"")
        #expect(LogLineHandler.escape("0123456789ABCDEF") == "0123456789ABCDEF")
    }

    /// A message keeps printable text, ASCII or not, and has every control character and
    /// line separator escaped.
    @Test func aMessageIsEscapedOnlyWhereItMustBe() {
        #expect(LogLineHandler.escapeControls("listening on 127.0.0.1:9000 \"x\"") == "listening on 127.0.0.1:9000 \"x\"")
        #expect(LogLineHandler.escapeControls("clé") == "clé")
        #expect(LogLineHandler.escapeControls("a\u{7F}b\u{85}c\u{2028}d\te\u{0}") == #"a\u{7F}b\u{85}c\u{2028}d\te\u{0}"#)
    }

    /// The lines a handler writes into a pipe.
    static func lines(_ log: (Logger) throws -> Void, metadata: Logger.Metadata = [:],
                      provider: Logger.MetadataProvider? = nil) throws -> [String] {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let output = LogLineHandler.Output(descriptor: ends[1])
        var logger = Logger(label: "test") { label in LogLineHandler(label: label, level: .info, output: output) }
        for (key, value) in metadata { logger[metadataKey: key] = value }
        if let provider { logger.handler.metadataProvider = provider }
        try log(logger)
        close(ends[1])
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let count = read(ends[0], &chunk, chunk.count), count > 0 { bytes += chunk[..<count] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func aLineHasTheStreamLayoutWithEscapedValuesInKeyOrder() throws {
        let lines = try Self.lines { logger in
            logger.info("request\nforged", metadata: ["resource": "/b/x\r\nstatus=204", "status": "200", "list": .array(["a b", "c"])])
            logger.debug("not at info")
            logger.warning("second", metadata: ["k": .stringConvertible(42)])
        }
        #expect(lines.count == 3 && lines[2].isEmpty, "two lines, each ended by a line feed: \(lines)")
        let layout = #/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}) info test: (.*) \[GatewayTests\] request\\nforged$/#
        let first = try #require(lines[0].wholeMatch(of: layout), "\(lines[0])")
        #expect(first.2 == #"list=["\"a b\"", "c"] resource="/b/x\r\nstatus=204" status=200"#)
        #expect(lines[1].hasSuffix(" warning test: k=42 [GatewayTests] second"))
    }

    /// The handler's metadata, the provider's and the event's, each later one winning a key.
    @Test func metadataIsMergedAsSwiftLogMergesIt() throws {
        let provider = Logger.MetadataProvider { ["shared": "provider", "provided": "p"] }
        let lines = try Self.lines({ logger in
            logger.info("m", metadata: ["shared": "event"])
            logger.info("n")
        }, metadata: ["shared": "handler", "own": "o"], provider: provider)
        #expect(lines[0].contains(" own=o provided=p shared=event [GatewayTests] m"), "\(lines[0])")
        #expect(lines[1].contains(" own=o provided=p shared=provider [GatewayTests] n"), "\(lines[1])")
    }

    /// The time is what strftime writes for the local time (the stream handler's format).
    @Test(arguments: [0, 951_782_400, 1_780_000_000, 4_102_444_799] as [time_t])
    func theTimestampIsStrftimes(_ seconds: time_t) {
        var line: [UInt8] = []
        LogLineHandler.appendTimestamp(seconds, to: &line)
        var clock = seconds
        var local = tm()
        localtime_r(&clock, &local)
        var expected = [CChar](repeating: 0, count: 64)
        let count = strftime(&expected, expected.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        #expect(String(decoding: line, as: UTF8.self) == String(decoding: expected[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
