import S3Core

/// How an exchange ended, in one value: which side ended it — the upstream answering, a
/// gateway phase refusing, the upstream failing, the client going away — and with which
/// S3 error. The log line, the metrics labels and the audit record are all read from it
/// (`Exchange+Audit.swift`), so they cannot disagree.
enum ExchangeOutcome: Equatable, Sendable {
    /// The upstream's answer reached the client whole, whatever its status; `errorCode`
    /// is the S3 error code of an error answer.
    case answered(errorCode: String?)
    /// A gateway phase refused the request; the client got `error` (or, when the
    /// response had already begun, a closed connection).
    case refused(RequestPhase, S3Error)
    /// The client was too slow (`RequestTimeout`: its body paused past `body_idle`, its
    /// form's fields took longer than `form_fields`).
    case clientTimedOut(S3Error)
    /// The upstream could not be reached, closed early or did not answer in time, before
    /// the client got anything: the client got the gateway's 502/504.
    case upstreamFailed(S3Error)
    /// The upstream failed after the response had begun: the connection was closed
    /// (`UpstreamClosedMidResponse`, `UpstreamIdleTimeout`).
    case upstreamCut(code: String)
    /// The client went away (`ClientDisconnected`) or broke HTTP (`ClientProtocolError`)
    /// before the exchange ended.
    case clientGone(code: String)

    /// The error code the log line and the audit record show.
    var errorCode: String? {
        switch self {
        case .answered(let code): code
        case .refused(_, let error), .clientTimedOut(let error), .upstreamFailed(let error): error.code
        case .upstreamCut(let code), .clientGone(let code): code
        }
    }

    /// The phase that refused, for a refusal.
    var refusingPhase: RequestPhase? {
        if case .refused(let phase, _) = self { return phase }
        return nil
    }
}
