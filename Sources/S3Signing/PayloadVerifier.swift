import Crypto
import Foundation
import S3Core

/// Verifies a request body incrementally, as its bytes arrive, and releases the payload
/// bytes that may go on to the upstream.
///
/// - `sha256(hex)`: bytes are released as they come and hashed; `finish()` says whether
///   the hash matched. (The caller holds back the end of the body until then.)
/// - aws-chunked with signatures (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each
///   chunk is held until its signature, chained from the previous one, checks; only then
///   is its data released. A corrupted byte in chunk N is refused before any of chunk N
///   leaves.
/// - aws-chunked without signatures (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): data is
///   released as it comes; the trailing checksum is checked in `finish()`.
///
/// The aws-chunked grammar (AWS S3 API reference, "Signature Calculations for the
/// Authorization Header: Transferring Payload in Multiple Chunks" and "...with trailing
/// headers"):
///
///     body           = *chunk last-chunk [ trailer-part ] CRLF
///     chunk          = chunk-size [ ";chunk-signature=" signature ] CRLF chunk-data CRLF
///     last-chunk     = "0" [ ";chunk-signature=" signature ] CRLF
///     trailer-part   = *( field-name ":" field-value CRLF )
///                      [ "x-amz-trailer-signature:" signature CRLF ]
///
///     chunk StringToSign   = "AWS4-HMAC-SHA256-PAYLOAD" \n amz-date \n scope \n
///                            previous-signature \n hex(SHA256("")) \n hex(SHA256(chunk-data))
///     trailer StringToSign = "AWS4-HMAC-SHA256-TRAILER" \n amz-date \n scope \n
///                            previous-signature \n hex(SHA256(trailer fields as "name:value\n"))
public struct PayloadVerifier: Sendable {
    /// What the body turned out to be once fully verified.
    public struct Summary: Sendable, Equatable {
        /// The number of payload bytes released.
        public let decodedLength: Int
        /// The trailing checksum that was verified, e.g. `("x-amz-checksum-crc32", "AAAAAA==")`.
        public let trailingChecksum: TrailingChecksum?
    }

    public struct TrailingChecksum: Sendable, Equatable {
        public let algorithm: ChecksumAlgorithm
        public let base64Value: String
    }

    /// Longest chunk-size line or trailer line accepted.
    static let maxLineLength = 4096
    static let chunkSignaturePrefix = Array(";chunk-signature=".utf8)

    private enum Framing: Sendable {
        case plain
        case chunkHeader
        case chunkData(remaining: Int)
        case chunkDataEnd(expected: UInt8)
        case trailer
        case complete
    }

    private let expectation: PayloadExpectation
    private let decodedContentLength: Int?
    private let maxChunkSize: Int
    private var framing: Framing
    private var line: [UInt8] = []
    /// The running hash of a `.sha256` payload; made with its first byte (an empty
    /// payload's hash is known, and most requests have none: each hash is an allocation).
    private var payloadHash: SHA256?
    private var checksum: PayloadChecksum?
    private var decodedLength = 0
    // Signed chunks: the chunk being held, its running hash, its claimed signature and
    // the signature it chains from.
    private var heldChunk: [UInt8] = []
    private var chunkHash: SHA256?
    private var chunkSignature: String?
    private var previousSignature: String
    private var trailerFields: [(name: String, value: String)] = []
    private var trailerSignature: String?

    /// - Parameters:
    ///   - trailerHeader: the request's `x-amz-trailer` value, required for the trailer forms.
    ///   - decodedContentLength: `x-amz-decoded-content-length`, checked against the payload.
    ///   - maxChunkSize: the largest signed chunk held in memory.
    public init(expectation: PayloadExpectation, trailerHeader: String? = nil, decodedContentLength: Int? = nil,
                maxChunkSize: Int = 16 * 1024 * 1024) throws(S3Error) {
        self.expectation = expectation
        self.decodedContentLength = decodedContentLength
        self.maxChunkSize = maxChunkSize
        switch expectation {
        case .unsigned, .sha256:
            framing = .plain
            previousSignature = ""
        case .signedChunks(let context, let trailer):
            framing = .chunkHeader
            previousSignature = context.seedSignature
            if trailer { checksum = try Self.trailerChecksum(trailerHeader) }
        case .unsignedChunksWithTrailer:
            framing = .chunkHeader
            previousSignature = ""
            checksum = try Self.trailerChecksum(trailerHeader)
        }
    }

    private static func trailerChecksum(_ header: String?) throws(S3Error) -> PayloadChecksum {
        guard let header else {
            throw S3Error.invalidRequest("A streaming payload with trailer requires the x-amz-trailer header")
        }
        guard let algorithm = ChecksumAlgorithm(headerName: header.trimmingCharacters(in: .whitespaces)) else {
            throw S3Error.invalidRequest("The value specified in the x-amz-trailer header is not supported")
        }
        return PayloadChecksum(algorithm)
    }

    /// Feeds the next body bytes; `release` is called with payload bytes that have been
    /// verified as far as they can be before the end (valid only during the call).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 release: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        var index = 0
        while index < bytes.count {
            switch framing {
            case .plain:
                let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
                releasePayload(rest, release)
                index = bytes.count
            case .chunkHeader, .trailer:
                guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                    try appendToLine(bytes[index...])
                    index = bytes.count
                    continue
                }
                try appendToLine(bytes[index..<newline])
                index = newline + 1
                guard line.last == UInt8(ascii: "\r") else {
                    throw Self.malformed("a line must end with CRLF")
                }
                line.removeLast()
                if case .chunkHeader = framing {
                    try chunkHeaderLine(line, release)
                } else {
                    try trailerLine(line)
                }
                line.removeAll(keepingCapacity: true)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.count - index)
                let data = UnsafeRawBufferPointer(rebasing: bytes[index..<index + take])
                index += take
                if chunkSignature != nil {
                    heldChunk.append(contentsOf: data)
                    chunkHash.feed(data)
                } else {
                    releasePayload(data, release)
                }
                if remaining - take > 0 {
                    framing = .chunkData(remaining: remaining - take)
                } else {
                    try endOfChunkData(release)
                    framing = .chunkDataEnd(expected: UInt8(ascii: "\r"))
                }
            case .chunkDataEnd(let expected):
                guard bytes[index] == expected else { throw Self.malformed("chunk data must be followed by CRLF") }
                index += 1
                framing = expected == UInt8(ascii: "\r") ? .chunkDataEnd(expected: UInt8(ascii: "\n")) : .chunkHeader
            case .complete:
                throw Self.malformed("data follows the end of the aws-chunked body")
            }
        }
    }

    /// Convenience for tests and small bodies: the released bytes as an array.
    public mutating func consume(_ bytes: [UInt8]) throws(S3Error) -> [UInt8] {
        var released: [UInt8] = []
        var failure: S3Error?
        bytes.withUnsafeBytes { buffer in
            do throws(S3Error) {
                try consume(buffer) { released.append(contentsOf: $0) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return released
    }

    /// Called once the whole body has arrived: verifies what only the end can show.
    public func finish() throws(S3Error) -> Summary {
        switch framing {
        case .plain, .complete: break
        default: throw S3Error.incompleteBody("The request body terminated unexpectedly")
        }
        if case .sha256(let expected) = expectation {
            let computed = payloadHash.hexDigest()
            guard ConstantTime.equals(computed.utf8, expected.utf8) else {
                throw S3Error.xAmzContentSHA256Mismatch("the payload does not hash to the declared value")
            }
        }
        if let declared = decodedContentLength, declared != decodedLength {
            throw S3Error.incompleteBody("The payload is \(decodedLength) bytes; x-amz-decoded-content-length says \(declared)")
        }
        var verified: TrailingChecksum?
        if let checksum {
            let name = checksum.algorithm.headerName
            let sent = trailerFields.filter { $0.name == name }
            guard sent.count == 1, let value = sent.first?.value else {
                throw S3Error.invalidRequest("The trailer must carry exactly one \(name) field")
            }
            guard let provided = Data(base64Encoded: value), provided.count == checksum.algorithm.digestLength else {
                throw S3Error.invalidRequest("Value for \(name) trailing header is invalid.")
            }
            guard ConstantTime.equals(provided, checksum.digest()) else {
                throw S3Error.badDigest("The \(checksum.algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.")
            }
            verified = TrailingChecksum(algorithm: checksum.algorithm, base64Value: value)
        }
        return Summary(decodedLength: decodedLength, trailingChecksum: verified)
    }

    // MARK: - Framing

    private mutating func appendToLine(_ bytes: Slice<UnsafeRawBufferPointer>) throws(S3Error) {
        guard line.count + bytes.count <= Self.maxLineLength else { throw Self.malformed("a chunk header or trailer line is too long") }
        line.append(contentsOf: bytes)
    }

    /// `chunk-size [ ";chunk-signature=" signature ]`
    private mutating func chunkHeaderLine(_ text: [UInt8], _ release: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        let signed: Bool
        if case .signedChunks = expectation { signed = true } else { signed = false }
        let parts = text.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false)
        let sizeText = parts[0]
        guard !sizeText.isEmpty, sizeText.count <= 8, sizeText.allSatisfy({ PercentEncoding.hexValue($0) != nil }),
              let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16)
        else { throw Self.malformed("invalid chunk size") }
        guard size <= maxChunkSize else {
            throw S3Error.entityTooLarge("An aws-chunked chunk of \(size) bytes exceeds the gateway's limit of \(maxChunkSize)")
        }
        // A chunk that would take the payload past its declared length is refused before
        // any of its bytes is released: whatever follows the declared length on the wire
        // would otherwise reach the upstream after the body it announced (smuggling).
        if let declared = decodedContentLength, size > declared - decodedLength {
            throw S3Error.incompleteBody("An aws-chunked chunk of \(size) bytes takes the payload past its x-amz-decoded-content-length of \(declared)")
        }
        if signed {
            let prefix = Self.chunkSignaturePrefix
            guard parts.count == 2, text[sizeText.endIndex...].starts(with: prefix) else {
                throw Self.malformed("a signed chunk must carry ';chunk-signature='")
            }
            let signature = String(decoding: text[(sizeText.endIndex + prefix.count)...], as: UTF8.self)
            guard signature.utf8.count == 64 else { throw S3Error.signatureDoesNotMatch() }
            chunkSignature = signature
            heldChunk.reserveCapacity(size)
        } else {
            guard parts.count == 1 else { throw Self.malformed("an unsigned chunk carries no extensions") }
            chunkSignature = nil
        }
        if size == 0 {
            try endOfChunkData(release)
            framing = .trailer
        } else {
            framing = .chunkData(remaining: size)
        }
    }

    /// The chunk's data is complete: check its signature and release it.
    private mutating func endOfChunkData(_ release: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        guard let claimed = chunkSignature, case .signedChunks(let context, _) = expectation else { return }
        let stringToSign = "AWS4-HMAC-SHA256-PAYLOAD\n\(context.amzDate)\n\(context.scope.text)\n"
            + "\(previousSignature)\n\(SigV4.emptyPayloadHash)\n\(chunkHash.take().hexDigest())"
        let expected = SigV4.signatureBytes(signingKey: context.signingKey, stringToSign: stringToSign)
        guard let provided = bytesFromHex(claimed), ConstantTime.equals(provided, expected) else {
            throw S3Error.signatureDoesNotMatch()
        }
        previousSignature = claimed.asciiLowercased
        chunkSignature = nil
        // Released from the buffer itself, which is then emptied in place and kept for the
        // next chunk (a copy would make `removeAll` allocate a chunk-sized buffer anew).
        var chunk: [UInt8] = []
        swap(&chunk, &heldChunk)
        chunk.withUnsafeBytes { releasePayload($0, release) }
        chunk.removeAll(keepingCapacity: true)
        swap(&chunk, &heldChunk)
    }

    /// A trailer field line, or the empty line that ends the body.
    private mutating func trailerLine(_ text: [UInt8]) throws(S3Error) {
        guard !text.isEmpty else {
            try checkTrailerSignature()
            framing = .complete
            return
        }
        guard checksum != nil else { throw Self.malformed("trailer fields were sent without x-amz-trailer") }
        guard trailerSignature == nil else { throw Self.malformed("x-amz-trailer-signature must be the last trailer field") }
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else { throw Self.malformed("a trailer field must be 'name:value'") }
        let name = String(decoding: text[..<colon], as: UTF8.self).asciiLowercased
        let value = String(decoding: text[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if name == "x-amz-trailer-signature" {
            trailerSignature = value
        } else {
            guard trailerFields.count < 16 else { throw Self.malformed("too many trailer fields") }
            trailerFields.append((name, value))
        }
    }

    private func checkTrailerSignature() throws(S3Error) {
        guard case .signedChunks(let context, true) = expectation else {
            guard trailerSignature == nil else { throw Self.malformed("an unsigned body cannot carry x-amz-trailer-signature") }
            return
        }
        guard let claimed = trailerSignature else { throw S3Error.signatureDoesNotMatch() }
        let canonicalTrailer = trailerFields.map { "\($0.name):\($0.value)\n" }.joined()
        let stringToSign = "AWS4-HMAC-SHA256-TRAILER\n\(context.amzDate)\n\(context.scope.text)\n"
            + "\(previousSignature)\n\(hexSHA256(of: canonicalTrailer))"
        let expected = SigV4.signatureBytes(signingKey: context.signingKey, stringToSign: stringToSign)
        guard claimed.utf8.count == 64, let provided = bytesFromHex(claimed), ConstantTime.equals(provided, expected) else {
            throw S3Error.signatureDoesNotMatch()
        }
    }

    private mutating func releasePayload(_ bytes: UnsafeRawBufferPointer, _ release: (UnsafeRawBufferPointer) -> Void) {
        guard !bytes.isEmpty else { return }
        if case .sha256 = expectation { payloadHash.feed(bytes) }
        checksum?.update(bytes)
        decodedLength += bytes.count
        release(bytes)
    }

    private static func malformed(_ detail: String) -> S3Error {
        S3Error.incompleteBody("The aws-chunked body is malformed: \(detail)")
    }
}

extension Optional where Wrapped == SHA256 {
    /// Hashes `bytes`, making the hash with the first of them.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var hash = take() ?? SHA256()
        hash.update(bufferPointer: bytes)
        self = hash
    }

    /// The hex digest of what was fed: the empty payload's when nothing was.
    func hexDigest() -> String {
        map { hex($0.finalize()) } ?? SigV4.emptyPayloadHash
    }
}
