import Foundation
import S3Core
import Testing
@testable import S3Signing

/// Found through the `signatures` fuzz target, whose first crash was in the formatting of a
/// date (fuzz/corpus/signatures/crash-sigv2-expires-int64-min): a query-signed URL with any
/// known access key and `Expires=-9223372036854775808` ended the process, formatting the
/// expiry for its answer.
@Suite struct ExtremeExpiresTests {
    let authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: ["us-east-1"]),
                                             secrets: StaticSecrets(secrets: ["AKPROBE": "secret"]))

    @Test(arguments: ["AWSAccessKeyId", "AccessKeyId"], ["-9223372036854775808", "-9223372036854775807", "-1"])
    func aQuerySignedURLExpiredAtAnyInt64IsRequestExpired(_ keyParameter: String, _ expires: String) throws {
        let target = try RequestTarget(parsing: "/bucket/k?\(keyParameter)=AKPROBE&Expires=\(expires)&Signature=abc")
        let headers = HeaderFields([("Host", "127.0.0.1:9000")])
        let address = try S3AddressResolver(baseDomains: []).resolve(host: "127.0.0.1:9000", target: target)
        do throws(S3Error) {
            _ = try authenticator.authenticate(method: "GET", target: target, headers: headers, address: address,
                                               now: Date(timeIntervalSince1970: 1_767_225_600))
            Issue.record("accepted")
        } catch {
            // S3's answer to an expired URL: 403 AccessDenied, "Request has expired".
            #expect(error.code == "AccessDenied" && error.message == "Request has expired", "\(error.code): \(error.message)")
        }
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1, 0, 86_399, 86_400, Int64.max])
    func civilTimeIsTotal(_ seconds: Int64) {
        let time = CivilTime(epochSeconds: seconds)
        #expect((0..<24).contains(time.hour) && (0..<60).contains(time.minute) && (0..<60).contains(time.second))
        #expect((1...12).contains(time.month) && (1...31).contains(time.day) && (0..<7).contains(time.weekday))
    }

    @Test func theSecondBeforeTheEpochIsTheLastOf1969() {
        let time = CivilTime(epochSeconds: -1)
        let fields: [Int] = [time.year, time.month, time.day, time.hour, time.minute, time.second]
        #expect(fields == [1969, 12, 31, 23, 59, 59])
    }
}
