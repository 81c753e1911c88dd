/// The header block of an HTTP message as an ordered list of name/value pairs.
///
/// Names keep the case they arrived in (signatures are computed over lowercased names, but
/// forwarding and audit want the original); every lookup is ASCII case-insensitive, as
/// RFC 9110 §5.1 requires. Repeated fields stay separate entries so that a caller can see
/// that a header was given twice (the policy refuses ambiguous duplicates).
public struct HeaderFields: Sendable, Equatable, Sequence {
    public typealias Element = (name: String, value: String)

    private var fields: [Element]

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[Element]> { fields.makeIterator() }

    public var count: Int { fields.count }

    /// Room for `count` fields in all, so that adding them one by one does not regrow.
    public mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    /// Every value of the named field, in arrival order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { $0.name.asciiCaseInsensitiveEquals(name) ? $0.value : nil }
    }

    /// The first value of the named field and how many times the field was given, without
    /// collecting the values (for a field that must appear at most once).
    public func first(_ name: String) -> (value: String, occurrences: Int)? {
        var first: String?
        var occurrences = 0
        for field in fields where field.name.asciiCaseInsensitiveEquals(name) {
            if first == nil { first = field.value }
            occurrences += 1
        }
        return first.map { ($0, occurrences) }
    }

    /// The value of a field that is expected once. When it was given several times the
    /// values are joined with "," as RFC 9110 §5.3 allows for list-valued fields; callers
    /// that must refuse duplicates check `values(_:)` instead.
    public subscript(_ name: String) -> String? {
        // One pass and no array: nearly every field is given once, and its value is
        // returned as it is.
        var value: String?
        for field in fields where field.name.asciiCaseInsensitiveEquals(name) {
            if let earlier = value { value = earlier + "," + field.value } else { value = field.value }
        }
        return value
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field of that name by one field with the given value.
    public mutating func replace(_ name: String, with value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    public mutating func removeAll(where shouldRemove: (Element) -> Bool) {
        fields.removeAll(where: shouldRemove)
    }

    public static func == (lhs: HeaderFields, rhs: HeaderFields) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}

extension StringProtocol {
    /// ASCII case-insensitive comparison, the rule for HTTP field names; no Unicode folding,
    /// so `ſ` never matches `s`.
    @inlinable
    public func asciiCaseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && hasASCIICaseInsensitivePrefix(other)
    }

    /// The string with ASCII letters lowercased and every other byte kept.
    @inlinable
    public var asciiLowercased: String {
        withUTF8Bytes { bytes in
            // Most names arrive lowercase already (HTTP/2 requires it, the SDKs send it): the
            // string itself, no copy (`policy bench` spent a fifth of its time here).
            guard bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return String(self) }
            return String(unsafeUninitializedCapacity: bytes.count) { buffer in
                for index in bytes.indices { buffer[index] = asciiLower(bytes[index]) }
                return bytes.count
            }
        }
    }

    /// The string without leading and trailing spaces and tabs (HTTP's optional
    /// whitespace, RFC 9110 §5.6.3), as a view of it: no copy, no Foundation.
    @inlinable
    public var trimmingOWS: SubSequence {
        let (leading, trailing) = withUTF8Bytes { bytes in
            let kept = bytes.trimmingOWS(0..<bytes.count)
            return (kept.lowerBound, bytes.count - kept.upperBound)
        }
        // Spaces and tabs are single bytes, so both ends fall on character boundaries.
        return self[utf8.index(utf8.startIndex, offsetBy: leading)..<utf8.index(utf8.endIndex, offsetBy: -trailing)]
    }

    /// Whether the string starts with `prefix`, ignoring ASCII case.
    @inlinable
    public func hasASCIICaseInsensitivePrefix(_ prefix: String) -> Bool {
        // Over the bytes in place (walking `UTF8View` indices costs several times more).
        withUTF8Bytes { a in
            prefix.withUTF8Bytes { b in
                guard a.count >= b.count else { return false }
                for index in 0..<b.count where asciiLower(a[index]) != asciiLower(b[index]) { return false }
                return true
            }
        }
    }

    /// Whether the string's UTF-8 bytes sort before `other`'s (byte order: how SigV4 sorts
    /// its headers and query, and S3 its keys), compared in place.
    @inlinable
    public func utf8Precedes(_ other: some StringProtocol) -> Bool {
        withUTF8Bytes { a in other.withUTF8Bytes { b in a.lexicographicallyPrecedes(b) } }
    }

    /// Whether the two strings are the same bytes (`==` also equates canonically
    /// equivalent Unicode), compared in place.
    @inlinable
    public func utf8Equals(_ other: some StringProtocol) -> Bool {
        withUTF8Bytes { a in other.withUTF8Bytes { b in a.elementsEqual(b) } }
    }

    /// The elements of the comma-separated list the string holds (`#element`, RFC 9110
    /// §5.6.1: `element *( OWS "," OWS element )`), each without its optional whitespace;
    /// empty elements are skipped, as the RFC tells recipients to. A lazy view: nothing is
    /// split, copied or collected.
    @inlinable
    public var listElements: ListElements { ListElements(Substring(self)) }

    /// `body` over the string's UTF-8 bytes: in place, or copied once when they are not
    /// stored contiguously.
    @inlinable
    public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(utf8).withUnsafeBufferPointer(body)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// `range` without the spaces and tabs (HTTP's optional whitespace) at either end.
    @inlinable
    public func trimmingOWS(_ range: Range<Int>) -> Range<Int> {
        var (start, end) = (range.lowerBound, range.upperBound)
        while start < end, self[start] == 0x20 || self[start] == 0x09 { start += 1 }
        while end > start, self[end - 1] == 0x20 || self[end - 1] == 0x09 { end -= 1 }
        return start..<end
    }
}

/// The byte with an ASCII capital letter made small; every other byte as it is.
@inlinable @inline(__always)
public func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}

/// The elements of a comma-separated field value (`StringProtocol.listElements`).
public struct ListElements: Sequence, IteratorProtocol {
    @usableFromInline var rest: Substring

    @inlinable
    init(_ text: Substring) { rest = text }

    @inlinable
    public mutating func next() -> Substring? {
        while !rest.isEmpty {
            // A comma is one byte, so the UTF-8 index falls on a character boundary.
            let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            let element = rest[..<comma].trimmingOWS
            rest = comma < rest.endIndex ? rest[rest.utf8.index(after: comma)...] : rest[rest.endIndex...]
            if !element.isEmpty { return element }
        }
        return nil
    }
}
