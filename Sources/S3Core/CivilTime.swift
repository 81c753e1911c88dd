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

extension BufferTextStream {
    /// Room for any timestamp form: a year from an Int64 of seconds has at most 12 digits.
    public static let timestampCapacity = 64

    /// ISO 8601's date and time of day: `YYYY-MM-DDTHH:MM:SS` (`extended`, the audit
    /// trail's and S3's error details) or `YYYYMMDDTHHMMSS` (basic, SigV4's amz-date).
    public mutating func write(dateAndTime time: CivilTime, extended: Bool) {
        write(time.year, width: 4)
        if extended { write("-" as StaticString) }
        write(time.month, width: 2)
        if extended { write("-" as StaticString) }
        write(time.day, width: 2)
        write("T" as StaticString)
        write(time.hour, width: 2)
        if extended { write(":" as StaticString) }
        write(time.minute, width: 2)
        if extended { write(":" as StaticString) }
        write(time.second, width: 2)
    }
}
