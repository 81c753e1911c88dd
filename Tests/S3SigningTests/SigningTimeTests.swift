import Foundation
import S3Core
import Testing
@testable import S3Signing

/// The timestamp writers: fixed digits for years 0–9999, every digit beyond.
@Suite struct SigningTimeTests {
    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (1_369_353_600, "20130524T000000Z"),
        (1_709_251_199, "20240229T235959Z"),
        (-1, "19691231T235959Z"),
        (1_764_806_400.75, "20251204T000000Z"),
        (253_402_300_799, "99991231T235959Z"),
        (253_402_300_800, "100000101T000000Z"),
    ])
    func amzDateIsWrittenDigitByDigit(_ seconds: Double, _ expected: String) {
        #expect(SigningTime.amzDate(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func amzDateRoundTripsThroughItsParser() {
        var seconds = -86_400.0 * 365 * 50
        while seconds < 86_400.0 * 365 * 100 {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(SigningTime.parseAmzDate(SigningTime.amzDate(date)) == date, "\(seconds)")
            seconds += 86_400 * 37 + 3_607
        }
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_369_353_600, "2013-05-24T00:00:00Z", "Fri, 24 May 2013 00:00:00 GMT"),
        (1_709_251_199.9, "2024-02-29T23:59:59Z", "Thu, 29 Feb 2024 23:59:59 GMT"),
        (-1, "1969-12-31T23:59:59Z", "Wed, 31 Dec 1969 23:59:59 GMT"),
        (253_402_300_800, "10000-01-01T00:00:00Z", "Sat, 01 Jan 10000 00:00:00 GMT"),
        (-62_167_219_201, "-0001-12-31T23:59:59Z", "Fri, 31 Dec -0001 23:59:59 GMT"),
    ])
    func iso8601AndHTTPDatesAreWrittenTheSameWay(_ seconds: Double, _ iso: String, _ http: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(SigningTime.iso8601(date) == iso)
        #expect(SigningTime.httpDate(date) == http)
        if (0...9999).contains(CivilTime(epochSeconds: Int64(seconds.rounded(.down))).year) {
            #expect(SigningTime.parseHTTPDate(http) == Date(timeIntervalSince1970: seconds.rounded(.down)))
        }
    }

    /// The year of the largest and smallest Int64 of seconds (an `Expires` a client may
    /// send) is written whole.
    @Test func theWidestYearsFitTheirText() {
        #expect(SigningTime.iso8601(Date(timeIntervalSince1970: 9.2e18)).hasPrefix("291"))
        #expect(BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { $0.write(Int.min, width: 4) } == "-9223372036854775808")
        #expect(BufferTextStream.string(capacity: BufferTextStream.timestampCapacity) { $0.write(7, width: 3); $0.write("|"); $0.write(12_345, width: 2) } == "007|12345")
    }
}
