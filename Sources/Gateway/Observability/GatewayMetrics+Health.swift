import CoreMetrics
import NIOCore
import S3Core

/// The metrics that say whether a gateway is healthy and who is probing it:
///
///     obsgate_ready                                                    gauge, 1 when /readyz would answer 200
///     obsgate_denials_by_principal_total{principal, reason}           counter
///     obsgate_event_loop_lag_seconds{loop}                             histogram
///     obsgate_tls_certificate_expiry_timestamp_seconds{listener}      gauge (notAfter of the served leaf)
///     obsgate_upstream_responses_total{operation, status_class}       counter (the upstream's own answers)
extension GatewayMetrics {
    /// Why a request was refused at authentication or denied by the policy.
    enum DenialReason: String, CaseIterable {
        case policy, signature, unknownKey = "unknown_key", skew, unsigned, other

        /// The reason of a refusal in `authenticate`, from its S3 error code.
        init(authenticationError code: String?, signed: Bool) {
            switch code {
            case "SignatureDoesNotMatch": self = .signature
            case "InvalidAccessKeyId": self = .unknownKey
            case "RequestTimeTooSkewed": self = .skew
            default: self = signed ? .other : .unsigned
            }
        }
    }

    func ready(_ ready: Bool) {
        CoreMetrics.Gauge(label: "obsgate_ready", factory: factory).record(ready ? 1 : 0)
    }

    /// `principal` is a principal of the credentials file, `unknown` or `anonymous`: never a
    /// text the client chose, which would let anyone make series.
    func denied(principal: String, reason: DenialReason) {
        CoreMetrics.Counter(label: "obsgate_denials_by_principal_total",
                            dimensions: [("principal", principal), ("reason", reason.rawValue)], factory: factory).increment()
    }

    func eventLoopLag(loop: Int, _ lag: TimeAmount) {
        CoreMetrics.Timer(label: "obsgate_event_loop_lag_seconds", dimensions: [("loop", String(loop))], factory: factory)
            .recordNanoseconds(max(0, lag.nanoseconds))
    }

    func tlsCertificateExpires(listener: String, atEpochSeconds seconds: Int) {
        CoreMetrics.Gauge(label: "obsgate_tls_certificate_expiry_timestamp_seconds", dimensions: [("listener", listener)],
                          factory: factory).record(seconds)
    }

    func upstreamResponded(operation: String, status: Int) {
        upstreamResponses[UpstreamResponseLabels(operation: operation, statusClass: "\(status / 100)xx")].increment()
    }
}
