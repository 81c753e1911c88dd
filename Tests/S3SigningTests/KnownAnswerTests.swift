import Crypto
import Foundation
import S3Core
import Testing
@testable import S3Signing

/// One signed request from `vectors/s3-examples.md` (AWS documentation examples,
/// botocore's HmacV1 tests and the derived `POST ?uploads` vectors), checked through the
/// full verifier exactly as the gateway will see it on the wire.
struct KnownAnswer: CustomTestStringConvertible, Sendable {
    let name: String
    let method: String
    let target: String
    let headers: [(String, String)]
    var baseDomains: [String] = []
    let now: String
    var accessKey = "AKIAIOSFODNN7EXAMPLE"
    var secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    var region = "us-east-1"
    let scheme: SignatureScheme

    var testDescription: String { name }

    var nowDate: Date { SigningTime.parseAmzDate(now) ?? SigningTime.parseHTTPDate(now)! }

    func authenticate(headers override: [(String, String)]? = nil, target overrideTarget: String? = nil,
                      at time: Date? = nil) throws(S3Error) -> AuthenticatedRequest {
        let fields = HeaderFields(override ?? headers)
        let parsedTarget = try RequestTarget(parsing: overrideTarget ?? target)
        let address = try S3AddressResolver(baseDomains: baseDomains).resolve(host: fields["Host"], target: parsedTarget)
        let authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: [region]),
                                                 secrets: StaticSecrets(secrets: [accessKey: secret]))
        return try authenticator.authenticate(method: method, target: parsedTarget, headers: fields,
                                              address: address, now: time ?? nowDate)
    }

    /// The request with one character of its signature changed.
    var withTamperedSignature: (headers: [(String, String)], target: String) {
        if let index = headers.firstIndex(where: { $0.0 == "Authorization" }) {
            var copy = headers
            copy[index].1 = flipLast(copy[index].1)
            return (copy, target)
        }
        // Query forms: the signature is the value of Signature / X-Amz-Signature.
        let marker = target.range(of: "Signature=")!
        let end = target[marker.upperBound...].firstIndex(of: "&") ?? target.endIndex
        let value = String(target[marker.upperBound..<end])
        let flipped = String(value.prefix(3)) + (value.dropFirst(3).first == "A" ? "B" : "A") + value.dropFirst(4)
        return (headers, target.replacingCharacters(in: marker.upperBound..<end, with: flipped))
    }

    private func flipLast(_ authorization: String) -> String {
        // Change the fourth-from-last character: inside the signature for every form, and
        // clear of base64 padding.
        var characters = Array(authorization)
        let index = characters.count - 4
        characters[index] = characters[index] == "a" ? "b" : "a"
        return String(characters)
    }
}

enum KnownAnswers {
    static let sigV4: [KnownAnswer] = [
        KnownAnswer(name: "1.1 GET Object with Range", method: "GET", target: "/test.txt", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20130524T000000Z", scheme: .sigV4Header),
        KnownAnswer(name: "1.2 PUT Object, key with $", method: "PUT", target: "/test$file.text", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20130524T000000Z", scheme: .sigV4Header),
        KnownAnswer(name: "1.3 GET Bucket lifecycle", method: "GET", target: "/?lifecycle", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", SigV4.emptyPayloadHash),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20130524T000000Z", scheme: .sigV4Header),
        KnownAnswer(name: "1.4 GET Bucket with query", method: "GET", target: "/?max-keys=2&prefix=J", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", SigV4.emptyPayloadHash),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20130524T000000Z", scheme: .sigV4Header),
        KnownAnswer(name: "2 presigned GET", method: "GET",
                    target: "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
                    headers: [("Host", "examplebucket.s3.amazonaws.com")],
                    baseDomains: ["s3.amazonaws.com"], now: "20130524T120000Z", scheme: .sigV4Presigned),
        KnownAnswer(name: "3 chunked upload seed", method: "PUT", target: "/examplebucket/chunkObject.txt", headers: [
            ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20130524T000000Z", scheme: .sigV4Header),
        KnownAnswer(name: "6 sigv4-1 POST ?uploads, empty payload", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4.emptyPayloadHash),
            ("x-amz-date", "20150701T051452Z"), ("x-amz-storage-class", "STANDARD_IA"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150701/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=677ae23ee184481fd67eec2038eaba06eab3127fb76caff7d02c19eb2c4b8021"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20150701T051452Z", scheme: .sigV4Header),
        KnownAnswer(name: "6 sigv4-2 POST ?uploads, unsigned payload, SSE", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-date", "20150701T051452Z"), ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-storage-class", "STANDARD_IA"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150701/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption;x-amz-storage-class, Signature=baec353fdbb426b9ce86eddcec3a0de307797257ab8e8c8cfb08f8876fa87be8"),
        ], baseDomains: ["s3.amazonaws.com"], now: "20150701T051452Z", scheme: .sigV4Header),
        KnownAnswer(name: "6 sigv4-3 POST ?uploads, OBS region, no spaces", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.obs.cn-north-4.myhuaweicloud.com"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-date", "20150701T051452Z"), ("x-amz-storage-class", "STANDARD"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150701/cn-north-4/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=70bcbc70774f6de1dbeb3aa3368ffb08b9e17d0daab5f0cdacfc44aa04632f5c"),
        ], baseDomains: ["obs.cn-north-4.myhuaweicloud.com"], now: "20150701T051452Z", region: "cn-north-4",
                    scheme: .sigV4Header),
    ]

    static let hmacV1: [KnownAnswer] = [
        KnownAnswer(name: "4 SigV2 Object GET", method: "GET", target: "/photos/puppy.jpg", headers: [
            ("Host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
        ], baseDomains: ["us-west-1.s3.amazonaws.com"], now: "Tue, 27 Mar 2007 19:36:42 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 Object PUT", method: "PUT", target: "/photos/puppy.jpg", headers: [
            ("Content-Type", "image/jpeg"), ("Content-Length", "94328"),
            ("Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 21:15:45 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:iqRzw+ileNPu1fhspnRs8nOjjIA="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Tue, 27 Mar 2007 21:15:45 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 List (query not signed)", method: "GET", target: "/?prefix=photos&max-keys=50&marker=puppy", headers: [
            ("User-Agent", "Mozilla/5.0"), ("Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"),
            ("Date", "Tue, 27 Mar 2007 19:42:41 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:m0WP8eCtspQl5Ahe6L1SozdX9YA="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Tue, 27 Mar 2007 19:42:41 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 Fetch ?acl", method: "GET", target: "/?acl", headers: [
            ("Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 19:44:46 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:82ZHiFIjc+WbcwFKGUVEQspPn+0="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Tue, 27 Mar 2007 19:44:46 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 Delete with x-amz-date (conformant form, note a)", method: "DELETE",
                    target: "/awsexamplebucket1/photos/puppy.jpg", headers: [
            ("User-Agent", "dotnet"), ("Host", "s3.us-west-1.amazonaws.com"),
            ("Date", "Tue, 27 Mar 2007 21:20:27 +0000"), ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:Ri1hpB1zpS9pGqR7y8kuNFCl4sE="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Tue, 27 Mar 2007 21:20:26 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 List buckets", method: "GET", target: "/", headers: [
            ("Host", "s3.us-west-1.amazonaws.com"), ("Date", "Wed, 28 Mar 2007 01:29:59 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Wed, 28 Mar 2007 01:29:59 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 Unicode keys, path signed as sent", method: "GET",
                    target: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", headers: [
            ("Host", "s3.us-west-1.amazonaws.com"), ("Date", "Wed, 28 Mar 2007 01:49:49 +0000"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM="),
        ], baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Wed, 28 Mar 2007 01:49:49 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "4 SigV2 query auth (corrected bucket, note b)", method: "GET",
                    target: "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=1No4mq5ETf02z8aet9voy6gui6E%3D",
                    headers: [("Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com")],
                    baseDomains: ["s3.us-west-1.amazonaws.com"], now: "Tue, 27 Mar 2007 19:36:42 GMT", scheme: .sigV2Query),
        KnownAnswer(name: "4 SigV2 query auth (johnsmith, note b)", method: "GET",
                    target: "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
                    headers: [("Host", "johnsmith.s3.amazonaws.com")],
                    baseDomains: ["s3.amazonaws.com"], now: "Tue, 27 Mar 2007 19:36:42 GMT", scheme: .sigV2Query),
        KnownAnswer(name: "5 botocore HmacV1 PUT with MD5, type, x-amz", method: "PUT", target: "/quotes/nelson", headers: [
            ("Host", "s3.amazonaws.com"), ("Content-MD5", "c8fdb181845a4ca6b8fec737b3581d76"),
            ("Content-Type", "text/html"), ("Date", "Thu, 17 Nov 2005 18:49:58 GMT"),
            ("X-Amz-Magic", "abracadabra"), ("X-Amz-Meta-Author", "foo@bar.com"),
            ("Authorization", "AWS 44CF9590006BF252F707:jZNOcbfWmD/A/f3hSvVzXZjM2HU="),
        ], baseDomains: ["s3.amazonaws.com"], now: "Thu, 17 Nov 2005 18:49:58 GMT",
                    accessKey: "44CF9590006BF252F707", secret: "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", scheme: .sigV2Header),
        KnownAnswer(name: "5 botocore HmacV1 duplicate x-amz-meta-author", method: "PUT", target: "/quotes/nelson", headers: [
            ("Host", "s3.amazonaws.com"), ("Content-MD5", "c8fdb181845a4ca6b8fec737b3581d76"),
            ("Content-Type", "text/html"), ("Date", "Thu, 17 Nov 2005 18:49:58 GMT"),
            ("X-Amz-Magic", "abracadabra"), ("X-Amz-Meta-Author", "bar@baz.com"), ("X-Amz-Meta-Author", "foo@bar.com"),
            ("Authorization", "AWS 44CF9590006BF252F707:kIdMxyiYB+F+83zYGR6sSb3ICcE="),
        ], baseDomains: ["s3.amazonaws.com"], now: "Thu, 17 Nov 2005 18:49:58 GMT",
                    accessKey: "44CF9590006BF252F707", secret: "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", scheme: .sigV2Header),
        KnownAnswer(name: "5 botocore HmacV1 ?uploads", method: "PUT", target: "/quotes/nelson?uploads", headers: [
            ("Host", "s3.amazonaws.com"), ("Date", "Thu, 17 Nov 2005 18:49:58 GMT"),
            ("Authorization", "AWS 44CF9590006BF252F707:P7pBz3Z4p3GxysRSJ/gR8nk7D4o="),
        ], baseDomains: ["s3.amazonaws.com"], now: "Thu, 17 Nov 2005 18:49:58 GMT",
                    accessKey: "44CF9590006BF252F707", secret: "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", scheme: .sigV2Header),
        KnownAnswer(name: "6 obs-1 minimal", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.obs.cn-north-4.myhuaweicloud.com"), ("Date", "Wed, 01 Jul 2015 05:14:52 GMT"),
            ("Authorization", "OBS AKIAIOSFODNN7EXAMPLE:cirTMMy/0okFHxZuJl2BHgiWkc0="),
        ], baseDomains: ["obs.cn-north-4.myhuaweicloud.com"], now: "Wed, 01 Jul 2015 05:14:52 GMT", scheme: .obsHeader),
        KnownAnswer(name: "6 obs-2 headers", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.obs.cn-north-4.myhuaweicloud.com"), ("Date", "Wed, 01 Jul 2015 05:14:52 GMT"),
            ("Content-Type", "application/octet-stream"), ("x-obs-storage-class", "WARM"),
            ("x-obs-server-side-encryption", "kms"),
            ("x-obs-server-side-encryption-kms-key-id", "region:783fc6652cf246c096ea836694f71855:key/522d6070-5ad3-4765-9737-9312ddc72cdb"),
            ("x-obs-meta-project", "alpha"), ("x-obs-website-redirect-location", "/anotherPage.html"), ("x-obs-acl", "private"),
            ("Authorization", "OBS AKIAIOSFODNN7EXAMPLE:J2Pby3POCqMv3lvSC0D9emm0tgk="),
        ], baseDomains: ["obs.cn-north-4.myhuaweicloud.com"], now: "Wed, 01 Jul 2015 05:14:52 GMT", scheme: .obsHeader),
        KnownAnswer(name: "6 obs-3 x-obs-date", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.obs.cn-north-4.myhuaweicloud.com"), ("Date", "Wed, 01 Jul 2015 05:14:52 GMT"),
            ("x-obs-date", "Wed, 01 Jul 2015 05:14:52 GMT"), ("x-obs-storage-class", "COLD"),
            ("Authorization", "OBS AKIAIOSFODNN7EXAMPLE:URgd3mJrYyZJP46+2jVrqQtgmrY="),
        ], baseDomains: ["obs.cn-north-4.myhuaweicloud.com"], now: "Wed, 01 Jul 2015 05:14:52 GMT", scheme: .obsHeader),
        KnownAnswer(name: "6 awsv2-1 minimal", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Wed, 01 Jul 2015 05:14:52 GMT"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:cirTMMy/0okFHxZuJl2BHgiWkc0="),
        ], baseDomains: ["s3.amazonaws.com"], now: "Wed, 01 Jul 2015 05:14:52 GMT", scheme: .sigV2Header),
        KnownAnswer(name: "6 awsv2-2 headers", method: "POST", target: "/objectkey?uploads", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Wed, 01 Jul 2015 05:14:52 GMT"),
            ("Content-Type", "application/octet-stream"), ("x-amz-storage-class", "STANDARD_IA"),
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            ("x-amz-meta-project", "alpha"), ("x-amz-website-redirect-location", "/anotherPage.html"),
            ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:C3bsPE8wbpmQJuOVmSh64dqrphI="),
        ], baseDomains: ["s3.amazonaws.com"], now: "Wed, 01 Jul 2015 05:14:52 GMT", scheme: .sigV2Header),
    ]

    static let all = sigV4 + hmacV1
}

@Suite struct KnownAnswerTests {
    @Test(arguments: KnownAnswers.all)
    func verifies(_ vector: KnownAnswer) throws {
        let result = try vector.authenticate()
        #expect(result.accessKeyId == vector.accessKey)
        #expect(result.scheme == vector.scheme)
    }

    @Test(arguments: KnownAnswers.all)
    func refusesATamperedSignature(_ vector: KnownAnswer) throws {
        let tampered = vector.withTamperedSignature
        #expect(throws: S3Error.signatureDoesNotMatch()) {
            try vector.authenticate(headers: tampered.headers, target: tampered.target)
        }
    }

    @Test(arguments: KnownAnswers.all)
    func refusesAWrongSecret(_ vector: KnownAnswer) throws {
        var wrong = vector
        wrong.secret = String(vector.secret.reversed())
        #expect(throws: S3Error.signatureDoesNotMatch()) { try wrong.authenticate() }
    }

    /// AWS General Reference, "Examples of how to derive a signing key" (docs vector in
    /// Fixtures/vectors/s3-examples.md), and the pre-keyed MAC of the key is HMAC under it.
    @Test func derivedSigningKeyAndItsKeyedMAC() {
        let key = SigV4SigningKeyCache.derive(secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                              scope: SigV4Scope(date: "20120215", region: "us-east-1", service: "iam"))
        #expect(key.key.withUnsafeBytes { hex($0) } == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
        for text in ["", "string to sign", String(repeating: "x", count: 200)] {
            #expect(SigV4.signature(signingKey: key, stringToSign: text)
                == hex(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key.key)))
        }
        let cache = SigV4SigningKeyCache(capacity: 1)
        let scope = SigV4Scope(date: "20120215", region: "us-east-1", service: "iam")
        #expect(cache.signingKey(secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", scope: scope) == key)
        #expect(cache.signingKey(secret: "another", scope: scope) != key)
        #expect(cache.signingKey(secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", scope: scope) == key)
    }

    @Test func signedPayloadIsCheckedAgainstItsDeclaredHash() throws {
        let vector = KnownAnswers.sigV4[1]
        let result = try vector.authenticate()
        #expect(result.payload == .sha256("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"))
        var good = try PayloadVerifier(expectation: result.payload)
        #expect(try good.consume(Array("Welcome to Amazon S3.".utf8)) == Array("Welcome to Amazon S3.".utf8))
        #expect(try good.finish().decodedLength == 21)
        var bad = try PayloadVerifier(expectation: result.payload)
        _ = try bad.consume(Array("Welcome to Amazon S4.".utf8))
        #expect(throws: S3Error.xAmzContentSHA256Mismatch("the payload does not hash to the declared value")) {
            try bad.finish()
        }
    }

    @Test func presignedURLExpires() throws {
        let vector = KnownAnswers.sigV4[4]
        let justInTime = SigningTime.parseAmzDate("20130525T000000Z")!
        #expect(try vector.authenticate(at: justInTime).scheme == .sigV4Presigned)
        let error = #expect(throws: S3Error.self) { try vector.authenticate(at: justInTime.addingTimeInterval(1)) }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message == "Request has expired")
        // As S3 writes them: ISO 8601 with separators, not the signature's compact form.
        #expect(error?.details.map { "\($0.name)=\($0.value)" }
            == ["X-Amz-Expires=86400", "Expires=2013-05-25T00:00:00Z", "ServerTime=2013-05-25T00:00:01Z"])
        // Within its expiry a presigned URL is not subject to the 15-minute skew rule.
        #expect(try vector.authenticate(at: SigningTime.parseAmzDate("20130524T230000Z")!).scheme == .sigV4Presigned)
    }

    /// S3's answers to lifetimes out of range: a URL that expired before it was made
    /// (boto3's `ExpiresIn=-1000`) or at once is expired (403, as AWS and radosgw answer);
    /// longer than a week is malformed (400, as AWS answers).
    @Test(arguments: [(-1000, 403, "AccessDenied"), (0, 403, "AccessDenied"), (604_801, 400, "AuthorizationQueryParametersError")])
    func presignedLifetimesOutOfRangeGetS3sAnswers(_ expires: Int, _ status: Int, _ code: String) throws {
        let now = SigningTime.parseAmzDate("20261203T120000Z")!
        let scope = SigV4Scope(date: "20261203", region: "us-east-1")
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20261203T120000Z&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host"
        let unsigned = try RequestTarget(parsing: "/b/k?" + query)
        let headers = HeaderFields([("Host", "127.0.0.1:9000")])
        let canonical = SigV4.canonicalRequest(method: "GET", canonicalURI: "/b/k", canonicalQuery: SigV4.canonicalQuery(unsigned.query),
                                               canonicalHeaders: "host:127.0.0.1:9000\n", signedHeaders: ["host"],
                                               payloadHash: SigV4.unsignedPayload)
        let signature = SigV4.signature(signingKey: SigV4SigningKeyCache.derive(secret: "secret", scope: scope),
                                        stringToSign: SigV4.stringToSign(amzDate: "20261203T120000Z", scope: scope, canonicalRequest: canonical))
        let target = try RequestTarget(parsing: "/b/k?" + query + "&X-Amz-Signature=" + signature)
        let authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: ["us-east-1"]),
                                                 secrets: StaticSecrets(secrets: ["AKID": "secret"]))
        let error = #expect(throws: S3Error.self) {
            try authenticator.authenticate(method: "GET", target: target, headers: headers,
                                           address: S3Address(style: .path, bucket: "b", key: "k"), now: now)
        }
        #expect(error?.status == status)
        #expect(error?.code == code)
    }

    @Test func headerSignedRequestsMustBeWithinTheSkew() throws {
        for vector in KnownAnswers.all where vector.scheme == .sigV4Header || vector.scheme == .sigV2Header || vector.scheme == .obsHeader {
            #expect(try vector.authenticate(at: vector.nowDate.addingTimeInterval(900)).accessKeyId == vector.accessKey)
            #expect(try vector.authenticate(at: vector.nowDate.addingTimeInterval(-900)).accessKeyId == vector.accessKey)
            for offset in [901.0, -901.0] {
                let error = #expect(throws: S3Error.self) { try vector.authenticate(at: vector.nowDate.addingTimeInterval(offset)) }
                #expect(error?.code == "RequestTimeTooSkewed", "\(vector.name)")
                #expect(error?.status == 403)
            }
        }
    }

    /// An OBS signature covers Date (or x-obs-date), not x-amz-date: an unsigned x-amz-date
    /// added to a captured request must not make an old signature fresh again.
    @Test func anUnsignedDateHeaderCannotRefreshAReplayedOBSRequest() throws {
        let vector = KnownAnswers.hmacV1.first { $0.name == "6 obs-1 minimal" }!
        let later = vector.nowDate.addingTimeInterval(3600)
        let replayed = vector.headers + [("x-amz-date", SigningTime.httpDate(later))]
        let error = #expect(throws: S3Error.self) { try vector.authenticate(headers: replayed, at: later) }
        #expect(error?.code == "RequestTimeTooSkewed")
    }

    /// SigV4 with only a Date header: S3 accepts it, signing the date in ISO 8601 basic form.
    @Test func sigV4AcceptsTheDateHeaderWhenThereIsNoXAmzDate() throws {
        let now = SigningTime.parseAmzDate("20150701T051452Z")!
        var headers = HeaderFields([("Host", "examplebucket.s3.amazonaws.com"), ("Date", SigningTime.httpDate(now)),
                                    ("x-amz-content-sha256", SigV4.unsignedPayload)])
        let scope = SigV4Scope(date: "20150701", region: "us-east-1")
        let signed = ["date", "host", "x-amz-content-sha256"]
        let canonical = SigV4.canonicalRequest(method: "GET", canonicalURI: "/k", canonicalQuery: "",
                                               canonicalHeaders: SigV4.canonicalHeaders(headers, signedHeaders: signed)!,
                                               signedHeaders: signed, payloadHash: SigV4.unsignedPayload)
        let signature = SigV4.signature(signingKey: SigV4SigningKeyCache.derive(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", scope: scope),
                                        stringToSign: SigV4.stringToSign(amzDate: "20150701T051452Z", scope: scope, canonicalRequest: canonical))
        headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\(scope.text), SignedHeaders=date;host;x-amz-content-sha256, Signature=\(signature)")
        let vector = KnownAnswer(name: "date only", method: "GET", target: "/k", headers: headers.map { ($0.name, $0.value) },
                                 baseDomains: ["s3.amazonaws.com"], now: "20150701T051452Z", scheme: .sigV4Header)
        #expect(try vector.authenticate().scheme == .sigV4Header)
    }

    @Test func sigV2QueryExpires() throws {
        let vector = KnownAnswers.hmacV1.first { $0.scheme == .sigV2Query }!
        let expiry = Date(timeIntervalSince1970: 1_175_139_620)
        #expect(try vector.authenticate(at: expiry).scheme == .sigV2Query)
        let error = #expect(throws: S3Error.self) { try vector.authenticate(at: expiry.addingTimeInterval(1)) }
        #expect(error?.message == "Request has expired")
        #expect(error?.details.map { "\($0.name)=\($0.value)" } == ["Expires=2007-03-29T03:40:20Z", "ServerTime=2007-03-29T03:40:21Z"])
    }
}
