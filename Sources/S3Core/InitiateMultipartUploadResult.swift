/// The body S3 (and OBS) answers to `POST /bucket/key?uploads`, CreateMultipartUpload:
///
///     <?xml version="1.0" encoding="UTF-8"?>
///     <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
///       <Bucket>bucket</Bucket><Key>key</Key><UploadId>upload-id</UploadId>
///     </InitiateMultipartUploadResult>
///
/// The gateway rewrites this answer by splicing its own id in (`splicingUploadId`, which
/// also hands the audit record the id the client got). `uploadId(fromXMLPrefix:)` reads
/// the id from a client's copy of the body without an XML parser, as a client would; the
/// fuzz harness holds it to the parser's reading.
public enum InitiateMultipartUploadResult {
    /// The `UploadId` of an InitiateMultipartUploadResult document, from the first bytes of
    /// the body. nil when the prefix holds no complete `<UploadId>…</UploadId>` element
    /// after the root element's start tag (a cut-off body, an `<Error>` document, anything
    /// else), or when the element's text is empty, not UTF-8 or badly escaped.
    ///
    /// Element text cannot contain a literal `<`, so the first `<UploadId>` after the root
    /// start tag is the element itself, never text of `<Key>` that merely looks like one.
    public static func uploadId(fromXMLPrefix prefix: some Collection<UInt8>) -> String? {
        let bytes = Array(prefix)
        guard let root = firstIndex(of: rootTag, in: bytes, from: 0),
              root + rootTag.count < bytes.count,
              bytes[root + rootTag.count] == UInt8(ascii: ">") || bytes[root + rootTag.count].isXMLWhitespace,
              let open = firstIndex(of: openTag, in: bytes, from: root + rootTag.count),
              let close = firstIndex(of: closeTag, in: bytes, from: open + openTag.count)
        else { return nil }
        let text = bytes[(open + openTag.count)..<close]
        guard !text.contains(UInt8(ascii: "<")), let raw = String(validating: text, as: UTF8.self),
              let value = text.contains(UInt8(ascii: "&")) ? unescape(raw) : raw
        else { return nil }
        let trimmed = value.trimmingXMLWhitespace()
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    private static let rootTag = Array("<InitiateMultipartUploadResult".utf8)
    private static let openTag = Array("<UploadId>".utf8)
    private static let closeTag = Array("</UploadId>".utf8)

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count)
        where haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }

    /// Replaces the five predefined entities and character references (XML 1.0 §4.1,
    /// §4.6); nil on any other `&`, which a well-formed document cannot contain.
    private static func unescape(_ text: String) -> String? {
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { return nil }
            let name = rest[rest.index(after: amp)..<semicolon]
            switch name {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                guard name.hasPrefix("#") else { return nil }
                let isHex = name.dropFirst().hasPrefix("x")
                let digits = name.dropFirst(isHex ? 2 : 1)
                guard !digits.isEmpty, digits.utf8.allSatisfy({ isHex ? PercentEncoding.hexValue($0) != nil : $0 >= 0x30 && $0 <= 0x39 }),
                      let code = UInt32(digits, radix: isHex ? 16 : 10), let scalar = Unicode.Scalar(code)
                else { return nil }
                out.unicodeScalars.append(scalar)
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF), as a view of it.
    fileprivate func trimmingXMLWhitespace() -> Substring {
        // All four are single bytes, so both ends fall on character boundaries.
        guard let first = utf8.firstIndex(where: { !$0.isXMLWhitespace }), let last = utf8.lastIndex(where: { !$0.isXMLWhitespace })
        else { return "" }
        return self[first...last]
    }
}
