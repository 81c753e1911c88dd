/// Proleptic Gregorian calendar fields of a UTC instant (H. Hinnant's `civil_from_days`
/// and `days_from_civil` algorithms): the one calendar of the signing dates and the audit
/// timestamps, with no Foundation calendar or locale in the way.
public struct CivilTime: Sendable {
    public var year, month, day, hour, minute, second, weekday: Int

    /// Total over Int64: a client's query-signed URL may carry any Int64 as its `Expires`,
    /// which the answer to an expired URL formats (Int64.min used to overflow here).
    public init(epochSeconds: Int64) {
        let remainder = epochSeconds % 86_400
        let days = epochSeconds / 86_400 - (remainder < 0 ? 1 : 0)
        let secondOfDay = Int(remainder < 0 ? remainder + 86_400 : remainder)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        weekday = Int((days % 7 + 11) % 7) // 1970-01-01 was a Thursday (4)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A timestamp's text, written field by field straight into its string: the amz-date,
/// ISO 8601, IMF-fixdate and audit forms are all numbers of a fixed width with literals
/// between them, and are written with no `DateFormatter` and no string per field.
///
///     TimeText.write { text in text.dateAndTime(c, extended: true); text.literal("Z") }
public struct TimeText: ~Copyable {
    /// Room for any of the forms: a year from an Int64 of seconds has at most 12 digits.
    static let capacity = 64
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var count = 0

    private init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    /// The string `body` writes.
    public static func write(_ body: (inout TimeText) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var text = TimeText(buffer)
            body(&text)
            return text.count
        }
    }

    /// `value` in decimal, zero-padded on the left to `width` digits; a value with more
    /// digits keeps all of them, a negative one gets a `-` before its padded digits.
    public mutating func number(_ value: Int, width: Int) {
        if value < 0 { literal("-") }
        var magnitude = value.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let end = count + max(width, digits)
        var index = end - 1
        while index >= count {
            buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        }
        count = end
    }

    /// ISO 8601's date and time of day: `YYYY-MM-DDTHH:MM:SS` (`extended`, the audit
    /// trail's and S3's error details) or `YYYYMMDDTHHMMSS` (basic, SigV4's amz-date).
    public mutating func dateAndTime(_ time: CivilTime, extended: Bool) {
        number(time.year, width: 4)
        if extended { literal("-") }
        number(time.month, width: 2)
        if extended { literal("-") }
        number(time.day, width: 2)
        literal("T")
        number(time.hour, width: 2)
        if extended { literal(":") }
        number(time.minute, width: 2)
        if extended { literal(":") }
        number(time.second, width: 2)
    }

    public mutating func literal(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            for byte in bytes {
                buffer[count] = byte
                count += 1
            }
        }
    }
}
