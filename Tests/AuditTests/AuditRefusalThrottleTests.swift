import Testing
@testable import Audit

/// Records of unauthenticated refusals, per client address: a token bucket, and the
/// count of those left out carried by the next one written.
@Suite struct AuditRefusalThrottleTests {
    @Test func aBurstIsWrittenThenTheRateAndTheNextOneSaysHowManyWereLeftOut() {
        var throttle = AuditRefusalThrottle(limit: .init(perSecond: 2, burst: 3))
        let burst = (0..<5).map { _ in throttle.verdict(for: "192.0.2.7", now: 100) }
        #expect(burst == [.write(suppressed: 0), .write(suppressed: 0), .write(suppressed: 0), .suppress, .suppress])
        #expect(throttle.verdict(for: "192.0.2.7", now: 100.4) == .suppress, "0.8 of a token so far")
        #expect(throttle.verdict(for: "192.0.2.7", now: 100.5) == .write(suppressed: 3))
        #expect(throttle.verdict(for: "192.0.2.7", now: 100.5) == .suppress)
        #expect(throttle.verdict(for: "192.0.2.7", now: 110) == .write(suppressed: 1))
    }

    @Test func addressesAreCountedApart() {
        var throttle = AuditRefusalThrottle(limit: .init(perSecond: 1, burst: 1))
        #expect(throttle.verdict(for: "192.0.2.7", now: 0) == .write(suppressed: 0))
        #expect(throttle.verdict(for: "192.0.2.7", now: 0) == .suppress)
        #expect(throttle.verdict(for: "198.51.100.1", now: 0) == .write(suppressed: 0))
    }

    /// A client spraying addresses (IPv6 gives it plenty) cannot grow the table past
    /// `maxAddresses`: full buckets are forgotten, and failing that new addresses share one.
    @Test func theAddressTableIsBounded() {
        var throttle = AuditRefusalThrottle(limit: .init(perSecond: 1, burst: 1))
        for index in 0..<AuditRefusalThrottle.maxAddresses {
            #expect(throttle.verdict(for: "2001:db8::\(index)", now: 0) == .write(suppressed: 0))
        }
        #expect(throttle.verdict(for: "2001:db8:1::1", now: 0) == .write(suppressed: 0), "the shared bucket")
        #expect(throttle.verdict(for: "2001:db8:1::2", now: 0) == .suppress, "shares the first one's bucket")
        #expect(throttle.addressCount == AuditRefusalThrottle.maxAddresses + 1)
        // A second later every per-address bucket is full again and forgotten.
        #expect(throttle.verdict(for: "2001:db8:1::3", now: 1) == .write(suppressed: 0))
        #expect(throttle.addressCount <= 3)
    }
}
