import Policy
import S3Core
import Testing

/// The seed's header rules (OBS Initiate Multipart Upload reference), each valid form and
/// each violation, with the exact S3 code and a message naming the header.
@Suite struct SeedValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var operation: S3Operation = .createMultipartUpload
        let headers: [(String, String)]
        var tls = true
        /// nil: the request is valid.
        var code: String? = nil
        /// The header the message (and the ArgumentName detail, for InvalidArgument) names.
        var header: String? = nil
        var testDescription: String { name }
    }

    static let valid: [Case] = {
        var cases: [Case] = [
            Case(name: "no headers", headers: []),
            Case(name: "unrelated headers", headers: [("Content-Type", "text/csv"), ("x-amz-tagging", "a=b")]),
        ]
        for storageClass in StorageClass.s3Names {
            cases.append(Case(name: "x-amz-storage-class \(storageClass)", headers: [("x-amz-storage-class", storageClass)]))
        }
        for storageClass in StorageClass.obsNames {
            cases.append(Case(name: "x-obs-storage-class \(storageClass)", headers: [("x-obs-storage-class", storageClass)]))
        }
        cases += [
            Case(name: "odd casing", headers: [("X-AMZ-STORAGE-CLASS", "GLACIER"), ("x-Obs-Storage-Class", "COLD")]),
            Case(name: "WARM agrees with STANDARD_IA", headers: [("x-amz-storage-class", "STANDARD_IA"), ("x-obs-storage-class", "WARM")]),
            Case(name: "DEEP_ARCHIVE in both", headers: [("x-amz-storage-class", "DEEP_ARCHIVE"), ("x-obs-storage-class", "DEEP_ARCHIVE")]),
            Case(name: "same header twice, same value", headers: [("x-amz-storage-class", "STANDARD"), ("X-Amz-Storage-Class", "STANDARD")]),
            Case(name: "SSE-S3", headers: [("x-amz-server-side-encryption", "AES256")]),
            Case(name: "SSE-KMS", headers: [("x-amz-server-side-encryption", "aws:kms")]),
            Case(name: "SSE-KMS DSSE with key", headers: [("x-amz-server-side-encryption", "aws:kms:dsse"),
                                                          ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")]),
            Case(name: "SSE-KMS with key", headers: [("x-amz-server-side-encryption", "aws:kms"),
                                                     ("x-amz-server-side-encryption-aws-kms-key-id",
                                                      "arn:aws:kms:sichuan:domainiddomainiddomainiddoma0001:key/4f1cd4de-ab64-4807-920a-47fc42e7f0d0")]),
            Case(name: "OBS kms with OBS key", headers: [("x-obs-server-side-encryption", "kms"),
                                                         ("x-obs-server-side-encryption-kms-key-id", "region:783fc6652cf246c096ea836694f71855:key/522d6070")]),
            Case(name: "OBS kms with S3 key id", headers: [("x-obs-server-side-encryption", "kms"),
                                                           ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")]),
            Case(name: "OBS AES256", headers: [("x-obs-server-side-encryption", "AES256")]),
            Case(name: "kms agrees with aws:kms", headers: [("x-amz-server-side-encryption", "aws:kms"), ("x-obs-server-side-encryption", "kms")]),
            Case(name: "relative redirect", headers: [("x-amz-website-redirect-location", "/anotherPage.html")]),
            Case(name: "http redirect", headers: [("x-amz-website-redirect-location", "http://www.example.com/")]),
            Case(name: "https redirect, OBS", headers: [("x-obs-website-redirect-location", "https://www.example.com/")]),
            Case(name: "redirect of exactly 2048 bytes", headers: [("x-amz-website-redirect-location", "/" + String(repeating: "a", count: 2047))]),
            Case(name: "SSE-C", headers: CustomerKey.s3),
            Case(name: "SSE-C, OBS dialect", headers: CustomerKey.obs),
            Case(name: "SSE-C, dialects mixed", headers: [CustomerKey.s3[0], CustomerKey.obs[1], CustomerKey.s3[2]]),
            Case(name: "SSE-C, 512-bit key", headers: [CustomerKey.s3[0],
                                                       ("x-amz-server-side-encryption-customer-key", CustomerKey.key512),
                                                       ("x-amz-server-side-encryption-customer-key-md5", CustomerKey.md5Of512)]),
            Case(name: "metadata of exactly 8 KB", headers: [("x-amz-meta-a", String(repeating: "v", count: 8191))]),
            Case(name: "metadata in both dialects, same value counted once",
                 headers: [("x-amz-meta-a", String(repeating: "v", count: 5000)), ("x-obs-meta-a", String(repeating: "v", count: 5000))]),
            Case(name: "UploadPart without SSE-C", operation: .uploadPart, headers: []),
            Case(name: "UploadPart with SSE-C", operation: .uploadPart, headers: CustomerKey.s3),
            Case(name: "UploadPart: storage class not judged", operation: .uploadPart, headers: [("x-amz-storage-class", "junk")]),
            Case(name: "GetObject: nothing judged", operation: .getObject, headers: [("x-amz-storage-class", "junk")]),
            Case(name: "CopyObject with copy-source SSE-C", operation: .copyObject, headers: [
                ("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-copy-source-server-side-encryption-customer-key", CustomerKey.key256),
                ("x-amz-copy-source-server-side-encryption-customer-key-MD5", CustomerKey.md5Of256),
                ("x-amz-server-side-encryption", "aws:kms"),
            ]),
        ]
        for operation: S3Operation in [.putObject, .copyObject, .postObject, .appendObject, .modifyObjectMetadata] {
            cases.append(Case(name: "\(operation.name) with storage class and SSE-KMS", operation: operation,
                              headers: [("x-amz-storage-class", "STANDARD"), ("x-amz-server-side-encryption", "aws:kms")]))
        }
        return cases
    }()

    @Test(arguments: valid)
    func accepts(_ testCase: Case) throws {
        try SeedValidation.validate(makeRequest(testCase.operation, headers: testCase.headers, tls: testCase.tls),
                                    requireTLSForSSEC: true)
    }

    static let violations: [Case] = {
        let md5Header = "x-amz-server-side-encryption-customer-key-md5"
        var cases: [Case] = [
            // storage class
            Case(name: "lowercase storage class", headers: [("x-amz-storage-class", "glacier")],
                 code: "InvalidStorageClass", header: "x-amz-storage-class"),
            Case(name: "mixed-case storage class", headers: [("X-Amz-Storage-Class", "Standard")],
                 code: "InvalidStorageClass", header: "x-amz-storage-class"),
            Case(name: "OBS name in the S3 header", headers: [("x-amz-storage-class", "WARM")],
                 code: "InvalidStorageClass", header: "x-amz-storage-class"),
            Case(name: "S3 name in the OBS header", headers: [("x-obs-storage-class", "GLACIER")],
                 code: "InvalidStorageClass", header: "x-obs-storage-class"),
            Case(name: "lowercase OBS storage class", headers: [("x-obs-storage-class", "warm")],
                 code: "InvalidStorageClass", header: "x-obs-storage-class"),
            Case(name: "empty storage class", headers: [("x-amz-storage-class", "")],
                 code: "InvalidStorageClass", header: "x-amz-storage-class"),
            // redirect
            Case(name: "redirect without scheme", headers: [("x-amz-website-redirect-location", "evil.example")],
                 code: "InvalidRedirectLocation", header: "x-amz-website-redirect-location"),
            Case(name: "ftp redirect", headers: [("x-amz-website-redirect-location", "ftp://example.com/")],
                 code: "InvalidRedirectLocation", header: "x-amz-website-redirect-location"),
            Case(name: "upper-case scheme", headers: [("x-amz-website-redirect-location", "HTTPS://example.com/")],
                 code: "InvalidRedirectLocation", header: "x-amz-website-redirect-location"),
            Case(name: "redirect of 2049 bytes", headers: [("x-amz-website-redirect-location", "/" + String(repeating: "a", count: 2048))],
                 code: "InvalidRedirectLocation", header: "x-amz-website-redirect-location"),
            Case(name: "OBS redirect without scheme", headers: [("x-obs-website-redirect-location", "javascript:alert(1)")],
                 code: "InvalidRedirectLocation", header: "x-obs-website-redirect-location"),
            // encryption values
            Case(name: "aws:KMS", headers: [("x-amz-server-side-encryption", "aws:KMS")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption"),
            Case(name: "OBS kms in the S3 header", headers: [("x-amz-server-side-encryption", "kms")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption"),
            Case(name: "S3 aws:kms in the OBS header", headers: [("x-obs-server-side-encryption", "aws:kms")],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption"),
            Case(name: "aes256", headers: [("x-amz-server-side-encryption", "aes256")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption"),
            // KMS key id only with SSE-KMS
            Case(name: "KMS key without SSE", headers: [("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-aws-kms-key-id"),
            Case(name: "KMS key with AES256", headers: [("x-amz-server-side-encryption", "AES256"),
                                                        ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-aws-kms-key-id"),
            Case(name: "OBS KMS key without SSE", headers: [("x-obs-server-side-encryption-kms-key-id", "k")],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption-kms-key-id"),
            Case(name: "KMS key with SSE-C", headers: CustomerKey.s3 + [("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-aws-kms-key-id"),
            // SSE-C triple
            Case(name: "SSE-C without key", headers: [CustomerKey.s3[0], CustomerKey.s3[2]],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-customer-key"),
            Case(name: "SSE-C without key MD5", headers: [CustomerKey.s3[0], CustomerKey.s3[1]],
                 code: "InvalidArgument", header: md5Header),
            Case(name: "SSE-C without algorithm", headers: [CustomerKey.s3[1], CustomerKey.s3[2]],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-customer-algorithm"),
            Case(name: "OBS SSE-C without key", headers: [CustomerKey.obs[0], CustomerKey.obs[2]],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption-customer-key"),
            Case(name: "SSE-C algorithm aes256", headers: [("x-amz-server-side-encryption-customer-algorithm", "aes256"),
                                                           CustomerKey.s3[1], CustomerKey.s3[2]],
                 code: "InvalidEncryptionAlgorithmError", header: "x-amz-server-side-encryption-customer-algorithm"),
            Case(name: "SSE-C algorithm aws:kms", headers: [("x-amz-server-side-encryption-customer-algorithm", "aws:kms"),
                                                            CustomerKey.s3[1], CustomerKey.s3[2]],
                 code: "InvalidEncryptionAlgorithmError", header: "x-amz-server-side-encryption-customer-algorithm"),
            Case(name: "SSE-C 128-bit key", headers: [CustomerKey.s3[0], ("x-amz-server-side-encryption-customer-key", CustomerKey.key128),
                                                      (md5Header, CustomerKey.md5Of128)],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-customer-key"),
            Case(name: "SSE-C key not base64", headers: [CustomerKey.s3[0], ("x-amz-server-side-encryption-customer-key", "not base64 at all!"),
                                                         CustomerKey.s3[2]],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-customer-key"),
            Case(name: "SSE-C key base64 without padding", headers: [CustomerKey.s3[0],
                                                                     ("x-amz-server-side-encryption-customer-key", String(CustomerKey.key256.dropLast())),
                                                                     CustomerKey.s3[2]],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-customer-key"),
            Case(name: "SSE-C MD5 of another key (the reference's example)", headers: [CustomerKey.s3[0], CustomerKey.s3[1],
                                                                                       (md5Header, CustomerKey.documentedMD5)],
                 code: "InvalidArgument", header: md5Header),
            Case(name: "SSE-C MD5 not base64", headers: [CustomerKey.s3[0], CustomerKey.s3[1], (md5Header, "%%%")],
                 code: "InvalidArgument", header: md5Header),
            Case(name: "SSE-C MD5 in hex", headers: [CustomerKey.s3[0], CustomerKey.s3[1], (md5Header, "1c7652adf64cb52ebd1428ffc4df29a6")],
                 code: "InvalidArgument", header: md5Header),
            // control characters: a browser drops TAB/CR/LF from a URL, so "/\t/evil" is "//evil"
            Case(name: "redirect with TAB", headers: [("x-amz-website-redirect-location", "/\t/evil.example/x")],
                 code: "InvalidArgument", header: "x-amz-website-redirect-location"),
            Case(name: "redirect with NUL", headers: [("x-obs-website-redirect-location", "/a\u{0}b")],
                 code: "InvalidArgument", header: "x-obs-website-redirect-location"),
            Case(name: "redirect with DEL", headers: [("x-amz-website-redirect-location", "/a\u{7F}")],
                 code: "InvalidArgument", header: "x-amz-website-redirect-location"),
            Case(name: "redirect with C1", headers: [("x-amz-website-redirect-location", "/a\u{85}b")],
                 code: "InvalidArgument", header: "x-amz-website-redirect-location"),
            Case(name: "KMS key id with LF", headers: [("x-amz-server-side-encryption", "aws:kms"),
                                                      ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1\nx")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption-aws-kms-key-id"),
            Case(name: "metadata with CR", headers: [("x-amz-meta-a", "b\rc")],
                 code: "InvalidArgument", header: "x-amz-meta-a"),
            // SSE-C with other encryption
            Case(name: "SSE-C with aws:kms", headers: CustomerKey.s3 + [("x-amz-server-side-encryption", "aws:kms")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption"),
            Case(name: "SSE-C with AES256", headers: CustomerKey.s3 + [("x-amz-server-side-encryption", "AES256")],
                 code: "InvalidArgument", header: "x-amz-server-side-encryption"),
            Case(name: "OBS SSE-C with OBS kms", headers: CustomerKey.obs + [("x-obs-server-side-encryption", "kms")],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption"),
            // TLS
            Case(name: "SSE-C over plain HTTP", headers: CustomerKey.s3, tls: false,
                 code: "InvalidRequest", header: "x-amz-server-side-encryption-customer-algorithm"),
            Case(name: "OBS SSE-C over plain HTTP", headers: CustomerKey.obs, tls: false,
                 code: "InvalidRequest", header: "x-obs-server-side-encryption-customer-algorithm"),
            // metadata
            Case(name: "metadata of 8 KB + 1", headers: [("x-amz-meta-a", String(repeating: "v", count: 8192))],
                 code: "MetadataTooLarge", header: "x-amz-meta-"),
            Case(name: "OBS metadata over 8 KB in many entries",
                 headers: (0..<9).map { ("x-obs-meta-k\($0)", String(repeating: "v", count: 1000)) },
                 code: "MetadataTooLarge", header: "x-obs-meta-"),
            // duplicates and dialect disagreement
            Case(name: "storage class twice, different values",
                 headers: [("x-amz-storage-class", "STANDARD"), ("x-amz-storage-class", "GLACIER")],
                 code: "InvalidArgument", header: "x-amz-storage-class"),
            Case(name: "storage class twice in different casing, different values",
                 headers: [("x-amz-storage-class", "STANDARD"), ("X-AMZ-STORAGE-CLASS", "GLACIER")],
                 code: "InvalidArgument", header: "x-amz-storage-class"),
            Case(name: "S3 and OBS storage classes disagree",
                 headers: [("x-amz-storage-class", "GLACIER"), ("x-obs-storage-class", "WARM")],
                 code: "InvalidArgument", header: "x-obs-storage-class"),
            Case(name: "STANDARD_IA and COLD disagree",
                 headers: [("x-amz-storage-class", "STANDARD_IA"), ("x-obs-storage-class", "COLD")],
                 code: "InvalidArgument", header: "x-obs-storage-class"),
            Case(name: "encryption dialects disagree",
                 headers: [("x-amz-server-side-encryption", "aws:kms"), ("x-obs-server-side-encryption", "AES256")],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption"),
            Case(name: "KMS key ids disagree",
                 headers: [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1"),
                           ("x-obs-server-side-encryption-kms-key-id", "testkey-2")],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption-kms-key-id"),
            Case(name: "redirect twice", headers: [("x-amz-website-redirect-location", "/a"), ("x-amz-website-redirect-location", "/b")],
                 code: "InvalidArgument", header: "x-amz-website-redirect-location"),
            Case(name: "redirect dialects disagree",
                 headers: [("x-amz-website-redirect-location", "/a"), ("x-obs-website-redirect-location", "https://evil.example/")],
                 code: "InvalidArgument", header: "x-obs-website-redirect-location"),
            Case(name: "canned ACL twice", headers: [("x-amz-acl", "private"), ("x-amz-acl", "public-read")],
                 code: "InvalidArgument", header: "x-amz-acl"),
            Case(name: "canned ACL dialects disagree", headers: [("x-amz-acl", "private"), ("x-obs-acl", "public-read")],
                 code: "InvalidArgument", header: "x-obs-acl"),
            Case(name: "grant twice", headers: [("x-amz-grant-read", "id=1"), ("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")],
                 code: "InvalidArgument", header: "x-amz-grant-read"),
            Case(name: "metadata twice", headers: [("x-amz-meta-cost", "1"), ("X-Amz-Meta-Cost", "2")],
                 code: "InvalidArgument", header: "x-amz-meta-cost"),
            Case(name: "metadata dialects disagree", headers: [("x-amz-meta-cost", "1"), ("x-obs-meta-cost", "2")],
                 code: "InvalidArgument", header: "x-obs-meta-cost"),
            Case(name: "customer keys disagree", headers: CustomerKey.s3 + [("x-obs-server-side-encryption-customer-key", CustomerKey.key512)],
                 code: "InvalidArgument", header: "x-obs-server-side-encryption-customer-key"),
            // part uploads and copies
            Case(name: "UploadPart with incomplete SSE-C", operation: .uploadPart, headers: [CustomerKey.s3[0], CustomerKey.s3[1]],
                 code: "InvalidArgument", header: md5Header),
            Case(name: "UploadPart with a wrong key MD5", operation: .uploadPart,
                 headers: [CustomerKey.s3[0], CustomerKey.s3[1], (md5Header, CustomerKey.md5Of512)],
                 code: "InvalidArgument", header: md5Header),
            Case(name: "UploadPart SSE-C over plain HTTP", operation: .uploadPart, headers: CustomerKey.s3, tls: false,
                 code: "InvalidRequest", header: "x-amz-server-side-encryption-customer-algorithm"),
            Case(name: "UploadPartCopy with incomplete copy-source SSE-C", operation: .uploadPartCopy,
                 headers: [("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256")],
                 code: "InvalidArgument", header: "x-amz-copy-source-server-side-encryption-customer-key"),
            Case(name: "CopyObject copy-source SSE-C over plain HTTP", operation: .copyObject, headers: [
                ("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-copy-source-server-side-encryption-customer-key", CustomerKey.key256),
                ("x-amz-copy-source-server-side-encryption-customer-key-MD5", CustomerKey.md5Of256),
            ], tls: false, code: "InvalidRequest", header: "x-amz-copy-source-server-side-encryption-customer-algorithm"),
        ]
        for operation: S3Operation in [.putObject, .copyObject, .postObject, .appendObject, .modifyObjectMetadata] {
            cases.append(Case(name: "\(operation.name) with a bad storage class", operation: operation,
                              headers: [("x-amz-storage-class", "glacier")], code: "InvalidStorageClass", header: "x-amz-storage-class"))
            cases.append(Case(name: "\(operation.name) with a bad redirect", operation: operation,
                              headers: [("x-amz-website-redirect-location", "evil.example")],
                              code: "InvalidRedirectLocation", header: "x-amz-website-redirect-location"))
        }
        return cases
    }()

    static let statuses: [String: Int] = [
        "InvalidStorageClass": 400, "InvalidRedirectLocation": 400, "InvalidArgument": 400,
        "InvalidEncryptionAlgorithmError": 400, "InvalidRequest": 400, "MetadataTooLarge": 400,
    ]

    @Test(arguments: violations)
    func refuses(_ testCase: Case) throws {
        let request = makeRequest(testCase.operation, headers: testCase.headers, tls: testCase.tls)
        let error = try #require(throws: S3Error.self) {
            try SeedValidation.validate(request, requireTLSForSSEC: true)
        }
        #expect(error.code == testCase.code)
        #expect(error.status == Self.statuses[error.code])
        let header = try #require(testCase.header)
        #expect(error.message.asciiLowercased.contains(header), "message: \(error.message)")
        if error.code == "InvalidArgument" {
            #expect(error.details.contains { $0.name == "ArgumentName" && $0.value == header }, "details: \(error.details)")
        }
        // A customer key never appears in a message.
        for key in [CustomerKey.key256, CustomerKey.key512, CustomerKey.key128] {
            #expect(!error.message.contains(key))
        }
    }

    @Test func sseCOverPlainHTTPIsAcceptedWhenTLSEndsInFront() throws {
        try SeedValidation.validate(makeRequest(headers: CustomerKey.s3, tls: false), requireTLSForSSEC: false)
        try SeedValidation.validate(makeRequest(.uploadPart, headers: CustomerKey.obs, tls: false), requireTLSForSSEC: false)
    }

    @Test func metadataTooLargeCarriesTheSizes() throws {
        let request = makeRequest(headers: [("x-amz-meta-ab", String(repeating: "v", count: 8191))])
        let error = try #require(throws: S3Error.self) { try SeedValidation.validate(request, requireTLSForSSEC: true) }
        #expect(error.details.contains { $0.name == "Size" && $0.value == "8193" })
        #expect(error.details.contains { $0.name == "MaxSizeAllowed" && $0.value == "8192" })
    }

    /// The seed's rules stop at the first violation, in the documented order.
    @Test func firstViolationInDocumentedOrderWins() throws {
        let request = makeRequest(headers: [("x-amz-website-redirect-location", "nope"), ("x-amz-storage-class", "nope")])
        let error = try #require(throws: S3Error.self) { try SeedValidation.validate(request, requireTLSForSSEC: true) }
        #expect(error.code == "InvalidStorageClass")
    }
}
