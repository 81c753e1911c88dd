import Foundation
import Testing
@testable import Gateway

/// The `process_*` metrics: parsed from /proc's texts exactly, and read for real here.
@Suite struct ProcessMetricsTests {
    // A command name with a space and a parenthesis: the fields count from the last ')'.
    static let stat = "4242 (obsgate (x) y) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 150 0 0 20 0 9 0 "
        + "123400 734003200 5120 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
    static let systemStat = "cpu  1 2 3 4\nintr 5\nbtime 1764720000\nprocesses 77\n"
    static let limits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max cpu time              unlimited            unlimited            seconds
        Max open files            65536                1048576              files
        """

    @Test func theFieldsOfProcStatAreReadFromTheLastParenthesis() throws {
        let metrics = try #require(ProcessMetrics(stat: Self.stat, systemStat: Self.systemStat, limits: Self.limits,
                                                  openFDs: 12, ticksPerSecond: 100, pageSize: 4096))
        #expect(metrics.cpuSeconds == 4.0)
        #expect(metrics.residentBytes == 5120 * 4096)
        #expect(metrics.virtualBytes == 734_003_200)
        #expect(metrics.openFDs == 12)
        #expect(metrics.maxFDs == 65536)
        #expect(metrics.startTimeSeconds == 1_764_721_234.0)
        #expect(metrics.text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 4.0\n"))
        #expect(metrics.text.contains("\nprocess_max_fds 65536\n"))
    }

    @Test func anUnlimitedOrMissingDescriptorLimitIsLeftOut() throws {
        let unlimited = Self.limits.replacingOccurrences(of: "65536                1048576", with: "unlimited            unlimited")
        for limits in [unlimited, nil] {
            let metrics = try #require(ProcessMetrics(stat: Self.stat, systemStat: Self.systemStat, limits: limits,
                                                      openFDs: 1, ticksPerSecond: 100, pageSize: 4096))
            #expect(metrics.maxFDs == nil)
            #expect(!metrics.text.contains("process_max_fds"))
        }
    }

    @Test func truncatedTextsGiveNoMetrics() {
        #expect(ProcessMetrics(stat: "4242 (obsgate) S 1 2 3", systemStat: Self.systemStat, limits: nil,
                               openFDs: 1, ticksPerSecond: 100, pageSize: 4096) == nil)
        #expect(ProcessMetrics(stat: Self.stat, systemStat: "cpu 1 2 3\n", limits: nil,
                               openFDs: 1, ticksPerSecond: 100, pageSize: 4096) == nil)
    }

    #if os(Linux)
    @Test func thisProcessIsMeasured() throws {
        let metrics = try #require(ProcessMetrics.read())
        #expect(metrics.residentBytes > 1 << 20)
        #expect(metrics.openFDs >= 3)
        #expect(metrics.startTimeSeconds <= Date().timeIntervalSince1970)
        #expect(metrics.startTimeSeconds > Date().timeIntervalSince1970 - 86_400)
    }
    #endif
}
