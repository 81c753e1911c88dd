import Logging
import NIOConcurrencyHelpers
import Testing
@testable import Gateway

/// Log lines cannot be forged through the values clients choose.
@Suite struct EscapingLogHandlerTests {
    /// A handler that keeps what it was given.
    struct Recorder: LogHandler {
        let events: NIOLockedValueBox<[LogEvent]>
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { events.withLockedValue { $0.append(event) } }
    }

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
        let escaped = EscapingLogHandler.escape(text)
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
        #expect(EscapingLogHandler.escape("/b/x\nstatus=204 principal=admin")
                == #""/b/x\nstatus=204 principal=admin""#)
        #expect(EscapingLogHandler.escape("say \"hi\" \\ bye") == #""say \"hi\" \\ bye""#)
        #expect(EscapingLogHandler.escape("/bucket/é") == "\"/bucket/é\"")
        #expect(EscapingLogHandler.escape("0123456789ABCDEF") == "0123456789ABCDEF")
    }

    /// A message keeps printable text, ASCII or not, and has every control character and
    /// line separator escaped.
    @Test func aMessageIsEscapedOnlyWhereItMustBe() {
        #expect(EscapingLogHandler.escapeControls("listening on 127.0.0.1:9000 \"x\"") == "listening on 127.0.0.1:9000 \"x\"")
        #expect(EscapingLogHandler.escapeControls("clé") == "clé")
        #expect(EscapingLogHandler.escapeControls("a\u{7F}b\u{85}c\u{2028}d\te\u{0}") == #"a\u{7F}b\u{85}c\u{2028}d\te\u{0}"#)
    }

    @Test func theWrappedHandlerSeesEscapedValues() {
        let events = NIOLockedValueBox<[LogEvent]>([])
        let logger = Logger(label: "test") { _ in EscapingLogHandler(wrapping: Recorder(events: events)) }
        logger.info("request\nforged", metadata: ["resource": "/b/x\r\nstatus=204", "status": "200",
                                                   "list": .array(["a b", "c"])])
        let event = events.withLockedValue { $0 }.first
        #expect(event?.message.description == #"request\nforged"#)
        #expect(event?.metadata?["resource"] == .string(#""/b/x\r\nstatus=204""#))
        #expect(event?.metadata?["status"] == .string("200"))
        #expect(event?.metadata?["list"] == .array([.string("\"a b\""), .string("c")]))
    }
}
