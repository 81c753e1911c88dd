import Foundation
import NIOCore
import S3Core
import YAMLConfig

/// How many event loops (one thread each) serve the gateway's connections: `event_loops`.
///
/// A loop more than the CPUs the process may run on only adds context switches: two loops
/// pinned to one CPU (`taskset -c 1`, a cpuset) take turns on it, and each turn costs what a
/// request's own work does. So `auto` counts the CPUs the process may actually use, as
/// nginx's `worker_processes auto` and Go's `GOMAXPROCS` do.
public enum EventLoopCount: Sendable, Equatable {
    /// One per CPU the process may run on: the fewer of its CPU affinity and what SwiftNIO
    /// reads of its cgroup's CPU quota and cpuset.
    case auto
    case fixed(Int)

    /// The most loops `event_loops` may name.
    public static let maximum = 1024

    /// `auto`, or a count from 1 to `maximum`.
    static func parse(_ node: YAMLNode) throws(ConfigError) -> EventLoopCount {
        if (try? node.string()) == "auto" { return .auto }
        do throws(ConfigError) {
            return .fixed(try node.int(in: 1...maximum))
        } catch {
            throw node.error("expected auto or a count from 1 to \(maximum)")
        }
    }

    /// The number of loops to start.
    public func resolved() -> Int {
        switch self {
        case .fixed(let count): return count
        case .auto: return Self.auto(affinity: Self.affinityCPUCount(), quota: System.coreCount)
        }
    }

    /// `auto` from the affinity's CPU count (nil when it cannot be read) and the quota's.
    static func auto(affinity: Int?, quota: Int) -> Int {
        max(1, min(affinity ?? quota, quota))
    }

    /// How many CPUs this process may run on (its `sched_getaffinity(2)` mask, which the
    /// kernel shows in /proc/self/status); nil where that cannot be read.
    static func affinityCPUCount() -> Int? {
        // sched_getaffinity is a GNU extension Glibc's module does not export.
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return allowedCPUCount(status: status)
    }

    /// The CPUs of the `Cpus_allowed:` line of a proc(5) status text: a mask in hex words
    /// separated by commas (`ff,ffffffff`); nil without the line or with an empty mask.
    static func allowedCPUCount(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        var count = 0
        for byte in line.utf8.dropFirst("Cpus_allowed:".utf8.count) where byte != 0x2C && byte != 0x20 && byte != 0x09 {
            guard let nibble = PercentEncoding.hexValue(byte) else { return nil }
            count += nibble.nonzeroBitCount
        }
        return count > 0 ? count : nil
    }
}
