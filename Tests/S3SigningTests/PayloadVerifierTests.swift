import Crypto
import Foundation
import S3Core
import Testing
@testable import S3Signing

/// The aws-chunked example of the AWS S3 API reference ("sigv4-streaming"), chunk by chunk.
enum ChunkedExample {
    static let context = SigV4ChunkContext(
        signingKey: SigV4SigningKeyCache.derive(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                                scope: SigV4Scope(date: "20130524", region: "us-east-1")),
        amzDate: "20130524T000000Z", scope: SigV4Scope(date: "20130524", region: "us-east-1"),
        seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")

    static let chunks: [(size: Int, signature: String)] = [
        (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
        (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
        (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
    ]

    /// `hex(size);chunk-signature=sig\r\n data \r\n` per chunk, then the final `\r\n`.
    static var body: [UInt8] {
        var out: [UInt8] = []
        for chunk in chunks {
            out += Array("\(String(chunk.size, radix: 16));chunk-signature=\(chunk.signature)\r\n".utf8)
            if chunk.size > 0 { out += [UInt8](repeating: UInt8(ascii: "a"), count: chunk.size) + [13, 10] }
        }
        return out + [13, 10]
    }

    /// Offset of the first data byte of chunk `index` in `body`.
    static func dataOffset(ofChunk index: Int) -> Int {
        var offset = 0
        for (position, chunk) in chunks.enumerated() {
            offset += "\(String(chunk.size, radix: 16));chunk-signature=\(chunk.signature)\r\n".utf8.count
            if position == index { return offset }
            offset += chunk.size + 2
        }
        fatalError("no chunk \(index)")
    }
}

@Suite struct PayloadVerifierTests {
    @Test func theAWSChunkedExampleHasTheDeclaredWireLength() {
        #expect(ChunkedExample.body.count == 66824) // the example's Content-Length
    }

    @Test(arguments: [1, 7, 100, 4096, 65536, 70000])
    func theAWSChunkedExampleVerifiesFedInPiecesOf(_ pieceSize: Int) throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false),
                                           decodedContentLength: 66560)
        var released: [UInt8] = []
        let body = ChunkedExample.body
        for start in stride(from: 0, to: body.count, by: pieceSize) {
            released += try verifier.consume(Array(body[start..<min(start + pieceSize, body.count)]))
        }
        #expect(released == [UInt8](repeating: UInt8(ascii: "a"), count: 66560))
        #expect(try verifier.finish() == PayloadVerifier.Summary(decodedLength: 66560, trailingChecksum: nil))
    }

    @Test(arguments: [0, 1])
    func aCorruptedByteInChunkNIsRefusedBeforeChunkNIsReleased(_ chunkIndex: Int) throws {
        var body = ChunkedExample.body
        body[ChunkedExample.dataOffset(ofChunk: chunkIndex) + 17] = UInt8(ascii: "b")
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false))
        var released = 0
        let error = body.withUnsafeBytes { buffer -> S3Error? in
            do throws(S3Error) {
                try verifier.consume(buffer) { released += $0.count }
                return nil
            } catch {
                return error
            }
        }
        #expect(error == S3Error.signatureDoesNotMatch())
        // Only the chunks before the corrupted one went out.
        #expect(released == ChunkedExample.chunks.prefix(chunkIndex).map(\.size).reduce(0, +))
    }

    @Test func aWrongChunkSignatureIsRefused() throws {
        var text = String(decoding: ChunkedExample.body, as: UTF8.self)
        text = text.replacingOccurrences(of: "0055627c", with: "0055627d")
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false))
        #expect(throws: S3Error.signatureDoesNotMatch()) { _ = try verifier.consume(Array(text.utf8)) }
    }

    @Test func aTruncatedBodyIsIncomplete() throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false))
        _ = try verifier.consume(Array(ChunkedExample.body.dropLast(2)))
        let error = #expect(throws: S3Error.self) { try verifier.finish() }
        #expect(error?.code == "IncompleteBody")
    }

    @Test func theDecodedLengthMustMatchTheDeclaredOne() throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false),
                                           decodedContentLength: 66561)
        _ = try verifier.consume(ChunkedExample.body)
        let error = #expect(throws: S3Error.self) { try verifier.finish() }
        #expect(error?.code == "IncompleteBody")
    }

    /// A chunk that would take the payload past x-amz-decoded-content-length is refused at
    /// its header, before any of its bytes is released: what a client sends beyond the
    /// declared length must never reach the upstream (it would be parsed as a request of
    /// its own there). The example's chunks are 65536, 1024 and 0 bytes.
    @Test(arguments: [65536, 65537, 66559])
    func aChunkPastTheDeclaredLengthIsRefusedBeforeItsBytesMove(_ declared: Int) throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false),
                                           decodedContentLength: declared)
        var released = 0
        var failure: S3Error?
        ChunkedExample.body.withUnsafeBytes { bytes in
            do throws(S3Error) {
                try verifier.consume(bytes) { released += $0.count }
            } catch {
                failure = error
            }
        }
        #expect(failure?.code == "IncompleteBody")
        #expect(released == 65536)
    }

    @Test func bytesAfterTheEndAreRefused() throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false))
        let error = #expect(throws: S3Error.self) { _ = try verifier.consume(ChunkedExample.body + [0x41]) }
        #expect(error?.code == "IncompleteBody")
    }

    @Test(arguments: [
        "zz;chunk-signature=\(String(repeating: "0", count: 64))\r\n",   // not hex
        "-1;chunk-signature=\(String(repeating: "0", count: 64))\r\n",   // sign
        "400\r\n",                                                       // signature missing
        "400;chunk-signature=\(String(repeating: "0", count: 64))\n",    // bare LF
        "123456789;chunk-signature=\(String(repeating: "0", count: 64))\r\n", // too many digits
        String(repeating: "4", count: 5000),                             // endless line
    ])
    func malformedChunkHeadersAreRefused(_ header: String) throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false))
        #expect(throws: S3Error.self) { _ = try verifier.consume(Array(header.utf8)) }
    }

    @Test func aChunkLargerThanTheLimitIsRefusedBeforeItIsBuffered() throws {
        var verifier = try PayloadVerifier(expectation: .signedChunks(ChunkedExample.context, trailer: false),
                                           maxChunkSize: 1024)
        let error = #expect(throws: S3Error.self) { _ = try verifier.consume(Array(ChunkedExample.body.prefix(100))) }
        #expect(error?.code == "EntityTooLarge")
    }

    @Test func unsignedTrailerBodiesCheckTheirChecksum() throws {
        let payload = Array("hello, trailer".utf8)
        var crc = PayloadChecksum(.crc32c)
        crc.update(payload)
        func body(_ checksum: String) -> [UInt8] {
            Array("e\r\n".utf8) + payload + Array("\r\n0\r\nx-amz-checksum-crc32c:\(checksum)\r\n\r\n".utf8)
        }
        var good = try PayloadVerifier(expectation: .unsignedChunksWithTrailer, trailerHeader: "x-amz-checksum-crc32c",
                                       decodedContentLength: payload.count)
        #expect(try good.consume(body(crc.base64Digest())) == payload)
        #expect(try good.finish().trailingChecksum == .init(algorithm: .crc32c, base64Value: crc.base64Digest()))

        var bad = try PayloadVerifier(expectation: .unsignedChunksWithTrailer, trailerHeader: "x-amz-checksum-crc32c")
        _ = try bad.consume(body("AAAAAA=="))
        let error = #expect(throws: S3Error.self) { try bad.finish() }
        #expect(error?.code == "BadDigest")
    }

    @Test func trailerFormsNeedAKnownTrailerHeader() {
        #expect(throws: S3Error.self) { try PayloadVerifier(expectation: .unsignedChunksWithTrailer) }
        #expect(throws: S3Error.self) {
            try PayloadVerifier(expectation: .unsignedChunksWithTrailer, trailerHeader: "x-amz-checksum-md5")
        }
    }
}

@Suite struct ChecksumTests {
    /// The CRC catalogue's check values: the CRC of the nine bytes "123456789".
    @Test(arguments: [
        (ChecksumAlgorithm.crc32, "cbf43926"),
        (.crc32c, "e3069283"),
        (.crc64nvme, "ae8b14860a799888"),
        (.sha1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        (.sha256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"),
    ])
    func checkValues(_ algorithm: ChecksumAlgorithm, _ expectedHex: String) {
        var checksum = PayloadChecksum(algorithm)
        checksum.update(Array("1234".utf8))
        checksum.update(Array("56789".utf8))
        #expect(hex(checksum.digest()) == expectedHex)
    }

    @Test func theEmptyInputHasTheKnownDigests() {
        #expect(PayloadChecksum(.crc32).base64Digest() == "AAAAAA==")
        #expect(PayloadChecksum(.crc64nvme).base64Digest() == "AAAAAAAAAAA=")
        #expect(hex(PayloadChecksum(.sha256).digest()) == SigV4.emptyPayloadHash)
    }

    @Test func headerNamesMapToAlgorithms() {
        for algorithm in ChecksumAlgorithm.allCases {
            #expect(ChecksumAlgorithm(headerName: algorithm.headerName.uppercased()) == algorithm)
        }
        #expect(ChecksumAlgorithm(headerName: "x-amz-checksum-md5") == nil)
        #expect(ChecksumAlgorithm(headerName: "content-md5") == nil)
    }
}
