import EmbeddedGateway
import Gateway
import NIOCore
import NIOEmbedded

/// The gateway's client pipeline on embedded channels (`EmbeddedClientConnection`), fed
/// one fuzz input: every byte in and out is the harness's, and nothing leaves the process.
final class PipelineRig {
    private let connection: EmbeddedClientConnection
    var client: EmbeddedChannel { connection.client }

    init(preparer: RequestPreparer) throws {
        connection = try EmbeddedClientConnection(preparer: { preparer })
    }

    /// What went on: the client's bytes, then each upstream request answered with
    /// `answer` (as long as new upstream requests come, a few rounds at most).
    struct Transcript {
        var clientReceived: [UInt8] = []
        var upstreamReceived: [UInt8] = []
    }

    func exchange(client bytes: [UInt8], upstreamAnswer answer: [UInt8]) -> Transcript {
        var transcript = Transcript()
        // A refused write (broken HTTP) is answered on the channel; the error itself is not the finding.
        _ = try? client.writeInbound(client.allocator.buffer(bytes: bytes))
        for _ in 0..<4 {
            client.embeddedEventLoop.run()
            var asked = false
            for upstream in connection.upstreams {
                while let buffer = try? upstream.readOutbound(as: ByteBuffer.self) {
                    transcript.upstreamReceived += buffer.readableBytesView
                    asked = true
                }
                if asked, upstream.isActive { _ = try? upstream.writeInbound(upstream.allocator.buffer(bytes: answer)) }
            }
            guard asked else { break }
        }
        client.embeddedEventLoop.run()
        while let buffer = try? client.readOutbound(as: ByteBuffer.self) { transcript.clientReceived += buffer.readableBytesView }
        return transcript
    }

    /// Closes every channel, so that nothing of this input outlives it.
    func close() {
        _ = try? client.finish(acceptAlreadyClosed: true)
        for upstream in connection.upstreams { _ = try? upstream.finish(acceptAlreadyClosed: true) }
    }
}
