import Foundation
import S3Core

/// A point in time as audit records write it: RFC 3339, UTC, exactly three fractional
/// digits, e.g. `2025-06-01T12:00:00.123Z`.
///
/// One fixed width and one zone so that records sort as text and every line of one moment
/// reads the same; milliseconds are stored as an integer so that encoding never depends on
/// floating-point formatting or a locale. Years 0000–9999 only (RFC 3339 §5.6).
public struct AuditTimestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// The instant rounded down to the millisecond.
    public init(_ date: Date) {
        millisecondsSince1970 = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSince1970) / 1000) }

    public static func < (lhs: AuditTimestamp, rhs: AuditTimestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    public var description: String {
        let (seconds, milliseconds) = millisecondsSince1970.floorDivided(by: 1000)
        let c = CivilTime(epochSeconds: seconds)
        return BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { text in
            text.write(dateAndTime: c, extended: true)
            text.write(".")
            text.write(Int(milliseconds), width: 3)
            text.write("Z")
        }
    }

    /// Parses exactly the form `description` writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return nil }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1.asciiValue }) else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            guard bytes[range].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int64($1 - 0x30) }
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              let millisecond = number(20..<23),
              (1...12).contains(month), day >= 1, day <= CivilTime.daysIn(month: Int(month), year: Int(year)),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = CivilTime.daysFromCivil(year: Int(year), month: Int(month), day: Int(day))
        millisecondsSince1970 = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = AuditTimestamp(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an RFC 3339 UTC time with milliseconds, found '\(text)'")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Int64 {
    /// Quotient rounded towards negative infinity, and the matching non-negative remainder.
    fileprivate func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let remainder = self % divisor
        return remainder < 0 ? (self / divisor - 1, remainder + divisor) : (self / divisor, remainder)
    }
}
