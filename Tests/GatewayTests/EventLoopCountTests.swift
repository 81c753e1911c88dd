import Testing
import YAMLConfig
@testable import Gateway

/// `event_loops`: how many event loops serve connections.
@Suite struct EventLoopCountTests {
    @Test func withoutTheKeyTheCountFollowsTheCPUsTheProcessMayUse() throws {
        #expect(try TestSetup.configuration().eventLoops == .auto)
        #expect(try TestSetup.configuration(TestSetup.configurationYAML(extra: "event_loops: auto")).eventLoops == .auto)
    }

    @Test(arguments: [1, 3, EventLoopCount.maximum])
    func aCountIsTakenAsWritten(_ count: Int) throws {
        let configuration = try TestSetup.configuration(TestSetup.configurationYAML(extra: "event_loops: \(count)"))
        #expect(configuration.eventLoops == .fixed(count))
        #expect(configuration.eventLoops.resolved() == count)
    }

    @Test(arguments: ["0", "-1", "1025", "many", "2.5", "[2]"])
    func anythingElseIsAnErrorThatSaysWhatIsExpected(_ value: String) {
        let error = #expect(throws: ConfigError.self) {
            try TestSetup.configuration(TestSetup.configurationYAML(extra: "event_loops: \(value)"))
        }
        #expect(error?.message.contains("expected auto or a count from 1 to 1024") == true, "\(value): \(String(describing: error))")
    }

    /// A process pinned to fewer CPUs than its quota allows gets one loop per pinned CPU;
    /// a quota below the affinity wins; an unreadable affinity leaves the quota.
    @Test(arguments: [(1, 2, 1), (2, 2, 2), (8, 2, 2), (nil, 4, 4), (3, 16, 3)] as [(Int?, Int, Int)])
    func autoIsTheFewerOfAffinityAndQuota(_ affinity: Int?, _ quota: Int, _ expected: Int) {
        #expect(EventLoopCount.auto(affinity: affinity, quota: quota) == expected)
    }

    @Test(arguments: [
        ("Name:\tobsgate\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n", 2),
        ("Cpus_allowed:\t1\n", 1),
        ("Cpus_allowed:\tff,ffffffff\n", 40),
        ("Cpus_allowed:\t80000000,00000000,00000001", 2),
        ("Cpus_allowed:\t0\n", nil),
        ("Cpus_allowed:\t3g\n", nil),
        ("Name:\tobsgate\n", nil),
    ] as [(String, Int?)])
    func theAffinityIsTheBitsOfTheAllowedMask(_ status: String, _ expected: Int?) {
        #expect(EventLoopCount.allowedCPUCount(status: status) == expected)
    }
}
