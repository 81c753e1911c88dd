import Foundation
import Testing
@testable import S3Core

private func document(key: String, uploadId: String, declaration: Bool = true) -> String {
    (declaration ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : "")
        + "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        + "<Bucket>photos</Bucket><Key>\(XMLText.escape(key))</Key><UploadId>\(XMLText.escape(uploadId))</UploadId>"
        + "</InitiateMultipartUploadResult>"
}

@Suite("InitiateMultipartUploadResult.uploadId(fromXMLPrefix:)")
struct InitiateMultipartUploadResultTests {
    /// The forms real stores send: AWS/Ceph (opaque ids with dots and dashes), OBS (hex),
    /// MinIO (base64url), the development store.
    @Test(arguments: [
        "2~hGBXpnGrn8qN0UDnFPkRoE9PwYn_nyi",
        "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
        "000001648453845DBB78F2340737B2AF",
        "ZjE1ZjJkNzUtNmU3Mi00ZGM1LWE0YjEtMGQ4ZjQzYWUxZjdkLmM4YWY2MjVh",
        "id with spaces & <brackets>",
    ])
    func readsTheUploadId(id: String) {
        let xml = document(key: "a/b.bin", uploadId: id)
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(xml.utf8)) == id)
        #expect(XMLCollector.parse(xml).text("UploadId") == id)
    }

    /// A key is element text: escaped, so it cannot hold a literal `<UploadId>`.
    @Test func aKeyThatLooksLikeAnUploadIdElementIsNotTakenForIt() {
        let xml = document(key: "<UploadId>forged</UploadId>", uploadId: "real-id")
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(xml.utf8)) == "real-id")
    }

    @Test func whiteSpaceAroundElementsAndTheIdIsAllowed() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <InitiateMultipartUploadResult
              xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>photos</Bucket>
              <Key>k</Key>
              <UploadId>
                abc-123
              </UploadId>
            </InitiateMultipartUploadResult>
            """
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(xml.utf8)) == "abc-123")
    }

    /// White space written as character references is trimmed like literal white space,
    /// and trimming keeps a multi-byte id whole.
    @Test func whiteSpaceIsTrimmedAfterReferencesAreDecodedAndKeepsMultiByteIdsWhole() {
        let referenced = "<InitiateMultipartUploadResult><UploadId>&#32;\r\nabc&#x9;</UploadId></InitiateMultipartUploadResult>"
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(referenced.utf8)) == "abc")
        let multiByte = "<InitiateMultipartUploadResult><UploadId>\r\n\t идé 1\u{1F600} \n</UploadId></InitiateMultipartUploadResult>"
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(multiByte.utf8)) == "идé 1\u{1F600}")
    }

    @Test func characterReferencesAreDecoded() {
        let xml = "<InitiateMultipartUploadResult><UploadId>a&#x2F;b&#47;c&amp;d</UploadId></InitiateMultipartUploadResult>"
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(xml.utf8)) == "a/b/c&d")
    }

    /// Every cut of a document before the end of `</UploadId>` gives nil, never a part
    /// of the id; every cut after it gives the whole id.
    @Test func everyPrefixGivesNilOrTheWholeId() {
        let bytes = Array(document(key: "k", uploadId: "the-upload-id").utf8)
        let closing = Array("</UploadId>".utf8)
        let end = bytes.indices.first { bytes[$0...].starts(with: closing) }! + closing.count
        for length in 0...bytes.count {
            let id = InitiateMultipartUploadResult.uploadId(fromXMLPrefix: bytes[0..<length])
            #expect(id == (length >= end ? "the-upload-id" : nil), "prefix of \(length) bytes")
        }
    }

    @Test(arguments: [
        "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><UploadId>x</UploadId></Error>",
        "<ListPartsResult><UploadId>x</UploadId></ListPartsResult>",
        "<InitiateMultipartUploadResultX><UploadId>x</UploadId></InitiateMultipartUploadResultX>",
        "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult><UploadId>  </UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult><UploadId><![CDATA[x]]></UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult><UploadId>a&bogus;b</UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult><UploadId>a&#+41;b</UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult><UploadId>a&b</UploadId></InitiateMultipartUploadResult>",
        "",
    ])
    func otherDocumentsHaveNoUploadId(xml: String) {
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: Array(xml.utf8)) == nil)
    }

    @Test func bytesThatAreNotUTF8GiveNil() {
        let bytes = Array("<InitiateMultipartUploadResult><UploadId>a".utf8) + [0xFF] + Array("</UploadId>".utf8)
        #expect(InitiateMultipartUploadResult.uploadId(fromXMLPrefix: bytes) == nil)
    }
}
