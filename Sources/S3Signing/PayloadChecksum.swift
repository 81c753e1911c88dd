import Crypto
import Foundation
import S3Core

/// The flexible-checksum algorithms of S3 (`x-amz-checksum-<algorithm>`), computed
/// incrementally over a payload. The value S3 exchanges is the base64 of the digest, CRCs
/// in big-endian byte order.
public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
    case crc32, crc32c, crc64nvme, sha1, sha256

    /// `x-amz-checksum-crc32` and so on.
    public var headerName: String { "x-amz-checksum-" + rawValue }

    public init?(headerName: String) {
        let lower = headerName.asciiLowercased
        guard lower.hasPrefix("x-amz-checksum-") else { return nil }
        self.init(rawValue: String(lower.dropFirst("x-amz-checksum-".count)))
    }

    /// The length of the decoded digest, so a wrong-length value is refused before compare.
    var digestLength: Int {
        switch self {
        case .crc32, .crc32c: 4
        case .crc64nvme: 8
        case .sha1: 20
        case .sha256: 32
        }
    }
}

/// A running checksum.
public struct PayloadChecksum: Sendable {
    public let algorithm: ChecksumAlgorithm
    // Exactly one is set. Stored apart (not as an enum's payloads) so that `update` mutates
    // each in place: a hash bound out of an enum is shared with it, and swift-crypto then
    // copies its whole context on every update.
    private var crc: ReflectedCRC?
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: crc = ReflectedCRC(.crc32)
        case .crc32c: crc = ReflectedCRC(.crc32c)
        case .crc64nvme: crc = ReflectedCRC(.crc64nvme)
        case .sha1: sha1 = Insecure.SHA1()
        case .sha256: sha256 = SHA256()
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        crc?.update(bytes)
        sha1?.update(bufferPointer: bytes)
        sha256?.update(bufferPointer: bytes)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest bytes (CRCs big-endian).
    public func digest() -> [UInt8] {
        if let crc { return crc.bigEndianBytes }
        if let sha1 { return Array(sha1.finalize()) }
        return Array(sha256!.finalize())
    }

    /// The base64 text S3 sends in `x-amz-checksum-*`.
    public func base64Digest() -> String { Data(digest()).base64EncodedString() }
}

/// A table-driven reflected CRC (the Rocksoft model with refin = refout = true, init and
/// xorout all ones), which covers the three CRCs S3 uses:
///
///     CRC-32       poly 0x04C11DB7          check("123456789") = 0xCBF43926
///     CRC-32C      poly 0x1EDC6F41          check = 0xE3069283
///     CRC-64/NVME  poly 0xAD93D23594C93659  check = 0xAE8B14860A799888
///
/// No library on this platform offers CRC-32C or CRC-64/NVME (zlib has only CRC-32); the
/// parameters and check values are those of the CRC catalogue, and the unit tests hold
/// each one to its check value and to botocore/awscrt output.
struct ReflectedCRC: Sendable {
    struct Parameters: Sendable {
        let width: Int
        let table: [UInt64]

        init(width: Int, polynomial: UInt64) {
            self.width = width
            let reflected = Self.reflect(polynomial, width: width)
            table = (0..<256).map { index in
                var value = UInt64(index)
                for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ reflected : value >> 1 }
                return value
            }
        }

        static func reflect(_ value: UInt64, width: Int) -> UInt64 {
            var out: UInt64 = 0
            for bit in 0..<width where value & (1 << UInt64(bit)) != 0 {
                out |= 1 << UInt64(width - 1 - bit)
            }
            return out
        }

        static let crc32 = Parameters(width: 32, polynomial: 0x04C1_1DB7)
        static let crc32c = Parameters(width: 32, polynomial: 0x1EDC_6F41)
        static let crc64nvme = Parameters(width: 64, polynomial: 0xAD93_D235_94C9_3659)
    }

    private let parameters: Parameters
    private var register: UInt64

    init(_ parameters: Parameters) {
        self.parameters = parameters
        register = parameters.width == 64 ? .max : 0xFFFF_FFFF
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = register
        parameters.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        register = crc
    }

    var value: UInt64 {
        parameters.width == 64 ? ~register : ~register & 0xFFFF_FFFF
    }

    var bigEndianBytes: [UInt8] {
        let byteCount = parameters.width / 8
        return (0..<byteCount).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (byteCount - 1 - $0))) }
    }
}
