/// Keeps unauthenticated clients from flooding the audit trail. Records of requests
/// refused before anyone authenticated — the ones a scanner or an attacker makes by the
/// thousand, at no cost to itself — are limited per client address by a token bucket
/// (`perSecond` on average, bursts of `burst`). Those over the limit are not written; the
/// next record written for that address carries how many were left out (`suppressed`),
/// so the trail still says that the flood happened, and the metrics count them all.
/// Authenticated requests are never throttled.
///
/// Memory is bounded: at most `maxAddresses` buckets; when they are all taken, buckets
/// that are full again are forgotten, and failing that every new address shares one.
public struct AuditRefusalThrottle: Sendable {
    public struct Limit: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double

        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// What to do with one refusal's record.
    public enum Verdict: Equatable, Sendable {
        /// Write it; `suppressed` records of this address were left out before it.
        case write(suppressed: Int)
        /// Leave it out (it is counted for the next one).
        case suppress
    }

    public static let maxAddresses = 10_000
    /// The bucket addresses share once `maxAddresses` are taken.
    static let sharedKey = "*"

    private struct Bucket {
        var tokens: Double
        var updated: Double
        var suppressed = 0
    }

    public let limit: Limit
    private var buckets: [String: Bucket] = [:]

    public init(limit: Limit) {
        self.limit = limit
    }

    /// `now` in seconds on any monotonic clock.
    public mutating func verdict(for address: String, now: Double) -> Verdict {
        var key = address
        if buckets[key] == nil, buckets.count >= Self.maxAddresses {
            forgetFullBuckets(now: now)
            if buckets.count >= Self.maxAddresses { key = Self.sharedKey }
        }
        var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
        bucket.tokens = min(limit.burst, bucket.tokens + max(0, now - bucket.updated) * limit.perSecond)
        bucket.updated = now
        let verdict: Verdict
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            verdict = .write(suppressed: bucket.suppressed)
            bucket.suppressed = 0
        } else {
            bucket.suppressed += 1
            verdict = .suppress
        }
        buckets[key] = bucket
        return verdict
    }

    var addressCount: Int { buckets.count }

    /// Buckets that have refilled and have nothing to report are as good as new.
    private mutating func forgetFullBuckets(now: Double) {
        buckets = buckets.filter { _, bucket in
            bucket.suppressed > 0 || bucket.tokens + (now - bucket.updated) * limit.perSecond < limit.burst
        }
    }
}
