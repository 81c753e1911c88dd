#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// A small XML request body as a tree of elements, read with Foundation's XMLParser: the
/// bodies the gateway judges (bucket configurations) and the development store reads
/// (DeleteObjects, CompleteMultipartUpload) are a few KiB and shallow, and questions such
/// as "every `Transition/StorageClass` anywhere" are answered plainly by a tree. Elements
/// are named by their local name: S3 documents carry a default namespace, and a prefix
/// (`s3:Rule`) must not hide an element from a rule.
public struct XMLTreeElement: Equatable, Sendable {
    public var name: String
    /// The character data directly inside the element (CDATA included), exactly as sent:
    /// keys may begin or end with spaces.
    public var text = ""
    public var children: [XMLTreeElement] = []
    /// The element's attributes by name, as written (`xmlns` among them), sorted by name.
    public var attributes: [(name: String, value: String)] = []

    public init(name: String, text: String = "", children: [XMLTreeElement] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    public static func == (lhs: XMLTreeElement, rhs: XMLTreeElement) -> Bool {
        lhs.name == rhs.name && lhs.text == rhs.text && lhs.children == rhs.children
            && lhs.attributes.elementsEqual(rhs.attributes) { $0 == $1 }
    }

    /// The element as a document of its own, UTF-8, with the XML declaration S3 writes:
    /// text and attribute values escaped (XML 1.0 §2.4), an element with children written
    /// without the white space between them.
    public func document() -> [UInt8] {
        var out = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8)
        out.append(UInt8(ascii: "\n"))
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: name.utf8)
        for (name, value) in attributes {
            out.append(contentsOf: " \(name)=\"".utf8)
            Self.escape(value, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: ">"))
        if children.isEmpty {
            Self.escape(text, into: &out)
        } else {
            for child in children { child.write(into: &out) }
        }
        out.append(contentsOf: "</\(name)>".utf8)
    }

    private static func escape(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case 0x0D: out.append(contentsOf: "&#13;".utf8)
            default: out.append(byte)
            }
        }
    }

    /// The text as a value: XML whitespace (space, tab, CR, LF) around it removed, and
    /// nothing else, so the value judged is the value the store reads.
    public var value: String {
        let scalars = text.unicodeScalars
        let isSpace = { (scalar: Unicode.Scalar) in scalar.isASCII && UInt8(scalar.value).isXMLWhitespace }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    public func child(_ name: String) -> XMLTreeElement? { children.first { $0.name == name } }

    public func children(_ name: String) -> [XMLTreeElement] { children.filter { $0.name == name } }

    /// This element and every element below it named `name`, in document order.
    public func descendants(_ name: String) -> [XMLTreeElement] {
        var found: [XMLTreeElement] = []
        collect(name, into: &found)
        return found
    }

    private func collect(_ name: String, into found: inout [XMLTreeElement]) {
        if self.name == name { found.append(self) }
        for child in children { child.collect(name, into: &found) }
    }

    /// No S3 document nests deeper than a lifecycle rule's `Filter/And/Tag/Key` (six); a
    /// deeper body is refused rather than walked.
    public static let maxDepth = 32

    /// Parses a whole document. Anything XMLParser refuses, any DTD (S3 accepts none, and
    /// entity declarations are how a body would make the parser expand or fetch text the
    /// store never sees), nesting deeper than `maxDepth`, and bytes that are not UTF-8 (S3
    /// documents are; and Foundation's XMLParser on Linux ends the process on an element
    /// name of invalid UTF-8, `<\u{D6}a/>`: found by the `xml` fuzz target), control
    /// characters (below), and processing instructions (below) is 400 MalformedXML.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLTreeElement {
        guard !containsControlCharacter(bytes), !containsDoctype(bytes), !containsProcessingInstruction(bytes),
              !declaresEncodingOtherThanUTF8(bytes), String(validating: bytes, as: UTF8.self) != nil
        else { throw S3Error.malformedXML() }
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        let builder = XMLTreeBuilder()
        parser.delegate = builder
        let parsed = parser.parse()
        parser.delegate = nil
        guard parsed, !builder.refused, let root = builder.root else { throw S3Error.malformedXML() }
        return root
    }

    /// An optional document (S3 takes an empty body for some of them): nil when the body
    /// is empty or only whitespace, otherwise `parse(_:)`.
    public static func parseOptional(_ bytes: [UInt8]) throws(S3Error) -> XMLTreeElement? {
        if bytes.allSatisfy(\.isXMLWhitespace) { return nil }
        return try parse(bytes)
    }

    /// Whether a byte is a control character XML does not allow anywhere in a document
    /// (XML 1.0 §2.2: `Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | …`). libxml2 2.9
    /// (Debian 12) dereferences null in `xmlParseChunk` on NULs inside a start tag,
    /// `<i\u{1}\0…>`, found by the `xml` fuzz target; a request body (a RestoreObject's, a
    /// bucket configuration's) would have ended the gateway.
    static func containsControlCharacter(_ bytes: [UInt8]) -> Bool {
        bytes.contains { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
    }

    /// Whether `<?` occurs anywhere but in an XML declaration at the very start: S3
    /// documents carry no processing instructions, and Foundation's XMLParser on Linux ends
    /// the process on one without data, `<?x?>` (found by the `xml` fuzz target).
    static func containsProcessingInstruction(_ bytes: [UInt8]) -> Bool {
        let declaration = Array("<?xml".utf8)
        for index in bytes.indices.dropLast() where bytes[index] == UInt8(ascii: "<") && bytes[index + 1] == UInt8(ascii: "?") {
            let isDeclaration = index == 0 && bytes.count > declaration.count && bytes.starts(with: declaration)
                && bytes[declaration.count].isXMLWhitespace
            if !isDeclaration { return true }
        }
        return false
    }

    /// Whether the XML declaration names an encoding other than UTF-8, or names one in a
    /// form this does not read: the body is UTF-8 (checked), so another encoding is a lie,
    /// and libxml2 2.9 (Debian 12) dereferences null switching to UTF-7 in
    /// `xmlSwitchToEncoding` (found by the `xml` fuzz target).
    static func declaresEncodingOtherThanUTF8(_ bytes: [UInt8]) -> Bool {
        guard bytes.starts(with: Array("<?xml".utf8)) else { return false }
        let declaration = String(decoding: bytes[..<(bytes.firstIndex(of: UInt8(ascii: ">")) ?? bytes.endIndex)], as: UTF8.self)
        guard let name = declaration.range(of: "encoding") else { return false }
        // A CR LF pair is one Character, whose ASCII value Swift gives as LF's.
        let isSpace = { (character: Character) in character.asciiValue?.isXMLWhitespace == true }
        var rest = declaration[name.upperBound...].drop(while: isSpace)
        guard rest.first == "=" else { return true }
        rest = rest.dropFirst().drop(while: isSpace)
        guard let quote = rest.first, quote == "\"" || quote == "'", let close = rest.dropFirst().firstIndex(of: quote) else { return true }
        return rest[rest.index(after: rest.startIndex)..<close].lowercased() != "utf-8"
    }

    /// Whether `<!DOCTYPE` occurs anywhere (even in a comment: refusing one harmless
    /// comment is cheaper than trusting every parser to ignore the rest).
    static func containsDoctype(_ bytes: [UInt8]) -> Bool {
        let marker = Array("<!DOCTYPE".utf8)
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if bytes[start..<(start + marker.count)].elementsEqual(marker) { return true }
        }
        return false
    }
}

/// XMLParser's delegate: builds the tree while the parser runs, synchronously, inside
/// `XMLTreeElement.parse`; never shared.
private final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLTreeElement?
    /// A DTD, or nesting past the limit: the parse was aborted and the body is refused.
    var refused = false
    private var stack: [XMLTreeElement] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        guard stack.count < XMLTreeElement.maxDepth, root == nil else {
            refuse(parser)
            return
        }
        let localName = elementName.split(separator: ":").last.map(String.init) ?? elementName
        var element = XMLTreeElement(name: localName)
        element.attributes = attributes.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        stack.append(element)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    /// `<StorageClass><![CDATA[GLACIER]]></StorageClass>` is GLACIER to the store: CDATA is
    /// text, and dropping it would let a class past the rules.
    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
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
        refuse(parser)
    }

    /// libxml2 recovers from some errors (a mismatched end tag, a broken XML declaration)
    /// and XMLParser then reports success with a tree the document does not have; any
    /// error refuses the body (found by the `xml` fuzz target).
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        refuse(parser)
    }

    func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) {
        refuse(parser)
    }

    private func refuse(_ parser: XMLParser) {
        refused = true
        parser.abortParsing()
    }
}
