import Audit
import Logging
import NIOConcurrencyHelpers

extension ClientConnectionHandler {
    /// What every connection's handler shares: the request phases in force, the upstream
    /// pools, the limits and timeouts, and where the records of exchanges go.
    struct Environment: Sendable {
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
        let logger: Logger
        let isTLS: Bool
    }
}
