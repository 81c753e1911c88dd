import Gateway
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded

/// One client connection's whole pipeline (`GatewayServer.configureClientPipeline`: HTTP
/// decoding, the gateway's handlers, the upstream pool) on an `EmbeddedChannel`, whose
/// upstream connections are embedded channels too: every byte in and out is the
/// harness's, and nothing leaves the process.
final class PipelineRig {
    let client = EmbeddedChannel()
    private let opened = NIOLockedValueBox<[EmbeddedChannel]>([])

    init(preparer: RequestPreparer) throws {
        let loop = client.embeddedEventLoop
        let opened = self.opened
        let connect: UpstreamConnector = { loop in
            let upstream = EmbeddedChannel(loop: loop as! EmbeddedEventLoop)
            return loop.makeCompletedFuture {
                try UpstreamPools.addUpstreamHandlers(to: upstream)
                try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
                opened.withLockedValue { $0.append(upstream) }
                return upstream
            }
        }
        let configuration = preparer.configuration
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let environment = ClientEnvironment(
            preparer: { preparer }, pools: UpstreamPools(group: loop, connect: connect, limits: configuration.limits),
            timeouts: configuration.timeouts, limits: configuration.limits,
            responseHeaderRules: configuration.responseHeaderRules, logger: logger, isTLS: false)
        try GatewayServer.configureClientPipeline(client, tls: nil, limits: configuration.limits,
                                                  timeouts: configuration.timeouts, environment: environment)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
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
            for upstream in opened.withLockedValue({ $0 }) {
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
        for upstream in opened.withLockedValue({ $0 }) { _ = try? upstream.finish(acceptAlreadyClosed: true) }
    }
}
