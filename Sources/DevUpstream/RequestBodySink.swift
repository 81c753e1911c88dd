import Crypto
import Foundation
import S3Core
import S3Signing

/// A request body once it has fully arrived and checked out.
struct ReceivedBody: Sendable {
    var bytes: [UInt8]
    /// The MD5 of the payload: the ETag of an object or part.
    var md5: [UInt8]
    /// The flexible checksums the client declared, in a header or a trailer, verified.
    var checksums: [ChecksumAlgorithm: String]
}

/// Receives a request body as it streams in. PayloadVerifier decodes aws-chunked framing
/// and checks the SigV4 payload hash or chunk signatures; the sink also hashes the payload
/// for the ETag and for the `Content-MD5` and `x-amz-checksum-*` headers the client
/// declared, and appends it to one buffer sized from the declared length, so an object is
/// held once.
struct RequestBodySink {
    private var verifier: PayloadVerifier
    private let accumulator: PayloadAccumulator
    private let declaredMD5: String?
    /// Body bytes received so far, framing included.
    private(set) var wireLength = 0

    /// - Parameters:
    ///   - verifyChecksumHeaders: whether `x-amz-checksum-*` headers describe this body
    ///     (PutObject, UploadPart, DeleteObjects); on CompleteMultipartUpload they describe
    ///     the object being assembled instead.
    ///   - limit: the largest payload accepted (EntityTooLarge beyond it).
    init(expectation: PayloadExpectation, headers: HeaderFields, verifyChecksumHeaders: Bool,
         limit: Int) throws(S3Error) {
        let decodedLength = headers[S3HeaderName.decodedContentLength].flatMap { Int($0) }
        verifier = try PayloadVerifier(expectation: expectation, trailerHeader: headers[S3HeaderName.trailer],
                                       decodedContentLength: decodedLength)
        declaredMD5 = headers[S3HeaderName.contentMD5]
        var declaredChecksums: [(value: String, checksum: PayloadChecksum)] = []
        if verifyChecksumHeaders {
            for algorithm in ChecksumAlgorithm.allCases {
                if let value = headers[algorithm.headerName] {
                    declaredChecksums.append((value, PayloadChecksum(algorithm)))
                }
            }
        }
        let declared = decodedLength ?? headers[S3HeaderName.contentLength].flatMap { Int($0) } ?? 0
        guard declared <= limit else { throw Self.tooLarge(limit) }
        accumulator = PayloadAccumulator(limit: limit, reserving: declared, checksums: declaredChecksums)
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        wireLength += bytes.count
        let accumulator = self.accumulator
        try verifier.consume(bytes) { accumulator.append($0) }
        if accumulator.overflowed { throw Self.tooLarge(accumulator.limit) }
    }

    /// Verifies what only the end of the body can show and hands the payload over.
    mutating func finish() throws(S3Error) -> ReceivedBody {
        let summary = try verifier.finish()
        let digest = Array(accumulator.md5.finalize())
        if let declaredMD5 {
            guard Data(base64Encoded: declaredMD5)?.count == Insecure.MD5.byteCount else {
                throw S3Error.invalidDigest("The Content-MD5 you specified was invalid.")
            }
            guard Data(digest).base64EncodedString() == declaredMD5 else {
                throw S3Error.badDigest("The Content-MD5 you specified did not match what we received.")
            }
        }
        var checksums: [ChecksumAlgorithm: String] = [:]
        for (value, checksum) in accumulator.checksums {
            guard checksum.base64Digest() == value else {
                throw S3Error.badDigest("The \(checksum.algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.")
            }
            checksums[checksum.algorithm] = value
        }
        if let trailing = summary.trailingChecksum {
            checksums[trailing.algorithm] = trailing.base64Value
        }
        return ReceivedBody(bytes: accumulator.takePayload(), md5: digest, checksums: checksums)
    }

    private static func tooLarge(_ limit: Int) -> S3Error {
        S3Error(code: "EntityTooLarge", message: "Your proposed upload exceeds the maximum allowed size", status: 400,
                details: [("MaxSizeAllowed", String(limit))])
    }
}

/// The payload and its running hashes. A class, so the verifier's release callback can
/// append to it while the verifier itself is being mutated.
private final class PayloadAccumulator {
    let limit: Int
    private(set) var payload: [UInt8] = []
    private(set) var md5 = Insecure.MD5()
    private(set) var checksums: [(value: String, checksum: PayloadChecksum)]
    private(set) var overflowed = false

    init(limit: Int, reserving capacity: Int, checksums: [(value: String, checksum: PayloadChecksum)]) {
        self.limit = limit
        self.checksums = checksums
        payload.reserveCapacity(capacity)
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, payload.count + bytes.count <= limit else { overflowed = true; return }
        payload.append(contentsOf: bytes)
        md5.update(bufferPointer: bytes)
        for index in checksums.indices { checksums[index].checksum.update(bytes) }
    }

    /// The payload, moved out so the caller holds the only reference.
    func takePayload() -> [UInt8] {
        defer { payload = [] }
        return payload
    }
}
