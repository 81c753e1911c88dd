import S3Core
import Testing

@Suite struct XMLTreeElementTests {
    /// Found by the `xml` fuzz target (fuzz/corpus/xml/crash-invalid-utf8-element-name):
    /// Foundation's XMLParser ended the process on this element name.
    @Test(arguments: [[0x3C, 0xD6, 0x61, 0x2F, 0x3E], Array("<a>".utf8) + [0xFF] + Array("</a>".utf8)] as [[UInt8]])
    func aBodyThatIsNotUTF8IsMalformedXML(_ body: [UInt8]) {
        #expect(throws: S3Error.malformedXML()) { try XMLTreeElement.parse(body) }
    }

    /// Found by the `xml` fuzz target: XMLParser ended the process on `<?x?>` and (in
    /// libxml2) on a UTF-7 declaration; libxml2 recovered from a mismatched end tag and a
    /// broken declaration, and the tree it reported kept elements the document does not have.
    @Test(arguments: ["<?x?><a/>", "<a><?x?></a>", "<?xml-stylesheet href='s'?><a/>", "<a><b>x</c></a>",
                      "<?xml version=\"1.0\" ejcoding=\"UTF-8\"?><a/>",
                      "<?xml version=\"1.0\" encoding=\"UTF-7\" ?><a>+AGEA-</a>", "<?xml version=\"1.0\" encoding=\"UTF-7\"\u{0}",
                      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", "<?xml version=\"1.0\" encoding=UTF-8?><a/>"])
    func bodiesXMLParserMisreadsOrDiesOnAreMalformedXML(_ body: String) {
        #expect(throws: S3Error.malformedXML()) { try XMLTreeElement.parse(Array(body.utf8)) }
    }

    /// Found by the `xml` fuzz target (fuzz/corpus/xml/crash-control-characters-in-start-tag):
    /// libxml2 dereferenced null on the first body; no control character but tab, LF and CR
    /// is allowed in XML, anywhere.
    @Test(arguments: [[0, 0, 0, 0x3C, 0x69, 0x01] + [UInt8](repeating: 0, count: 12) + [0x3E, 0],
                      Array("<a>x\u{0}</a>".utf8), Array("<a>\u{1B}</a>".utf8), Array("<a b='\u{7}'/>".utf8)] as [[UInt8]])
    func aControlCharacterIsMalformedXML(_ body: [UInt8]) {
        #expect(throws: S3Error.malformedXML()) { try XMLTreeElement.parse(body) }
    }

    @Test(arguments: ["<a/>", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>x</a>", "<?xml version='1.0' encoding = 'utf-8'?><a/>",
                      "<?xml version=\"1.0\"?><a/>", "<a><![CDATA[y]]></a>",
                      // XML's `Eq ::= S? '=' S?`, where a CR LF pair (one Swift Character) is white space.
                      "<?xml version=\"1.0\" encoding\r\n=\r\n\"UTF-8\"?><a/>", "<a>\t tab\r\n</a>"])
    func aPlainDocumentStillParses(_ body: String) throws {
        #expect(try XMLTreeElement.parse(Array(body.utf8)).name == "a")
    }
}
