import NIOCore
import S3Core
import S3Signing

/// Turns a client's request body into the upstream's, piece by piece: the connection
/// handler feeds every body buffer and, at the end, asks for what remains.
///
/// A class, changed in place where the exchange keeps it: a value copied out, changed and
/// written back would share its buffers (a signed chunk of up to `max_chunk_size`, hash
/// states) with the copy still in the exchange, and copy them on every body part.
protocol UpstreamBodySource: AnyObject {
    /// The buffers that may go upstream now.
    func forward(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer]
    /// The body ended: the final checks, then whatever was held back.
    func finish(allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer]
}

/// A body that was read whole, verified and judged before the upstream connection was
/// made: its bytes go as they are.
final class JudgedBodySource: UpstreamBodySource {
    func forward(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] { [buffer] }
    func finish(allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] { [] }
}

/// Turns the client's request body into the upstream's, verifying it on the way, and
/// holds back the last bytes until the verification that only the end can give has
/// passed: the upstream's Content-Length is then never met by a body that failed, so it
/// cannot store the object.
///
/// Plain bodies (`UNSIGNED-PAYLOAD`, a hex hash, SigV2/OBS) are forwarded as the same
/// buffers they arrived in; aws-chunked bodies are decoded, and a signed chunk leaves only
/// once its signature checked.
final class BodyForwarder: UpstreamBodySource {
    private var verifier: PayloadVerifier
    private let decodes: Bool
    private let holdsBack: Bool
    private var heldBack: ByteBuffer?
    private(set) var receivedBytes = 0
    /// The body length the upstream head announces, and how much of it has been released:
    /// the gateway never writes more body bytes upstream than its head announced, whatever
    /// the framing.
    private let announcedLength: Int?
    private var releasedBytes = 0

    init(prepared: PreparedRequest, maxChunkSize: Int) throws(S3Error) {
        var declaredLength: Int?
        if case .exactly(let length) = prepared.upstreamBody { declaredLength = length }
        announcedLength = declaredLength
        switch prepared.payload {
        case .signedChunks, .unsignedChunksWithTrailer: decodes = true
        case .unsigned, .sha256: decodes = false
        }
        verifier = try PayloadVerifier(expectation: prepared.payload, trailerHeader: prepared.trailerHeader,
                                       decodedContentLength: decodes ? declaredLength : nil,
                                       maxChunkSize: maxChunkSize)
        holdsBack = prepared.bodyVerifiedAtEnd
    }

    /// The buffers that may go upstream now.
    func forward(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] {
        receivedBytes += buffer.readableBytes
        var released = buffer
        if decodes {
            var decoded = allocator.buffer(capacity: buffer.readableBytes)
            try buffer.withUnsafeReadableBytes { (bytes) throws(S3Error) in
                try verifier.consume(bytes) { decoded.writeBytes($0) }
            }
            released = decoded
        } else {
            try buffer.withUnsafeReadableBytes { (bytes) throws(S3Error) in try verifier.consume(bytes) { _ in } }
        }
        guard released.readableBytes > 0 else { return [] }
        releasedBytes += released.readableBytes
        if let announcedLength, releasedBytes > announcedLength {
            throw S3Error.incompleteBody("The request body is longer than the \(announcedLength) bytes its head announced")
        }
        guard holdsBack else { return [released] }
        // Keep the newest bytes; what was held before may go.
        let previous = heldBack
        heldBack = released
        return previous.map { [$0] } ?? []
    }

    /// The body ended: the final verification, then the held-back bytes.
    func finish(allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] {
        _ = try verifier.finish()
        defer { heldBack = nil }
        return heldBack.map { [$0] } ?? []
    }
}
