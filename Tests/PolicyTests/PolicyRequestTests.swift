import Policy
import S3Core
import Testing

/// `PolicyRequest(requestLine:...)`, which `obsgate policy explain` uses: the same
/// classification as the gateway, and presigned-URL header parameters lifted into headers.
@Suite struct PolicyRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let line: String
        var headers: [(String, String)] = []
        let operation: S3Operation
        let bucket: String?
        let key: String?
        var testDescription: String { line }
    }

    static let cases: [Case] = [
        Case(line: "POST /finance/q3.csv?uploads", operation: .createMultipartUpload, bucket: "finance", key: "q3.csv"),
        Case(line: "POST /finance/reports/q3%20final.csv?uploads HTTP/1.1", operation: .createMultipartUpload,
             bucket: "finance", key: "reports/q3 final.csv"),
        Case(line: "PUT /finance/q3.csv", operation: .putObject, bucket: "finance", key: "q3.csv"),
        Case(line: "PUT /finance/q3.csv", headers: [("x-amz-copy-source", "/src/a")], operation: .copyObject, bucket: "finance", key: "q3.csv"),
        Case(line: "PUT /finance/q3.csv", headers: [("X-Obs-Copy-Source", "/src/a")], operation: .copyObject, bucket: "finance", key: "q3.csv"),
        Case(line: "PUT /finance/q3.csv?partNumber=1&uploadId=abc", operation: .uploadPart, bucket: "finance", key: "q3.csv"),
        Case(line: "POST /finance/log?append&position=0", operation: .appendObject, bucket: "finance", key: "log"),
        Case(line: "PUT /finance/q3.csv?metadata", operation: .modifyObjectMetadata, bucket: "finance", key: "q3.csv"),
        Case(line: "PUT /finance/q3.csv?acl", operation: .putObjectConfiguration("acl"), bucket: "finance", key: "q3.csv"),
        Case(line: "POST /finance", headers: [("Content-Type", "multipart/form-data; boundary=x")], operation: .postObject,
             bucket: "finance", key: nil),
        Case(line: "PUT /q3.csv", headers: [("Host", "finance.s3.example.com")], operation: .putObject, bucket: "finance", key: "q3.csv"),
        Case(line: "get /finance/q3.csv", operation: .getObject, bucket: "finance", key: "q3.csv"),
    ]

    @Test(arguments: cases)
    func classifies(_ testCase: Case) throws {
        let request = try PolicyRequest(requestLine: testCase.line, headers: HeaderFields(testCase.headers), principal: "alice",
                                        groups: ["web"], isTLS: true, virtualHostDomains: ["s3.example.com"])
        #expect(request.operation == testCase.operation)
        #expect(request.bucket == testCase.bucket)
        #expect(request.key == testCase.key)
        #expect(request.principal == "alice" && request.groups == ["web"] && request.isTLS)
    }

    /// A presigned URL carrying `x-amz-storage-class=GLACIER` is policed like the header.
    @Test func presignedHeaderParametersBecomeHeaders() throws {
        let request = try PolicyRequest(
            requestLine: "PUT /finance/q3.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&x-amz-storage-class=GLACIER&x-obs-acl=public-read",
            headers: HeaderFields(), principal: "alice")
        #expect(request.headers["x-amz-storage-class"] == "GLACIER")
        #expect(request.headers["x-obs-acl"] == "public-read")
        #expect(!request.headers.contains("X-Amz-Algorithm"))
        let loaded = try policy(rules: "  - id: no-glacier\n    storage_class: {deny: [GLACIER]}\n")
        #expect(loaded.evaluate(request).deniedBy == "no-glacier")
    }

    @Test func aQueryParameterContradictingAHeaderIsRefused() throws {
        let error = try #require(throws: S3Error.self) {
            try PolicyRequest(requestLine: "PUT /finance/q3.csv?x-amz-storage-class=GLACIER",
                              headers: HeaderFields([("x-amz-storage-class", "STANDARD")]), principal: nil)
        }
        #expect(error.code == "InvalidArgument")
    }

    @Test(arguments: ["POST", "POST /a b c", "POST finance/q3.csv", ""])
    func malformedRequestLines(_ line: String) throws {
        #expect(throws: S3Error.self) { try PolicyRequest(requestLine: line, headers: HeaderFields(), principal: nil) }
    }
}
