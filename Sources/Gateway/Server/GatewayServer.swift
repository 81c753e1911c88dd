import Audit
import Credentials
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import Policy
import Synchronization

/// The running gateway: its listeners, the admin listener, the upstream pools, and the
/// configuration in force. `start()` binds everything; `shutdown()` drains: listeners stop
/// accepting, in-flight requests get `timeouts.drain` to finish, then connections close.
public final class GatewayServer: Sendable {
    public let configuration: GatewayConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let pools: UpstreamPools
    private let preparer: NIOLockedValueBox<RequestPreparer>
    private let quiesce: ServerQuiescingHelper
    private let channels = Mutex<[any Channel]>([])
    private let admin = Mutex<(any Channel)?>(nil)
    private let reloadFailures = Mutex(0)
    /// The gateway's metrics (served on the admin listener's /metrics).
    public let metrics: GatewayMetrics
    /// The audit trail's writer; nil without an `audit:` section.
    public let audit: AuditWriter?
    private let auditWatch = Mutex<RepeatedTask?>(nil)
    /// The readiness probe and the event-loop lag samplers, cancelled at shutdown.
    private let healthWatches = Mutex<[RepeatedTask]>([])
    /// One for every listener: a client's refusals count the same on each.
    private let refusalThrottle: NIOLockedValueBox<AuditRefusalThrottle>?
    /// Client connections still open, so the drain can close the ones that outlast it.
    private let clientConnections: NIOLockedValueBox<ConnectionLedger>
    /// The tracer and its exporter (`tracing.otlp`); nil: tracing is off.
    private let tracing: TracingBackend?

    public init(configuration: GatewayConfiguration, credentials: ClientCredentials, policy: UploadPolicy? = nil,
                group: any EventLoopGroup, logger: Logger) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        let metrics = GatewayMetrics(limits: configuration.limits)
        self.metrics = metrics
        preparer = NIOLockedValueBox(try RequestPreparer(configuration: configuration, credentials: credentials,
                                                         policy: policy, metrics: metrics))
        metrics.policyInForce(version: policy?.version, replacing: nil)
        let connector = UpstreamPool.socketConnector(
            upstream: configuration.upstream, sslContext: try Self.upstreamTLSContext(configuration.upstream),
            connectTimeout: configuration.timeouts.upstreamConnect)
        pools = UpstreamPools(group: group, connect: connector, limits: configuration.limits, metrics: metrics)
        refusalThrottle = configuration.audit.map { NIOLockedValueBox(AuditRefusalThrottle(limit: $0.refusalLimit)) }
        clientConnections = NIOLockedValueBox(ConnectionLedger(maxTotal: configuration.limits.maxConnections,
                                                               maxPerAddress: configuration.limits.maxConnectionsPerAddress))
        quiesce = ServerQuiescingHelper(group: group)
        tracing = try configuration.otlpTracing.map { try TracingBackend($0, logger: logger) }
        // Last: the writer starts a thread, which nothing above may leave behind by throwing.
        do {
            audit = try configuration.audit.map { try AuditWriter(configuration: $0) }
        } catch {
            throw GatewayStartupError("the audit trail cannot be opened: \(error)")
        }
    }

    /// Binds every listener; returns their bound addresses (ephemeral ports resolved).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        var addresses: [SocketAddress] = []
        for listener in configuration.listeners {
            let tls = try listener.tls.map { files in
                let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
                if let leaf = chain.first {
                    metrics.tlsCertificateExpires(listener: "\(listener.host):\(listener.port)",
                                                  atEpochSeconds: Int(leaf.notValidAfter))
                }
                return try Self.serverTLSContext(chain: chain, privateKey: files.privateKey)
            }
            let channel = try await bootstrap(tls: tls).bind(host: listener.host, port: listener.port).get()
            channels.withLock { $0.append(channel) }
            if let address = channel.localAddress { addresses.append(address) }
            logger.notice("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                                                  "tls": "\(tls != nil)"])
        }
        if let adminListener = configuration.adminListener {
            let readiness = UpstreamReadinessProbe(upstream: configuration.upstream, group: group)
            let channel = try await AdminServer.bind(listener: adminListener, group: group, readiness: readiness,
                                                     metrics: { [weak self] in self?.metricsText() ?? "" })
            admin.withLock { $0 = channel }
            logger.notice("admin listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        if let audit { watchAuditHealth(audit) }
        tracing?.start()
        watchHealth()
        if configuration.uploadBinding.legacyIds == .allow {
            logger.warning("upload_binding.legacy_ids is allow: any principal that learns an upload id can use the upload (the store's id inside a bound id passes as a legacy one); keep it for a migration window only")
        }
        if !configuration.uploadBinding.keysConfigured {
            logger.warning("upload_binding.keys is not set: multipart upload ids are bound with a key of this process only; uploads in flight do not survive a restart, and other replicas refuse them")
        }
        return addresses
    }

    /// The ports the listeners are bound to, in configuration order (ephemeral ports
    /// resolved), once `start()` has bound them.
    public var listeningPorts: [Int] { channels.withLock { $0.compactMap { $0.localAddress?.port } } }

    /// Puts new client credentials and a new policy in force for requests that start from
    /// now on; requests already in flight finish under what they started with. Nothing
    /// changes when the new set is inconsistent (a client naming an unknown profile).
    public func replace(credentials: ClientCredentials, policy: UploadPolicy?) throws(GatewayStartupError) {
        let next = try RequestPreparer(configuration: configuration, credentials: credentials, policy: policy, metrics: metrics)
        let previous = preparer.withLockedValue { current in
            defer { current = next }
            return current.policy?.version
        }
        metrics.policyInForce(version: policy?.version, replacing: previous ?? "none")
        metrics.reloaded(succeeded: true)
        logger.notice("reloaded", metadata: ["clients": "\(credentials.accessKeyIds.count)",
                                             "policy_version": "\(policy?.version ?? "none")"])
    }

    /// Counts a reload that failed (the previous configuration stays in force).
    public func recordReloadFailure() {
        reloadFailures.withLock { $0 += 1 }
        metrics.reloaded(succeeded: false)
    }

    /// The policy version in force, and how many reloads failed: for `/metrics`.
    public var reloadState: (policyVersion: String?, failures: Int) {
        (preparer.withLockedValue { $0.policy?.version }, reloadFailures.withLock { $0 })
    }

    /// The port of the admin listener, once started.
    public var adminPort: Int? { admin.withLock { $0?.localAddress?.port } }

    /// Stops accepting, lets in-flight exchanges finish for up to the drain time, then
    /// closes what is left.
    public func shutdown() async {
        logger.notice("draining", metadata: ["drain_seconds": "\(configuration.timeouts.drain.nanoseconds / 1_000_000_000)"])
        let drained = group.next().makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: drained)
        let deadline = group.next().scheduleTask(in: configuration.timeouts.drain) {
            drained.succeed()
        }
        try? await drained.futureResult.get()
        deadline.cancel()
        // Exchanges still running after the drain time are cut; closing their connections
        // here (rather than at process exit) lets each one end and write its audit record.
        let remaining = clientConnections.withLockedValue { $0.channels }
        if !remaining.isEmpty {
            logger.warning("closing connections still busy after the drain time", metadata: ["connections": "\(remaining.count)"])
        }
        for channel in remaining { try? await channel.close().get() }
        try? await admin.withLock({ $0 })?.close().get()
        pools.closeAll()
        auditWatch.withLock { $0 }?.cancel()
        for task in healthWatches.withLock({ $0 }) { task.cancel() }
        if let audit {
            // Every exchange has ended and appended its record: write them all out.
            await audit.shutdown()
            logger.notice("audit trail closed", metadata: ["records_written": "\(audit.recordsWritten)",
                                                           "records_dropped": "\(audit.recordsDropped)"])
        }
        // Every exchange's spans have ended: export them before stopping.
        await tracing?.shutdown()
        logger.notice("stopped")
    }

    /// Reopens the audit files by their path: on SIGHUP, after logrotate moved them.
    public func reopenAuditFiles() {
        audit?.reopen()
    }

    /// Logs when the audit trail stops and starts being writable again (the writer itself
    /// retries, see `AuditWriter`), so the operator learns why uploads get 503.
    private func watchAuditHealth(_ audit: AuditWriter) {
        let logger = self.logger
        let wasHealthy = Mutex(true)
        let task = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let healthy = audit.isHealthy
            guard wasHealthy.withLock({ state in defer { state = healthy }; return state != healthy }) else { return }
            if healthy {
                logger.notice("the audit trail is writable again")
            } else {
                logger.error("the audit trail cannot be written", metadata: [
                    "error": "\(audit.lastWriteError.map { "\($0)" } ?? "unknown")",
                ])
            }
        }
        auditWatch.withLock { $0 = task }
    }

    /// `obsgate_ready` from the readiness probe every 5 s, when there is an admin listener to
    /// serve it (the probe opens a connection to the upstream each time);
    /// `obsgate_event_loop_lag_seconds` from a task due every 100 ms on each event loop: how
    /// late it runs is how long the loop's work keeps others waiting.
    private func watchHealth() {
        let metrics = self.metrics
        var tasks: [RepeatedTask] = []
        if configuration.adminListener != nil {
            let readiness = UpstreamReadinessProbe(upstream: configuration.upstream, group: group)
            tasks.append(group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(5)) { _ in
                readiness.check().whenSuccess { metrics.ready($0) }
            })
        }
        let period = TimeAmount.milliseconds(100)
        for (index, loop) in group.makeIterator().enumerated() {
            let due = NIOLockedValueBox(NIODeadline.now() + period)
            tasks.append(loop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
                let now = NIODeadline.now()
                let lag = due.withLockedValue { due in defer { due = now + period }; return now - due }
                metrics.eventLoopLag(loop: index, lag)
            })
        }
        healthWatches.withLock { $0 = tasks }
    }

    /// The Prometheus text of `/metrics`.
    func metricsText() -> String { metrics.text(audit: audit) }

    private func bootstrap(tls: NIOSSLContext?) -> ServerBootstrap {
        let environment = ClientEnvironment(
            preparer: { [preparer] in preparer.withLockedValue { $0 } }, pools: pools, timeouts: configuration.timeouts,
            limits: configuration.limits, responseHeaderRules: configuration.responseHeaderRules, metrics: metrics, audit: audit,
            refusalThrottle: refusalThrottle, tracer: tracing?.tracer,
            logger: logger,
            isTLS: tls != nil)
        let limits = configuration.limits
        let timeouts = configuration.timeouts
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { [quiesce] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // A client that half-closes after its request still gets its answer: the end of
            // its input is an event (`RequestSequencer`, `ClientConnectionHandler`), not a close.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [clientConnections, metrics] channel in
                let address = ConnectionLedger.address(of: channel)
                // The gauge is set under the ledger's lock, so that it moves in order.
                let refusal = clientConnections.withLockedValue { ledger in
                    let refusal = ledger.admit(channel, from: address)
                    metrics.clientConnectionsOpen(ledger.count)
                    return refusal
                }
                if let refusal {
                    metrics.connectionRefused(refusal)
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                        try sync.addHandler(LingeringClose(linger: timeouts.lingeringClose))
                        try sync.addHandler(ConnectionLimitRefusal())
                    }
                }
                channel.closeFuture.whenComplete { _ in
                    clientConnections.withLockedValue { ledger in
                        ledger.remove(channel)
                        metrics.clientConnectionsOpen(ledger.count)
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureClientPipeline(channel, tls: tls, limits: limits, timeouts: timeouts,
                                                     environment: environment)
                }
            }
    }

    /// The client connection's pipeline, protections on by default:
    ///
    ///     [TLS] → lingering close → idle and head deadlines → HTTP/1.1 decoder with header
    ///     limits, encoder → one request at a time → gateway handler (which answers broken
    ///     HTTP 400)
    public static func configureClientPipeline(_ channel: any Channel, tls: NIOSSLContext?, limits: GatewayConfiguration.Limits,
                                        timeouts: GatewayConfiguration.Timeouts,
                                        environment: ClientEnvironment) throws {
        let sync = channel.pipeline.syncOperations
        if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
        try sync.addHandler(LingeringClose(linger: timeouts.lingeringClose))
        try sync.addHandler(RequestHeadDeadlineHandler(idle: timeouts.clientIdle,
                                                       head: timeouts.requestHead))
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                             withOutboundHeaderValidation: true, withEncoderConfiguration: .init(),
                                             withDecoderLimitConfiguration: decoderLimits)
        try sync.addHandler(RequestSequencer())
        try sync.addHandler(ClientConnectionHandler(environment: environment))
    }

    static func serverTLSContext(chain: [NIOSSLCertificate], privateKey: String) throws -> NIOSSLContext {
        // Read as PEM whatever the file is called: `.file` guesses the format from the
        // extension, and a Kubernetes TLS Secret mounts its key as `tls.key`.
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem)))
        return try NIOSSLContext(configuration: configuration)
    }

    static func upstreamTLSContext(_ upstream: GatewayConfiguration.Upstream) throws -> NIOSSLContext? {
        guard upstream.usesTLS else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let bundle = upstream.caBundle { configuration.trustRoots = .file(bundle) }
        return try NIOSSLContext(configuration: configuration)
    }
}
