import FormUpload
import NIOCore
import S3Core

/// The body of a verified browser form upload on its way upstream: the re-signed field
/// section first, then the file bytes as they arrive, then the closing delimiter — which
/// the rewriter releases only once the end checks (content-length range, nothing after the
/// file) passed, so a form that fails them never completes upstream.
final class FormBodyForwarder: UpstreamBodySource {
    private var rewriter: PostObjectRewriter
    private var prefixSent = false

    init(rewriter: PostObjectRewriter) {
        self.rewriter = rewriter
    }

    func forward(_ buffer: ByteBuffer, allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] {
        var out = takePrefix(allocator: allocator)
        var released = allocator.buffer(capacity: buffer.readableBytes)
        try buffer.withUnsafeReadableBytes { (bytes) throws(S3Error) in
            try rewriter.consume(bytes) { released.writeBytes($0) }
        }
        if released.readableBytes > 0 { out.append(released) }
        return out
    }

    func finish(allocator: ByteBufferAllocator) throws(S3Error) -> [ByteBuffer] {
        var out = takePrefix(allocator: allocator)
        var closing = allocator.buffer(capacity: 128)
        try rewriter.finish { closing.writeBytes($0) }
        if closing.readableBytes > 0 { out.append(closing) }
        return out
    }

    private func takePrefix(allocator: ByteBufferAllocator) -> [ByteBuffer] {
        guard !prefixSent else { return [] }
        prefixSent = true
        return [allocator.buffer(bytes: rewriter.upstreamPrefix)]
    }
}
