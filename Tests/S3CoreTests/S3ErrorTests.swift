import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import S3Core

/// Parses an XML document with Foundation's XMLParser and collects the text of every
/// element by name (in document order), plus the parse error if the document is not
/// well-formed.
final class XMLCollector: NSObject, XMLParserDelegate {
    private(set) var elements: [(name: String, text: String)] = []
    private(set) var rootName: String?
    private var stack: [(name: String, text: String)] = []
    private(set) var error: Error?

    static func parse(_ xml: String) -> XMLCollector {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        if !parser.parse() { collector.error = parser.parserError ?? CocoaError(.coderReadCorrupt) }
        return collector
    }

    func text(_ name: String) -> String? { elements.first { $0.name == name }?.text }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        if rootName == nil { rootName = elementName }
        stack.append((elementName, ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        let element = stack.removeLast()
        if !stack.isEmpty { elements.append(element) }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        error = parseError
    }
}

/// U+FFFE U+FFFF: not allowed in Swift string literals, built at run time.
let nonCharacters = String(String.UnicodeScalarView([Unicode.Scalar(0xFFFE)!, Unicode.Scalar(0xFFFF)!]))

struct ConstructorCase: Sendable, CustomTestStringConvertible {
    let error: S3Error
    let code: String
    let status: Int
    var testDescription: String { "\(code) \(status)" }
}

@Suite("S3Error")
struct S3ErrorTests {
    // MARK: - exact body

    @Test func xmlBodyExact() {
        let error = S3Error.accessDenied().about("/bucket/key")
        #expect(error.xmlBody(requestId: "4442587FB7D0A2F9", hostId: "host-1") == """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>AccessDenied</Code><Message>Access Denied</Message><Resource>/bucket/key</Resource>\
            <RequestId>4442587FB7D0A2F9</RequestId><HostId>host-1</HostId></Error>
            """)
    }

    @Test func xmlBodyWithoutResourceAndHostId() {
        let error = S3Error.notImplemented("A header you provided implies functionality that is not implemented.")
        #expect(error.xmlBody(requestId: "R1") == """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message>\
            <RequestId>R1</RequestId></Error>
            """)
    }

    @Test func xmlBodyWithDetails() {
        let error = S3Error.requestTimeTooSkewed(requestTime: "20130524T000000Z", serverTime: "2013-05-24T00:20:00Z",
                                                 maxSkewSeconds: 900).about("/b")
        #expect(error.xmlBody(requestId: "R") == """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>RequestTimeTooSkewed</Code>\
            <Message>The difference between the request time and the current time is too large.</Message>\
            <RequestTime>20130524T000000Z</RequestTime><ServerTime>2013-05-24T00:20:00Z</ServerTime>\
            <MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>\
            <Resource>/b</Resource><RequestId>R</RequestId></Error>
            """)
    }

    @Test func detailsAreEscapedAndOrdered() throws {
        let error = S3Error(code: "X", message: "m", status: 400,
                            details: [("B", "<1>"), ("A", "a&b"), ("B", "again")])
        let body = error.xmlBody(requestId: "r")
        #expect(body.contains("<Message>m</Message><B>&lt;1&gt;</B><A>a&amp;b</A><B>again</B><RequestId>r</RequestId>"))
        let parsed = XMLCollector.parse(body)
        #expect(parsed.error == nil)
        #expect(parsed.elements.map(\.name) == ["Code", "Message", "B", "A", "B", "RequestId"])
        #expect(parsed.elements.map(\.text) == ["X", "m", "<1>", "a&b", "again", "r"])
    }

    @Test func noSuchBucketRendersBucketName() {
        let body = S3Error.noSuchBucket("my<bucket>").about("/my<bucket>").xmlBody(requestId: "r")
        #expect(body.contains("<BucketName>my&lt;bucket&gt;</BucketName><Resource>/my&lt;bucket&gt;</Resource>"))
        let parsed = XMLCollector.parse(body)
        #expect(parsed.text("BucketName") == "my<bucket>")
        #expect(parsed.text("Resource") == "/my<bucket>")
    }

    // MARK: - escaping

    @Test("XMLText.escape", arguments: [(String, String)]([
        ("", ""),
        ("plain", "plain"),
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("\"", "&quot;"),
        ("'", "&apos;"),
        ("&amp;", "&amp;amp;"),                        // already-escaped text is escaped again
        ("<a href=\"x\">'y'</a>", "&lt;a href=&quot;x&quot;&gt;&apos;y&apos;&lt;/a&gt;"),
        ("]]>", "]]&gt;"),
        ("a\tb\nc", "a\tb\nc"),                     // tab and line feed are kept (CR: see carriageReturnRoundTrips)
        ("\u{0}", "\u{FFFD}"),
        ("\u{1}\u{8}\u{B}\u{C}\u{E}\u{1F}", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ("key\u{0}.txt", "key\u{FFFD}.txt"),
        (nonCharacters, "\u{FFFD}\u{FFFD}"),
        ("\u{FFFD}", "\u{FFFD}"),
        ("\u{7F}\u{85}\u{9F}", "\u{7F}\u{85}\u{9F}"),   // allowed by XML 1.0
        (" ", " "),
        ("é😀中", "é😀中"),
        ("\u{10FFFF}", "\u{10FFFF}"),
        ("\u{E000}\u{D7FF}", "\u{E000}\u{D7FF}"),
    ]))
    func escape(_ input: String, _ expected: String) {
        #expect(Array(XMLText.escape(input).unicodeScalars) == Array(expected.unicodeScalars))
    }

    /// Every scalar below U+0020 but CR, whose literal form does not survive parsing (it
    /// is checked by reading the body back, below).
    @Test("escape of every scalar below U+0020", arguments: (0..<0x20).filter { $0 != 0x0D })
    func escapeControl(_ value: Int) {
        let scalar = Unicode.Scalar(UInt8(value))
        let expected: Unicode.Scalar = [0x09, 0x0A].contains(value) ? scalar : "\u{FFFD}"
        #expect(Array(XMLText.escape(String(scalar)).unicodeScalars) == [expected])
    }

    /// Attacker-controlled keys end up in Message and Resource; whatever they contain, the
    /// body must be well-formed XML and read back as the text that was meant (with the
    /// characters XML cannot carry replaced by U+FFFD).
    static let hostileTexts: [String] = [
        "a&b", "<script>alert(1)</script>", "\"quoted\" and 'single'", "]]>", "<![CDATA[x]]>",
        "</Resource><Code>OK</Code><Resource>", "<?xml version=\"1.0\"?>", "<!DOCTYPE x [<!ENTITY e \"boom\">]>&e;",
        "&amp;&lt;&#x41;&#65;&unknown;", "&", "&#", "&#0;", "a\u{0}b", "\u{1}\u{2}\u{3}\u{1B}[31mred\u{1B}[0m",
        "tab\there", "line\nbreak", nonCharacters, "é 😀 中文 \u{202E}rtl", "\u{10FFFF}", "\u{7F}\u{85}",
        "photos/2024/<img src=x onerror=alert(1)>.jpg", String(repeating: "<&>", count: 1000),
    ]

    @Test("hostile text in message and resource stays well-formed and round-trips", arguments: hostileTexts)
    func hostileTextRoundTrips(_ text: String) throws {
        let error = S3Error(code: "NoSuchKey", message: "The key \(text) does not exist", status: 404,
                            resource: "/bucket/\(text)", details: [("Key", text)])
        let body = error.xmlBody(requestId: "req-\(text)", hostId: text)
        let parsed = XMLCollector.parse(body)
        #expect(parsed.error == nil, "not well-formed: \(String(describing: parsed.error))")
        #expect(parsed.rootName == "Error")
        let expected = Self.replacingForbidden(text)
        #expect(parsed.elements.map(\.name) == ["Code", "Message", "Key", "Resource", "RequestId", "HostId"])
        #expect(parsed.text("Code") == "NoSuchKey")
        #expect(parsed.text("Message") == "The key \(expected) does not exist")
        #expect(parsed.text("Key") == expected)
        #expect(parsed.text("Resource") == "/bucket/\(expected)")
        #expect(parsed.text("RequestId") == "req-\(expected)")
        #expect(parsed.text("HostId") == expected)
        // Nothing the attacker wrote became markup.
        #expect(!body.contains("<script>"))
        #expect(!body.contains("<Code>OK</Code>"))
    }

    static func replacingForbidden(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let forbidden = (scalar.value < 0x20 && ![0x09, 0x0A, 0x0D].contains(scalar.value))
                || scalar.value == 0xFFFE || scalar.value == 0xFFFF
            scalars.append(forbidden ? "\u{FFFD}" : scalar)
        }
        return String(scalars)
    }

    /// Every scalar of the Basic Multilingual Plane (and a sample above it) in one key:
    /// the body parses and reads back exactly, carriage return aside (see below).
    @Test func everyScalarRoundTrips() throws {
        var scalars = String.UnicodeScalarView()
        for value in UInt32(0)...UInt32(0xFFFF) where value != 0x0D {
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        for value in stride(from: UInt32(0x10000), through: 0x10FFFF, by: 0x1111) {
            scalars.append(Unicode.Scalar(value)!)
        }
        let text = String(scalars)
        let body = S3Error.accessDenied().about("/b/" + text).xmlBody(requestId: "r")
        let parsed = XMLCollector.parse(body)
        #expect(parsed.error == nil)
        let resource = try #require(parsed.text("Resource"))
        #expect(Array(resource.unicodeScalars) == Array(("/b/" + Self.replacingForbidden(text)).unicodeScalars))
    }

    /// XML parsers normalise a literal CR (and CR LF) in character data to LF (XML 1.0
    /// §2.11), so a key containing `\r` must be written as a character reference to read
    /// back as the key the client sent.
    @Test("carriage return in a key survives a parse", arguments: ["a\rb", "a\r\nb", "\r"])
    func carriageReturnRoundTrips(_ text: String) throws {
        let body = S3Error.accessDenied().about("/b/" + text).xmlBody(requestId: "r")
        let parsed = XMLCollector.parse(body)
        #expect(parsed.error == nil)
        let resource = try #require(parsed.text("Resource"))
        #expect(Array(resource.unicodeScalars) == Array(("/b/" + text).unicodeScalars))
    }

    // MARK: - constructors and status codes

    static let constructors: [ConstructorCase] = [
        ConstructorCase(error: .invalidURI("x"), code: "InvalidURI", status: 400),
        ConstructorCase(error: .invalidArgument("x"), code: "InvalidArgument", status: 400),
        ConstructorCase(error: .invalidRequest("x"), code: "InvalidRequest", status: 400),
        ConstructorCase(error: .authorizationHeaderMalformed("x"), code: "AuthorizationHeaderMalformed", status: 400),
        ConstructorCase(error: .authorizationQueryParametersError("x"), code: "AuthorizationQueryParametersError", status: 400),
        ConstructorCase(error: .xAmzContentSHA256Mismatch("x"), code: "XAmzContentSHA256Mismatch", status: 400),
        ConstructorCase(error: .badDigest("x"), code: "BadDigest", status: 400),
        ConstructorCase(error: .incompleteBody("x"), code: "IncompleteBody", status: 400),
        ConstructorCase(error: .invalidStorageClass("x"), code: "InvalidStorageClass", status: 400),
        ConstructorCase(error: .invalidRedirectLocation("x"), code: "InvalidRedirectLocation", status: 400),
        ConstructorCase(error: .invalidEncryptionAlgorithm("x"), code: "InvalidEncryptionAlgorithmError", status: 400),
        ConstructorCase(error: .metadataTooLarge("x"), code: "MetadataTooLarge", status: 400),
        ConstructorCase(error: .invalidDigest("x"), code: "InvalidDigest", status: 400),
        ConstructorCase(error: .badRequest("x"), code: "BadRequest", status: 400),
        ConstructorCase(error: .entityTooLarge("x"), code: "EntityTooLarge", status: 400),
        ConstructorCase(error: .accessDenied(), code: "AccessDenied", status: 403),
        ConstructorCase(error: .accessDenied("x"), code: "AccessDenied", status: 403),
        ConstructorCase(error: .invalidAccessKeyId(), code: "InvalidAccessKeyId", status: 403),
        ConstructorCase(error: .signatureDoesNotMatch(), code: "SignatureDoesNotMatch", status: 403),
        ConstructorCase(error: .requestTimeTooSkewed(requestTime: "a", serverTime: "b", maxSkewSeconds: 1),
                        code: "RequestTimeTooSkewed", status: 403),
        ConstructorCase(error: .noSuchBucket("b"), code: "NoSuchBucket", status: 404),
        ConstructorCase(error: .methodNotAllowed("x"), code: "MethodNotAllowed", status: 405),
        ConstructorCase(error: .missingContentLength(), code: "MissingContentLength", status: 411),
        ConstructorCase(error: .notImplemented("x"), code: "NotImplemented", status: 501),
        ConstructorCase(error: .internalError(), code: "InternalError", status: 500),
        ConstructorCase(error: .internalError("x"), code: "InternalError", status: 500),
        ConstructorCase(error: .badGateway("x"), code: "BadGateway", status: 502),
        ConstructorCase(error: .serviceUnavailable("x"), code: "ServiceUnavailable", status: 503),
        ConstructorCase(error: .gatewayTimeout("x"), code: "GatewayTimeout", status: 504),
    ]

    @Test("code and HTTP status of each constructor", arguments: constructors)
    func constructor(_ testCase: ConstructorCase) {
        #expect(testCase.error.code == testCase.code)
        #expect(testCase.error.status == testCase.status)
        #expect(testCase.error.resource == nil)
        // The body is well-formed and carries the code.
        let parsed = XMLCollector.parse(testCase.error.xmlBody(requestId: "r"))
        #expect(parsed.error == nil)
        #expect(parsed.text("Code") == testCase.code)
        #expect(parsed.text("Message") == testCase.error.message)
    }

    @Test func constructorMessages() {
        #expect(S3Error.invalidURI("bad path").message == "Couldn't parse the specified URI: bad path.")
        #expect(S3Error.invalidArgument("m").message == "m")
        #expect(S3Error.xAmzContentSHA256Mismatch("m").message
            == "The provided 'x-amz-content-sha256' header does not match what was computed: m")
        #expect(S3Error.accessDenied().message == "Access Denied")
        #expect(S3Error.invalidAccessKeyId().message == "The AWS Access Key Id you provided does not exist in our records.")
        #expect(S3Error.signatureDoesNotMatch().message
            == "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        #expect(S3Error.missingContentLength().message == "You must provide the Content-Length HTTP header.")
        #expect(S3Error.internalError().message == "We encountered an internal error. Please try again.")
        #expect(S3Error.noSuchBucket("b").message == "The specified bucket does not exist.")
    }

    @Test func constructorDetails() {
        let skew = S3Error.requestTimeTooSkewed(requestTime: "RT", serverTime: "ST", maxSkewSeconds: 900)
        #expect(skew.details.map(\.name) == ["RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds"])
        #expect(skew.details.map(\.value) == ["RT", "ST", "900000"])
        let bucket = S3Error.noSuchBucket("bkt")
        #expect(bucket.details.map(\.name) == ["BucketName"])
        #expect(bucket.details.map(\.value) == ["bkt"])
        for testCase in Self.constructors where !["RequestTimeTooSkewed", "NoSuchBucket"].contains(testCase.code) {
            #expect(testCase.error.details.isEmpty, "\(testCase.code)")
        }
    }

    // MARK: - value semantics

    @Test func description() {
        #expect(S3Error.accessDenied().description == "403 AccessDenied: Access Denied")
        #expect(S3Error.invalidURI("x").description == "400 InvalidURI: Couldn't parse the specified URI: x.")
        #expect(S3Error(code: "C", message: "", status: 0).description == "0 C: ")
    }

    @Test func aboutSetsOnlyTheResource() {
        let base = S3Error.requestTimeTooSkewed(requestTime: "a", serverTime: "b", maxSkewSeconds: 1)
        let about = base.about("/b/k")
        #expect(about.resource == "/b/k")
        #expect(about.code == base.code && about.message == base.message && about.status == base.status)
        #expect(about.details.map(\.value) == base.details.map(\.value))
        #expect(base.resource == nil)              // the original is unchanged
        #expect(about.about(nil).resource == nil)
        #expect(about.about(nil) == base)
    }

    @Test func equality() {
        let a = S3Error(code: "C", message: "m", status: 400, resource: "/r", details: [("A", "1")])
        #expect(a == S3Error(code: "C", message: "m", status: 400, resource: "/r", details: [("A", "1")]))
        #expect(a != S3Error(code: "D", message: "m", status: 400, resource: "/r", details: [("A", "1")]))
        #expect(a != S3Error(code: "C", message: "n", status: 400, resource: "/r", details: [("A", "1")]))
        #expect(a != S3Error(code: "C", message: "m", status: 401, resource: "/r", details: [("A", "1")]))
        #expect(a != S3Error(code: "C", message: "m", status: 400, resource: nil, details: [("A", "1")]))
        #expect(a != S3Error(code: "C", message: "m", status: 400, resource: "/r", details: [("A", "2")]))
        #expect(a != S3Error(code: "C", message: "m", status: 400, resource: "/r", details: [("B", "1")]))
        #expect(a != S3Error(code: "C", message: "m", status: 400, resource: "/r", details: []))
        #expect(a != S3Error(code: "C", message: "m", status: 400, resource: "/r", details: [("A", "1"), ("A", "1")]))
    }

    @Test func isAnError() {
        func thrower() throws { throw S3Error.accessDenied() }
        #expect(throws: S3Error.accessDenied()) { try thrower() }
    }
}
