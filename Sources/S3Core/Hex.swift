/// Lowercase hexadecimal of any byte sequence (digests, MACs, ids): the one encoder the
/// signatures, the audit chain and the policy version use.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    hex(Array(bytes))
}

/// Lowercase hexadecimal of a collection of bytes, written straight into the string.
public func hex(_ bytes: some Collection<UInt8>) -> String {
    String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
        var index = 0
        for byte in bytes {
            buffer[index] = hexDigits[Int(byte >> 4)]
            buffer[index + 1] = hexDigits[Int(byte & 0x0F)]
            index += 2
        }
        return index
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Decodes lowercase or uppercase hex; nil for odd lengths or other characters.
public func bytesFromHex(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = PercentEncoding.hexValue(utf8[index]),
              let low = PercentEncoding.hexValue(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}
