#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation
import S3Core

/// An element of a small XML request body, as a tree: the request bodies the store reads
/// (DeleteObjects, CompleteMultipartUpload) are a few KiB, so a tree is simpler to check
/// than parser callbacks. Namespace prefixes are dropped from names.
struct XMLElementNode: Equatable {
    var name: String
    /// The character data directly inside the element, exactly as sent (keys may begin
    /// or end with spaces).
    var text: String = ""
    var children: [XMLElementNode] = []

    func child(_ name: String) -> XMLElementNode? {
        children.first { $0.name == name }
    }

    func children(_ name: String) -> [XMLElementNode] {
        children.filter { $0.name == name }
    }

    /// Parses a whole document with Foundation's XMLParser; anything it refuses (and any
    /// DTD, which S3 does not accept either) is 400 MalformedXML.
    static func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLElementNode {
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse(), !builder.sawDTD, let root = builder.root else { throw S3Error.malformedXML() }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLElementNode?
    var sawDTD = false
    private var stack: [XMLElementNode] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        let localName = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLElementNode(name: localName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }

    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
        sawDTD = true
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) {
        sawDTD = true
        parser.abortParsing()
    }
}

/// `<Delete><Quiet>true</Quiet><Object><Key>k</Key>[<VersionId>v</VersionId>]</Object>…</Delete>`
struct DeleteObjectsRequest: Equatable {
    var quiet: Bool
    var keys: [String]

    /// S3 accepts at most 1000 keys per request.
    static let maxKeys = 1000

    init(xml bytes: [UInt8]) throws(S3Error) {
        let root = try XMLElementNode.parse(bytes)
        guard root.name == "Delete" else { throw S3Error.malformedXML() }
        quiet = root.child("Quiet")?.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
        keys = []
        for object in root.children("Object") {
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error.malformedXML() }
            keys.append(key)
        }
        guard !keys.isEmpty, keys.count <= Self.maxKeys else { throw S3Error.malformedXML() }
    }
}

/// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag>…</Part>…</CompleteMultipartUpload>`;
/// checksum elements inside a part are accepted and not checked.
enum CompleteMultipartUploadRequest {
    static func parts(xml bytes: [UInt8]) throws(S3Error) -> [CompletedPart] {
        let root = try XMLElementNode.parse(bytes)
        guard root.name == "CompleteMultipartUpload" else { throw S3Error.malformedXML() }
        var parts: [CompletedPart] = []
        for part in root.children("Part") {
            guard let numberText = part.child("PartNumber")?.text.trimmingCharacters(in: .whitespacesAndNewlines),
                  let number = Int(numberText), let etag = part.child("ETag")?.text
            else { throw S3Error.malformedXML() }
            parts.append(CompletedPart(partNumber: number, etag: etag))
        }
        return parts
    }
}
