import S3Core

/// The request ids of one client connection: sixteen uppercase hex digits each, distinct
/// within the connection and unlikely to meet another connection's.
///
/// Seeded once per connection from the system's random source; each id is then the next
/// output of SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
/// generators", 2014): the state advances by the odd constant 0x9E3779B97F4A7C15 and the
/// output is a bijective mix of it, so a connection repeats no id before 2^64 requests.
/// An id correlates a log line, an audit record and the upstream's request; it is not a
/// secret nor a capability, so a system random read (a `getrandom` call) per request
/// bought nothing but its cost.
struct RequestIdSequence {
    private var state: UInt64

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        state = seed
    }

    mutating func next() -> String {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return Self.format(mixed ^ (mixed >> 31))
    }

    /// Sixteen uppercase hex digits, zero-padded on the left (no Foundation formatting on
    /// the request path).
    static func format(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { digits in
            for index in 0..<16 {
                digits[index] = PercentEncoding.hexDigitsUpper[Int(truncatingIfNeeded: value >> (60 - 4 * index)) & 0xF]
            }
            return 16
        }
    }
}
