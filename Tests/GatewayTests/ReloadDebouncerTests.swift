import Foundation
import Testing
@testable import Gateway

/// A watched file's change is loaded once two polls in a row read the same contents.
@Suite struct ReloadDebouncerTests {
    /// Which of the polls, reading these policy and credentials contents, load them.
    static func loads(from inForce: [String?], polls: [[String?]]) -> [Bool] {
        func snapshot(_ texts: [String?]) -> ReloadDebouncer.Snapshot { texts.map { $0.map { Data($0.utf8) } } }
        var debouncer = ReloadDebouncer(loaded: snapshot(inForce))
        return polls.map { debouncer.observe(snapshot($0)) }
    }

    /// A policy written in two halves: the first half (which still parses, and has lost
    /// its key list) is never loaded; the whole file is, once it holds still, and once.
    @Test func aFileWrittenInTwoHalvesIsLoadedOnlyWhole() {
        let whole = "rules:\n  - id: kms\n    encryption: {require: sse-kms, kms_key_ids: [k1]}\n"
        let half = String(whole.prefix(40))
        let loads = Self.loads(from: ["rules: []\n", "clients"],
                               polls: [[half, "clients"], [whole, "clients"], [whole, "clients"], [whole, "clients"]])
        #expect(loads == [false, false, true, false])
    }

    @Test func aChangeThatIsUndoneBeforeItHoldsStillLoadsNothing() {
        let loads = Self.loads(from: ["a", "b"], polls: [["a", "b"], ["a2", "b"], ["a", "b"], ["a2", "b"], ["a2", "b"]])
        #expect(loads == [false, false, false, false, true])
    }

    @Test func aFileThatDisappearsIsAChangeLikeAnyOther() {
        #expect(Self.loads(from: ["a", "b"], polls: [[nil, "b"], [nil, "b"]]) == [false, true])
    }
}
