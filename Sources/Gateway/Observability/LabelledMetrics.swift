import Synchronization

/// `obsgate_requests_total`'s labels.
struct RequestLabels: Hashable, Sendable {
    var operation: String
    var decision: String
    var statusClass: String
}

/// `obsgate_upstream_responses_total`'s labels.
struct UpstreamResponseLabels: Hashable, Sendable {
    var operation: String
    var statusClass: String
}

/// A labelled metric's handles, made once per label values and kept. Making a handle
/// allocates it and its dimensions and looks the series up in the registry under a lock
/// that every event loop shares; the request path did that several times per request.
/// Label values are few (operations, decisions, status classes, rule ids), but a policy
/// reload can bring new rule ids, so the handles are dropped when there are `capacity` of
/// them (the registry keeps the series; a handle made again finds it).
///
/// `Labels` is a metric's label values: a struct of them, or the one value of a metric with
/// one label.
final class LabelledMetrics<Labels: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = Mutex<[Labels: Handle]>([:])
    private let capacity: Int
    private let make: @Sendable (Labels) -> Handle

    init(capacity: Int = 4096, make: @escaping @Sendable (Labels) -> Handle) {
        self.capacity = capacity
        self.make = make
    }

    subscript(_ values: Labels) -> Handle {
        if let handle = handles.withLock({ $0[values] }) { return handle }
        let handle = make(values)
        handles.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[values] = handle
        }
        return handle
    }
}
