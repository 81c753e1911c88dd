import Synchronization
import Testing
@testable import Gateway

/// Labelled metric handles are made once per label values, and dropped when too many.
@Suite struct LabelledMetricsTests {
    final class MadeCount: Sendable {
        let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
    }

    @Test func aHandleIsMadeOncePerLabelValuesAndAgainAfterTheCapacityIsReached() {
        let made = MadeCount()
        let metrics = LabelledMetrics<RequestLabels, String>(capacity: 2) { labels in
            made.value.withLock { $0 += 1 }
            return "\(labels.operation)|\(labels.decision)|\(labels.statusClass)"
        }
        #expect(metrics[RequestLabels(operation: "PutObject", decision: "allow", statusClass: "2xx")] == "PutObject|allow|2xx")
        #expect(metrics[RequestLabels(operation: "PutObject", decision: "allow", statusClass: "2xx")] == "PutObject|allow|2xx")
        #expect(made.count == 1)
        #expect(metrics[RequestLabels(operation: "PutObject", decision: "allow", statusClass: "4xx")] == "PutObject|allow|4xx")
        #expect(made.count == 2, "other values are another handle")
        #expect(metrics[RequestLabels(operation: "GetObject", decision: "deny", statusClass: "4xx")] == "GetObject|deny|4xx")
        #expect(made.count == 3)
        #expect(metrics[RequestLabels(operation: "PutObject", decision: "allow", statusClass: "2xx")] == "PutObject|allow|2xx")
        #expect(made.count == 4, "the handles were dropped at the capacity and made again")
    }

    @Test func cachedHandlesCountIntoTheRegistry() {
        let metrics = GatewayMetrics()
        for _ in 0..<3 { metrics.upstreamResponded(operation: "GetObject", status: 200) }
        metrics.upstreamResponded(operation: "GetObject", status: 503)
        var bytes: [UInt8] = []
        metrics.registry.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"obsgate_upstream_responses_total{operation="GetObject",status_class="2xx"} 3"#), "\(text)")
        #expect(text.contains(#"obsgate_upstream_responses_total{operation="GetObject",status_class="5xx"} 1"#), "\(text)")
    }
}
