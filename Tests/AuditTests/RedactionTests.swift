import Foundation
import Policy
import S3Core
import Testing
@testable import Audit

/// Secrets planted in requests; none may appear in an encoded record or an audit file.
private let sseCKey = "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY="
private let sseCKeyMD5 = "TFEHf5PVnXr8ob5tiSLjiQ=="
private let copySourceKey = "Q09QWVNPVVJDRUtFWUNPUFlTT1VSQ0VLRVlDT1BZU08="
private let obsKey = "T0JTS0VZT0JTS0VZT0JTS0VZT0JTS0VZT0JTS0VZT0I="
private let obsCopySourceKey = "T0JTQ09QWU9CU0NPUFlPQlNDT1BZT0JTQ09QWU9CU0M="
private let sessionToken = "FwoGZXIvYXdzEJr//////////wEaDSESSIONTOKEN"
private let obsSessionToken = "OBS-SESSION-TOKEN-5f1e2d"
private let authorization = "AWS4-HMAC-SHA256 Credential=GWALICE0000000000001/20250601/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=9f1c0ffee1"
private let presignSignature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
private let formSignature = "0RavWzkygo6QX9caELEqKi9kDbU="
private let secrets = [sseCKey, copySourceKey, obsKey, obsCopySourceKey, sessionToken, obsSessionToken, authorization,
                       presignSignature, formSignature, "9f1c0ffee1"]

/// Every secret header a client or a policy could put on a request, in odd casings.
private let secretHeaders: [(String, String)] = [
    ("Authorization", authorization),
    ("proxy-authorization", "Basic " + presignSignature),
    ("X-Amz-Security-Token", sessionToken),
    ("x-obs-security-token", obsSessionToken),
    ("x-amz-server-side-encryption-customer-key", sseCKey),
    ("X-AMZ-COPY-SOURCE-SERVER-SIDE-ENCRYPTION-CUSTOMER-KEY", copySourceKey),
    ("x-obs-server-side-encryption-customer-key", obsKey),
    ("x-obs-copy-source-server-side-encryption-customer-key", obsCopySourceKey),
    ("X-Amz-Signature", presignSignature),
    ("x-amz-signature", formSignature),
    ("Signature", formSignature),
]

@Suite("Redaction")
struct RedactionTests {
    @Test(arguments: secretHeaders.map(\.0))
    func everySecretNameIsSecret(name: String) {
        #expect(Redaction.isSecret(name: name))
        #expect(Redaction.value("anything", named: name) == Redaction.placeholder)
    }

    @Test(arguments: [
        "x-amz-server-side-encryption-customer-key-md5", "x-obs-server-side-encryption-customer-key-md5",
        "x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-date", "X-Amz-Credential", "X-Amz-SignedHeaders", "AWSAccessKeyId", "AccessKeyId", "host",
        "x-amz-content-sha256",
    ])
    func companionsAndPublicNamesAreKept(name: String) {
        #expect(!Redaction.isSecret(name: name))
        #expect(Redaction.value("v", named: name) == "v")
    }

    @Test func mutationsOfSecretHeadersKeepTheNameAndLoseTheValue() {
        for (name, value) in secretHeaders {
            let recorded = Redaction.mutation(.set(name: name, value: value))
            #expect(recorded == AuditMutation(action: .set, name: name, value: Redaction.placeholder))
        }
        #expect(Redaction.mutation(.remove(name: "authorization")) == AuditMutation(action: .remove, name: "authorization", value: nil))
    }

    /// SSE-C: the key-MD5 and the algorithm are what the record keeps; the key is only
    /// shown as given.
    @Test func sseCKeepsTheKeyMD5Only() {
        let headers = Redaction.recordedHeaders(HeaderFields([
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", sseCKey),
            ("x-amz-server-side-encryption-customer-key-MD5", sseCKeyMD5),
        ]))
        #expect(headers == [
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": Redaction.placeholder,
            "x-amz-server-side-encryption-customer-key-md5": sseCKeyMD5,
        ])
    }

    /// `recordedHeaders` passes by any name without an `x-amz-` or `x-obs-` prefix before it
    /// looks the name up: every recorded name must have one, or it would never be recorded.
    @Test func everyRecordedNameIsOneThePrefixCheckLetsThrough() {
        #expect(Redaction.recordedHeaderNames.count >= 26)
        for name in Redaction.recordedHeaderNames {
            #expect(name.hasPrefix("x-amz-") || name.hasPrefix("x-obs-"), "\(name)")
            #expect(Redaction.recordedHeaders(HeaderFields([(name.uppercased(), "v"), ("Host", "h")]))
                == [name: Redaction.value("v", named: name)])
        }
    }

    /// The whole way a secret could take into a record: headers, mutations and would-have
    /// mutations, then sealed into a line. The encoded JSON is searched for every secret.
    @Test func noPlantedSecretSurvivesEncoding() throws {
        var record = sampleRecord(1)
        record.setHeaders(HeaderFields(secretHeaders + [("x-amz-server-side-encryption-customer-key-md5", sseCKeyMD5)]))
        record.setPolicyDecision(PolicyDecision(
            outcome: .auditOnly, matchedRules: ["r"],
            mutations: secretHeaders.map { .set(name: $0.0, value: $0.1) },
            wouldHave: .allowWithMutations, wouldHaveMutations: secretHeaders.map { .set(name: $0.0, value: $0.1) },
            policyVersion: "v"))
        var chain = AuditChain()
        let line = String(decoding: try chain.seal(record), as: UTF8.self)
        for secret in secrets {
            #expect(!line.contains(secret), "the record leaks \(secret)")
        }
        #expect(line.contains(sseCKeyMD5))
        #expect(line.contains("x-amz-server-side-encryption-customer-key"))
    }

    /// The same through the writer, into a file on disk.
    @Test func noPlantedSecretReachesTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let writer = try AuditWriter(configuration: AuditConfiguration(sinks: [.file(path: path, maxBytes: nil, keep: 1)]))
        for (name, value) in secretHeaders {
            var record = sampleRecord(2)
            record.setHeaders(HeaderFields([(name, value)]))
            record.setPolicyDecision(PolicyDecision(outcome: .allowWithMutations, mutations: [.set(name: name, value: value)],
                                                    policyVersion: "v"))
            #expect(await writer.appendAndWait(record))
        }
        await writer.shutdown()
        let text = String(decoding: contents(path), as: UTF8.self)
        #expect(lines(of: contents(path)).count == secretHeaders.count + 1)
        for secret in secrets {
            #expect(!text.contains(secret), "the audit file leaks \(secret)")
        }
    }
}
