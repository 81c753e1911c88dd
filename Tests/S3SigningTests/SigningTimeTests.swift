import Foundation
import Testing
@testable import S3Signing

/// The amz-date writer: fixed digits for years 0–9999, every digit beyond.
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
}
