import Testing
@testable import S3Core

/// What classification must give: one exact operation, or `.unknown` with a reason that
/// contains the given text.
enum ExpectedOperation: Sendable, CustomStringConvertible {
    case operation(S3Operation)
    case unknown(reasonContains: String)

    var description: String {
        switch self {
        case .operation(let operation): operation.name
        case .unknown(let reason): "unknown(\(reason))"
        }
    }
}

struct OperationCase: Sendable, CustomTestStringConvertible {
    let method: String
    let target: String
    let headers: [(String, String)]
    let host: String
    let expected: ExpectedOperation

    init(_ method: String, _ target: String, _ headers: [(String, String)] = [], host: String = "s3.example.com",
         is expected: S3Operation) {
        self.method = method
        self.target = target
        self.headers = headers
        self.host = host
        self.expected = .operation(expected)
    }

    init(_ method: String, _ target: String, _ headers: [(String, String)] = [], host: String = "s3.example.com",
         unknown reason: String) {
        self.method = method
        self.target = target
        self.headers = headers
        self.host = host
        self.expected = .unknown(reasonContains: reason)
    }

    var testDescription: String {
        let headerText = headers.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
        return "\(method) \(target)\(host == "s3.example.com" ? "" : " Host: \(host)")\(headerText.isEmpty ? "" : " [\(headerText)]") → \(expected)"
    }
}

/// Index of every case of `S3Operation`. The switch has no `default`, so adding a case to
/// the enum does not compile until this list, and with it the coverage check below, knows it.
private func caseIndex(_ operation: S3Operation) -> Int {
    switch operation {
    case .listBuckets: 0
    case .createBucket: 1
    case .deleteBucket: 2
    case .headBucket: 3
    case .listObjects: 4
    case .listObjectsV2: 5
    case .listObjectVersions: 6
    case .listMultipartUploads: 7
    case .deleteObjects: 8
    case .postObject: 9
    case .getBucketConfiguration: 10
    case .putBucketConfiguration: 11
    case .deleteBucketConfiguration: 12
    case .createMultipartUpload: 13
    case .uploadPart: 14
    case .uploadPartCopy: 15
    case .completeMultipartUpload: 16
    case .abortMultipartUpload: 17
    case .listParts: 18
    case .putObject: 19
    case .copyObject: 20
    case .appendObject: 21
    case .modifyObjectMetadata: 22
    case .getObject: 23
    case .headObject: 24
    case .deleteObject: 25
    case .restoreObject: 26
    case .selectObjectContent: 27
    case .getObjectAttributes: 28
    case .getObjectConfiguration: 29
    case .putObjectConfiguration: 30
    case .deleteObjectConfiguration: 31
    case .unknown: 32
    case .preflightBucket: 33
    case .preflightObject: 34
    }
}
private let caseCount = 35

private let sigV4Query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404&X-Amz-Security-Token=tok"
private let sigV2Query = "AWSAccessKeyId=AKID&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D"
private let obsQuery = "AccessKeyId=AKID&Expires=1532779451&Signature=0Akylf43Bm3mD1bh2rM3dmVp1Bo%3D"
private let formData = ("Content-Type", "multipart/form-data; boundary=9431149156168")

@Suite("S3Operation")
struct S3OperationTests {
    static let resolver = S3AddressResolver(baseDomains: ["s3.example.com"])

    static func classify(_ method: String, _ target: String, headers: [(String, String)] = [],
                         host: String = "s3.example.com", obs: Bool = true) throws -> S3Operation {
        let parsed = try RequestTarget(parsing: target)
        let address = try resolver.resolve(host: host, target: parsed)
        return S3OperationClassifier.classify(method: method, address: address, target: parsed,
                                              headers: HeaderFields(headers), acceptsOBSOperations: obs)
    }

    // MARK: - the table

    static let serviceCases: [OperationCase] = [
        // Service level
        OperationCase("GET", "/", is: .listBuckets),
        OperationCase("GET", "/?\(sigV4Query)", is: .listBuckets),
        OperationCase("GET", "/?\(sigV2Query)", is: .listBuckets),
        OperationCase("GET", "/?\(obsQuery)", is: .listBuckets),
        OperationCase("HEAD", "/", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/", unknown: "is no operation obsgate knows"),
        OperationCase("DELETE", "/", unknown: "is no operation obsgate knows"),
        OperationCase("PATCH", "/", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/?prefix=a", is: .listBuckets),
        OperationCase("GET", "/?acl", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/?response-content-type=x", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/?foo", unknown: "is no operation obsgate knows"),
        // A header carried in the query does not choose the operation; the header table refuses it.
        OperationCase("GET", "/?x-amz-acl=private", is: .listBuckets),

    ]

    static let bucketCases: [OperationCase] = [
        // Bucket level: CRUD
        OperationCase("PUT", "/bucket", is: .createBucket),
        OperationCase("PUT", "/bucket/", is: .createBucket),
        OperationCase("PUT", "/", host: "bucket.s3.example.com", is: .createBucket),
        OperationCase("PUT", "/bucket?\(sigV4Query)", is: .createBucket),
        OperationCase("DELETE", "/bucket", is: .deleteBucket),
        OperationCase("DELETE", "/", host: "bucket.s3.example.com", is: .deleteBucket),
        OperationCase("HEAD", "/bucket", is: .headBucket),
        OperationCase("HEAD", "/", host: "bucket.s3.example.com", is: .headBucket),
        // Bucket level: listings
        OperationCase("GET", "/bucket", is: .listObjects),
        OperationCase("GET", "/", host: "bucket.s3.example.com", is: .listObjects),
        OperationCase("GET", "/bucket?prefix=photos%2F&delimiter=%2F&marker=m&max-keys=100&encoding-type=url", is: .listObjects),
        OperationCase("GET", "/bucket?\(sigV2Query)", is: .listObjects),
        OperationCase("GET", "/bucket?list-type=2", is: .listObjectsV2),
        OperationCase("GET", "/bucket?list-type=2&continuation-token=t&start-after=a&fetch-owner=true&prefix=p", is: .listObjectsV2),
        OperationCase("GET", "/?list-type=2&\(sigV4Query)", host: "bucket.s3.example.com", is: .listObjectsV2),
        OperationCase("GET", "/bucket?versions", is: .listObjectVersions),
        OperationCase("GET", "/bucket?versions&key-marker=k&version-id-marker=v&prefix=p&max-keys=5", is: .listObjectVersions),
        OperationCase("GET", "/bucket?uploads", is: .listMultipartUploads),
        OperationCase("GET", "/bucket?uploads&key-marker=k&upload-id-marker=u&max-uploads=10&prefix=p&delimiter=/", is: .listMultipartUploads),
        // Bucket level: POST
        OperationCase("POST", "/bucket?delete", is: .deleteObjects),
        OperationCase("OPTIONS", "/bucket", is: .preflightBucket),
        OperationCase("OPTIONS", "/bucket/photo.jpg", is: .preflightObject),
        OperationCase("POST", "/bucket?delete=", is: .deleteObjects),
        OperationCase("POST", "/?delete", host: "bucket.s3.example.com", is: .deleteObjects),
        OperationCase("POST", "/bucket", [formData], is: .postObject),
        OperationCase("POST", "/bucket", [("content-type", "multipart/form-data")], is: .postObject),
        OperationCase("POST", "/bucket", [("CONTENT-TYPE", "Multipart/Form-Data; boundary=x")], is: .postObject),
        OperationCase("POST", "/", [formData], host: "bucket.s3.example.com", is: .postObject),
        OperationCase("POST", "/bucket", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket", [("Content-Type", "application/x-www-form-urlencoded")], unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket", [("Content-Type", "application/xml")], unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket", [("Content-Type", "text/plain; x=multipart/form-data")], unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket?acl", [formData], unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket?cors", unknown: "is no operation obsgate knows"),
        // Bucket level: other methods
        OperationCase("PATCH", "/bucket", unknown: "is no operation obsgate knows"),
        OperationCase("OPTIONS", "/bucket?acl", unknown: "is no operation obsgate knows"),
        OperationCase("get", "/bucket", unknown: "is no operation obsgate knows"),           // methods are case-sensitive
        OperationCase("HEAD", "/bucket?acl", unknown: "is no operation obsgate knows"),
        OperationCase("HEAD", "/bucket?versioning", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket?cors&policy", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket?acl&tagging", unknown: "is no operation obsgate knows"),
        OperationCase("DELETE", "/bucket?lifecycle&website&cors", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket?foo", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket?Acl", unknown: "is no operation obsgate knows"),                  // names are case-sensitive
        OperationCase("GET", "/bucket?list-type=2&x-unknown=1", unknown: "is no operation obsgate knows"),

    ]

    static let multipartCases: [OperationCase] = [
        // Object level: multipart
        OperationCase("POST", "/bucket/key?uploads", is: .createMultipartUpload),
        OperationCase("POST", "/bucket/key?uploads=", is: .createMultipartUpload),
        OperationCase("POST", "/bucket/key?%75ploads", is: .createMultipartUpload),        // names are decoded
        OperationCase("POST", "/key?uploads", host: "bucket.s3.example.com", is: .createMultipartUpload),
        OperationCase("POST", "/bucket/key?uploads&\(sigV4Query)", is: .createMultipartUpload),
        OperationCase("POST", "/bucket/key?uploads&x-id=CreateMultipartUpload", is: .createMultipartUpload),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc", is: .uploadPart),
        OperationCase("PUT", "/bucket/key?uploadId=abc&partNumber=10000", is: .uploadPart),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc&\(sigV4Query)", is: .uploadPart),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc", [("x-amz-copy-source", "/src/key")], is: .uploadPartCopy),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc", [("X-Amz-Copy-Source", "/src/key")], is: .uploadPartCopy),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc", [("x-obs-copy-source", "/src/key")], is: .uploadPartCopy),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc", [("X-OBS-COPY-SOURCE", "/src/key")], is: .uploadPartCopy),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=abc",
                      [("x-amz-copy-source", "/src/key"), ("x-amz-copy-source-range", "bytes=0-9")], is: .uploadPartCopy),
        OperationCase("POST", "/bucket/key?uploadId=abc", is: .completeMultipartUpload),
        OperationCase("DELETE", "/bucket/key?uploadId=abc", is: .abortMultipartUpload),
        OperationCase("GET", "/bucket/key?uploadId=abc", is: .listParts),
        OperationCase("GET", "/bucket/key?uploadId=abc&max-parts=10&part-number-marker=2", is: .listParts),
        OperationCase("PUT", "/bucket/key?uploadId=abc", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?partNumber=1", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?uploads", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?uploadId=abc", [("x-amz-copy-source", "/src/key")], unknown: "is no operation obsgate knows"),

    ]

    static let contentCases: [OperationCase] = [
        // Object level: content
        OperationCase("PUT", "/bucket/key", is: .putObject),
        OperationCase("PUT", "/key", host: "bucket.s3.example.com", is: .putObject),
        OperationCase("PUT", "/bucket/key?\(sigV4Query)", is: .putObject),
        OperationCase("PUT", "/bucket/key?\(sigV2Query)", is: .putObject),
        OperationCase("PUT", "/bucket/key?\(obsQuery)", is: .putObject),
        OperationCase("PUT", "/bucket/key?x-id=PutObject", is: .putObject),
        // header-like parameters of presigned URLs are allowed, in any case
        OperationCase("PUT", "/bucket/key?x-amz-acl=private&x-amz-meta-a=1", is: .putObject),
        OperationCase("PUT", "/bucket/key?X-Amz-Storage-Class=STANDARD&\(sigV4Query)", is: .putObject),
        OperationCase("PUT", "/bucket/key?x-obs-acl=private&X-OBS-META-A=1&\(obsQuery)", is: .putObject),
        OperationCase("GET", "/bucket/key?x-amz-algorithm=AWS4-HMAC-SHA256", is: .getObject),
        OperationCase("GET", "/bucket/key?x-amz-server-side-encryption-customer-algorithm=AES256", is: .getObject),
        OperationCase("POST", "/bucket/key?uploads&x-amz-acl=private", is: .createMultipartUpload),
        OperationCase("GET", "/bucket?x-amz-expected-bucket-owner=1", is: .listObjects),
        OperationCase("PUT", "/bucket/key", [("Content-Type", "multipart/form-data")], is: .putObject),
        OperationCase("PUT", "/bucket/key", [("x-amz-copy-source", "/src/key")], is: .copyObject),
        OperationCase("PUT", "/bucket/key", [("X-AMZ-COPY-SOURCE", "src/key?versionId=1")], is: .copyObject),
        OperationCase("PUT", "/bucket/key", [("x-obs-copy-source", "/src/key")], is: .copyObject),
        OperationCase("PUT", "/bucket/key", [("X-Obs-Copy-Source", "/src/key")], is: .copyObject),
        OperationCase("PUT", "/key", [("x-amz-copy-source", "/src/key")], host: "bucket.s3.example.com", is: .copyObject),
        OperationCase("PUT", "/bucket/key", [("x-amz-copy-source-if-match", "etag")], is: .putObject),  // not a copy-source header
        OperationCase("PUT", "/bucket/key?metadata", is: .modifyObjectMetadata),
        OperationCase("PUT", "/bucket/key?metadata", [("x-obs-metadata-directive", "REPLACE_NEW")], is: .modifyObjectMetadata),
        OperationCase("PUT", "/bucket/key?metadata&versionId=v", is: .modifyObjectMetadata),
        OperationCase("POST", "/bucket/key?append&position=0", is: .appendObject),
        OperationCase("POST", "/bucket/key?append&position=1048576", is: .appendObject),
        OperationCase("POST", "/bucket/key?position=5&append", is: .appendObject),
        OperationCase("POST", "/bucket/key?append=&position=0&\(obsQuery)", is: .appendObject),
        OperationCase("POST", "/key?append&position=0", host: "bucket.s3.example.com", is: .appendObject),
        OperationCase("GET", "/bucket/key", is: .getObject),
        OperationCase("GET", "/key", host: "bucket.s3.example.com", is: .getObject),
        OperationCase("GET", "/bucket/key?versionId=3", is: .getObject),
        OperationCase("GET", "/bucket/key?partNumber=2", is: .getObject),
        OperationCase("GET", "/bucket/key?response-content-type=text%2Fplain&response-content-disposition=attachment&response-cache-control=no&response-expires=0&response-content-language=en&response-content-encoding=gzip", is: .getObject),
        OperationCase("GET", "/bucket/key?response-x-anything=1", unknown: "?response-x-anything"),
        OperationCase("GET", "/bucket/key?\(sigV4Query)&response-content-type=a", is: .getObject),
        OperationCase("GET", "/bucket/key?\(sigV2Query)", is: .getObject),
        OperationCase("GET", "/bucket/key?\(obsQuery)", is: .getObject),
        OperationCase("GET", "/bucket/key?x-id=GetObject", is: .getObject),
        OperationCase("HEAD", "/bucket/key", is: .headObject),
        OperationCase("HEAD", "/bucket/key?versionId=3&partNumber=1", is: .headObject),
        OperationCase("HEAD", "/key?\(sigV4Query)", host: "bucket.s3.example.com", is: .headObject),
        OperationCase("DELETE", "/bucket/key", is: .deleteObject),
        OperationCase("DELETE", "/bucket/key?versionId=3", is: .deleteObject),
        OperationCase("DELETE", "/key", host: "bucket.s3.example.com", is: .deleteObject),
        OperationCase("POST", "/bucket/key?restore", is: .restoreObject),
        OperationCase("POST", "/bucket/key?restore&versionId=1", is: .restoreObject),
        OperationCase("POST", "/bucket/key?select&select-type=2", is: .selectObjectContent),
        OperationCase("GET", "/bucket/key?attributes", [("x-amz-object-attributes", "ETag")], is: .getObjectAttributes),
        OperationCase("GET", "/bucket/key?attributes", unknown: "GET on an object with ?attributes"),
        OperationCase("GET", "/bucket/key?attributes&versionId=1", [("x-amz-object-attributes", "ETag")], is: .getObjectAttributes),

    ]

    static let unknownObjectCases: [OperationCase] = [
        // Object level: unknown shapes
        OperationCase("GET", "/bucket/key?foo", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?foo=bar", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?Uploads", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket/key?uploads&foo", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?partNumber=1&uploadId=x&foo", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket/key?amz-acl=private", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket/key?x-amzacl=private", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket/key?x_amz_acl=private", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket/key?%66oo", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket/key", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket/key", [formData], unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket/key?position=0", unknown: "is no operation obsgate knows"),
        OperationCase("POST", "/bucket/key?acl", unknown: "is no operation obsgate knows"),
        OperationCase("HEAD", "/bucket/key?acl", unknown: "is no operation obsgate knows"),
        OperationCase("HEAD", "/bucket/key?tagging", unknown: "is no operation obsgate knows"),
        OperationCase("GET", "/bucket/key?acl&tagging", unknown: "is no operation obsgate knows"),
        OperationCase("PUT", "/bucket/key?retention&legal-hold", unknown: "is no operation obsgate knows"),
        OperationCase("DELETE", "/bucket/key?tagging&acl", unknown: "is no operation obsgate knows"),
        OperationCase("HEAD", "/bucket/key?acl&tagging", unknown: "is no operation obsgate knows"),
        OperationCase("PATCH", "/bucket/key", unknown: "is no operation obsgate knows"),
        OperationCase("OPTIONS", "/bucket/key?uploads", unknown: "is no operation obsgate knows"),
        OperationCase("OPTIONS", "/", unknown: "is no operation obsgate knows"),
        OperationCase("TRACE", "/bucket/key", unknown: "is no operation obsgate knows"),
        OperationCase("put", "/bucket/key", unknown: "is no operation obsgate knows"),
        OperationCase("", "/bucket/key", unknown: "is no operation obsgate knows"),
    ]

    static let cases: [OperationCase] = serviceCases + bucketCases + multipartCases + contentCases + unknownObjectCases

    @Test("classification table", arguments: cases)
    func classify(_ testCase: OperationCase) throws {
        let operation = try Self.classify(testCase.method, testCase.target, headers: testCase.headers, host: testCase.host)
        switch testCase.expected {
        case .operation(let expected):
            #expect(operation == expected)
        case .unknown(let reasonContains):
            guard case .unknown(let reason) = operation else {
                Issue.record("expected unknown(\(reasonContains)), got \(operation)")
                return
            }
            #expect(reason.contains(reasonContains), "reason: \(reason)")
        }
    }

    @Test func tableCoversEveryCase() throws {
        var seen = Set<Int>()
        for testCase in Self.cases {
            switch testCase.expected {
            case .operation(let operation): seen.insert(caseIndex(operation))
            case .unknown: seen.insert(caseIndex(.unknown(reason: "")))
            }
        }
        for row in S3OperationTable.rows { seen.insert(caseIndex(row.operation)) }
        #expect(seen == Set(0..<caseCount))
    }

    // MARK: - the closed table, row by row

    /// A request of each row's own shape (its method, level, selectors with their fixed
    /// values, required headers) is classified as that row; with a parameter no row
    /// defines, it is no operation.
    @Test("every row classifies its own shape", arguments: S3OperationTable.rows.map(\.name))
    func rowClassifiesItsShape(_ name: String) throws {
        let row = try #require(S3OperationTable.rows.first { $0.name == name })
        let shape = row.shape
        let path = switch shape.level {
        case .service: "/"
        case .bucket: "/bucket"
        case .object: "/bucket/key"
        }
        let query = shape.selectors.sorted().map { "\($0)=\(shape.selectorValues[$0] ?? "1")" }.joined(separator: "&")
        var headers = shape.requiredHeaders.sorted().map { ($0, "/src/key") }
        if row.operation == .postObject { headers.append(formData) }
        let target = query.isEmpty ? path : path + "?" + query
        #expect(try Self.classify(shape.method, target, headers: headers) == row.operation)
        if !row.obsOnly { #expect(try Self.classify(shape.method, target, headers: headers, obs: false) == row.operation) }
        let stranger = target + (query.isEmpty ? "?" : "&") + "no-such-parameter"
        guard case .unknown = try Self.classify(shape.method, stranger, headers: headers) else {
            Issue.record("\(shape.method) \(stranger) is an operation")
            return
        }
    }

    @Test func everyModelOperationIsARowOrExcludedWithAReason() {
        let rows = Set(S3OperationTable.rows.map(\.name))
        for operation in S3APIModel.operations {
            #expect(rows.contains(operation.name) != (operation.deprecated || S3OperationTable.excluded[operation.name] != nil),
                    "\(operation.name)")
        }
        #expect(S3OperationTable.excluded.keys.allSatisfy { S3APIModel.byName[$0] != nil })
    }

    /// Shapes a store reads as something else than the gateway would judge.
    @Test("shapes the table has no row for", arguments: [
        ("PUT", "/bucket/key?torrent", [], "PUT on an object with ?torrent"),
        ("PUT", "/bucket/key?acl&partNumber=1&uploadId=x", [], "?acl&partNumber&uploadId"),
        ("PUT", "/bucket/key?uploadId=x", [], "PUT on an object with ?uploadId"),
        ("PUT", "/bucket/key?partNumber=1", [], "PUT on an object with ?partNumber"),
        ("HEAD", "/bucket?acl", [], "HEAD on a bucket with ?acl"),
        ("HEAD", "/bucket/key?tagging", [], "HEAD on an object with ?tagging"),
        ("POST", "/bucket/key", [], "POST on an object"),
        ("PUT", "/bucket/key?encryption", [], "PUT on an object with ?encryption"),
        ("PUT", "/bucket/key?renameObject", [("x-amz-rename-source", "/b/k")], "?renameObject"),
        ("GET", "/bucket?session", [], "GET on a bucket with ?session"),
        ("GET", "/bucket/key?uploads", [], "GET on an object with ?uploads"),
        ("GET", "/bucket?list-type=1", [], "?list-type"),
        ("PATCH", "/bucket/key", [], "PATCH on an object"),
    ] as [(String, String, [(String, String)], String)])
    func shapesWithoutARow(_ method: String, _ target: String, _ headers: [(String, String)], _ reason: String) throws {
        let operation = try Self.classify(method, target, headers: headers)
        guard case .unknown(let text) = operation else {
            Issue.record("\(method) \(target) classified as \(operation.name)")
            return
        }
        #expect(text.contains(reason), "\(text)")
    }

    /// OBS-only operations are operations only in front of an OBS upstream: an S3 store
    /// reads `PUT ?metadata` as PutObject.
    @Test("OBS-only operations need an OBS upstream", arguments: [
        ("PUT", "/bucket/key?metadata", S3Operation.modifyObjectMetadata),
        ("POST", "/bucket/key?append&position=0", .appendObject),
        ("PUT", "/bucket?storageClass", .putBucketConfiguration("storageClass")),
        ("PUT", "/bucket?mirrorBackToSource", .putBucketConfiguration("mirrorBackToSource")),
    ])
    func obsOnlyOperations(_ method: String, _ target: String, _ expected: S3Operation) throws {
        #expect(try Self.classify(method, target) == expected)
        let operation = try Self.classify(method, target, obs: false)
        guard case .unknown(let reason) = operation else {
            Issue.record("\(method) \(target) classified as \(operation.name) for an S3 upstream")
            return
        }
        #expect(reason.contains("is an OBS operation, and the upstream is not OBS"), "\(reason)")
    }

    /// Row by row: every header the operation defines is admitted, in its S3 spelling and
    /// (where OBS has one) its OBS spelling; headers of no operation are not.
    @Test("every row admits its own headers and no stranger", arguments: S3OperationTable.rows.map(\.name))
    func rowAdmitsItsHeaders(_ name: String) throws {
        let row = try #require(S3OperationTable.rows.first { $0.name == name })
        for header in row.shape.headers {
            #expect(row.admitsHeader(header), "\(header)")
            if let obs = HeaderDialect.s3.translateName(header, to: .obs) { #expect(row.admitsHeader(obs), "\(obs)") }
        }
        for prefix in row.shape.headerPrefixes { #expect(row.admitsHeader(prefix + "team")) }
        for stranger in ["x-amz-not-a-header", "x-obs-not-a-header", "x-amz-server-side-encryption-kms-key-id",
                         "x-obs-server-side-encryption-aws-kms-key-id"] {
            #expect(!row.admitsHeader(stranger), "\(stranger)")
        }
    }

    /// A row admits the headers its operation defines, in either dialect, and no others;
    /// a renamed header counts only in its own dialect's spelling.
    @Test func rowsAdmitTheirOperationsHeaders() throws {
        let putObject = try #require(S3OperationTable.rows.first { $0.name == "PutObject" })
        for name in ["x-amz-acl", "x-obs-acl", "x-amz-server-side-encryption-aws-kms-key-id",
                     "x-obs-server-side-encryption-kms-key-id", "x-amz-meta-a", "x-obs-meta-a", "content-md5",
                     "x-amz-website-redirect-location", "x-obs-storage-class"] {
            #expect(putObject.admitsHeader(name), "\(name)")
        }
        for name in ["x-obs-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-kms-key-id",
                     "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-unknown", "x-obs-expires", "range",
                     "x-obs-checksum-crc32"] {
            #expect(!putObject.admitsHeader(name), "\(name)")
        }
        let getObject = try #require(S3OperationTable.rows.first { $0.name == "GetObject" })
        #expect(getObject.admitsHeader("range"))
        #expect(!getObject.admitsHeader("x-amz-acl"))
    }

    /// Two operation selectors that lead to different operations on POST are an unknown
    /// shape, not the first one the classifier happens to test. In particular
    /// `?append&uploadId=` must not be taken for CompleteMultipartUpload (which the upload
    /// policy does not see) when OBS may perform an append.
    @Test("POST with conflicting operation selectors is unknown", arguments: [
        "/bucket/key?append&position=0&uploadId=abc",
        "/bucket/key?uploadId=abc&restore",
        "/bucket/key?uploadId=abc&select&select-type=2",
        "/bucket/key?uploads&append&position=0",
        "/bucket/key?append&position=0&restore",
    ])
    func postWithConflictingSelectors(_ target: String) throws {
        let operation = try Self.classify("POST", target)
        guard case .unknown = operation else {
            Issue.record("POST \(target) classified as \(operation.name)")
            return
        }
    }

    // MARK: - authentication parameters

    @Test("authentication parameters never change the classification",
          arguments: S3OperationClassifier.authenticationParameters.sorted())
    func authenticationParametersIgnored(_ parameter: String) throws {
        for (method, target, expected) in [
            ("GET", "/", S3Operation.listBuckets),
            ("GET", "/bucket", .listObjects),
            ("GET", "/bucket/key", .getObject),
            ("PUT", "/bucket/key", .putObject),
            ("POST", "/bucket/key?uploads", .createMultipartUpload),
            ("DELETE", "/bucket?policy", .deleteBucketConfiguration("policy")),
        ] {
            let separator = target.contains("?") ? "&" : "?"
            #expect(try Self.classify(method, target + separator + parameter + "=x") == expected)
            #expect(try Self.classify(method, target + separator + parameter) == expected)
        }
    }

    @Test func authenticationParameterNames() {
        #expect(S3OperationClassifier.authenticationParameters == [
            "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
            "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
            "AWSAccessKeyId", "Expires", "Signature", "AccessKeyId",
        ])
    }

    @Test("response-* overrides are allowed on any object request", arguments: [
        "response-content-type", "response-content-language", "response-expires",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
    ])
    func responseOverrides(_ name: String) throws {
        #expect(try Self.classify("GET", "/bucket/key?\(name)=v") == .getObject)
        #expect(try Self.classify("GET", "/bucket/key?\(name)=v&versionId=1&" + sigV4Query) == .getObject)
    }

    @Test("isHeaderParameter", arguments: [
        ("x-amz-acl", true), ("X-Amz-Acl", true), ("X-AMZ-META-A", true), ("x-amz-", true),
        ("x-obs-acl", true), ("X-Obs-Storage-Class", true), ("x-obs-", true),
        ("X-Amz-Signature", true),                 // the prefix rule alone; authentication is checked first
        ("x-amz", false), ("x-obs", false), ("amz-acl", false), ("x-amzacl", false), ("x_amz_acl", false),
        ("xx-amz-acl", false), ("response-x-amz", false), ("", false), ("x-\u{212A}", false),
    ] as [(String, Bool)])
    func isHeaderParameter(_ name: String, _ expected: Bool) {
        #expect(S3OperationClassifier.isHeaderParameter(name) == expected)
    }

    /// A presigned URL may carry `x-amz-copy-source` (or `x-obs-copy-source`) in its query;
    /// the gateway lifts such parameters into headers before forwarding, so the upstream
    /// performs a copy. The classification must say so too, or the policy sees PutObject /
    /// UploadPart while the store copies from a source the policy never checked.
    @Test("a copy source given as a query parameter is a copy", arguments: [
        ("/bucket/key?x-amz-copy-source=%2Fsrc%2Fkey", S3Operation.copyObject),
        ("/bucket/key?X-Amz-Copy-Source=%2Fsrc%2Fkey", .copyObject),
        ("/bucket/key?x-obs-copy-source=%2Fsrc%2Fkey", .copyObject),
        ("/bucket/key?partNumber=1&uploadId=u&x-amz-copy-source=%2Fsrc%2Fkey", .uploadPartCopy),
        ("/bucket/key?partNumber=1&uploadId=u&x-obs-copy-source=%2Fsrc%2Fkey", .uploadPartCopy),
    ])
    func copySourceAsQueryParameter(_ target: String, _ expected: S3Operation) throws {
        #expect(try Self.classify("PUT", target) == expected)
    }

    // MARK: - name and createsObject

    static let names: [(S3Operation, String)] = [
        (.listBuckets, "ListBuckets"),
        (.createBucket, "CreateBucket"),
        (.deleteBucket, "DeleteBucket"),
        (.headBucket, "HeadBucket"),
        (.listObjects, "ListObjects"),
        (.listObjectsV2, "ListObjectsV2"),
        (.listObjectVersions, "ListObjectVersions"),
        (.listMultipartUploads, "ListMultipartUploads"),
        (.deleteObjects, "DeleteObjects"),
        (.postObject, "PostObject"),
        (.getBucketConfiguration("acl"), "GetBucket:acl"),
        (.putBucketConfiguration("policy"), "PutBucket:policy"),
        (.deleteBucketConfiguration("cors"), "DeleteBucket:cors"),
        (.createMultipartUpload, "CreateMultipartUpload"),
        (.uploadPart, "UploadPart"),
        (.uploadPartCopy, "UploadPartCopy"),
        (.completeMultipartUpload, "CompleteMultipartUpload"),
        (.abortMultipartUpload, "AbortMultipartUpload"),
        (.listParts, "ListParts"),
        (.putObject, "PutObject"),
        (.copyObject, "CopyObject"),
        (.appendObject, "AppendObject"),
        (.modifyObjectMetadata, "ModifyObjectMetadata"),
        (.getObject, "GetObject"),
        (.headObject, "HeadObject"),
        (.deleteObject, "DeleteObject"),
        (.restoreObject, "RestoreObject"),
        (.selectObjectContent, "SelectObjectContent"),
        (.getObjectAttributes, "GetObjectAttributes"),
        (.getObjectConfiguration("tagging"), "GetObject:tagging"),
        (.putObjectConfiguration("legal-hold"), "PutObject:legal-hold"),
        (.deleteObjectConfiguration("tagging"), "DeleteObject:tagging"),
        (.unknown(reason: "anything"), "Unknown"),
        (.preflightBucket, "PreflightBucket"),
        (.preflightObject, "PreflightObject"),
    ]

    @Test func namesCoverEveryCase() {
        #expect(Set(Self.names.map { caseIndex($0.0) }) == Set(0..<caseCount))
    }

    @Test("API names", arguments: names)
    func name(_ operation: S3Operation, _ expected: String) {
        #expect(operation.name == expected)
    }

    /// The operations the upload policy must see. Exactly these, and never a configuration
    /// write or a multipart step after the upload was created.
    static let creating: Set<Int> = Set([
        S3Operation.createMultipartUpload, .putObject, .copyObject, .postObject, .appendObject, .modifyObjectMetadata,
    ].map(caseIndex))

    @Test("createsObject is true exactly for the object-creating operations", arguments: names.map(\.0))
    func createsObject(_ operation: S3Operation) {
        #expect(operation.createsObject == Self.creating.contains(caseIndex(operation)))
    }

    /// Every row of the operation table changes state exactly when its method is not a
    /// read (GET, HEAD, a CORS preflight's OPTIONS); SelectObjectContent is the one POST
    /// that only reads.
    @Test func changesStateFollowsTheMethodOfEveryRow() {
        for row in S3OperationTable.rows {
            let reads = ["GET", "HEAD", "OPTIONS"].contains(row.shape.method) || row.operation == .selectObjectContent
            #expect(row.operation.changesState == !reads, "\(row.shape.name) \(row.shape.method)")
        }
        #expect(!S3Operation.unknown(reason: "x").changesState)
    }

    @Test func createsObjectForClassifiedRequests() throws {
        #expect(try Self.classify("PUT", "/b/k").createsObject)
        #expect(try Self.classify("PUT", "/b/k", headers: [("x-obs-copy-source", "/a/b")]).createsObject)
        #expect(try Self.classify("POST", "/b/k?uploads").createsObject)
        #expect(try Self.classify("POST", "/b/k?append&position=0").createsObject)
        #expect(try Self.classify("PUT", "/b/k?metadata").createsObject)
        #expect(try Self.classify("POST", "/b", headers: [formData]).createsObject)
        #expect(try !Self.classify("PUT", "/b/k?partNumber=1&uploadId=u").createsObject)
        #expect(try !Self.classify("PUT", "/b/k?partNumber=1&uploadId=u", headers: [("x-amz-copy-source", "/a/b")]).createsObject)
        #expect(try !Self.classify("POST", "/b/k?uploadId=u").createsObject)
        #expect(try !Self.classify("PUT", "/b/k?acl").createsObject)
        #expect(try !Self.classify("PUT", "/b/k?foo").createsObject)
        #expect(try !Self.classify("PUT", "/b").createsObject)
    }

    @Test func unknownOperationsCompareByReason() {
        #expect(S3Operation.unknown(reason: "a") == .unknown(reason: "a"))
        #expect(S3Operation.unknown(reason: "a") != .unknown(reason: "b"))
        #expect(S3Operation.getBucketConfiguration("acl") != .getObjectConfiguration("acl"))
        #expect(S3Operation.getBucketConfiguration("acl") != .getBucketConfiguration("cors"))
    }
}
