import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay in front of a gateway that watches every byte the gateway sends its clients
/// for a text that must never reach them — the upstream's `host:port` — across read
/// boundaries: the client-scenario suites run through it, so no response (head or body, of
/// any client) can carry the store's internal address unnoticed.
final class LeakWatchingRelay: Sendable {
    let port: Int
    private let channel: any Channel
    private let sightings: NIOLockedValueBox<[String]>

    /// Where the text was seen: the bytes around it, for the failure message.
    var leaks: [String] { sightings.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, sightings: NIOLockedValueBox<[String]>) {
        self.port = port
        self.channel = channel
        self.sightings = sightings
    }

    static func start(to targetPort: Int, watchingFor needle: String) async throws -> LeakWatchingRelay {
        let sightings = NIOLockedValueBox<[String]>([])
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try await ServerBootstrap(group: group)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { gateway in
                        let watcher = Watcher(needle: Array(needle.utf8), sightings: sightings)
                        return client.pipeline.addHandler(Pipe(partner: gateway, watcher: nil)).flatMap {
                            gateway.pipeline.addHandler(Pipe(partner: client, watcher: watcher))
                        }.flatMap { client.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LeakWatchingRelay(port: channel.localAddress!.port!, channel: channel, sightings: sightings)
    }

    func stop() async {
        try? await channel.close().get()
    }

    /// Finds the needle in a stream of buffers, keeping the last bytes of each for the next.
    private final class Watcher: @unchecked Sendable {
        let needle: [UInt8]
        let sightings: NIOLockedValueBox<[String]>
        private var tail: [UInt8] = []

        init(needle: [UInt8], sightings: NIOLockedValueBox<[String]>) {
            self.needle = needle
            self.sightings = sightings
        }

        func scan(_ buffer: ByteBuffer) {
            let bytes = tail + Array(buffer.readableBytesView)
            if bytes.count >= needle.count {
                for start in 0...(bytes.count - needle.count)
                where bytes[start] == needle[0] && bytes[start..<(start + needle.count)].elementsEqual(needle) {
                    let context = bytes[max(0, start - 120)..<min(bytes.count, start + needle.count + 40)]
                    sightings.withLockedValue { $0.append(String(decoding: context, as: UTF8.self)) }
                }
            }
            tail = Array(bytes.suffix(needle.count - 1))
        }
    }

    /// Writes what one side reads to the other; either side closing closes both.
    private final class Pipe: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel
        let watcher: Watcher?

        init(partner: any Channel, watcher: Watcher?) {
            self.partner = partner
            self.watcher = watcher
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            watcher?.scan(buffer)
            partner.writeAndFlush(buffer, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
