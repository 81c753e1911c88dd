import NIOHTTP1
import S3Core
import Tracing

/// One exchange as an OpenTelemetry trace (`tracing.otlp`): a server span for the
/// exchange, continuing the client's W3C `traceparent`, with a child span per request phase
/// that ran, `upstream connect`, `upstream` (a client span whose context goes upstream as
/// `traceparent`) and `audit`. Made only when tracing is on: with it off the exchange has
/// none, and nothing here runs.
final class ExchangeTrace {
    private let tracer: any Tracer
    let root: any Span
    private var connect: (any Span)?
    private var upstream: (any Span)?

    init(tracer: any Tracer, clientHeaders: HeaderFields) {
        self.tracer = tracer
        var parent = ServiceContext.topLevel
        // Only the two trace fields: the tracer logs a carrier it cannot read, and the
        // head carries the client's credentials.
        tracer.extract(TraceFields(traceparent: clientHeaders["traceparent"], tracestate: clientHeaders["tracestate"]),
                       into: &parent, using: TraceFields.Extractor())
        root = tracer.startSpan("obsgate exchange", context: parent, ofKind: .server)
    }

    /// The request phases that ran, each a child span over the time it took; the one that
    /// refused the request (if any) marked as the error.
    func phases(_ times: [PhaseTime], refusedIn: RequestPhase?, error: S3Error?) {
        for time in times {
            let span = tracer.startSpan(time.phase.rawValue, context: root.context, ofKind: .internal,
                                        at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: time.start))
            if time.phase == refusedIn, let error {
                span.setStatus(SpanStatus(code: .error, message: "\(error.status) \(error.code)"))
            }
            span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: time.end))
        }
    }

    func connecting() {
        connect = tracer.startSpan("upstream connect", context: root.context, ofKind: .internal)
    }

    func connected(failure: S3Error? = nil) {
        if let failure { connect?.setStatus(SpanStatus(code: .error, message: "\(failure.status) \(failure.code)")) }
        connect?.end()
        connect = nil
    }

    /// The upstream request starts: its span's context goes in its head (the signatures
    /// do not cover `traceparent`), replacing the client's.
    func upstreamRequest(_ headers: inout HTTPHeaders) {
        // A retry on a fresh connection (a pooled one the upstream had closed): the first
        // attempt's span ends as failed.
        if let attempt = upstream {
            attempt.setStatus(SpanStatus(code: .error, message: "the pooled connection was closed; retried"))
            attempt.end()
        }
        let span = tracer.startSpan("upstream", context: root.context, ofKind: .client)
        headers.remove(name: "traceparent")
        headers.remove(name: "tracestate")
        tracer.inject(span.context, into: &headers, using: TraceFields.Injector())
        upstream = span
    }

    /// The exchange is over: the upstream span ends with the upstream's status, the audit
    /// record's append is a span of its own (`appendAudit`), and the exchange's span gets
    /// what the record says.
    func finish(_ attributes: [(String, String)], status: Int?, upstreamStatus: Int?, failed: Bool, appendAudit: () -> Void) {
        if let upstream {
            if let upstreamStatus { upstream.attributes["http.response.status_code"] = upstreamStatus }
            if failed { upstream.setStatus(SpanStatus(code: .error)) }
            upstream.end()
        }
        connected()
        let audit = tracer.startSpan("audit", context: root.context, ofKind: .internal)
        appendAudit()
        audit.end()
        for (name, value) in attributes { root.attributes[name] = value }
        if let status { root.attributes["http.response.status_code"] = status }
        if failed || (status ?? 0) >= 500 { root.setStatus(SpanStatus(code: .error)) }
        root.end()
    }
}

/// How long one request phase took, on the tracer's clock, recorded while tracing is on.
struct PhaseTime: Sendable {
    let phase: RequestPhase
    let start: UInt64
    let end: UInt64
}

/// The W3C Trace Context fields of a head (and nothing else of it).
struct TraceFields: Sendable {
    var traceparent: String?
    var tracestate: String?

    struct Extractor: Tracing.Extractor {
        func extract(key: String, from carrier: TraceFields) -> String? {
            switch key {
            case "traceparent": carrier.traceparent
            case "tracestate": carrier.tracestate
            default: nil
            }
        }
    }

    struct Injector: Tracing.Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
            carrier.replaceOrAdd(name: key, value: value)
        }
    }
}
