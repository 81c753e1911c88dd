import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A raw TCP upstream that answers every request head with a fixed byte string (or never
/// answers), and records what it received: for the upstream-failure tests.
final class ScriptedUpstream: Sendable {
    let port: Int
    private let channel: any Channel
    private let received: NIOLockedValueBox<[UInt8]>
    private let closedConnections: NIOLockedValueBox<Int>

    var receivedText: String { String(decoding: received.withLockedValue { $0 }, as: UTF8.self) }
    /// How many of its connections have closed: once the gateway closed one, everything it
    /// wrote before has arrived.
    var connectionsClosed: Int { closedConnections.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, received: NIOLockedValueBox<[UInt8]>,
                 closedConnections: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        self.received = received
        self.closedConnections = closedConnections
    }

    /// - Parameter answer: sent once a request head (up to the blank line) has arrived;
    ///   nil never answers.
    static func start(answer: String?, delay: TimeAmount = .zero) async throws -> ScriptedUpstream {
        let received = NIOLockedValueBox<[UInt8]>([])
        let closed = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Answerer(answer: answer, delay: delay, received: received, closed: closed))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedUpstream(port: channel.localAddress!.port!, channel: channel, received: received,
                                closedConnections: closed)
    }

    func stop() async {
        try? await channel.close().get()
    }

    private final class Answerer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: String?
        let delay: TimeAmount
        let received: NIOLockedValueBox<[UInt8]>
        let closed: NIOLockedValueBox<Int>

        init(answer: String?, delay: TimeAmount, received: NIOLockedValueBox<[UInt8]>, closed: NIOLockedValueBox<Int>) {
            self.answer = answer
            self.delay = delay
            self.received = received
            self.closed = closed
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.withLockedValue { $0 += 1 }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let complete = received.withLockedValue { all -> Bool in
                all += bytes
                return String(decoding: all, as: UTF8.self).contains("\r\n\r\n")
            }
            if complete, let answer {
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let buffer = context.channel.allocator.buffer(string: answer)
                context.eventLoop.scheduleTask(in: delay) {
                    bound.value.writeAndFlush(NIOAny(buffer), promise: nil)
                }
            }
        }
    }
}
