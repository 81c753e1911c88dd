import Testing
@testable import S3Core

/// What a parsed query parameter should look like.
struct ExpectedParameter: Sendable, Equatable, CustomStringConvertible {
    let rawName: String
    let rawValue: String?
    let name: String
    let value: String

    init(_ rawName: String, _ rawValue: String?, name: String? = nil, value: String? = nil) {
        self.rawName = rawName
        self.rawValue = rawValue
        self.name = name ?? rawName
        self.value = value ?? rawValue ?? ""
    }

    init(_ parameter: QueryParameter) {
        self.init(parameter.rawName, parameter.rawValue, name: parameter.name, value: parameter.value)
    }

    var description: String { "\(rawName)=\(rawValue ?? "<nil>") (\(name)=\(value))" }
}

struct TargetCase: Sendable, CustomTestStringConvertible {
    let target: String
    let rawPath: String
    let rawQuery: String?
    let query: [ExpectedParameter]

    init(_ target: String, path: String, query rawQuery: String? = nil, _ query: [ExpectedParameter] = []) {
        self.target = target
        self.rawPath = path
        self.rawQuery = rawQuery
        self.query = query
    }

    var testDescription: String { target.debugDescription }
}

@Suite("RequestTarget")
struct RequestTargetTests {
    // MARK: - refused targets

    @Test("only origin-form is accepted; anything else is 400 InvalidURI", arguments: [
        "",
        "*",
        "http://x/y",
        "https://example.com/bucket/key",
        "HTTP://x/y",
        "example.com:443",
        "x/y",
        "bucket/key",
        " /a",
        "\t/a",
        "?a=b",
        "%2Fa",
        "\\a",
        "é/",
    ])
    func refusesNonOriginForm(_ target: String) throws {
        let error = try #require(throws: S3Error.self) { try RequestTarget(parsing: target) }
        #expect(error.code == "InvalidURI")
        #expect(error.status == 400)
        #expect(error.message == "Couldn't parse the specified URI: the request target must start with '/'.")
        #expect(error.resource == nil)
    }

    @Test("a bad escape or non-UTF-8 in the path is 400 InvalidURI", arguments: [
        "/%", "/a%", "/a%4", "/a%zz", "/a%4G", "/%C3", "/%C3/x", "/b/%FF", "/b/%C0%AF", "/b/%ED%A0%80",
        "/b/k%?x=1", "/b/%zz?uploads",
    ])
    func refusesBadPathEscape(_ target: String) throws {
        let error = try #require(throws: S3Error.self) { try RequestTarget(parsing: target) }
        #expect(error.code == "InvalidURI")
        #expect(error.status == 400)
        #expect(error.message == "Couldn't parse the specified URI: the request path has an invalid percent-encoding.")
    }

    @Test("a bad escape or non-UTF-8 in a query name or value is 400 InvalidURI", arguments: [
        "/?%", "/?a%", "/?a%4=1", "/?%zz", "/?a=%", "/?a=%4", "/?a=%zz", "/?a=%C3", "/?%C3=1",
        "/b/k?ok=1&bad=%FF", "/b/k?ok&%E2%82", "/b?x=%C0%AF", "/?a=1%",
    ])
    func refusesBadQueryEscape(_ target: String) throws {
        let error = try #require(throws: S3Error.self) { try RequestTarget(parsing: target) }
        #expect(error.code == "InvalidURI")
        #expect(error.status == 400)
        #expect(error.message == "Couldn't parse the specified URI: the query string has an invalid percent-encoding.")
    }

    // MARK: - accepted targets

    static let accepted: [TargetCase] = [
        TargetCase("/", path: "/"),
        TargetCase("//", path: "//"),
        TargetCase("//x/y", path: "//x/y"),
        TargetCase("/bucket", path: "/bucket"),
        TargetCase("/bucket/", path: "/bucket/"),
        TargetCase("/bucket/key", path: "/bucket/key"),
        TargetCase("/bucket/my%20key", path: "/bucket/my%20key"),
        TargetCase("/bucket/a%2fb", path: "/bucket/a%2fb"),                    // lower-case hex kept as sent
        TargetCase("/bucket/a%2Fb", path: "/bucket/a%2Fb"),
        TargetCase("/bucket/a%252Fb", path: "/bucket/a%252Fb"),
        TargetCase("/bucket/a+b", path: "/bucket/a+b"),
        TargetCase("/bucket/é", path: "/bucket/é"),
        TargetCase("/bucket/%C3%A9", path: "/bucket/%C3%A9"),
        TargetCase("/bucket/./../x", path: "/bucket/./../x"),                  // no dot-segment removal
        TargetCase("/bucket//key//", path: "/bucket//key//"),
        TargetCase("/b/k=v:w@x;y,z$!*'()", path: "/b/k=v:w@x;y,z$!*'()"),
        // '?' without a query: an empty query, no parameters
        TargetCase("/x?", path: "/x", query: ""),
        TargetCase("/?", path: "/", query: ""),
        // ?uploads vs ?uploads=
        TargetCase("/b/k?uploads", path: "/b/k", query: "uploads", [ExpectedParameter("uploads", nil)]),
        TargetCase("/b/k?uploads=", path: "/b/k", query: "uploads=", [ExpectedParameter("uploads", "")]),
        // empty elements are dropped
        TargetCase("/?a&&b", path: "/", query: "a&&b", [ExpectedParameter("a", nil), ExpectedParameter("b", nil)]),
        TargetCase("/?&a&", path: "/", query: "&a&", [ExpectedParameter("a", nil)]),
        TargetCase("/?&&&", path: "/", query: "&&&"),
        // values, order, duplicates
        TargetCase("/b?prefix=a&delimiter=%2F&max-keys=2", path: "/b", query: "prefix=a&delimiter=%2F&max-keys=2", [
            ExpectedParameter("prefix", "a"), ExpectedParameter("delimiter", "%2F", value: "/"),
            ExpectedParameter("max-keys", "2"),
        ]),
        TargetCase("/?b=2&a=1&b=3", path: "/", query: "b=2&a=1&b=3", [
            ExpectedParameter("b", "2"), ExpectedParameter("a", "1"), ExpectedParameter("b", "3"),
        ]),
        // only the first '=' splits
        TargetCase("/?a=1=2", path: "/", query: "a=1=2", [ExpectedParameter("a", "1=2")]),
        TargetCase("/?a==", path: "/", query: "a==", [ExpectedParameter("a", "=")]),
        TargetCase("/?=v", path: "/", query: "=v", [ExpectedParameter("", "v")]),
        TargetCase("/?=", path: "/", query: "=", [ExpectedParameter("", "")]),
        // decoded names and values; '+' is not a space
        TargetCase("/?%41=%42", path: "/", query: "%41=%42", [ExpectedParameter("%41", "%42", name: "A", value: "B")]),
        TargetCase("/?a+b=c+d", path: "/", query: "a+b=c+d", [ExpectedParameter("a+b", "c+d")]),
        TargetCase("/?a%20b=c%20d", path: "/", query: "a%20b=c%20d",
                   [ExpectedParameter("a%20b", "c%20d", name: "a b", value: "c d")]),
        TargetCase("/?k=%E2%82%AC%f0%9f%98%80", path: "/", query: "k=%E2%82%AC%f0%9f%98%80",
                   [ExpectedParameter("k", "%E2%82%AC%f0%9f%98%80", value: "€😀")]),
        TargetCase("/?%75ploads", path: "/", query: "%75ploads", [ExpectedParameter("%75ploads", nil, name: "uploads")]),
        TargetCase("/?a=%26&b=%3D", path: "/", query: "a=%26&b=%3D",
                   [ExpectedParameter("a", "%26", value: "&"), ExpectedParameter("b", "%3D", value: "=")]),
        TargetCase("/?k=é", path: "/", query: "k=é", [ExpectedParameter("k", "é")]),
        // a second '?' belongs to the query
        TargetCase("/b/k?a=b?c", path: "/b/k", query: "a=b?c", [ExpectedParameter("a", "b?c")]),
        TargetCase("/b/k??", path: "/b/k", query: "?", [ExpectedParameter("?", nil)]),
        // presigned-URL parameters are kept raw
        TargetCase("/b/k?X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc",
                   path: "/b/k",
                   query: "X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc", [
                       ExpectedParameter("X-Amz-Credential", "AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
                                         value: "AKID/20130524/us-east-1/s3/aws4_request"),
                       ExpectedParameter("X-Amz-Signature", "abc"),
                   ]),
    ]

    @Test("parses origin-form targets, keeping raw path and query byte-exact", arguments: accepted)
    func parses(_ testCase: TargetCase) throws {
        let target = try RequestTarget(parsing: testCase.target)
        #expect(Array(target.rawPath.utf8) == Array(testCase.rawPath.utf8))
        #expect(target.rawQuery.map { Array($0.utf8) } == testCase.rawQuery.map { Array($0.utf8) })
        #expect(target.query.map(ExpectedParameter.init) == testCase.query)
        // The request-line form is the input, unchanged.
        #expect(Array(target.text.utf8) == Array(testCase.target.utf8))
    }

    @Test func uploadsWithAndWithoutEquals() throws {
        let bare = try RequestTarget(parsing: "/b/k?uploads")
        let empty = try RequestTarget(parsing: "/b/k?uploads=")
        #expect(bare.query.first?.rawValue == nil)
        #expect(empty.query.first?.rawValue == "")
        #expect(bare.query.first?.value == "")
        #expect(empty.query.first?.value == "")
        // Same decoded meaning, different wire form: the targets are not equal.
        #expect(bare != empty)
        #expect(bare.queryValue("uploads") == "")
        #expect(empty.queryValue("uploads") == "")
    }

    @Test func noQueryAndEmptyQueryDiffer() throws {
        let none = try RequestTarget(parsing: "/b")
        let empty = try RequestTarget(parsing: "/b?")
        #expect(none.rawQuery == nil)
        #expect(empty.rawQuery == "")
        #expect(none.query.isEmpty && empty.query.isEmpty)
        #expect(none.text == "/b")
        #expect(empty.text == "/b?")
        #expect(none != empty)
    }

    @Test func queryValueAndHasQuery() throws {
        let target = try RequestTarget(parsing: "/b/k?a=1&a=2&flag&%65mpty=&x%20y=%7A")
        #expect(target.queryValue("a") == "1")            // the first one
        #expect(target.queryValue("flag") == "")
        #expect(target.queryValue("empty") == "")         // matched by decoded name
        #expect(target.queryValue("%65mpty") == nil)      // not by raw name
        #expect(target.queryValue("x y") == "z")
        #expect(target.queryValue("missing") == nil)
        #expect(target.queryValue("A") == nil)            // names are case-sensitive
        #expect(target.hasQuery("a"))
        #expect(target.hasQuery("flag"))
        #expect(target.hasQuery("empty"))
        #expect(!target.hasQuery("missing"))
        #expect(!target.hasQuery("FLAG"))
        #expect(!target.hasQuery(""))
    }

    @Test func emptyNameIsAParameter() throws {
        let target = try RequestTarget(parsing: "/?=v")
        #expect(target.hasQuery(""))
        #expect(target.queryValue("") == "v")
    }

    // MARK: - QueryParameter

    @Test func queryParameterInit() throws {
        let parameter = try QueryParameter(rawName: "a%20b", rawValue: "%E2%82%AC")
        #expect(parameter.rawName == "a%20b")
        #expect(parameter.rawValue == "%E2%82%AC")
        #expect(parameter.name == "a b")
        #expect(parameter.value == "€")
        let flag = try QueryParameter(rawName: "uploads", rawValue: nil)
        #expect(flag.rawValue == nil)
        #expect(flag.value == "")
    }

    @Test("QueryParameter refuses bad escapes", arguments: [
        ("%", nil), ("a", "%"), ("%zz", "1"), ("a", "%zz"), ("%C3", nil), ("a", "%C3"), ("a", "%FF"),
    ] as [(String, String?)])
    func queryParameterRefuses(_ rawName: String, _ rawValue: String?) throws {
        let error = try #require(throws: S3Error.self) { try QueryParameter(rawName: rawName, rawValue: rawValue) }
        #expect(error.code == "InvalidURI")
        #expect(error.status == 400)
    }

    @Test("QueryParameter.parse splits on '&' and the first '='", arguments: [
        ("", []),
        ("a", [ExpectedParameter("a", nil)]),
        ("a=", [ExpectedParameter("a", "")]),
        ("a=1&b", [ExpectedParameter("a", "1"), ExpectedParameter("b", nil)]),
        ("a&&b", [ExpectedParameter("a", nil), ExpectedParameter("b", nil)]),
        ("&&", []),
        ("=&=", [ExpectedParameter("", ""), ExpectedParameter("", "")]),
        ("a=b=c&d==", [ExpectedParameter("a", "b=c"), ExpectedParameter("d", "=")]),
    ] as [(String, [ExpectedParameter])])
    func queryParameterParse(_ query: String, _ expected: [ExpectedParameter]) throws {
        #expect(try QueryParameter.parse(query).map(ExpectedParameter.init) == expected)
    }

    @Test func equatable() throws {
        #expect(try RequestTarget(parsing: "/a?b=1") == RequestTarget(parsing: "/a?b=1"))
        #expect(try RequestTarget(parsing: "/a?b=1") != RequestTarget(parsing: "/a?b=2"))
        #expect(try RequestTarget(parsing: "/a%20") != RequestTarget(parsing: "/a%20?"))
        #expect(try RequestTarget(parsing: "/a%2F") != RequestTarget(parsing: "/a%2f"))
    }

    /// A target built from parts reads as the parsed text of itself would.
    @Test(arguments: ["/b/k", "/b/k?uploads", "/b/k?partNumber=1&uploadId=a%2Fb", "/b?list-type=2&prefix=&delimiter=%2F", "/?a"])
    func builtFromPartsIsWhatParsingItsTextGives(_ text: String) throws {
        let parsed = try RequestTarget(parsing: text)
        let built = RequestTarget(rawPath: parsed.rawPath, query: parsed.query)
        #expect(built == parsed)
        #expect(built.text == text)
    }

    @Test func aReplacedValueIsEncodedAndKeepsItsName() throws {
        let parameter = try RequestTarget(parsing: "/b/k?uploadId=client-id&partNumber=2").query[0]
        let replaced = parameter.replacingValue("upstream id/+=")
        #expect(replaced.rawName == "uploadId")
        #expect(replaced.value == "upstream id/+=")
        #expect(replaced.rawValue == "upstream%20id%2F%2B%3D")
        let target = RequestTarget(rawPath: "/b/k", query: [replaced])
        #expect(target.text == "/b/k?uploadId=upstream%20id%2F%2B%3D")
        #expect(try RequestTarget(parsing: target.text) == target)
    }
}
