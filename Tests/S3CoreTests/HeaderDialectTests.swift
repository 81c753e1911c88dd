import Testing
@testable import S3Core

/// The S3 ↔ OBS translation table, entry by entry, in both directions.
@Suite struct HeaderDialectTests {
    /// (S3 header, OBS header): every name the table maps, the renamed one included.
    static let names: [(String, String)] = [
        ("x-amz-storage-class", "x-obs-storage-class"),
        ("x-amz-server-side-encryption", "x-obs-server-side-encryption"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "x-obs-server-side-encryption-kms-key-id"),
        ("x-amz-server-side-encryption-customer-algorithm", "x-obs-server-side-encryption-customer-algorithm"),
        ("x-amz-server-side-encryption-customer-key", "x-obs-server-side-encryption-customer-key"),
        ("x-amz-server-side-encryption-customer-key-md5", "x-obs-server-side-encryption-customer-key-md5"),
        ("x-amz-copy-source-server-side-encryption-customer-key", "x-obs-copy-source-server-side-encryption-customer-key"),
        ("x-amz-website-redirect-location", "x-obs-website-redirect-location"),
        ("x-amz-acl", "x-obs-acl"),
        ("x-amz-grant-read", "x-obs-grant-read"),
        ("x-amz-grant-full-control", "x-obs-grant-full-control"),
        ("x-amz-meta-cost-centre", "x-obs-meta-cost-centre"),
        ("x-amz-date", "x-obs-date"),
        ("x-amz-security-token", "x-obs-security-token"),
        ("x-amz-copy-source", "x-obs-copy-source"),
        ("x-amz-metadata-directive", "x-obs-metadata-directive"),
        ("x-amz-request-id", "x-obs-request-id"),
        ("x-amz-id-2", "x-obs-id-2"),
        ("x-amz-version-id", "x-obs-version-id"),
    ]

    @Test(arguments: names)
    func namesTranslateBothWays(_ s3: String, _ obs: String) {
        #expect(HeaderDialect.s3.translateName(s3, to: .obs) == obs)
        #expect(HeaderDialect.obs.translateName(obs, to: .s3) == s3)
        #expect(HeaderDialect.s3.translateName(s3.uppercased(), to: .obs) == obs, "any case in, lowercase out")
        #expect(HeaderDialect.s3.translateName(s3, to: .s3) == s3)
    }

    @Test(arguments: [("STANDARD", "STANDARD"), ("STANDARD_IA", "WARM"), ("GLACIER", "COLD"), ("DEEP_ARCHIVE", "DEEP_ARCHIVE")])
    func storageClassesTranslateBothWays(_ s3: String, _ obs: String) throws {
        #expect(HeaderDialect.s3.translateValue(s3, ofHeader: "x-amz-storage-class", to: .obs) == obs)
        #expect(HeaderDialect.obs.translateValue(obs, ofHeader: "x-obs-storage-class", to: .s3) == s3)
        let translated = try HeaderDialect.translate(HeaderFields([("X-Amz-Storage-Class", s3)]), to: .obs)
        #expect(translated == HeaderFields([("x-obs-storage-class", obs)]))
    }

    @Test(arguments: [("aws:kms", "kms"), ("AES256", "AES256")])
    func encryptionValuesTranslateBothWays(_ s3: String, _ obs: String) {
        #expect(HeaderDialect.s3.translateValue(s3, ofHeader: "x-amz-server-side-encryption", to: .obs) == obs)
        #expect(HeaderDialect.obs.translateValue(obs, ofHeader: "x-obs-server-side-encryption", to: .s3) == s3)
    }

    @Test(arguments: ["REDUCED_REDUNDANCY", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "standard_ia"])
    func storageClassesWithoutAnOBSEquivalentAreRefused(_ value: String) {
        let error = #expect(throws: S3Error.self) {
            try HeaderDialect.translate(HeaderFields([("x-amz-storage-class", value)]), to: .obs)
        }
        #expect(error?.code == "InvalidStorageClass")
        #expect(error?.status == 400)
    }

    @Test func anEncryptionModeWithoutAnOBSEquivalentIsRefused() {
        let error = #expect(throws: S3Error.self) {
            try HeaderDialect.translate(HeaderFields([("x-amz-server-side-encryption", "aws:kms:dsse")]), to: .obs)
        }
        #expect(error?.code == "InvalidArgument")
    }

    @Test func responsesKeepValuesWithoutAnEquivalent() throws {
        let translated = try HeaderDialect.translate(HeaderFields([("x-obs-storage-class", "MYSTERY")]), to: .s3, strict: false)
        #expect(translated == HeaderFields([("x-amz-storage-class", "MYSTERY")]))
    }

    @Test func otherHeadersAndS3OnlyHeadersStayAsTheyAre() throws {
        let headers = HeaderFields([("Content-Type", "text/plain"), ("x-amz-checksum-crc32", "AAAAAA=="),
                                    ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"), ("ETag", "\"e\"")])
        #expect(try HeaderDialect.translate(headers, to: .obs) == headers)
    }

    @Test func translatingIntoTheSameDialectChangesNothingButCase() throws {
        let headers = HeaderFields([("x-obs-storage-class", "WARM"), ("x-amz-acl", "private")])
        #expect(try HeaderDialect.translate(headers, to: .obs) == HeaderFields([("x-obs-storage-class", "WARM"), ("x-obs-acl", "private")]))
    }

    /// Nothing to translate (one dialect, prefixed names in lowercase): the fields come back
    /// as they are, even a value the other dialect could not take; an uppercase prefixed
    /// name still takes the slow path and comes back lowercase.
    @Test func fieldsOfTheTargetDialectComeBackAsTheyAre() throws {
        let same = HeaderFields([("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("Content-Type", "a")])
        #expect(try HeaderDialect.translate(same, to: .s3) == same)
        let shouted = try HeaderDialect.translate(HeaderFields([("X-Amz-Acl", "private")]), to: .s3)
        #expect(Array(shouted).map(\.name) == ["x-amz-acl"])
    }

    @Test func caseInsensitiveComparisonsWorkOnSubstrings() {
        #expect("xHOST".dropFirst().asciiCaseInsensitiveEquals("host"))
        #expect("..X-AMZ-date".dropFirst(2).hasASCIICaseInsensitivePrefix("x-amz-"))
        #expect(!"x-amz".hasASCIICaseInsensitivePrefix("x-amz-"))
    }
}
