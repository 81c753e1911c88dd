import Testing
@testable import S3Core

/// An independent statement of RFC 3986 §2.3 unreserved, written out byte by byte so the
/// tests do not share a range expression with the implementation.
private let unreservedBytes: Set<UInt8> = Set(
    Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

/// `%XY` with upper-case hex for every byte of the UTF-8 form.
private func escapedAll(_ text: String) -> String {
    text.utf8.map { hex2($0) }.joined()
}

private func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return "%" + String(digits[Int(byte / 16)]) + String(digits[Int(byte % 16)])
}

private func lowerHex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "%" + String(digits[Int(byte / 16)]) + String(digits[Int(byte % 16)])
}

@Suite("PercentEncoding")
struct PercentEncodingTests {
    // MARK: - isUnreserved / hexValue over the whole byte range

    @Test("isUnreserved is true for exactly the 66 RFC 3986 unreserved bytes", arguments: 0...255)
    func isUnreservedEveryByte(_ value: Int) {
        let byte = UInt8(value)
        #expect(PercentEncoding.isUnreserved(byte) == unreservedBytes.contains(byte))
    }

    @Test func unreservedSetSize() {
        #expect((0...255).filter { PercentEncoding.isUnreserved(UInt8($0)) }.count == 66)
    }

    @Test("hexValue accepts 0-9, a-f, A-F and nothing else", arguments: 0...255)
    func hexValueEveryByte(_ value: Int) {
        let byte = UInt8(value)
        let expected: UInt8? = switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
        #expect(PercentEncoding.hexValue(byte) == expected)
    }

    // MARK: - encode, every ASCII byte as a one-character string

    @Test("encode of every ASCII byte (0x00-0x7F), both encodeSlash settings", arguments: 0...127)
    func encodeEveryASCIIByte(_ value: Int) {
        let byte = UInt8(value)
        let text = String(decoding: [byte], as: UTF8.self)
        #expect(Array(text.utf8) == [byte])
        let expected = unreservedBytes.contains(byte) ? text : hex2(byte)
        #expect(PercentEncoding.encode(text) == expected)
        #expect(PercentEncoding.encode(text, encodeSlash: true) == expected)
        let expectedKeepingSlash = byte == UInt8(ascii: "/") ? "/" : expected
        #expect(PercentEncoding.encode(text, encodeSlash: false) == expectedKeepingSlash)
    }

    /// Bytes 0x80-0xFF are not UTF-8 on their own; each one that can occur in UTF-8 is
    /// reached through a character whose encoding contains it, and must come out as `%XY`.
    @Test("encode of every non-ASCII byte, reached through multi-byte characters", arguments: 0x80...0xFF)
    func encodeEveryHighByte(_ value: Int) throws {
        let byte = UInt8(value)
        // C0, C1 and F5-FF never occur in well-formed UTF-8.
        if byte == 0xC0 || byte == 0xC1 || byte >= 0xF5 {
            #expect(!PercentEncoding.isUnreserved(byte))
            return
        }
        let scalar = try #require(Self.scalarContaining(byte), "no scalar contains byte \(byte)")
        let text = String(Character(scalar))
        #expect(text.utf8.contains(byte))
        let encoded = PercentEncoding.encode(text)
        #expect(encoded == escapedAll(text))
        #expect(encoded.contains(hex2(byte)))
        #expect(PercentEncoding.encode(text, encodeSlash: false) == escapedAll(text))
    }

    /// A scalar whose UTF-8 form contains `byte` (0x80-0xBF as a continuation byte, the
    /// others as the lead byte of a 2-, 3- or 4-byte sequence).
    static func scalarContaining(_ byte: UInt8) -> Unicode.Scalar? {
        let value: UInt32 = switch byte {
        case 0x80...0xBF: UInt32(byte)                                   // C2 xx
        case 0xC2...0xDF: UInt32(byte & 0x1F) << 6                       // xx 80
        case 0xE0...0xEF: max(UInt32(byte & 0x0F) << 12, 0x800)          // xx .. ..
        case 0xF0...0xF4: max(UInt32(byte & 0x07) << 18, 0x10000)        // xx .. .. ..
        default: 0xFFFF_FFFF
        }
        return Unicode.Scalar(value)
    }

    @Test func encodeEveryTwoByteScalar() {
        for value in UInt32(0x80)...UInt32(0x7FF) {
            let text = String(Character(Unicode.Scalar(value)!))
            #expect(text.utf8.count == 2)
            #expect(PercentEncoding.encode(text) == escapedAll(text))
        }
    }

    @Test("encode of multi-byte characters", arguments: [
        ("é", "%C3%A9"),
        ("ü", "%C3%BC"),
        ("€", "%E2%82%AC"),
        ("中文", "%E4%B8%AD%E6%96%87"),
        ("😀", "%F0%9F%98%80"),
        ("👍🏽", "%F0%9F%91%8D%F0%9F%8F%BD"),
        ("e\u{301}", "e%CC%81"),
        ("\u{FEFF}", "%EF%BB%BF"),
        ("\u{10FFFF}", "%F4%8F%BF%BF"),
        ("\u{7F}", "%7F"),
        ("\u{80}", "%C2%80"),
        ("\u{0}", "%00"),
        ("\u{212A}", "%E2%84%AA"),      // KELVIN SIGN, not 'K'
        ("\u{17F}", "%C5%BF"),          // LONG S, not 's'
    ])
    func encodeMultiByte(_ input: String, _ expected: String) {
        #expect(PercentEncoding.encode(input) == expected)
        #expect(PercentEncoding.encode(input, encodeSlash: false) == expected)
    }

    @Test("encode of whole strings", arguments: [
        // (input, encodeSlash: true, encodeSlash: false)
        ("", "", ""),
        ("abc", "abc", "abc"),
        ("AZaz09-._~", "AZaz09-._~", "AZaz09-._~"),
        ("a/b", "a%2Fb", "a/b"),
        ("/", "%2F", "/"),
        ("//a//", "%2F%2Fa%2F%2F", "//a//"),
        ("a b", "a%20b", "a%20b"),
        ("a+b", "a%2Bb", "a%2Bb"),
        ("a%b", "a%25b", "a%25b"),
        ("%2F", "%252F", "%252F"),
        ("a=b&c", "a%3Db%26c", "a%3Db%26c"),
        ("!*'();:@&=+$,/?#[]", "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D",
         "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C/%3F%23%5B%5D"),
        ("photos/2024/été.jpg", "photos%2F2024%2F%C3%A9t%C3%A9.jpg", "photos/2024/%C3%A9t%C3%A9.jpg"),
        ("\\", "%5C", "%5C"),
        ("\t\r\n", "%09%0D%0A", "%09%0D%0A"),
    ])
    func encodeStrings(_ input: String, _ slashEncoded: String, _ slashKept: String) {
        #expect(PercentEncoding.encode(input) == slashEncoded)
        #expect(PercentEncoding.encode(input, encodeSlash: true) == slashEncoded)
        #expect(PercentEncoding.encode(input, encodeSlash: false) == slashKept)
    }

    @Test func encodeUsesUpperCaseHex() {
        let encoded = PercentEncoding.encode(String(decoding: Array(0...127 as ClosedRange<UInt8>), as: UTF8.self))
        // Every escape in the output is upper-case.
        var index = encoded.startIndex
        while let percent = encoded[index...].firstIndex(of: "%") {
            let digits = encoded[encoded.index(after: percent)...].prefix(2)
            #expect(digits == digits.uppercased()[...])
            index = encoded.index(after: percent)
        }
    }

    @Test func encodeAcceptsSubstrings() {
        let text = "xx/a b/yy"
        let slice = text.dropFirst(2).dropLast(2)
        #expect(PercentEncoding.encode(slice) == "%2Fa%20b%2F")
        #expect(PercentEncoding.encode(slice, encodeSlash: false) == "/a%20b/")
    }

    /// Swift turns an ill-formed byte into U+FFFD when a string is built by decoding, so the
    /// encoder only ever sees well-formed UTF-8 and encodes the replacement character.
    @Test("encode after lossy decoding of a lone high byte", arguments: [0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF])
    func encodeLoneHighByte(_ value: Int) {
        let text = String(decoding: [UInt8(value)], as: UTF8.self)
        #expect(PercentEncoding.encode(text) == "%EF%BF%BD")
    }

    // MARK: - decode

    @Test("decode of %XY for every ASCII byte, upper- and lower-case hex", arguments: 0...127)
    func decodeEveryASCIIEscape(_ value: Int) throws {
        let byte = UInt8(value)
        let upper = try #require(PercentEncoding.decode(hex2(byte)))
        let lower = try #require(PercentEncoding.decode(lowerHex2(byte)))
        #expect(Array(upper.utf8) == [byte])
        #expect(Array(lower.utf8) == [byte])
    }

    @Test("decode refuses a lone escaped byte 0x80-0xFF (not UTF-8)", arguments: 0x80...0xFF)
    func decodeRefusesLoneHighByte(_ value: Int) {
        #expect(PercentEncoding.decode(hex2(UInt8(value))) == nil)
        #expect(PercentEncoding.decode("a" + lowerHex2(UInt8(value)) + "b") == nil)
    }

    @Test("decode refuses malformed escapes and ill-formed UTF-8", arguments: [
        "%", "%4", "%zz", "%4z", "%z4", "%G0", "%0G", "% 41", "%%", "%%41", "100%", "a%", "a%4",
        "%-1", "%+1", "%x41", "%٤١",
        "%C3",                 // lead byte without its continuation
        "%C3%",                // truncated second escape
        "%C3%A",
        "%C3a",                // lead byte followed by an ASCII byte
        "%A9",                 // continuation byte alone
        "%C0%AF",              // overlong '/'
        "%C1%BF",              // overlong
        "%E0%80%AF",           // overlong '/'
        "%F0%80%80%AF",        // overlong '/'
        "%ED%A0%80",           // UTF-16 surrogate D800
        "%ED%BF%BF",           // surrogate DFFF
        "%F4%90%80%80",        // above U+10FFFF
        "%F8%88%80%80%80",     // 5-byte form
        "%E2%82",              // truncated 3-byte sequence
        "%F0%9F%98",           // truncated 4-byte sequence
        "%FE", "%FF",
        "ok%C3",               // invalid at the end of a longer string
        "%C3ok",
    ])
    func decodeRefuses(_ input: String) {
        #expect(PercentEncoding.decode(input) == nil)
    }

    @Test("decode of valid input", arguments: [
        ("", ""),
        ("abc", "abc"),
        ("a+b", "a+b"),                  // '+' is not a space
        ("+", "+"),
        ("%2B", "+"),
        ("%2b", "+"),
        ("%20", " "),
        ("a%20b", "a b"),
        ("%2F", "/"),
        ("%2f", "/"),
        ("%252F", "%2F"),                // decoded once only
        ("%25", "%"),
        ("%2525", "%25"),
        ("%41%42%43", "ABC"),
        ("%c3%a9", "é"),
        ("%C3%A9", "é"),
        ("%c3%A9", "é"),
        ("%E2%82%AC", "€"),
        ("%F0%9F%98%80", "😀"),
        ("%F4%8F%BF%BF", "\u{10FFFF}"),
        ("%EF%BF%BD", "\u{FFFD}"),
        ("%EF%BB%BF", "\u{FEFF}"),
        ("%00", "\u{0}"),
        ("%7F", "\u{7F}"),
        ("é", "é"),                      // raw non-ASCII without escapes is kept
        ("é%20😀", "é 😀"),
        ("a/b//c", "a/b//c"),
        ("=&?#", "=&?#"),
    ])
    func decodeValid(_ input: String, _ expected: String) throws {
        let decoded = try #require(PercentEncoding.decode(input))
        // Byte-exact, not Unicode-canonically-equivalent.
        #expect(Array(decoded.utf8) == Array(expected.utf8))
    }

    /// Decoding never normalises: a decomposed `é` stays decomposed, so two different wire
    /// forms never name one object.
    @Test func decodeDoesNotNormalise() throws {
        let decomposed = try #require(PercentEncoding.decode("e%CC%81"))
        let composed = try #require(PercentEncoding.decode("%C3%A9"))
        #expect(Array(decomposed.utf8) == [0x65, 0xCC, 0x81])
        #expect(Array(composed.utf8) == [0xC3, 0xA9])
        #expect(Array(decomposed.utf8) != Array(composed.utf8))
    }

    @Test func decodeAcceptsSubstrings() {
        let text = "xx%41%2Fyy"
        #expect(PercentEncoding.decode(text.dropFirst(2).dropLast(2)) == "A/")
        #expect(PercentEncoding.decode(text.dropFirst(2).dropLast(4)) == nil)   // "%41%"
    }

    // MARK: - round trip

    static let roundTripStrings: [String] = [
        "", "a", "abc", " ", "  leading and trailing  ", "+", "a+b c", "%", "%25", "%2F", "100%",
        "/", "a/b", "/leading", "trailing/", "a//b", "./..", "?query=1&x", "#fragment",
        "key=value;other:thing@host", "!*'()[]{}<>\"\\|^`", "\t\n\r\u{0}\u{1F}\u{7F}",
        "é", "naïve café", "日本語のキー", "Ελληνικά", "עברית", "العربية", "Кириллица",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "e\u{301}", "\u{FEFF}bom", "\u{FFFD}", "\u{10FFFF}",
        "\u{212A}", "\u{17F}", "İ", "ß", "mixed/路径/😀 +%=&?",
        String(repeating: "x/é ", count: 500),
        String(decoding: Array(0...127 as ClosedRange<UInt8>), as: UTF8.self),
    ]

    @Test("decode(encode(s)) == s, byte for byte", arguments: roundTripStrings)
    func roundTrip(_ text: String) throws {
        for encodeSlash in [true, false] {
            let encoded = PercentEncoding.encode(text, encodeSlash: encodeSlash)
            // The encoded form is pure ASCII made of unreserved bytes, '%' escapes and '/'.
            #expect(encoded.utf8.allSatisfy {
                unreservedBytes.contains($0) || $0 == UInt8(ascii: "%") || (!encodeSlash && $0 == UInt8(ascii: "/"))
            })
            let decoded = try #require(PercentEncoding.decode(encoded))
            #expect(Array(decoded.utf8) == Array(text.utf8))
        }
    }

    @Test func roundTripEveryBMPScalarAndSomeAstral() throws {
        var scalars = String.UnicodeScalarView()
        for value in UInt32(0)...UInt32(0xFFFF) {
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        for value in stride(from: UInt32(0x10000), through: 0x10FFFF, by: 0x1001) {
            scalars.append(Unicode.Scalar(value)!)
        }
        let text = String(scalars)
        let decoded = try #require(PercentEncoding.decode(PercentEncoding.encode(text)))
        #expect(Array(decoded.utf8) == Array(text.utf8))
        let decodedKeepingSlash = try #require(PercentEncoding.decode(PercentEncoding.encode(text, encodeSlash: false)))
        #expect(Array(decodedKeepingSlash.utf8) == Array(text.utf8))
    }

    /// Encoding an already-encoded string escapes its '%' signs: encode is not idempotent,
    /// and decoding once gets back exactly one layer.
    @Test func doubleEncodingPeelsOneLayer() throws {
        let once = PercentEncoding.encode("a b/c")
        let twice = PercentEncoding.encode(once)
        #expect(once == "a%20b%2Fc")
        #expect(twice == "a%2520b%252Fc")
        #expect(PercentEncoding.decode(twice) == once)
    }
}
