import Foundation

/// The timestamp forms signatures use, parsed strictly and formatted without a
/// `DateFormatter` (which is slow, locale-sensitive and not thread-safe to share).
///
///     amz-date     = YYYYMMDD "T" HHMMSS "Z"                       ; SigV4 x-amz-date
///     IMF-fixdate  = day-name "," SP DD SP month SP YYYY SP HH:MM:SS SP "GMT"
///                                                                 ; RFC 9110 §5.6.7
///
/// SigV2 and OBS dates are IMF-fixdate; the AWS documentation's examples also write
/// `+0000` instead of `GMT`, which is accepted.
public enum SigningTime {
    /// `20130524T000000Z` for the given instant.
    public static func amzDate(_ date: Date) -> String {
        let c = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T"
            + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    /// `Fri, 24 May 2013 00:00:00 GMT` for the given instant.
    public static func httpDate(_ date: Date) -> String {
        let c = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        return "\(dayNames[c.weekday]), \(pad(c.day, 2)) \(monthNames[c.month - 1]) \(pad(c.year, 4)) "
            + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) GMT"
    }

    /// Parses `YYYYMMDDTHHMMSSZ`.
    public static func parseAmzDate(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z"),
              let year = digits(b, 0, 4), let month = digits(b, 4, 2), let day = digits(b, 6, 2),
              let hour = digits(b, 9, 2), let minute = digits(b, 11, 2), let second = digits(b, 13, 2)
        else { return nil }
        return makeDate(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Parses an IMF-fixdate (`Wed, 01 Jul 2015 05:14:52 GMT`, or `+0000` for `GMT`).
    public static func parseHTTPDate(_ text: String) -> Date? {
        let b = Array(text.utf8)
        // "Www, DD Mmm YYYY HH:MM:SS GMT" is 29 bytes; "+0000" makes it 31.
        guard b.count == 29 || b.count == 31, b[3] == UInt8(ascii: ","), b[4] == UInt8(ascii: " "),
              b[7] == UInt8(ascii: " "), b[11] == UInt8(ascii: " "), b[16] == UInt8(ascii: " "),
              b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"), b[25] == UInt8(ascii: " "),
              dayNames.contains(String(decoding: b[0..<3], as: UTF8.self)),
              let monthIndex = monthNames.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)),
              let day = digits(b, 5, 2), let year = digits(b, 12, 4),
              let hour = digits(b, 17, 2), let minute = digits(b, 20, 2), let second = digits(b, 23, 2)
        else { return nil }
        let zone = String(decoding: b[26...], as: UTF8.self)
        guard zone == "GMT" || zone == "+0000" else { return nil }
        return makeDate(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: second)
    }

    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func makeDate(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Date? {
        guard (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = CivilTime.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for byte in bytes[start..<start + count] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Proleptic Gregorian calendar fields of a UTC instant (H. Hinnant's `civil_from_days`
/// and `days_from_civil` algorithms).
struct CivilTime {
    var year, month, day, hour, minute, second, weekday: Int

    init(epochSeconds: Int64) {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondOfDay = Int(epochSeconds - days * 86_400)
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

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
