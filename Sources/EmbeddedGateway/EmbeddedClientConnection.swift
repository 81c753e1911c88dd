import Audit
import Gateway
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded

/// One client connection's whole pipeline (`GatewayServer.configureClientPipeline`: HTTP
/// decoding, the gateway's handlers, the upstream pool) on an `EmbeddedChannel`, whose
/// upstream connections are embedded channels too: every byte in and out is the caller's,
/// and nothing leaves the process. The client pipeline tests, the `pipeline` fuzz target
/// and bench/micro's proxied request each drive one.
public final class EmbeddedClientConnection {
    /// The client's side: bytes written inbound are what the client sent; the outbound
    /// buffers hold what the gateway answered.
    public let client = EmbeddedChannel()
    private let opened = NIOLockedValueBox<[EmbeddedChannel]>([])

    /// `preparer`: the request phases in force for each new request (a test replaces them
    /// as a reload does). The configuration's limits, timeouts and response header rules
    /// are those of the preparer in force now. Without a `logger`, nothing is logged.
    public init(preparer: @escaping @Sendable () -> RequestPreparer, audit: AuditWriter? = nil,
                refusalThrottle: NIOLockedValueBox<AuditRefusalThrottle>? = nil,
                logger: Logger = Logger(label: "obsgate.embedded", factory: { _ in SwiftLogNoOpLogHandler() })) throws {
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
        let configuration = preparer().configuration
        let environment = ClientEnvironment(
            preparer: preparer, pools: UpstreamPools(group: loop, connect: connect, limits: configuration.limits),
            timeouts: configuration.timeouts, limits: configuration.limits,
            responseHeaderRules: configuration.responseHeaderRules, audit: audit, refusalThrottle: refusalThrottle,
            logger: logger, isTLS: false)
        try GatewayServer.configureClientPipeline(client, tls: nil, limits: configuration.limits,
                                                  timeouts: configuration.timeouts, environment: environment)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    /// The upstream connections the gateway opened, oldest first.
    public var upstreams: [EmbeddedChannel] {
        opened.withLockedValue { $0 }
    }

}
