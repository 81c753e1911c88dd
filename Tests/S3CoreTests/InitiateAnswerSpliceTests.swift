import Testing
@testable import S3Core

/// The initiate answer's id replaced in place, judged against the XML parser: for every
/// document the splice takes, the parser reads the same id from the original and the same
/// tree, but for the new id, from the result; every other document is left to the parser.
@Suite struct InitiateAnswerSpliceTests {
    static let namespace = #"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#

    static func answer(_ children: String, declaration: String = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n",
                       root: String = "<InitiateMultipartUploadResult \(namespace)>") -> [UInt8] {
        Array((declaration + root + children + "</InitiateMultipartUploadResult>").utf8)
    }

    /// The shapes stores write: radosgw (declaration, namespace, one line), AWS (indented
    /// over lines), no declaration, no namespace, an escaped key, an id with dots and `~`, an
    /// OBS namespace with an escape, one with a port over https.
    static let plainShapes: [[UInt8]] = [
        answer("<Bucket>b</Bucket><Key>k</Key><UploadId>2~abc.def_GH</UploadId>"),
        answer("\n  <Bucket>b</Bucket>\n  <Key>a/b c.txt</Key>\n  <UploadId>VXBsb2FkIElE-x</UploadId>\n", declaration: ""),
        answer("<Bucket>b</Bucket><Key>a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;</Key><UploadId>000001648453845DBB78F2340737B2AF</UploadId>"),
        answer("<Bucket>b</Bucket><Key>ключ/键</Key><UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult>"),
        answer("<UploadId>first-child</UploadId><Bucket>b</Bucket><Key>k</Key>") + Array("\n\n".utf8),
        answer("<UploadId>obs</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://obs.example.com/doc/2015-06-30/%7Ex\">"),
        answer("<UploadId>obs</UploadId>",
               root: "<InitiateMultipartUploadResult xmlns=\"https://obs.cn-north-4.example-cloud.com:443/doc/2015-06-30/\">"),
    ]

    @Test(arguments: plainShapes)
    func theSpliceAgreesWithTheParser(_ document: [UInt8]) throws {
        let original = try XMLTreeElement.parse(document)
        var seen: String?
        let spliced = try #require(InitiateMultipartUploadResult.splicingUploadId(document) { id in
            seen = id
            return "\(id).k1.YWxpY2U.n.tag"
        })
        #expect(seen == original.child("UploadId")?.text, "the id the parser reads")
        var expected = original
        for index in expected.children.indices where expected.children[index].name == "UploadId" {
            expected.children[index].text = "\(seen ?? "").k1.YWxpY2U.n.tag"
        }
        #expect(try XMLTreeElement.parse(spliced) == expected, "\(String(decoding: spliced, as: UTF8.self))")
    }

    /// Documents the splice does not take, well-formed or not: the parser judges them.
    static let otherShapes: [(String, [UInt8])] = [
        ("a comment", answer("<!-- c --><Bucket>b</Bucket><Key>k</Key><UploadId>up</UploadId>")),
        ("CDATA", answer("<Bucket>b</Bucket><Key><![CDATA[k]]></Key><UploadId>up</UploadId>")),
        ("a nested element", answer("<Bucket>b</Bucket><Key>k</Key><UploadId>up</UploadId><Owner><ID>x</ID></Owner>")),
        ("two ids", answer("<Bucket>b</Bucket><UploadId>one</UploadId><UploadId>two</UploadId>")),
        ("no id", answer("<Bucket>b</Bucket><Key>k</Key>")),
        ("an empty id", answer("<Bucket>b</Bucket><Key>k</Key><UploadId></UploadId>")),
        ("an id with white space around it", answer("<Key>k</Key><UploadId> up </UploadId>")),
        ("an id with a reference", answer("<Key>k</Key><UploadId>u&amp;p</UploadId>")),
        ("a character reference", answer("<Key>&#x41;</Key><UploadId>up</UploadId>")),
        ("an undefined entity", answer("<Key>&nbsp;</Key><UploadId>up</UploadId>")),
        ("a bare ampersand", answer("<Key>a & b</Key><UploadId>up</UploadId>")),
        ("a control byte", answer("<Key>a\u{1}b</Key><UploadId>up</UploadId>")),
        ("invalid UTF-8", answer("<Key>k</Key><UploadId>up</UploadId>") + [0xFF]),
        ("mismatched tags", answer("<Key>k</Bucket><UploadId>up</UploadId>")),
        ("another attribute", answer("<UploadId>up</UploadId>", root: #"<InitiateMultipartUploadResult a="b">"#)),
        ("an attribute on a child", answer(#"<UploadId x="y">up</UploadId>"#)),
        ("a DOCTYPE", Array(#"<!DOCTYPE x [<!ENTITY e "up">]><InitiateMultipartUploadResult><UploadId>&e;</UploadId></InitiateMultipartUploadResult>"#.utf8)),
        ("an Error document", Array("<Error><Code>InternalError</Code><UploadId>up</UploadId></Error>".utf8)),
        ("another root", Array("<InitiateMultipartUploadResultX><UploadId>up</UploadId></InitiateMultipartUploadResultX>".utf8)),
        ("text after the root", answer("<UploadId>up</UploadId>") + Array("x".utf8)),
        ("a second root", answer("<UploadId>up</UploadId>") + answer("<UploadId>up</UploadId>", declaration: "")),
        ("a declaration XML does not allow (found by the xml fuzz target)",
         answer("<UploadId>up</UploadId>", declaration: #"<?xml version="1.0"Doubleing="UTF-8"?>"#)),
        ("a declaration of another version", answer("<UploadId>up</UploadId>", declaration: #"<?xml version="1.1"?>"#)),
        ("a namespace with a byte URIs do not have (found by the xml fuzz target)",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://s3/`doc\">")),
        ("a namespace with a \"%\" that starts no escape (found by the xml fuzz target)",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://s3/2006-0%-01h\">")),
        ("a namespace whose port is not digits (found by the xml fuzz target)",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://s:.amazonaws.com/doc/\">")),
        ("a namespace with an empty host label",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://s3..amazonaws.com/doc/\">")),
        ("a namespace with user information",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://u@s3.amazonaws.com/doc/\">")),
        ("a namespace of another scheme",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"urn:s3:doc\">")),
        ("a namespace with a query",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc?x=1\">")),
        ("a namespace that is not an absolute URI",
         answer("<UploadId>up</UploadId>", root: "<InitiateMultipartUploadResult xmlns=\"doc/2006-03-01\">")),
        ("a cut-off document", Array(answer("<UploadId>up</UploadId>").dropLast(3))),
    ]

    @Test(arguments: otherShapes)
    func otherShapesAreLeftToTheParser(_ shape: (String, [UInt8])) {
        #expect(InitiateMultipartUploadResult.splicingUploadId(shape.1) { $0 + ".bound" } == nil, "\(shape.0)")
    }

    @Test func aReplacementWithMarkupIsNotSpliced() {
        let document = Self.answer("<UploadId>up</UploadId>")
        for markup in ["a<b", "a>b", "a&b"] {
            #expect(InitiateMultipartUploadResult.splicingUploadId(document) { _ in markup } == nil, "\(markup)")
        }
    }
}
