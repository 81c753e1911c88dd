import Foundation

/// Lowercase hexadecimal of bytes in memory (digests, MACs, arrays, `Data`): the one
/// encoder the signatures, the audit chain and the policy version use. It reads the bytes
/// where they are (`withUnsafeBytes`) and writes the string's storage once.
public func hex(_ bytes: some ContiguousBytes) -> String {
    bytes.withUnsafeBytes { bytes in
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            writeHex(bytes, into: UnsafeMutableRawBufferPointer(buffer))
            return bytes.count * 2
        }
    }
}

/// Lowercase hexadecimal of `bytes` into `out`, which holds twice as many bytes: for a
/// text that is hashed or compared without becoming a string.
@inlinable
public func writeHex(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
    precondition(out.count >= bytes.count * 2, "writeHex needs two bytes of room per byte")
    var index = 0
    for byte in bytes {
        out[index] = hexDigit(byte >> 4)
        out[index + 1] = hexDigit(byte & 0x0F)
        index += 2
    }
}

/// Without a branch on the nibble: the digits of a MAC that is compared in constant time
/// must not take data-dependent time either. `mask` is 0xFF for nibbles 10–15, else 0;
/// `'a' - '0' - 10` = 0x27.
@inlinable @inline(__always)
func hexDigit(_ nibble: UInt8) -> UInt8 {
    let mask = 0 &- ((9 &- nibble) >> 7)
    return UInt8(ascii: "0") &+ nibble &+ (mask & 0x27)
}

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
