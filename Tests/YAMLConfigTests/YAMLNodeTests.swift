import Foundation
import Testing
@testable import YAMLConfig

/// One document, one way of reading it, and the exact error it must give.
struct YAMLErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let read: @Sendable (YAMLNode) throws -> Void
    let line: Int
    let column: Int
    let message: String

    init(_ name: String, _ yaml: String, line: Int, column: Int, _ message: String,
         read: @escaping @Sendable (YAMLNode) throws -> Void = { _ in }) {
        self.name = name
        self.yaml = yaml
        self.read = read
        self.line = line
        self.column = column
        self.message = message
    }

    var testDescription: String { name }
}

private let file = "conf/test.yaml"

private func parse(_ yaml: String) throws(ConfigError) -> YAMLNode {
    try YAMLNode.parse(yaml, file: file)
}

/// Runs `body` and returns the ConfigError it throws (recording an issue when it throws
/// nothing or something else).
func configError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite("YAMLNode")
struct YAMLNodeTests {
    // MARK: - parse errors

    static let parseErrors: [YAMLErrorCase] = [
        YAMLErrorCase("empty text", "", line: 1, column: 1, "the document is empty"),
        YAMLErrorCase("only a comment", "# nothing here\n", line: 1, column: 1, "the document is empty"),
        YAMLErrorCase("only blank lines", "\n\n\n", line: 1, column: 1, "the document is empty"),
        YAMLErrorCase("unclosed flow sequence", "a: [1, 2\nb: 3\n", line: 2, column: 2,
                      "invalid YAML: while parsing a flow sequence: did not find expected ',' or ']'"),
        YAMLErrorCase("tab indentation", "a:\n\tb: 1\n", line: 2, column: 1,
                      "invalid YAML: while scanning for the next token: found character that cannot start any token"),
        YAMLErrorCase("unterminated quote", "a: 'x\n", line: 2, column: 1,
                      "invalid YAML: while scanning a quoted scalar: found unexpected end of stream"),
        YAMLErrorCase("mapping value in a plain scalar", "a: b: c\n", line: 1, column: 5,
                      "invalid YAML: mapping values are not allowed in this context"),
        YAMLErrorCase("list then mapping", "- a\nb: 1\n", line: 2, column: 1,
                      "invalid YAML: while parsing a block collection: did not find expected '-' indicator"),
        YAMLErrorCase("bad dedent", "a:\n  - x\n - y\n", line: 3, column: 2,
                      "invalid YAML: while parsing a block mapping: did not find expected key"),
        YAMLErrorCase("reserved indicator", "a: @x\n", line: 1, column: 4,
                      "invalid YAML: while scanning for the next token: found character that cannot start any token"),
        YAMLErrorCase("unknown escape", "k: \"\\q\"\n", line: 1, column: 5,
                      "invalid YAML: while parsing a quoted scalar: found unknown escape character"),
        YAMLErrorCase("two documents", "a: 1\n---\nb: 2\n", line: 2, column: 1,
                      "invalid YAML: expected a single document in the stream: but found another document"),
        YAMLErrorCase("error deep in the file", "version: 1\nclients:\n  - a: 1\n    b: 2\n  - c: [x\n    d: 3\n",
                      line: 6, column: 6, "invalid YAML: while parsing a flow sequence: did not find expected ',' or ']'"),
    ]

    @Test("syntax errors carry the line and column of the problem", arguments: parseErrors)
    func parseError(_ testCase: YAMLErrorCase) throws {
        let error = try #require(configError { _ = try parse(testCase.yaml) })
        #expect(error.file == file)
        #expect(error.line == testCase.line)
        #expect(error.column == testCase.column)
        #expect(error.message == testCase.message)
        #expect(error.description == "\(file):\(testCase.line):\(testCase.column): error: \(testCase.message)")
    }

    /// YAML forbids most control characters anywhere in a document. The error must point
    /// at the character and must not quote the line: in a credentials file that line is a
    /// secret.
    @Test("a control character is reported at its place without quoting the line", arguments: [
        ("x: 1\nsecret: s3cr\u{7}et-value\n", 2, 13),
        ("secret: \"PASTED-SECRET\u{1}\"\n", 1, 23),
        ("a: 1\nb: 2\nc: ok\u{8}xyz\n", 3, 6),
    ])
    func controlCharacter(_ yaml: String, _ line: Int, _ column: Int) throws {
        let error = try #require(configError { _ = try parse(yaml) })
        #expect(error.line == line)
        #expect(error.column == column)
        #expect(error.message.hasPrefix("invalid YAML: "))
        for fragment in ["s3cr", "et-value", "PASTED-SECRET", "xyz", "secret:", "c: ok"] {
            #expect(!error.message.contains(fragment), "the message quotes the document: \(error.message)")
            #expect(!error.description.contains(fragment))
        }
    }

    /// libYAML itself does not check key uniqueness; Yams does, while composing. Either way
    /// the error names the key, points at one of its two occurrences (not at 1:1), and does
    /// not repeat the document (which, in a credentials file, holds secrets).
    @Test("duplicate keys are located and named, without quoting the document", arguments: [
        ("x: 0\na: 1\nb: other-value\na: 3\n", "a", [(2, 1), (4, 1)]),
        ("x: 0\nouter:\n  k: 1\n  other: other-value\n  k: 2\n", "k", [(3, 3), (5, 3)]),
        ("x: 0\nlist:\n  - name: n\n    other: other-value\n    name: m\n", "name", [(3, 5), (5, 5)]),
    ] as [(String, String, [(Int, Int)])])
    func duplicateKeys(_ yaml: String, _ key: String, _ places: [(Int, Int)]) throws {
        let error = try #require(configError { _ = try parse(yaml) })
        #expect(places.contains { $0 == (error.line, error.column) }, "reported at \(error.line):\(error.column)")
        #expect(error.message.contains("'\(key)'"))
        #expect(!error.message.contains("other-value"), "the message quotes the document: \(error.message)")
        #expect(!error.message.contains("\n"))
    }

    // MARK: - accessor errors

    static let accessorErrors: [YAMLErrorCase] = [
        // mapping
        YAMLErrorCase("unknown key", "a: 1\nzzz: 2\n", line: 2, column: 1, "unknown key 'zzz' (expected one of: a, b)") {
            _ = try $0.mapping(allowed: ["b", "a"])
        },
        YAMLErrorCase("unknown key, nested", "outer:\n  inner: 1\n  bad: 2\n", line: 3, column: 3,
                      "outer: unknown key 'bad' (expected one of: inner)") {
            _ = try $0.mapping(allowed: ["outer"])["outer"]!.mapping(allowed: ["inner"])
        },
        YAMLErrorCase("unknown key in a list item", "items:\n  - name: x\n  - name: y\n    colour: red\n", line: 4, column: 5,
                      "items[1]: unknown key 'colour' (expected one of: name)") {
            for item in try $0.mapping(allowed: ["items"])["items"]!.sequence() { _ = try item.mapping(allowed: ["name"]) }
        },
        YAMLErrorCase("unknown key is case-sensitive", "Version: 1\n", line: 1, column: 1,
                      "unknown key 'Version' (expected one of: version)") {
            _ = try $0.mapping(allowed: ["version"])
        },
        YAMLErrorCase("unknown key with no keys allowed", "a: 1\n", line: 1, column: 1, "unknown key 'a' (expected one of: )") {
            _ = try $0.mapping(allowed: [])
        },
        YAMLErrorCase("same text as a string and as an int", "\"1\": a\n1: b\n", line: 2, column: 1, "key '1' is given twice") {
            _ = try $0.mapping(allowed: ["1"])
        },
        YAMLErrorCase("missing required key", "a: 1\n", line: 1, column: 1, "missing required key 'b'") {
            _ = try $0.mapping(allowed: ["a", "b", "c"], required: ["c", "b"])
        },
        YAMLErrorCase("missing required key, nested", "top: 0\nx:\n  a: 1\n", line: 3, column: 3, "x: missing required key 'b'") {
            _ = try $0.mapping(allowed: ["top", "x"])["x"]!.mapping(allowed: ["a", "b"], required: ["b"])
        },
        YAMLErrorCase("missing required key in a list item", "items:\n  - name: x\n  - other: y\n", line: 3, column: 5,
                      "items[1]: missing required key 'name'") {
            for item in try $0.mapping(allowed: ["items"])["items"]!.sequence() {
                _ = try item.mapping(allowed: ["name", "other"], required: ["name"])
            }
        },
        YAMLErrorCase("empty flow mapping misses required keys", "x: {}\n", line: 1, column: 4, "x: missing required key 'a'") {
            _ = try $0.mapping(allowed: ["x"])["x"]!.mapping(allowed: ["a"], required: ["a"])
        },
        YAMLErrorCase("complex key", "? [a, b]\n: 1\n", line: 1, column: 3, "keys must be plain strings") {
            _ = try $0.mapping(allowed: nil)
        },
        YAMLErrorCase("mapping key", "? {a: 1}\n: 1\n", line: 1, column: 3, "keys must be plain strings") {
            _ = try $0.mapping(allowed: ["a"])
        },
        YAMLErrorCase("mapping expected, scalar found", "just text\n", line: 1, column: 1,
                      "expected a mapping (key: value), found a scalar") { _ = try $0.mapping(allowed: ["a"]) },
        YAMLErrorCase("mapping expected, list found", "- a\n- b\n", line: 1, column: 1,
                      "expected a mapping (key: value), found a list") { _ = try $0.mapping(allowed: ["a"]) },
        YAMLErrorCase("mapping expected, nested scalar found", "a: 1\nb: text\n", line: 2, column: 4,
                      "b: expected a mapping (key: value), found a scalar") {
            _ = try $0.mapping(allowed: ["a", "b"])["b"]!.mapping(allowed: nil)
        },
        // string
        YAMLErrorCase("string expected, mapping found", "a:\n  b: 1\n", line: 2, column: 3, "a: expected a string, found a mapping") {
            _ = try $0.mapping(allowed: ["a"])["a"]!.string()
        },
        YAMLErrorCase("string expected, list found", "a: [1]\n", line: 1, column: 4, "a: expected a string, found a list") {
            _ = try $0.mapping(allowed: ["a"])["a"]!.string()
        },
        YAMLErrorCase("string expected at the root", "[1]\n", line: 1, column: 1, "expected a string, found a list") {
            _ = try $0.string()
        },
        YAMLErrorCase("non-empty string, quoted empty", "a: \"\"\n", line: 1, column: 4, "a: must not be empty") {
            _ = try $0.mapping(allowed: ["a"])["a"]!.nonEmptyString()
        },
        YAMLErrorCase("non-empty string, single-quoted empty", "a: ''\n", line: 1, column: 4, "a: must not be empty") {
            _ = try $0.mapping(allowed: ["a"])["a"]!.nonEmptyString()
        },
        YAMLErrorCase("non-empty string, list", "a: []\n", line: 1, column: 4, "a: expected a string, found a list") {
            _ = try $0.mapping(allowed: ["a"])["a"]!.nonEmptyString()
        },
        // int
        YAMLErrorCase("int, text", "n: abc\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, quoted", "n: \"1\"\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, single-quoted", "n: '1'\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, float", "n: 1.5\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, exponent", "n: 1e3\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, hex", "n: 0x10\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, underscores", "n: 1_000\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, overflow", "n: 99999999999999999999\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, empty", "n:\nm: 1\n", line: 1, column: 3, "n: expected an integer") { _ = try $0.mapping(allowed: ["n", "m"])["n"]!.int() },
        YAMLErrorCase("int, bool", "n: true\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, list", "n: [1]\n", line: 1, column: 4, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int, mapping", "n:\n  v: 1\n", line: 2, column: 3, "n: expected an integer") { _ = try $0.mapping(allowed: ["n"])["n"]!.int() },
        YAMLErrorCase("int above range", "n: 5\n", line: 1, column: 4, "n: must be between 1 and 3, found 5") {
            _ = try $0.mapping(allowed: ["n"])["n"]!.int(in: 1...3)
        },
        YAMLErrorCase("int below range", "n: 0\n", line: 1, column: 4, "n: must be between 1 and 3, found 0") {
            _ = try $0.mapping(allowed: ["n"])["n"]!.int(in: 1...3)
        },
        YAMLErrorCase("negative int out of range", "limits:\n  skew: -1\n", line: 2, column: 9,
                      "limits.skew: must be between 1 and 86400, found -1") {
            _ = try $0.mapping(allowed: ["limits"])["limits"]!.mapping(allowed: ["skew"])["skew"]!.int(in: 1...86_400)
        },
        // bool
        YAMLErrorCase("bool, yes", "b: yes\n", line: 1, column: 4, "b: expected true or false, found 'yes'") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, True", "b: True\n", line: 1, column: 4, "b: expected true or false, found 'True'") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, FALSE", "b: FALSE\n", line: 1, column: 4, "b: expected true or false, found 'FALSE'") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, on", "b: on\n", line: 1, column: 4, "b: expected true or false, found 'on'") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, 1", "b: 1\n", line: 1, column: 4, "b: expected true or false, found '1'") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, empty", "b:\nc: 1\n", line: 1, column: 3, "b: expected true or false, found ''") { _ = try $0.mapping(allowed: ["b", "c"])["b"]!.bool() },
        YAMLErrorCase("bool, quoted", "b: \"true\"\n", line: 1, column: 4, "b: expected true or false") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        YAMLErrorCase("bool, list", "b: [true]\n", line: 1, column: 4, "b: expected true or false") { _ = try $0.mapping(allowed: ["b"])["b"]!.bool() },
        // list
        YAMLErrorCase("list expected, scalar found", "l: x\n", line: 1, column: 4, "l: expected a list, found a scalar") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.sequence()
        },
        YAMLErrorCase("list expected, mapping found", "l:\n  a: 1\n", line: 2, column: 3, "l: expected a list, found a mapping") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.sequence()
        },
        YAMLErrorCase("list expected, null found", "l:\n", line: 1, column: 3, "l: expected a list, found a scalar") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.stringList()
        },
        YAMLErrorCase("string list with an empty item", "l: [x, '', y]\n", line: 1, column: 8, "l[1]: must not be empty") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.stringList()
        },
        YAMLErrorCase("string list with a nested list", "l:\n  - a\n  - [b]\n", line: 3, column: 5, "l[1]: expected a string, found a list") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.stringList()
        },
        YAMLErrorCase("string list with a mapping item", "l:\n  - a\n  - b\n  - k: v\n", line: 4, column: 5, "l[2]: expected a string, found a mapping") {
            _ = try $0.mapping(allowed: ["l"])["l"]!.stringList()
        },
        // columns count Unicode scalars, as libYAML does
        YAMLErrorCase("column after non-ASCII text", "k: [é, 😀, {}]\n", line: 1, column: 11, "k[2]: expected a string, found a mapping") {
            _ = try $0.mapping(allowed: ["k"])["k"]!.stringList()
        },
        // error() at the root has no path prefix
        YAMLErrorCase("custom error at the root", "a: 1\n", line: 1, column: 1, "something is wrong") {
            throw $0.error("something is wrong")
        },
        YAMLErrorCase("custom error deep down", "a:\n  b:\n    - c: 1\n      d: 2\n", line: 4, column: 10, "a.b[0].d: not allowed here") {
            let d = try $0.mapping(allowed: ["a"])["a"]!.mapping(allowed: ["b"])["b"]!.sequence()[0].mapping(allowed: ["c", "d"])["d"]!
            throw d.error("not allowed here")
        },
    ]

    @Test("accessor errors carry their file, line, column and key path", arguments: accessorErrors)
    func accessorError(_ testCase: YAMLErrorCase) throws {
        let root = try parse(testCase.yaml)
        let error = try #require(configError { try testCase.read(root) })
        #expect(error.file == file)
        #expect(error.line == testCase.line)
        #expect(error.column == testCase.column)
        #expect(error.message == testCase.message)
        #expect(error.description == "\(file):\(testCase.line):\(testCase.column): error: \(testCase.message)")
    }

    // MARK: - successful reads

    @Test func mappingReturnsValuesByKeyWithPaths() throws {
        let root = try parse("a: 1\nb:\n  c: x\nl: [p, q]\n")
        let values = try root.mapping(allowed: ["a", "b", "l", "unused"], required: ["a"])
        #expect(Set(values.keys) == ["a", "b", "l"])
        #expect(values["a"]?.path == "a")
        #expect(try values["a"]?.int() == 1)
        let b = try #require(values["b"]).mapping(allowed: ["c"])
        #expect(b["c"]?.path == "b.c")
        #expect(try b["c"]?.string() == "x")
        let list = try #require(values["l"]).sequence()
        #expect(list.map(\.path) == ["l[0]", "l[1]"])
        #expect(try list.map { try $0.string() } == ["p", "q"])
        #expect(root.path == "")
        #expect(root.file == file)
    }

    enum Color: String, CaseIterable { case red, green, blue }

    @Test func wordsNameTheCasesOfAnEnum() throws {
        let root = try parse("a: green\nb: purple\n").mapping(allowed: ["a", "b"])
        #expect(try root.required("a").word(Color.self) == .green)
        do {
            _ = try root.required("b").word(Color.self)
            Issue.record("accepted purple")
        } catch {
            #expect(error.description == "\(file):2:4: error: b: expected red, green or blue, found 'purple'")
        }
    }

    @Test func requiredKeysAndTheVersion() throws {
        let root = try parse("version: 2\n").mapping(allowed: ["version", "other"])
        #expect(throws: ConfigError(file: file, line: 1, column: 1, message: "missing required key 'other'")) {
            try root.required("other")
        }
        #expect(throws: ConfigError(file: file, line: 1, column: 10, message: "version: only version 1 is supported")) {
            try root.requireVersion(1)
        }
        try root.requireVersion(2)
    }

    @Test func aConfigFileIsReadAsUTF8OrRefusedAtItsFirstLine() throws {
        let path = NSTemporaryDirectory() + "yamlconfig-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0x61, 0x3A, 0x20, 0xC3, 0xA9, 0x0A]).write(to: URL(fileURLWithPath: path))
        #expect(try ConfigFile.read(path, what: "the policy file") == "a: é\n")
        try Data([0x61, 0x3A, 0x20, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError(file: path, line: 1, column: 1, message: "the policy file is not UTF-8")) {
            try ConfigFile.read(path, what: "the policy file")
        }
        do {
            _ = try ConfigFile.read(path + ".missing", what: "the policy file")
            Issue.record("read a missing file")
        } catch {
            #expect(error.message.hasPrefix("cannot read the policy file: "))
        }
    }

    @Test func mappingWithoutAllowListAcceptsAnyKey() throws {
        let root = try parse("anything: 1\nelse: 2\n")
        let values = try root.mapping(allowed: nil, required: ["else"])
        #expect(Set(values.keys) == ["anything", "else"])
    }

    @Test func nodeLocations() throws {
        let root = try parse("first: 1\nsecond:\n  - item\n  -   spaced\n")
        #expect(root.line == 1 && root.column == 1)
        let values = try root.mapping(allowed: ["first", "second"])
        let first = try #require(values["first"])
        #expect(first.line == 1)
        #expect(first.column == 8)
        let items = try #require(values["second"]).sequence()
        #expect(items.map(\.line) == [3, 4])
        #expect(items.map(\.column) == [5, 7])
    }

    @Test("strings are the text written, whatever YAML would resolve them to", arguments: [
        ("v: hello", "hello"),
        ("v: \"quoted # not a comment\"", "quoted # not a comment"),
        ("v: 'single'", "single"),
        ("v: 1", "1"),
        ("v: 007", "007"),
        ("v: 1e3", "1e3"),
        ("v: true", "true"),
        ("v: on", "on"),
        ("v: no", "no"),
        ("v:", ""),
        ("v: \"\"", ""),
        ("v: 0x1F", "0x1F"),
        ("v: é 😀", "é 😀"),
        ("v: \"tab\\there\"", "tab\there"),
        ("v: |\n  line1\n  line2\n", "line1\nline2\n"),
        ("v: >-\n  folded\n  text\n", "folded text"),
        ("v: a # comment", "a"),
        ("v: \"  padded  \"", "  padded  "),
    ])
    func stringValues(_ yaml: String, _ expected: String) throws {
        #expect(try parse(yaml).mapping(allowed: ["v"])["v"]!.string() == expected)
    }

    @Test("a null scalar is not a string: `secret: ~` must not become the secret \"~\"",
          arguments: ["v: ~", "v: null", "v: Null", "v: NULL"])
    func nullIsNotAString(_ yaml: String) throws {
        let error = #expect(throws: ConfigError.self) { try parse(yaml).mapping(allowed: ["v"])["v"]!.string() }
        #expect(error?.message.contains("expected a string, found null") == true)
        #expect(try parse(yaml.replacingOccurrences(of: ": ", with: ": \"") + "\"").mapping(allowed: ["v"])["v"]!.string()
                == String(yaml.dropFirst(3)))
    }

    @Test("integers", arguments: [
        ("n: 0", 0), ("n: 42", 42), ("n: -7", -7), ("n: +3", 3), ("n: 007", 7),
        ("n: 9223372036854775807", Int.max), ("n: -9223372036854775808", Int.min),
    ])
    func integers(_ yaml: String, _ expected: Int) throws {
        #expect(try parse(yaml).mapping(allowed: ["n"])["n"]!.int() == expected)
    }

    @Test("integer range bounds are inclusive", arguments: [1, 2, 3])
    func integerRangeBounds(_ value: Int) throws {
        #expect(try parse("n: \(value)").mapping(allowed: ["n"])["n"]!.int(in: 1...3) == value)
    }

    @Test func booleans() throws {
        let values = try parse("t: true\nf: false\n").mapping(allowed: ["t", "f"])
        #expect(try values["t"]!.bool() == true)
        #expect(try values["f"]!.bool() == false)
    }

    @Test func stringLists() throws {
        let values = try parse("a: []\nb: [x, y]\nc:\n  - 1\n  - \"two\"\n").mapping(allowed: ["a", "b", "c"])
        #expect(try values["a"]!.stringList() == [])
        #expect(try values["b"]!.stringList() == ["x", "y"])
        #expect(try values["c"]!.stringList() == ["1", "two"])
    }

    @Test func aliasesReadAsTheirAnchor() throws {
        let values = try parse("a: &x hello\nb: *x\n").mapping(allowed: ["a", "b"])
        #expect(try values["b"]!.string() == "hello")
        #expect(values["b"]!.path == "b")
    }

    @Test func commandLineStandIn() throws {
        let node = YAMLNode.commandLine("--listen")
        #expect(node.file == "<command line>")
        #expect(node.path == "--listen")
        #expect(node.line == 1 && node.column == 1)
        #expect(node.error("not an address").description == "<command line>:1:1: error: --listen: not an address")
    }
}
