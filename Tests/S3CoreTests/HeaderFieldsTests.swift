import S3Core
import Testing

@Suite struct HeaderFieldsTests {
    @Test func lookupsIgnoreCaseAndKeepRepeats() {
        var headers = HeaderFields([("X-Amz-Storage-Class", "STANDARD"), ("x-amz-storage-class", "GLACIER")])
        #expect(headers.values(S3HeaderName.storageClass) == ["STANDARD", "GLACIER"])
        headers.replace("X-AMZ-STORAGE-CLASS", with: "COLD")
        #expect(headers.values(S3HeaderName.storageClass) == ["COLD"])
        headers.remove(S3HeaderName.storageClass)
        #expect(headers.count == 0)
    }

    /// The S3 and OBS names of a header differ only in their prefix where the policy pairs them.
    @Test func dialectNamesPair() {
        let pairs = [
            (S3HeaderName.websiteRedirectLocation, OBSHeaderName.websiteRedirectLocation),
            (S3HeaderName.sseCustomerAlgorithm, OBSHeaderName.sseCustomerAlgorithm),
            (S3HeaderName.sseCustomerKey, OBSHeaderName.sseCustomerKey),
            (S3HeaderName.sseCustomerKeyMD5, OBSHeaderName.sseCustomerKeyMD5),
            (S3HeaderName.acl, OBSHeaderName.acl),
            (S3HeaderName.metaPrefix, OBSHeaderName.metaPrefix),
            (S3HeaderName.grantPrefix, OBSHeaderName.grantPrefix),
        ]
        for (s3, obs) in pairs {
            #expect(s3.dropFirst(S3HeaderName.prefix.count) == obs.dropFirst(OBSHeaderName.prefix.count))
            #expect(s3 == s3.asciiLowercased && obs == obs.asciiLowercased)
        }
    }
}
