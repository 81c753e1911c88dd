import Audit
import Logging
import NIOConcurrencyHelpers
import Tracing

/// What every client connection's handler shares: the request phases in force, the
/// upstream pools, the limits and timeouts, and where the records of exchanges go. Public
/// so that a client pipeline can be built on an `EmbeddedChannel` outside this module
/// (bench/micro) with `GatewayServer.configureClientPipeline`.
public struct ClientEnvironment: Sendable {
    /// The preparer in force for a new request (it changes on reload).
    let preparer: @Sendable () -> RequestPreparer
    let pools: UpstreamPools
    let timeouts: GatewayConfiguration.Timeouts
    let limits: GatewayConfiguration.Limits
    let responseHeaderRules: [ResponseHeaderRule]
    var metrics: GatewayMetrics? = nil
    /// Where each exchange's audit record goes; nil without an `audit:` section.
    var audit: AuditWriter? = nil
    /// Limits the records of unauthenticated refusals per client address; shared by
    /// every connection (nil: no limit).
    var refusalThrottle: NIOLockedValueBox<AuditRefusalThrottle>? = nil
    /// Each exchange becomes a trace (`tracing.otlp`); nil: tracing is off.
    var tracer: (any Tracer)? = nil
    let logger: Logger
    let isTLS: Bool

    public init(preparer: @escaping @Sendable () -> RequestPreparer, pools: UpstreamPools,
                timeouts: GatewayConfiguration.Timeouts, limits: GatewayConfiguration.Limits,
                responseHeaderRules: [ResponseHeaderRule], metrics: GatewayMetrics? = nil, audit: AuditWriter? = nil,
                refusalThrottle: NIOLockedValueBox<AuditRefusalThrottle>? = nil, tracer: (any Tracer)? = nil,
                logger: Logger, isTLS: Bool) {
        self.preparer = preparer
        self.pools = pools
        self.timeouts = timeouts
        self.limits = limits
        self.responseHeaderRules = responseHeaderRules
        self.metrics = metrics
        self.audit = audit
        self.refusalThrottle = refusalThrottle
        self.tracer = tracer
        self.logger = logger
        self.isTLS = isTLS
    }
}
