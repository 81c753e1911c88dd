import Foundation
import S3Core

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
        BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { text in
            text.write(dateAndTime: civil(date), extended: false)
            text.write("Z")
        }
    }

    /// `2013-05-24T00:00:00Z` for the given instant: how S3 writes `Expires` and
    /// `ServerTime` in an expired URL's error.
    public static func iso8601(_ date: Date) -> String {
        BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { text in
            text.write(dateAndTime: civil(date), extended: true)
            text.write("Z")
        }
    }

    /// `Fri, 24 May 2013 00:00:00 GMT` for the given instant.
    public static func httpDate(_ date: Date) -> String {
        let c = civil(date)
        return BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { text in
            text.write(dayNames[c.weekday])
            text.write(", ")
            text.write(c.day, width: 2)
            text.write(" ")
            text.write(monthNames[c.month - 1])
            text.write(" ")
            text.write(c.year, width: 4)
            text.write(" ")
            text.write(c.hour, width: 2)
            text.write(":")
            text.write(c.minute, width: 2)
            text.write(":")
            text.write(c.second, width: 2)
            text.write(" GMT")
        }
    }

    /// The calendar fields of the second the instant falls in.
    private static func civil(_ date: Date) -> CivilTime {
        CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Parses `YYYYMMDDTHHMMSSZ`.
    public static func parseAmzDate(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parseAmzDate(bytes: $0) }
    }

    private static func parseAmzDate(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
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
              dayNames.contains(where: { name in name.withUTF8Buffer { $0.elementsEqual(b[0..<3]) } }),
              let monthIndex = monthNames.firstIndex(where: { name in name.withUTF8Buffer { $0.elementsEqual(b[8..<11]) } }),
              let day = digits(b, 5, 2), let year = digits(b, 12, 4),
              let hour = digits(b, 17, 2), let minute = digits(b, 20, 2), let second = digits(b, 23, 2)
        else { return nil }
        let zone = String(decoding: b[26...], as: UTF8.self)
        guard zone == "GMT" || zone == "+0000" else { return nil }
        return makeDate(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: second)
    }

    private static let dayNames: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func makeDate(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Date? {
        guard (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = CivilTime.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static func digits<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ start: Int,
                                                                     _ count: Int) -> Int? where Bytes.Index == Int {
        var value = 0
        for byte in bytes[start..<start + count] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
