import Foundation

/// Polls until the condition holds, for up to `timeout`: live tests wait on what they
/// expect, never for a fixed time.
func eventually(timeout: Duration = .seconds(10), interval: Duration = .milliseconds(20),
                _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// The value of an unlabelled sample in a Prometheus text exposition, e.g.
/// `obsgate_reload_failures_total 1`; nil when the metric is not there.
func sample(_ name: String, in exposition: String) -> Double? {
    exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        .flatMap { Double($0.dropFirst(name.count + 1)) }
}
