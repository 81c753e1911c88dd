import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's own use of the machine under the names Prometheus client libraries give
/// it (`process_*`), read from /proc when `/metrics` is scraped: what a dashboard plots as
/// memory and file descriptors and what an alert compares with the descriptor limit.
struct ProcessMetrics: Equatable {
    var cpuSeconds: Double
    var residentBytes: Int
    var virtualBytes: Int
    var openFDs: Int
    /// The soft limit on open files; nil when it is unlimited.
    var maxFDs: Int?
    var startTimeSeconds: Double

    /// The metrics of this process; nil where /proc cannot be read (not Linux).
    static func read() -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let systemStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        else { return nil }
        return ProcessMetrics(stat: stat, systemStat: systemStat,
                              limits: try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8),
                              openFDs: descriptors.count, ticksPerSecond: sysconf(Int32(_SC_CLK_TCK)),
                              pageSize: sysconf(Int32(_SC_PAGESIZE)))
    }

    /// From the texts of /proc/self/stat, /proc/stat and /proc/self/limits (proc(5)).
    /// /proc/self/stat is `pid (comm) state ppid …`, and `comm` may itself hold spaces and
    /// parentheses: the fields are counted from the last `)`. After it, field 3 (state) is
    /// the first; utime and stime (14, 15) and starttime (22) are in clock ticks, vsize (23)
    /// in bytes, rss (24) in pages. /proc/stat's `btime` is the boot time in seconds since
    /// the epoch; starttime counts from it.
    init?(stat: String, systemStat: String, limits: String?, openFDs: Int, ticksPerSecond: Int, pageSize: Int) {
        guard let close = stat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> Int? { fields.count > number - 3 ? Int(fields[number - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
              let rss = field(24),
              let bootLine = systemStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Int(bootLine.dropFirst("btime ".count).trimmingOWS)
        else { return nil }
        cpuSeconds = Double(utime + stime) / Double(ticksPerSecond)
        residentBytes = rss * pageSize
        virtualBytes = vsize
        self.openFDs = openFDs
        // "Max open files            1048576              1048576              files"
        let openFiles = limits?.split(separator: "\n").first { $0.hasPrefix("Max open files") }
        maxFDs = openFiles.flatMap { line in
            line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true).first
                .flatMap { Int($0) }
        }
        startTimeSeconds = Double(boot) + Double(start) / Double(ticksPerSecond)
    }

    /// The Prometheus text exposition.
    var text: String {
        var metrics: [(name: String, type: String, help: String, value: String)] = [
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", "\(cpuSeconds)"),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(residentBytes)"),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(virtualBytes)"),
            ("process_open_fds", "gauge", "Number of open file descriptors.", "\(openFDs)"),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
             "\(startTimeSeconds)"),
        ]
        if let maxFDs {
            metrics.append(("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(maxFDs)"))
        }
        return metrics.map { "# HELP \($0.name) \($0.help)\n# TYPE \($0.name) \($0.type)\n\($0.name) \($0.value)\n" }.joined()
    }
}
