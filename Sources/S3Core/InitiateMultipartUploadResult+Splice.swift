/// The upload id of an InitiateMultipartUploadResult replaced in place, for the plain shape
/// S3, OBS and radosgw write — without parsing the document into a tree:
///
///     document  = [ xml-decl ] *ws root-open *( ws / child ) root-close *ws
///     xml-decl  = one of the declarations stores write   ; version 1.0, UTF-8
///     root-open = "<InitiateMultipartUploadResult" [ ws "xmlns=" DQUOTE namespace DQUOTE ] ">"   ; namespace: skipNamespaceURI
///     child     = "<" name ">" text "</" name ">"       ; name: 1*( ALPHA / DIGIT )
///     text      = *( any byte but "<", ">" and controls ) ; "&" only in &amp; &lt; &gt; &quot; &apos;
///     root-close= "</InitiateMultipartUploadResult>"
///     ws        = SP / HTAB / CR / LF
///
/// Exactly one child is `UploadId`, and its text is the id as it stands: no references, no
/// white space around it. Anything else — comments, CDATA, nested elements, other
/// attributes, an `Error` document — is not this shape: the answer is nil and the caller
/// parses the document whole, with an XML parser, as every other answer is.
extension InitiateMultipartUploadResult {
    public static func splicingUploadId(_ document: [UInt8], _ replacement: (String) -> String) -> [UInt8]? {
        var reader = ShapeReader(bytes: document)
        guard ShapeReader.isUTF8(document), reader.skipDeclaration(), reader.skipWhitespace(), reader.consume(rootOpen),
              reader.skipNamespace(), reader.consume(">".utf8)
        else { return nil }
        var uploadId: Range<Int>?
        while true {
            reader.skipWhitespace()
            if reader.consume(rootClose) { break }
            guard let child = reader.child() else { return nil }
            if child.name.elementsEqual("UploadId".utf8) {
                guard uploadId == nil else { return nil }
                uploadId = child.text
            }
        }
        reader.skipWhitespace()
        guard reader.atEnd, let uploadId, !uploadId.isEmpty else { return nil }
        let text = document[uploadId]
        guard !text.contains(UInt8(ascii: "&")), let first = text.first, let last = text.last,
              !first.isXMLWhitespace, !last.isXMLWhitespace,
              let upstreamId = String(validating: text, as: UTF8.self)
        else { return nil }
        let bound = replacement(upstreamId).utf8
        // The replacement is written as text: it must not bring markup of its own.
        guard !bound.contains(where: { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") })
        else { return nil }
        var spliced: [UInt8] = []
        spliced.reserveCapacity(document.count - uploadId.count + bound.count)
        spliced += document[..<uploadId.lowerBound]
        spliced += bound
        spliced += document[uploadId.upperBound...]
        return spliced
    }

    private static let rootOpen = Array("<InitiateMultipartUploadResult".utf8)
    private static let declarations = [
        #"<?xml version="1.0" encoding="UTF-8"?>"#, #"<?xml version="1.0" encoding="utf-8"?>"#,
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#, #"<?xml version="1.0"?>"#,
    ].map { Array($0.utf8) }
    private static let rootClose = Array("</InitiateMultipartUploadResult>".utf8)

    /// A cursor over the document's bytes that reads only the shape above.
    private struct ShapeReader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        @discardableResult
        mutating func skipWhitespace() -> Bool {
            while index < bytes.count, bytes[index].isXMLWhitespace { index += 1 }
            return true
        }

        mutating func consume(_ literal: some Collection<UInt8>) -> Bool {
            guard bytes.count - index >= literal.count, bytes[index..<(index + literal.count)].elementsEqual(literal) else {
                return false
            }
            index += literal.count
            return true
        }

        /// Bytes while `allowed`; how many.
        mutating func skip(while allowed: (UInt8) -> Bool) -> Int {
            let start = index
            while index < bytes.count, allowed(bytes[index]) { index += 1 }
            return index - start
        }

        /// Only the declarations stores write; any other goes to the parser, which knows
        /// what a declaration may hold (the fuzzer found `version="1.0"Doubleing="UTF-8"`).
        mutating func skipDeclaration() -> Bool {
            guard bytes[index...].starts(with: "<?xml".utf8) else { return true }
            return InitiateMultipartUploadResult.declarations.contains { consume($0) }
        }

        mutating func skipNamespace() -> Bool {
            let start = index
            guard skip(while: \.isXMLWhitespace) > 0, consume("xmlns=\"".utf8) else {
                index = start
                return true
            }
            return skipNamespaceURI() && consume("\"".utf8)
        }

        /// The URIs stores name their namespace with (S3's, radosgw's, OBS's with its region's
        /// host): a narrow subset of RFC 3986's absolute URIs, so that the parser — which
        /// refuses a namespace libxml2 warns about — surely reads it too:
        ///
        ///     namespace   = ( "http" / "https" ) "://" host [ ":" 1*5DIGIT ] *( "/" *segment-byte )
        ///     host        = label *( "." label )
        ///     label       = 1*( ALPHA / DIGIT / "-" )
        ///     segment-byte= ALPHA / DIGIT / "-" / "." / "_" / "~" / pct-encoded
        ///     pct-encoded = "%" HEXDIG HEXDIG
        ///
        /// Anything else — another scheme, user information, an IP literal, a query, sub-delims,
        /// "&" — goes to the parser. (The fuzzer found, each in turn, a backtick, a `%` that
        /// starts no escape and a port that is not digits, `http://s:.amazonaws.com/…`, in a
        /// looser grammar of URI bytes.)
        mutating func skipNamespaceURI() -> Bool {
            guard consume("http".utf8) else { return false }
            _ = consume("s".utf8)
            guard consume("://".utf8) else { return false }
            repeat {
                guard skip(while: { Self.isNameByte($0) || $0 == UInt8(ascii: "-") }) > 0 else { return false }
            } while consume(".".utf8)
            if consume(":".utf8) {
                guard (1...5).contains(skip(while: { $0 >= 0x30 && $0 <= 0x39 })) else { return false }
            }
            while consume("/".utf8) {
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "%") {
                        guard bytes.count - index >= 3, PercentEncoding.hexValue(bytes[index + 1]) != nil,
                              PercentEncoding.hexValue(bytes[index + 2]) != nil else {
                            return false
                        }
                        index += 3
                    } else if Self.isNameByte(byte) || "-._~".utf8.contains(byte) {
                        index += 1
                    } else {
                        break
                    }
                }
            }
            return true
        }

        /// `<name>text</name>`: the name and the text's range; nil for anything else.
        mutating func child() -> (name: ArraySlice<UInt8>, text: Range<Int>)? {
            guard consume("<".utf8) else { return nil }
            let nameStart = index
            guard skip(while: Self.isNameByte) > 0 else { return nil }
            let name = bytes[nameStart..<index]
            guard consume(">".utf8) else { return nil }
            let textStart = index
            _ = skip { ($0 >= 0x20 || $0.isXMLWhitespace) && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
            let text = textStart..<index
            guard Self.referencesAreWellFormed(bytes[text]), consume("</".utf8), consume(name),
                  consume(">".utf8)
            else { return nil }
            return (name, text)
        }

        static func isUTF8(_ bytes: [UInt8]) -> Bool {
            var decoder = Unicode.UTF8()
            var iterator = bytes.makeIterator()
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: return true
                case .error: return false
                }
            }
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }

        /// Every `&` starts one of the five predefined entities (a character reference
        /// could name a character XML does not allow: left to the parser).
        static func referencesAreWellFormed(_ text: ArraySlice<UInt8>) -> Bool {
            var rest = text[...]
            while let amp = rest.firstIndex(of: UInt8(ascii: "&")) {
                guard let semicolon = rest[amp...].firstIndex(of: UInt8(ascii: ";")),
                      ["amp", "lt", "gt", "quot", "apos"].contains(where: { rest[(amp + 1)..<semicolon].elementsEqual($0.utf8) })
                else { return false }
                rest = rest[(semicolon + 1)...]
            }
            return true
        }
    }
}
