import Synchronization

/// The values of a labelled metric's labels, in the order of its dimensions (unused ones
/// empty).
struct LabelValues: Hashable, Sendable {
    var first: String
    var second = ""
    var third = ""
}

/// A labelled metric's handles, made once per label values and kept. Making a handle
/// allocates it and its dimensions and looks the series up in the registry under a lock
/// that every event loop shares; the request path did that several times per request.
/// Label values are few (operations, decisions, status classes, rule ids), but a policy
/// reload can bring new rule ids, so the handles are dropped when there are `capacity` of
/// them (the registry keeps the series; a handle made again finds it).
final class LabelledMetrics<Handle: Sendable>: Sendable {
    private let handles = Mutex<[LabelValues: Handle]>([:])
    private let capacity: Int
    private let make: @Sendable (LabelValues) -> Handle

    init(capacity: Int = 4096, make: @escaping @Sendable (LabelValues) -> Handle) {
        self.capacity = capacity
        self.make = make
    }

    subscript(_ values: LabelValues) -> Handle {
        if let handle = handles.withLock({ $0[values] }) { return handle }
        let handle = make(values)
        handles.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[values] = handle
        }
        return handle
    }
}
