/// The `Range` header of a GET, as S3 reads it (RFC 9110 §14.2, single range only):
///
///     Range = "bytes=" ( first "-" [ last ] / "-" suffix-length )
///
/// A header that does not parse, or asks for several ranges, is ignored and the whole
/// object is sent (S3 does not serve multipart/byteranges).
enum ByteRange: Equatable {
    /// Send the whole object with 200.
    case whole
    /// Send these bytes with 206 and Content-Range.
    case partial(Range<Int>)
    /// 416 InvalidRange: the first byte is past the end, or the suffix is empty.
    case unsatisfiable

    init(header: String?, size: Int) {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { self = .whole; return }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { self = .whole; return }
        let firstText = spec[..<dash], lastText = spec[spec.index(after: dash)...]
        if firstText.isEmpty {
            guard let suffix = Self.number(lastText) else { self = .whole; return }
            guard suffix > 0, size > 0 else { self = .unsatisfiable; return }
            self = .partial(max(0, size - suffix)..<size)
            return
        }
        guard let first = Self.number(firstText) else { self = .whole; return }
        var last = size - 1
        if !lastText.isEmpty {
            guard let value = Self.number(lastText), value >= first else { self = .whole; return }
            last = min(value, size - 1)
        }
        self = first < size ? .partial(first..<last + 1) : .unsatisfiable
    }

    /// `x-amz-copy-source-range: bytes=first-last`, which must name bytes inside the
    /// source; nil when it does not.
    static func copySourceRange(_ header: String, size: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes=") else { return nil }
        let parts = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = number(parts[0]), let last = number(parts[1]),
              first <= last, last < size
        else { return nil }
        return first..<last + 1
    }

    /// A run of ASCII digits (no sign, no spaces) that fits in an Int.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int(text)
    }
}
