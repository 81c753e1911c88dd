import Foundation
import Gateway
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded

/// One client connection's whole pipeline (HTTP decoding, the gateway's handlers, the
/// upstream pool) on an `EmbeddedChannel`, with an embedded upstream connection: a proxied
/// request costs what the gateway's code costs, without sockets or the kernel.
final class PipelineRig {
    let client = EmbeddedChannel()
    private let upstreams = NIOLockedValueBox<[EmbeddedChannel]>([])
    private let request: ByteBuffer
    private let upstreamAnswer: ByteBuffer

    /// `request`: the bytes a client sends; `answer`: the upstream's whole response.
    init(preparer: RequestPreparer, request: String, answer: String) throws {
        let loop = client.embeddedEventLoop
        let upstreams = self.upstreams
        let connect: UpstreamConnector = { loop in
            let upstream = EmbeddedChannel(loop: loop as! EmbeddedEventLoop)
            return loop.makeCompletedFuture {
                try UpstreamPools.addUpstreamHandlers(to: upstream)
                try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
                upstreams.withLockedValue { $0.append(upstream) }
                return upstream
            }
        }
        let configuration = preparer.configuration
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let environment = ClientEnvironment(
            preparer: { preparer }, pools: UpstreamPools(group: loop, connect: connect, limits: configuration.limits),
            timeouts: configuration.timeouts, limits: configuration.limits,
            responseHeaderRules: configuration.responseHeaderRules, logger: logger, isTLS: false)
        try GatewayServer.configureClientPipeline(client, tls: nil, limits: configuration.limits,
                                                  timeouts: configuration.timeouts, environment: environment)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        self.request = client.allocator.buffer(string: request)
        self.upstreamAnswer = client.allocator.buffer(string: answer)
    }

    /// One exchange: the request in, its upstream request out, the answer in. The
    /// client's response is then waiting in `client`'s outbound buffers.
    private func send() throws {
        try client.writeInbound(request)
        client.embeddedEventLoop.run()
        guard let upstream = upstreams.withLockedValue({ $0.last }) else { throw BenchmarkCheck("nothing went upstream") }
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
