/// Percent-encoding as S3 uses it (RFC 3986 §2.1), in both directions.
public enum PercentEncoding {
    /// RFC 3986 §2.3 unreserved: `ALPHA / DIGIT / "-" / "." / "_" / "~"`. SigV4's
    /// `UriEncode()` leaves exactly these bytes as they are and encodes every other byte as
    /// `%XY` with upper-case hex.
    @inline(__always)
    public static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// SigV4 `UriEncode(input, encodeSlash)`: every byte of the UTF-8 form that is not
    /// unreserved becomes `%XY`; `/` is kept when `encodeSlash` is false (object key paths).
    @inlinable
    public static func encode(_ input: some StringProtocol, encodeSlash: Bool = true) -> String {
        // Most names need no escape at all: the text itself.
        if input.utf8.allSatisfy({ isUnreserved($0) || (!encodeSlash && $0 == UInt8(ascii: "/")) }) { return String(input) }
        var out = [UInt8]()
        out.reserveCapacity(input.utf8.count)
        for byte in input.utf8 {
            if isUnreserved(byte) || (!encodeSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigitsUpper[Int(byte >> 4)])
                out.append(hexDigitsUpper[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes every `%XY` escape; `+` stays `+` (S3 paths and query strings are not form
    /// encoded). Fails on a `%` not followed by two hex digits and on bytes that are not
    /// UTF-8, because S3 names are UTF-8 and a lenient decoder would let two different
    /// wire forms name one object.
    @inlinable
    public static func decode(_ input: some StringProtocol) -> String? {
        guard input.utf8.contains(UInt8(ascii: "%")) else { return String(input) }
        let bytes = Array(input.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The sixteen digits of upper-case hex (also the gateway's request ids).
    public static let hexDigitsUpper = Array("0123456789ABCDEF".utf8)

    /// The value of one hex digit, either case.
    @inline(__always)
    public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
