import S3Core
import Testing

@Suite struct XMLTreeElementTests {
    /// Found by the `xml` fuzz target (fuzz/corpus/xml/crash-invalid-utf8-element-name):
    /// Foundation's XMLParser ended the process on this element name.
    @Test(arguments: [[0x3C, 0xD6, 0x61, 0x2F, 0x3E], Array("<a>".utf8) + [0xFF] + Array("</a>".utf8)] as [[UInt8]])
    func aBodyThatIsNotUTF8IsMalformedXML(_ body: [UInt8]) {
        #expect(throws: S3Error.malformedXML()) { try XMLTreeElement.parse(body) }
    }
}
