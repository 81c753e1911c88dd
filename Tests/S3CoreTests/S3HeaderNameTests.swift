import Testing
import S3Core

@Suite("S3HeaderName")
struct S3HeaderNameTests {
    static let s3Names: [String] = [
        S3HeaderName.authorization, S3HeaderName.host, S3HeaderName.date, S3HeaderName.contentType,
        S3HeaderName.contentMD5, S3HeaderName.contentLength, S3HeaderName.contentEncoding, S3HeaderName.amzDate,
        S3HeaderName.contentSHA256, S3HeaderName.decodedContentLength, S3HeaderName.trailer,
        S3HeaderName.securityToken, S3HeaderName.copySource, S3HeaderName.storageClass,
        S3HeaderName.serverSideEncryption, S3HeaderName.sseKMSKeyId, S3HeaderName.websiteRedirectLocation,
        S3HeaderName.checksumPrefix, S3HeaderName.prefix,
    ]
    static let obsNames: [String] = [
        OBSHeaderName.date, OBSHeaderName.copySource, OBSHeaderName.storageClass, OBSHeaderName.securityToken,
        OBSHeaderName.prefix,
    ]

    @Test("header names are lowercase ASCII tokens", arguments: s3Names + obsNames)
    func lowercase(_ name: String) {
        #expect(name == name.asciiLowercased)
        #expect(name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") })
    }

    @Test func dialectPrefixes() {
        for name in [S3HeaderName.amzDate, S3HeaderName.contentSHA256, S3HeaderName.decodedContentLength,
                     S3HeaderName.trailer, S3HeaderName.securityToken, S3HeaderName.copySource,
                     S3HeaderName.storageClass, S3HeaderName.serverSideEncryption, S3HeaderName.sseKMSKeyId,
                     S3HeaderName.websiteRedirectLocation, S3HeaderName.checksumPrefix] {
            #expect(name.hasPrefix(S3HeaderName.prefix))
        }
        for name in [OBSHeaderName.date, OBSHeaderName.copySource, OBSHeaderName.storageClass, OBSHeaderName.securityToken] {
            #expect(name.hasPrefix(OBSHeaderName.prefix))
        }
        #expect(S3HeaderName.prefix == "x-amz-")
        #expect(OBSHeaderName.prefix == "x-obs-")
        #expect(S3HeaderName.copySource == "x-amz-copy-source")
        #expect(OBSHeaderName.copySource == "x-obs-copy-source")
        #expect(S3HeaderName.contentSHA256 == "x-amz-content-sha256")
        #expect(Set(Self.s3Names).count == Self.s3Names.count)
    }
}
