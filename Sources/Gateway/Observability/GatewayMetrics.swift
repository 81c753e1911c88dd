import Audit
import CoreMetrics
import Prometheus

/// The gateway's metrics, in the Prometheus text format on the admin listener's
/// `/metrics` (swift-metrics API, swift-prometheus registry). Names and labels:
///
///     obsgate_requests_total{operation, decision, status_class}       counter
///     obsgate_requests_in_flight                                       gauge (request head read, exchange not ended)
///     obsgate_request_duration_seconds{operation}                      histogram (whole request)
///     obsgate_upstream_duration_seconds{operation}                     histogram (upstream head sent → response end)
///     obsgate_bytes_received_total, obsgate_bytes_sent_total           counter (client side)
///     obsgate_policy_evaluations_total{rule}                           counter (rules that matched)
///     obsgate_policy_denials_total{rule}                               counter
///     obsgate_policy_info{version}                                     gauge, 1 for the policy in force
///     obsgate_reloads_total, obsgate_reload_failures_total             counter
///     obsgate_upstream_connections_opened_total                        counter
///     obsgate_upstream_connect_errors_total                            counter
///     obsgate_upstream_idle_connections                                gauge (pooled, all event loops)
///     obsgate_audit_records_written_total, _dropped_total               counter
///     obsgate_audit_queue_depth                                        gauge
///     obsgate_audit_write_errors_total                                 counter
///     obsgate_audit_fail_open_admissions_total                         counter
///     obsgate_audit_fail_closed_refusals_total                         counter
///     obsgate_audit_queue_capacity                                     gauge (audit.queue_capacity)
///     obsgate_audit_healthy                                            gauge, 1 or 0
///     obsgate_client_connections                                       gauge (open client connections)
///     obsgate_client_connections_limit{limit}                          gauge (limits.max_connections[_per_address])
///     obsgate_client_connections_refused_total{limit}                  counter
///     process_cpu_seconds_total, process_resident_memory_bytes,        the process (from /proc, at
///     process_virtual_memory_bytes, process_open_fds, process_max_fds, scrape time; Linux only)
///     process_start_time_seconds
///
/// The metrics are made through an explicit factory rather than the process-wide
/// `MetricsSystem`, so several gateways (as in tests) keep separate registries.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    // The unlabelled metrics, made once: making one looks it up in the registry under a
    // lock all event loops share. (Labelled ones are looked up by their labels per use.)
    private let inFlight: CoreMetrics.Meter
    private let bytesReceived: CoreMetrics.Counter
    private let bytesSent: CoreMetrics.Counter
    private let reloads: CoreMetrics.Counter
    private let reloadFailures: CoreMetrics.Counter
    private let upstreamOpened: CoreMetrics.Counter
    private let upstreamConnectErrors: CoreMetrics.Counter
    private let upstreamIdle: CoreMetrics.Meter
    private let clientConnections: CoreMetrics.Meter
    private let auditSuppressed: CoreMetrics.Counter
    // The labelled metrics of every request, kept per label values.
    private let requests: LabelledMetrics<RequestLabels, CoreMetrics.Counter>
    private let requestDurations: LabelledMetrics<String, CoreMetrics.Timer>
    private let upstreamDurations: LabelledMetrics<String, CoreMetrics.Timer>
    let upstreamResponses: LabelledMetrics<UpstreamResponseLabels, CoreMetrics.Counter>
    private let policyEvaluations: LabelledMetrics<String, CoreMetrics.Counter>

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), limits: GatewayConfiguration.Limits? = nil) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        self.factory = factory
        inFlight = CoreMetrics.Meter(label: "obsgate_requests_in_flight", factory: factory)
        bytesReceived = CoreMetrics.Counter(label: "obsgate_bytes_received_total", factory: factory)
        bytesSent = CoreMetrics.Counter(label: "obsgate_bytes_sent_total", factory: factory)
        reloads = CoreMetrics.Counter(label: "obsgate_reloads_total", factory: factory)
        reloadFailures = CoreMetrics.Counter(label: "obsgate_reload_failures_total", factory: factory)
        upstreamOpened = CoreMetrics.Counter(label: "obsgate_upstream_connections_opened_total", factory: factory)
        upstreamConnectErrors = CoreMetrics.Counter(label: "obsgate_upstream_connect_errors_total", factory: factory)
        upstreamIdle = CoreMetrics.Meter(label: "obsgate_upstream_idle_connections", factory: factory)
        clientConnections = CoreMetrics.Meter(label: "obsgate_client_connections", factory: factory)
        auditSuppressed = CoreMetrics.Counter(label: "obsgate_audit_records_suppressed_total", factory: factory)
        requests = LabelledMetrics { [factory] labels in
            CoreMetrics.Counter(label: "obsgate_requests_total", dimensions: [
                ("operation", labels.operation), ("decision", labels.decision), ("status_class", labels.statusClass),
            ], factory: factory)
        }
        requestDurations = LabelledMetrics { [factory] operation in
            CoreMetrics.Timer(label: "obsgate_request_duration_seconds", dimensions: [("operation", operation)], factory: factory)
        }
        upstreamDurations = LabelledMetrics { [factory] operation in
            CoreMetrics.Timer(label: "obsgate_upstream_duration_seconds", dimensions: [("operation", operation)], factory: factory)
        }
        upstreamResponses = LabelledMetrics { [factory] labels in
            CoreMetrics.Counter(label: "obsgate_upstream_responses_total",
                                dimensions: [("operation", labels.operation), ("status_class", labels.statusClass)], factory: factory)
        }
        policyEvaluations = LabelledMetrics { [factory] rule in
            CoreMetrics.Counter(label: "obsgate_policy_evaluations_total", dimensions: [("rule", rule)], factory: factory)
        }
        // Present from the start, so a scrape shows them at zero rather than missing.
        for counter in [bytesReceived, bytesSent, reloads, reloadFailures, upstreamOpened, upstreamConnectErrors, auditSuppressed] {
            counter.increment(by: 0)
        }
        inFlight.set(0)
        upstreamIdle.set(0)
        clientConnections.set(0)
        for limit in ConnectionLedger.Refusal.allCases { connectionRefused(limit, count: 0) }
        if let limits {
            for (limit, value) in [(ConnectionLedger.Refusal.total, limits.maxConnections),
                                   (.perAddress, limits.maxConnectionsPerAddress)] {
                CoreMetrics.Gauge(label: "obsgate_client_connections_limit", dimensions: [("limit", limit.rawValue)],
                                  factory: factory).record(value)
            }
        }
    }

    func requestStarted() {
        inFlight.increment(by: 1)
    }

    func requestFinished(operation: String, decision: String, status: Int?, duration: Duration,
                         upstreamDuration: Duration?, bytesIn: Int, bytesOut: Int) {
        countRequest(operation: operation, decision: decision, status: status)
        requestDurations[operation].recordNanoseconds(duration.nanoseconds)
        if let upstreamDuration {
            upstreamDurations[operation].recordNanoseconds(upstreamDuration.nanoseconds)
        }
        bytesReceived.increment(by: Int64(bytesIn))
        bytesSent.increment(by: Int64(bytesOut))
        // Last: a scrape (on another thread) that sees the request no longer in flight must
        // also see it counted. Decremented first, a scrape in between read an ended
        // request as neither in flight nor counted (MetricsTests flaked on exactly that).
        inFlight.decrement(by: 1)
    }

    /// Bytes that never became a request head, answered 400 by the HTTP layer.
    func unparsableRequest() {
        countRequest(operation: "Unknown", decision: "refused", status: 400)
    }

    private func countRequest(operation: String, decision: String, status: Int?) {
        let statusClass = status.map { "\($0 / 100)xx" } ?? "none"
        requests[RequestLabels(operation: operation, decision: decision, statusClass: statusClass)].increment()
    }

    func policyEvaluated(matchedRules: [String], deniedBy: String?) {
        for rule in matchedRules {
            policyEvaluations[rule].increment()
        }
        if let deniedBy {
            CoreMetrics.Counter(label: "obsgate_policy_denials_total", dimensions: [("rule", deniedBy)], factory: factory).increment()
        }
    }

    func policyInForce(version: String?, replacing previous: String?) {
        if let previous {
            CoreMetrics.Gauge(label: "obsgate_policy_info", dimensions: [("version", previous)], factory: factory).record(0)
        }
        CoreMetrics.Gauge(label: "obsgate_policy_info", dimensions: [("version", version ?? "none")], factory: factory).record(1)
    }

    func reloaded(succeeded: Bool) {
        (succeeded ? reloads : reloadFailures).increment()
    }

    func upstreamConnectionOpened() {
        upstreamOpened.increment()
    }

    func upstreamConnectFailed() {
        upstreamConnectErrors.increment()
    }

    /// A record of an unauthenticated refusal left out of the audit trail (over the
    /// per-address limit).
    func auditRecordSuppressed() {
        auditSuppressed.increment()
    }

    func clientConnectionsOpen(_ count: Int) {
        clientConnections.set(Double(count))
    }

    /// A client connection refused over a cap (`count` 0 only registers the series).
    func connectionRefused(_ limit: ConnectionLedger.Refusal, count: Int = 1) {
        CoreMetrics.Counter(label: "obsgate_client_connections_refused_total", dimensions: [("limit", limit.rawValue)],
                            factory: factory).increment(by: count)
    }

    func upstreamIdleConnections(changedBy delta: Int) {
        upstreamIdle.increment(by: Double(delta))
    }

    /// The Prometheus text exposition of every metric.
    public func text(audit: AuditWriter? = nil) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return "# HELP obsgate_up Whether the gateway process is running.\n# TYPE obsgate_up gauge\nobsgate_up 1\n"
            + (audit.map(Self.auditText) ?? "")
            + (ProcessMetrics.read()?.text ?? "")
            + String(decoding: buffer, as: UTF8.self)
    }

    /// The audit writer's counters, read at scrape time (the writer keeps them itself, on
    /// its own thread).
    static func auditText(_ audit: AuditWriter) -> String {
        let metrics: [(name: String, type: String, help: String, value: Int)] = [
            ("obsgate_audit_records_written_total", "counter", "Audit records durable in every sink.", audit.recordsWritten),
            ("obsgate_audit_records_dropped_total", "counter", "Audit records given up (queue full, shutdown).", audit.recordsDropped),
            ("obsgate_audit_queue_depth", "gauge", "Audit records appended and not yet durable.", audit.queueDepth),
            ("obsgate_audit_write_errors_total", "counter", "Failed attempts to open, write or sync an audit sink.", audit.writeErrors),
            ("obsgate_audit_fail_open_admissions_total", "counter",
             "Requests that change stored data let through while the audit trail was unhealthy (fail_closed: false).",
             audit.failOpenAdmissions),
            ("obsgate_audit_fail_closed_refusals_total", "counter",
             "Requests that change stored data answered 503 because the audit trail could not take their record (fail_closed: true).",
             audit.failClosedRefusals),
            ("obsgate_audit_queue_capacity", "gauge", "The most audit records the queue holds (audit.queue_capacity).",
             audit.queueCapacity),
            ("obsgate_audit_healthy", "gauge", "1 while every audit sink can be written, else 0.", audit.isHealthy ? 1 : 0),
        ]
        return metrics.map { "# HELP \($0.name) \($0.help)\n# TYPE \($0.name) \($0.type)\n\($0.name) \($0.value)\n" }.joined()
    }
}

private extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
