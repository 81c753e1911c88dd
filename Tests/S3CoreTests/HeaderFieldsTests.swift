import Testing
@testable import S3Core

@Suite("HeaderFields")
struct HeaderFieldsTests {
    static let sample = HeaderFields([
        ("Host", "bucket.s3.example.com"),
        ("X-Amz-Meta-Color", "red"),
        ("x-amz-meta-color", "blue"),
        ("Content-Type", "text/plain"),
        ("X-AMZ-META-COLOR", "green"),
        ("x-amz-date", "20130524T000000Z"),
        ("Empty", ""),
    ])

    // MARK: - lookups

    @Test("lookups ignore ASCII case", arguments: [
        "host", "HOST", "Host", "hOsT",
    ])
    func caseInsensitiveLookup(_ name: String) {
        #expect(Self.sample[name] == "bucket.s3.example.com")
        #expect(Self.sample.values(name) == ["bucket.s3.example.com"])
        #expect(Self.sample.contains(name))
    }

    @Test func duplicatesAreKeptInArrivalOrder() {
        for name in ["x-amz-meta-color", "X-Amz-Meta-Color", "X-AMZ-META-COLOR"] {
            #expect(Self.sample.values(name) == ["red", "blue", "green"])
            #expect(Self.sample[name] == "red,blue,green")
        }
        #expect(Self.sample.count == 7)
    }

    @Test func byteOrderAndByteEquality() {
        #expect("a".utf8Precedes("b"))
        #expect("B".utf8Precedes("a"), "uppercase sorts first in byte order")
        #expect("ab".utf8Precedes("abc"))
        #expect(!"abc".utf8Precedes("abc"))
        #expect("z".utf8Precedes("é"), "multi-byte characters sort by their bytes")
        #expect("x-amz-date"[...].utf8Precedes("x-amz-meta-a"))
        #expect("é".utf8Equals("é"))
        #expect(!"e\u{301}".utf8Equals("é"), "canonically equivalent, but not the same bytes")
        #expect("e\u{301}" == "é")
    }

    @Test func firstCountsOccurrencesWithoutJoining() {
        #expect(Self.sample.first("X-AMZ-meta-color")?.value == "red")
        #expect(Self.sample.first("x-amz-meta-color")?.occurrences == 3)
        #expect(Self.sample.first("host")?.value == "bucket.s3.example.com")
        #expect(Self.sample.first("HOST")?.occurrences == 1)
        #expect(Self.sample.first("empty")?.value == "")
        #expect(Self.sample.first("missing") == nil)
    }

    @Test func missingAndEmpty() {
        #expect(Self.sample["missing"] == nil)
        #expect(Self.sample.values("missing") == [])
        #expect(!Self.sample.contains("missing"))
        #expect(Self.sample["empty"] == "")          // present with an empty value is not absent
        #expect(Self.sample.values("EMPTY") == [""])
        #expect(Self.sample.contains("Empty"))
    }

    @Test func joinedSubscriptKeepsEmptyValues() {
        let fields = HeaderFields([("A", ""), ("a", "x"), ("A", "")])
        #expect(fields["a"] == ",x,")
        #expect(fields.values("a") == ["", "x", ""])
    }

    @Test func noPartialOrPrefixMatches() {
        #expect(!Self.sample.contains("hos"))
        #expect(!Self.sample.contains("hosts"))
        #expect(!Self.sample.contains("x-amz-meta-"))
        #expect(!Self.sample.contains(" host"))
        #expect(!Self.sample.contains("host "))
        #expect(!Self.sample.contains(""))
        #expect(Self.sample["x-amz"] == nil)
    }

    @Test func namesKeepTheirCaseAndOrder() {
        #expect(Self.sample.map(\.name) == ["Host", "X-Amz-Meta-Color", "x-amz-meta-color", "Content-Type",
                                            "X-AMZ-META-COLOR", "x-amz-date", "Empty"])
        #expect(Self.sample.map(\.value) == ["bucket.s3.example.com", "red", "blue", "text/plain", "green",
                                             "20130524T000000Z", ""])
    }

    @Test func emptyFields() {
        let fields = HeaderFields()
        #expect(fields.count == 0)
        #expect(fields["a"] == nil)
        #expect(Array(fields).isEmpty)
        #expect(fields == HeaderFields([]))
    }

    /// Values are kept byte for byte: no trimming, no folding, no splitting on commas.
    @Test func valuesAreNotTouched() {
        let fields = HeaderFields([("X-A", "  a,  b  "), ("X-B", "MiXeD"), ("X-C", "é😀")])
        #expect(fields["x-a"] == "  a,  b  ")
        #expect(fields.values("x-a") == ["  a,  b  "])
        #expect(fields["x-b"] == "MiXeD")
        #expect(fields["X-C"] == "é😀")
    }

    // MARK: - mutation

    @Test func add() {
        var fields = HeaderFields([("A", "1")])
        fields.add("a", "2")
        fields.add("B", "3")
        #expect(fields.count == 3)
        #expect(fields.values("A") == ["1", "2"])
        #expect(fields.map(\.name) == ["A", "a", "B"])
    }

    @Test func replaceRemovesEveryCaseVariantAndAppends() {
        var fields = Self.sample
        fields.replace("x-amz-meta-color", with: "black")
        #expect(fields.values("X-Amz-Meta-Color") == ["black"])
        #expect(fields.count == 5)
        // The replacement takes the caller's spelling and goes at the end.
        #expect(fields.map(\.name) == ["Host", "Content-Type", "x-amz-date", "Empty", "x-amz-meta-color"])
        #expect(fields["host"] == "bucket.s3.example.com")
    }

    @Test func replaceOfAbsentFieldAdds() {
        var fields = HeaderFields([("A", "1")])
        fields.replace("B", with: "2")
        #expect(fields.map(\.name) == ["A", "B"])
        #expect(fields["b"] == "2")
    }

    @Test func removeRemovesEveryCaseVariantOnly() {
        var fields = Self.sample
        fields.remove("X-AMZ-meta-COLOR")
        #expect(!fields.contains("x-amz-meta-color"))
        #expect(fields.count == 4)
        #expect(fields.map(\.name) == ["Host", "Content-Type", "x-amz-date", "Empty"])
        fields.remove("not-there")
        #expect(fields.count == 4)
        fields.remove("x-amz-")                      // no prefix removal
        #expect(fields.count == 4)
    }

    @Test func removeAllWhere() {
        var fields = Self.sample
        fields.removeAll { $0.name.hasASCIICaseInsensitivePrefix("x-amz-") }
        #expect(fields.map(\.name) == ["Host", "Content-Type", "Empty"])
        fields.removeAll { $0.value.isEmpty }
        #expect(fields.map(\.name) == ["Host", "Content-Type"])
    }

    @Test func equalityIsOrderedAndExact() {
        #expect(HeaderFields([("A", "1"), ("B", "2")]) == HeaderFields([("A", "1"), ("B", "2")]))
        #expect(HeaderFields([("A", "1"), ("B", "2")]) != HeaderFields([("B", "2"), ("A", "1")]))
        #expect(HeaderFields([("A", "1")]) != HeaderFields([("a", "1")]))     // spelling is kept, so it counts
        #expect(HeaderFields([("A", "1")]) != HeaderFields([("A", "1 ")]))
        #expect(HeaderFields([("A", "1")]) != HeaderFields([("A", "1"), ("A", "1")]))
    }

    // MARK: - non-ASCII names never fold

    @Test("trimmingOWS drops spaces and tabs at both ends only", arguments: [
        ("  a b\t", "a b"), ("\t\t", ""), ("", ""), ("x", "x"), (" \u{a0}x\u{a0} ", "\u{a0}x\u{a0}"), ("a\r\n", "a\r\n"),
        (" é ", "é"),
    ])
    func trimmingOWS(_ text: String, _ expected: String) {
        #expect(text.trimmingOWS == expected[...])
        #expect(text[...].trimmingOWS == expected[...])
    }

    @Test("asciiCaseInsensitiveEquals", arguments: [
        ("", "", true),
        ("a", "a", true),
        ("a", "A", true),
        ("Content-Type", "content-type", true),
        ("X-AMZ-DATE", "x-amz-date", true),
        ("az", "AZ", true),
        ("@[`{", "@[`{", true),
        ("@", "`", false),             // 0x40 vs 0x60: only letters fold
        ("[", "{", false),             // 0x5B vs 0x7B
        ("]", "}", false),
        ("^", "~", false),
        ("_", "\u{7F}", false),
        ("a", "b", false),
        ("a", "aa", false),
        ("ab", "a", false),
        ("ſ", "s", false),             // U+017F LATIN SMALL LETTER LONG S
        ("ſ", "S", false),
        ("\u{212A}", "k", false),      // KELVIN SIGN (written escaped: NFC would turn it into 'K')
        ("\u{212A}", "K", false),
        ("İ", "i", false),             // U+0130
        ("ı", "I", false),             // U+0131
        ("ß", "ss", false),
        ("straße", "STRASSE", false),
        ("É", "é", false),             // non-ASCII letters do not fold either
        ("é", "é", true),
        ("é", "e\u{301}", false),      // byte comparison, no canonical equivalence
        ("ﬀ", "ff", false),
        ("ｈｏｓｔ", "host", false),     // fullwidth
    ])
    func asciiCaseInsensitiveEquals(_ a: String, _ b: String, _ expected: Bool) {
        #expect(a.asciiCaseInsensitiveEquals(b) == expected)
        #expect(b.asciiCaseInsensitiveEquals(a) == expected)
        #expect(a[...].asciiCaseInsensitiveEquals(b) == expected)
    }

    @Test("every byte pair: only A-Z/a-z fold", arguments: 0..<128)
    func asciiFoldingEveryByte(_ value: Int) {
        let a = String(UnicodeScalar(UInt8(value)))
        for other in 0..<128 {
            let b = String(UnicodeScalar(UInt8(other)))
            let isLetterPair = abs(value - other) == 32
                && (0x41...0x5A).contains(min(value, other)) && (0x61...0x7A).contains(max(value, other))
            #expect(a.asciiCaseInsensitiveEquals(b) == (value == other || isLetterPair))
        }
    }

    @Test func lookupsDoNotFoldNonASCII() {
        let fields = HeaderFields([("x-amz-meta-ſtatus", "1"), ("\u{212A}ey", "2"), ("x-obs-İd", "3")])
        #expect(fields["x-amz-meta-status"] == nil)
        #expect(fields["x-amz-meta-STATUS"] == nil)
        #expect(fields["x-amz-meta-ſtatus"] == "1")
        #expect(fields["X-AMZ-META-ſTATUS"] == "1")          // the ASCII part still folds
        #expect(fields["key"] == nil)
        #expect(fields["KEY"] == nil)
        #expect(fields["\u{212A}EY"] == "2")
        #expect(fields["x-obs-id"] == nil)
        var copy = fields
        copy.remove("x-amz-meta-status")
        #expect(copy.count == 3)
    }

    @Test("asciiLowercased", arguments: [
        ("", ""),
        ("ABC", "abc"),
        ("Content-Type", "content-type"),
        ("X-AMZ-@[`{", "x-amz-@[`{"),
        ("ÀÉÎ", "ÀÉÎ"),                  // non-ASCII kept
        ("\u{212A}", "\u{212A}"),
        ("İSTANBUL", "İstanbul"),
        ("MIXED é Z", "mixed é z"),
    ])
    func asciiLowercased(_ input: String, _ expected: String) {
        #expect(input.asciiLowercased == expected)
        #expect(Array(input.asciiLowercased.utf8).count == input.utf8.count)
    }

    @Test("hasASCIICaseInsensitivePrefix", arguments: [
        ("x-amz-meta-a", "x-amz-", true),
        ("X-Amz-Meta-A", "x-amz-", true),
        ("x-amz-", "X-AMZ-", true),
        ("x-amz", "x-amz-", false),
        ("anything", "", true),
        ("", "", true),
        ("", "a", false),
        ("x-obs-meta", "x-amz-", false),
        ("ſtatus", "s", false),
        ("Kelvin", "\u{212A}", false),
        ("éa", "É", false),
    ])
    func hasPrefix(_ text: String, _ prefix: String, _ expected: Bool) {
        #expect(text.hasASCIICaseInsensitivePrefix(prefix) == expected)
    }

    @Test("listElements: elements without OWS, empty ones skipped", arguments: [
        ("a", ["a"]),
        (" a ,\tb ", ["a", "b"]),
        ("a,,b", ["a", "b"]),
        (", ,a, ", ["a"]),
        ("", []),
        (" , ", []),
        ("gzip, aws-chunked", ["gzip", "aws-chunked"]),
        ("é, ü ,x", ["é", "ü", "x"]),
    ])
    func listElements(_ value: String, _ expected: [String]) {
        #expect(value.listElements.map(String.init) == expected)
        #expect(Substring(value).listElements.map(String.init) == expected)
        #expect(value.listElements.contains { $0 == expected.last ?? "" } == !expected.isEmpty)
    }
}
