import Foundation

/// Text and bytes written into a buffer the caller sized for them: the SigV4 string to
/// sign, the buffered canonical-request hash, the upload id binder's tags, the upstream
/// `Authorization` value and the signing and audit timestamps are each written this way,
/// with no string per piece.
public struct BufferTextStream: TextOutputStream {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    @usableFromInline var count = 0

    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    /// A string of at most `capacity` UTF-8 bytes, written by `body` straight into its storage.
    @inlinable
    public static func string(capacity: Int, _ body: (inout BufferTextStream) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { storage in
            var text = BufferTextStream(UnsafeMutableRawBufferPointer(storage))
            body(&text)
            return text.count
        }
    }

    /// What has been written.
    @inlinable
    public var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[..<count]) }
    /// The part of the buffer not written yet.
    @inlinable
    public var unwritten: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: buffer[count...]) }

    @inlinable
    public mutating func write(_ string: String) {
        string.withUTF8Bytes { write(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { write(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public mutating func write(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= unwritten.count, "BufferTextStream: the buffer was sized too small")
        unwritten.copyMemory(from: bytes)
        count += bytes.count
    }

    /// One byte as it is (a flag in a MAC's message, a base64url character).
    @inlinable
    public mutating func write(byte: UInt8) {
        precondition(!unwritten.isEmpty, "BufferTextStream: the buffer was sized too small")
        buffer[count] = byte
        count += 1
    }

    /// Lowercase hexadecimal of `bytes` (a digest, a MAC), two characters per byte.
    @inlinable
    public mutating func write(hexOf bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { bytes in
            precondition(bytes.count * 2 <= unwritten.count, "BufferTextStream: the buffer was sized too small")
            writeHex(bytes, into: unwritten)
            count += bytes.count * 2
        }
    }

    /// `value` in decimal, zero-padded on the left to `width` digits; a value with more
    /// digits keeps all of them, a negative one gets a `-` before its padded digits.
    public mutating func write(_ value: Int, width: Int) {
        if value < 0 { write("-" as StaticString) }
        var magnitude = value.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let length = max(width, digits)
        precondition(length <= unwritten.count, "BufferTextStream: the buffer was sized too small")
        var index = count + length - 1
        while index >= count {
            buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        }
        count += length
    }

    /// Empties the buffer for the next text.
    @inlinable
    public mutating func removeAll() { count = 0 }
}
