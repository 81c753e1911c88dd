import EmbeddedGateway
import Gateway
import NIOCore
import NIOEmbedded

/// One client connection's whole pipeline on embedded channels (`EmbeddedClientConnection`):
/// a proxied request costs what the gateway's code costs, without sockets or the kernel.
final class PipelineRig {
    private let connection: EmbeddedClientConnection
    private var client: EmbeddedChannel { connection.client }
    private let request: ByteBuffer
    private let upstreamAnswer: ByteBuffer

    /// `request`: the bytes a client sends; `answer`: the upstream's whole response.
    init(preparer: RequestPreparer, request: String, answer: String) throws {
        connection = try EmbeddedClientConnection(preparer: { preparer })
        self.request = connection.client.allocator.buffer(string: request)
        self.upstreamAnswer = connection.client.allocator.buffer(string: answer)
    }

    /// One exchange: the request in, its upstream request out, the answer in. The
    /// client's response is then waiting in `client`'s outbound buffers.
    private func send() throws {
        try client.writeInbound(request)
        client.embeddedEventLoop.run()
        guard let upstream = connection.upstreams.last else { throw BenchmarkCheck("nothing went upstream") }
        while try upstream.readOutbound(as: ByteBuffer.self) != nil {}
        try upstream.writeInbound(upstreamAnswer)
        client.embeddedEventLoop.run()
    }

    /// One exchange; returns how many bytes the client received.
    @discardableResult
    func exchange() throws -> Int {
        try send()
        var received = 0
        while let buffer = try client.readOutbound(as: ByteBuffer.self) { received += buffer.readableBytes }
        return received
    }

    /// One exchange; the client's response as text (to check the rig before measuring).
    func response() throws -> String {
        try send()
        var text = ""
        while var buffer = try client.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes) ?? "" }
        return text
    }
}
