import Foundation
import Policy
import S3Core
import Testing
@testable import Audit

@Suite("AuditRecord encoding")
struct AuditRecordTests {
    /// The exact bytes of a chain's first two lines: keys sorted, no white space, `/` and
    /// non-ASCII unescaped, only `"` escaped. The same bytes as Python's
    /// `json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, which
    /// docs/audit.md uses for its independent verifier.
    static let golden = [
        #"{"anchor":"new-chain","hash":"2dcdc4fb0b5e73c76c79892cccfc040dd02372057d848f1be3fbb13ee36c74d9","prev":"0000000000000000000000000000000000000000000000000000000000000000","schema":1,"seq":0,"time":"2025-06-01T12:00:00.000Z"}"#,
        #"{"access_key_id":"GWALICE0000000000001","bucket":"photos","bytes_in":0,"bytes_out":312,"client_address":"192.0.2.7:50121","decision":"allow-with-mutations","duration_ms":17,"hash":"bd8573c07451a83efdbee659c0b1d9e62467d922c784d3df1265f476a1326f77","headers":{"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"testkey-1","x-amz-storage-class":"STANDARD"},"key":"2025/06/01/café \"1\".jpg","method":"POST","mutations":[{"action":"set","name":"x-amz-server-side-encryption","value":"aws:kms"},{"action":"set","name":"x-amz-server-side-encryption-aws-kms-key-id","value":"testkey-1"},{"action":"remove","name":"x-amz-website-redirect-location"}],"operation":"CreateMultipartUpload","policy_version":"abababababababababababababababababababababababababababababababab","prev":"021bb4b829a1a6661f9872459f0afa8d04ba479d005ed612829b835b64880c56","principal":"alice","request_id":"REQ1","rules":["kms-default","standard-only"],"schema":1,"seq":1,"status":200,"time":"2025-06-01T12:00:00.001Z","upload_id":"2~upload-1","upstream_request_id":"tx000001-rgw"}"#,
    ]

    @Test func theEncodingIsCanonical() throws {
        var chain = AuditChain()
        let anchor = try chain.seal(AuditAnchor(.newChain, time: june1))
        let record = try chain.seal(sampleRecord(1))
        #expect(String(decoding: anchor, as: UTF8.self) == Self.golden[0])
        #expect(String(decoding: record, as: UTF8.self) == Self.golden[1])
        #expect(chain.nextSeq == 2)
        #expect(chain.lastHash == AuditLineHash.hex(of: record))
    }

    @Test func theEncodingIsStable() throws {
        let first = try AuditChain().sealing(sampleRecord(3))
        for _ in 0..<200 { #expect(try AuditChain().sealing(sampleRecord(3)) == first) }
        // Decoded and sealed again at the same place in the chain: the same bytes.
        let decoded = try JSONDecoder().decode(AuditRecord.self, from: Data(first))
        #expect(try AuditChain().sealing(decoded) == first)
        #expect(decoded.seq == 0 && decoded.prev == AuditChain.genesis && decoded.hash?.count == 64)
    }

    /// A client-chosen value as long as a request head is cut at `maxValueBytes` (on a
    /// character boundary) and the record says so; the chain covers the line as written.
    @Test func longValuesAreCutAndMarked() throws {
        var record = sampleRecord(1)
        record.key = String(repeating: "é", count: 30_000)
        record.accessKeyId = String(repeating: "A", count: 60_000)
        record.setHeaders(HeaderFields([("x-amz-storage-class", String(repeating: "S", count: 5000))]))
        record.capValues()
        #expect(record.truncated == true)
        #expect(record.key == String(repeating: "é", count: 512))
        #expect(record.accessKeyId?.utf8.count == AuditRecord.maxValueBytes)
        #expect(record.headers?["x-amz-storage-class"]?.utf8.count == AuditRecord.maxValueBytes)
        var chain = AuditChain()
        let line = try chain.seal(record)
        #expect(line.count < 8 * 1024)
        #expect(String(decoding: line, as: UTF8.self).contains("\"truncated\":true"))

        var short = sampleRecord(2)
        short.capValues()
        #expect(short == sampleRecord(2), "nothing to cut: nothing marked")
    }

    @Test func absentFieldsAreLeftOut() throws {
        let record = AuditRecord(time: june1, requestId: "R", method: "GET", operation: "ListBuckets", decision: .refused)
        let object = try JSONSerialization.jsonObject(with: Data(try AuditChain().sealing(record))) as! [String: Any]
        #expect(Set(object.keys) == [
            "schema", "time", "request_id", "method", "operation", "decision", "rules", "mutations",
            "bytes_in", "bytes_out", "duration_ms", "seq", "prev", "hash",
        ])
    }

    @Test func theDecisionNamesAreTheDocumentedOnes() {
        #expect(AuditDecision.allCases.map(\.rawValue) == ["allow", "allow-with-mutations", "deny", "audit-only", "refused"])
        #expect(AuditAnchor.Reason.allCases.map(\.rawValue) == ["new-chain", "rotation", "reopen"])
    }

    @Test func aDenialRecordsTheRuleAndItsReason() throws {
        var record = AuditRecord(time: june1, requestId: "R", method: "POST", operation: "CreateMultipartUpload", decision: .refused)
        record.setPolicyDecision(PolicyDecision(
            outcome: .deny(.accessDenied("denied by rule no-glacier")), matchedRules: ["no-glacier"],
            deniedBy: "no-glacier", denyReason: "storage class GLACIER is not allowed", policyVersion: "v1"))
        #expect(record.decision == .deny)
        #expect(record.rules == ["no-glacier"] && record.deniedBy == "no-glacier")
        #expect(record.denyReason == "storage class GLACIER is not allowed")
        #expect(record.wouldHave == nil && record.wouldHaveMutations == nil)
        #expect(record.policyVersion == "v1")
    }

    @Test func anAuditOnlyDecisionRecordsWhatWouldHaveHappened() {
        var record = AuditRecord(time: june1, requestId: "R", method: "PUT", operation: "PutObject", decision: .allow)
        record.setPolicyDecision(PolicyDecision(
            outcome: .auditOnly, matchedRules: ["kms-soon"], wouldHave: .allowWithMutations,
            wouldHaveMutations: [.set(name: "x-amz-server-side-encryption", value: "aws:kms")], policyVersion: "v2"))
        #expect(record.decision == .auditOnly)
        #expect(record.wouldHave == .allowWithMutations)
        #expect(record.wouldHaveMutations == [AuditMutation(action: .set, name: "x-amz-server-side-encryption", value: "aws:kms")])
        #expect(record.mutations.isEmpty)
    }

    @Test func headersOutsideTheRecordedSetAreNotKept() {
        var record = AuditRecord(time: june1, requestId: "R", method: "PUT", operation: "PutObject", decision: .allow)
        record.setHeaders(HeaderFields([("Content-Type", "text/plain"), ("x-amz-meta-owner", "bob"), ("User-Agent", "aws-cli")]))
        #expect(record.headers == nil)
        record.setHeaders(HeaderFields([("X-Amz-Storage-Class", "STANDARD"), ("x-amz-grant-read", "id=1"),
                                        ("x-obs-storage-class", "WARM"), ("x-amz-acl", "private"), ("x-amz-acl", "public-read")]))
        #expect(record.headers == ["x-amz-storage-class": "STANDARD", "x-obs-storage-class": "WARM",
                                   "x-amz-acl": "private,public-read"])
    }
}

@Suite("AuditTimestamp")
struct AuditTimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_748_779_200_001), "2025-06-01T12:00:00.001Z"),
        (Int64(1_709_164_800_999), "2024-02-29T00:00:00.999Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(253_402_300_799_999), "9999-12-31T23:59:59.999Z"),
    ])
    func formatsAndParses(milliseconds: Int64, text: String) {
        let time = AuditTimestamp(millisecondsSince1970: milliseconds)
        #expect(time.description == text)
        #expect(AuditTimestamp(text) == time)
    }

    /// 1570 to 2770, every day: the text round-trips and sorts as time does.
    @Test func everyDayOfTwelveCenturiesRoundTripsAndSorts() {
        var previous = ""
        var failures: [Int64] = []
        for day in stride(from: Int64(-146_097), through: 146_097 * 2, by: 1) {
            let time = AuditTimestamp(millisecondsSince1970: day * 86_400_000 + 45_296_789)
            let text = time.description
            if !(text > previous) || AuditTimestamp(text) != time { failures.append(day) }
            previous = text
        }
        #expect(failures.isEmpty)
    }

    @Test func aDateIsRoundedDownToTheMillisecond() {
        #expect(AuditTimestamp(Date(timeIntervalSince1970: 1.0019)).description == "1970-01-01T00:00:01.001Z")
    }

    @Test(arguments: [
        "2025-06-01T12:00:00Z", "2025-06-01T12:00:00.00Z", "2025-06-01 12:00:00.000Z", "2025-06-01T12:00:00.000+00:00",
        "2025-13-01T12:00:00.000Z", "2025-02-29T12:00:00.000Z", "2025-06-31T12:00:00.000Z", "2025-06-01T24:00:00.000Z",
        "2025-06-01T12:60:00.000Z", "2025-06-01T12:00:60.000Z", "2025-06-01t12:00:00.000z", "２025-06-01T12:00:00.000Z",
        "+025-06-01T12:00:00.000Z", "",
    ])
    func otherFormsAreRefused(text: String) {
        #expect(AuditTimestamp(text) == nil)
    }
}

extension AuditChain {
    /// The record sealed as this chain's next line, leaving the chain as it is.
    fileprivate func sealing(_ record: AuditRecord) throws -> [UInt8] {
        var copy = self
        return try copy.seal(record)
    }
}

@Suite("AuditRecord.uploadId(of:target:)")
struct QueryUploadIdTests {
    @Test(arguments: [
        (S3Operation.uploadPart, "/b/k?partNumber=2&uploadId=2~abc%2Fdef", "2~abc/def"),
        (.uploadPartCopy, "/b/k?uploadId=u1&partNumber=1", "u1"),
        (.completeMultipartUpload, "/b/k?uploadId=u2", "u2"),
        (.abortMultipartUpload, "/b/k?uploadId=u3", "u3"),
        (.listParts, "/b/k?uploadId=u4&max-parts=10", "u4"),
    ])
    func multipartOperationsNameTheirUpload(operation: S3Operation, target: String, id: String) throws {
        #expect(AuditRecord.uploadId(of: operation, target: try RequestTarget(parsing: target)) == id)
    }

    @Test func otherOperationsNameNone() throws {
        let target = try RequestTarget(parsing: "/b/k?uploadId=u1")
        for operation in [S3Operation.createMultipartUpload, .putObject, .getObject, .listMultipartUploads] {
            #expect(AuditRecord.uploadId(of: operation, target: target) == nil)
        }
    }
}
