import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An upstream connection and the gateway's handler at the end of its pipeline, found
/// once when the connection is made.
struct UpstreamConnection {
    let channel: any Channel
    let handler: UpstreamConnectionHandler
}

/// Keep-alive connections to the upstream, one pool per event loop: a client connection
/// and the upstream connection serving it run on the same loop, so the proxy's two halves
/// never need a lock or a hop between threads. Sendable only so that the registry can hold
/// it: every method checks that it runs on the pool's own event loop.
final class UpstreamPool: @unchecked Sendable {
    typealias Connector = UpstreamConnector

    private let eventLoop: any EventLoop
    private let connect: Connector
    private let maxIdle: Int
    private let metrics: GatewayMetrics?
    private var idle: [UpstreamConnection] = [] {
        didSet { if idle.count != oldValue.count { metrics?.upstreamIdleConnections(changedBy: idle.count - oldValue.count) } }
    }

    init(eventLoop: any EventLoop, connect: @escaping Connector, maxIdle: Int, metrics: GatewayMetrics?) {
        self.eventLoop = eventLoop
        self.connect = connect
        self.maxIdle = maxIdle
        self.metrics = metrics
    }

    /// An idle pooled connection still open, taken out of the pool; nil when there is none
    /// (then `connectNew()`). Synchronous: most exchanges reuse a connection, and need no
    /// future for it.
    func takeIdle() -> UpstreamConnection? {
        eventLoop.preconditionInEventLoop()
        while let connection = idle.popLast() {
            if connection.channel.isActive { return connection }
        }
        return nil
    }

    /// A new connection for one exchange.
    func connectNew() -> EventLoopFuture<UpstreamConnection> {
        eventLoop.preconditionInEventLoop()
        let metrics = self.metrics
        return connect(eventLoop)
            .flatMapThrowing { channel in
                metrics?.upstreamConnectionOpened()
                // Once per connection: a pooled one that closes leaves the pool.
                channel.closeFuture.whenComplete { [weak self] _ in
                    guard let self, let index = self.idle.firstIndex(where: { $0.channel === channel }) else { return }
                    self.idle.remove(at: index)
                }
                do {
                    return UpstreamConnection(channel: channel,
                                              handler: try channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self))
                } catch {
                    channel.close(promise: nil)
                    throw error
                }
            }
            .flatMapErrorThrowing { error in
                metrics?.upstreamConnectFailed()
                throw error
            }
    }

    /// Returns a connection whose exchange completed cleanly.
    func release(_ connection: UpstreamConnection) {
        eventLoop.preconditionInEventLoop()
        guard connection.channel.isActive, idle.count < maxIdle else {
            connection.channel.close(promise: nil)
            return
        }
        idle.append(connection)
    }

    func closeAll() {
        eventLoop.preconditionInEventLoop()
        for connection in idle { connection.channel.close(promise: nil) }
        idle.removeAll()
    }

    /// Connects to the configured upstream over TCP (and TLS when it is https).
    static func socketConnector(upstream: GatewayConfiguration.Upstream, sslContext: NIOSSLContext?,
                                connectTimeout: TimeAmount) -> Connector {
        let serverName = upstream.serverName ?? upstream.host
        return { eventLoop in
            ClientBootstrap(group: eventLoop)
                .connectTimeout(connectTimeout)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let sslContext {
                            let isAddress = (try? SocketAddress(ipAddress: serverName, port: 0)) != nil
                            try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : serverName))
                        }
                        try UpstreamPools.addUpstreamHandlers(to: channel)
                    }
                }
                .connect(host: upstream.host, port: upstream.port)
        }
    }
}

/// Opens a new upstream connection on the given loop, its pipeline ending in the handlers
/// `UpstreamPools.addUpstreamHandlers(to:)` adds. A socket in production
/// (`UpstreamPool.socketConnector`); the client pipeline on an `EmbeddedEventLoop` (tests,
/// bench/micro) hands over an `EmbeddedChannel`.
public typealias UpstreamConnector = @Sendable (any EventLoop) -> EventLoopFuture<any Channel>

/// One pool per event loop of the group, created at start-up.
public final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: (eventLoop: any EventLoop, pool: UpstreamPool)]

    public init(group: any EventLoopGroup, connect: @escaping UpstreamConnector, limits: GatewayConfiguration.Limits,
         metrics: GatewayMetrics? = nil) {
        var pools: [ObjectIdentifier: (eventLoop: any EventLoop, pool: UpstreamPool)] = [:]
        for eventLoop in group.makeIterator() {
            let pool = UpstreamPool(eventLoop: eventLoop, connect: connect,
                                    maxIdle: limits.maxIdleUpstreamConnections, metrics: metrics)
            pools[ObjectIdentifier(eventLoop)] = (eventLoop, pool)
        }
        self.pools = pools
    }

    /// The HTTP client codec and the gateway's upstream handler, last in a new upstream
    /// connection's pipeline (after TLS, when the upstream speaks it).
    public static func addUpstreamHandlers(to channel: any Channel) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHTTPClientHandlers()
        try sync.addHandler(UpstreamConnectionHandler())
    }

    /// The pool of the current event loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let entry = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("no upstream pool for an event loop outside the gateway's group")
        }
        return entry.pool
    }

    func closeAll() {
        for entry in pools.values {
            entry.eventLoop.execute { entry.pool.closeAll() }
        }
    }
}
