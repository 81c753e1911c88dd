import Testing

/// The runner every peer and scenario script goes through: a child that never ends is
/// ended, and the test hears that it was.
@Suite struct PeersTests {
    @Test func aChildPastItsTimeIsEndedAndSaysSo() throws {
        let run = try Peers.run(["sleep", "600"], timeout: 1)
        #expect(run.status == 124 && run.output.hasSuffix("(timed out after 1 s)"), "\(run)")
        let trapped = try Peers.run(["sh", "-c", "trap '' TERM; sleep 600"], timeout: 1)
        #expect(trapped.status == 137, "a child that ignores TERM is killed: \(trapped)")
        let quick = try Peers.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 60)
        #expect(quick.status == 3 && quick.output == "out\nerr\n")
    }

    /// A test runs on a Dispatch worker thread, which blocks nearly every signal; a child
    /// spawned from it must not inherit that, or nothing could terminate it.
    @Test func aChildStartsWithNoSignalBlocked() throws {
        let run = try Peers.run(["grep", "^SigBlk:", "/proc/self/status"], timeout: 60)
        #expect(run.output == "SigBlk:\t0000000000000000\n")
    }
}
