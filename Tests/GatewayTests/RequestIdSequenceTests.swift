@testable import Gateway
import Testing

/// Request ids: sixteen uppercase hex digits, distinct within a connection.
@Suite struct RequestIdSequenceTests {
    @Test func idsAreSixteenUppercaseDigitsZeroPadded() {
        #expect(RequestIdSequence.format(0) == "0000000000000000")
        #expect(RequestIdSequence.format(0xABC) == "0000000000000ABC")
        #expect(RequestIdSequence.format(.max) == "FFFFFFFFFFFFFFFF")
    }

    /// SplitMix64's published first outputs for seed 0 (the reference implementation's
    /// `next()`), so the mix is the one the distinctness argument rests on.
    @Test func theMixIsSplitMix64() {
        var ids = RequestIdSequence(seed: 0)
        #expect(ids.next() == "E220A8397B1DCDAF")
        #expect(ids.next() == "6E789E6AA1B965F4")
        #expect(ids.next() == "06C45D188009454F")
    }

    @Test func aConnectionRepeatsNoId() {
        var ids = RequestIdSequence(seed: 0xFFFF_FFFF_FFFF_FFF0)
        var seen = Set<String>()
        for _ in 0..<100_000 { seen.insert(ids.next()) }
        #expect(seen.count == 100_000)
        #expect(seen.allSatisfy { id in
            id.utf8.count == 16 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) }
        })
    }

    @Test func connectionsAreSeededApart() {
        var first = RequestIdSequence(), second = RequestIdSequence()
        #expect(first.next() != second.next())
    }
}
