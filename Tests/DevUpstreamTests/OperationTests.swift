import Foundation
import S3Core
import S3Signing
import Testing
@testable import DevUpstream

/// Every operation through signing, admission, the body sink and the executor, without
/// sockets.
@Suite struct OperationTests {
    let s3 = InProcessStore()

    init() throws {
        try #require(s3.send("PUT", "/bucket").status == 200)
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: Authentication and payload

    @Test func unsignedAndBadlySignedRequestsAreRefused() throws {
        let unsigned = s3.receive("GET", "/bucket/k", headers: HeaderFields([("Host", "127.0.0.1:9000")]))
        #expect(unsigned.status == 403)
        #expect(unsigned.errorCode == "AccessDenied")
        let wrongSecret = try s3.send("GET", "/bucket/k", secret: "not-the-secret")
        #expect(wrongSecret.status == 403)
        #expect(wrongSecret.errorCode == "SignatureDoesNotMatch")
        #expect(try s3.send("GET", "/bucket/k", secret: "not-the-secret").headers["Content-Type"] == "application/xml")
    }

    @Test func payloadHashMismatchStoresNothing() throws {
        let answer = try s3.send("PUT", "/bucket/k", body: bytes("hello"), payloadHash: hexSHA256(Data("other".utf8)))
        #expect(answer.status == 400)
        #expect(answer.errorCode == "XAmzContentSHA256Mismatch")
        #expect(try s3.send("GET", "/bucket/k").errorCode == "NoSuchKey")
    }

    @Test func contentMD5AndChecksumHeadersAreVerified() throws {
        #expect(try s3.send("PUT", "/bucket/k", headers: [("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")],
                            body: bytes("hello")).status == 200)
        #expect(try s3.send("PUT", "/bucket/k", headers: [("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")],
                            body: bytes("hellO")).errorCode == "BadDigest")
        #expect(try s3.send("PUT", "/bucket/k", headers: [("x-amz-checksum-crc32", "AAAAAA==")],
                            body: bytes("hello")).errorCode == "BadDigest")
    }

    @Test func awsChunkedBodyIsDecodedAndItsTrailingChecksumKept() throws {
        let body = bytes("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n")
        let put = try s3.send("PUT", "/bucket/chunked", headers: [
            ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "5"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ], body: body, payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(put.status == 200)
        let get = try s3.send("GET", "/bucket/chunked", headers: [("x-amz-checksum-mode", "ENABLED")])
        #expect(get.text == "hello")
        #expect(get.headers["x-amz-checksum-crc32"] == "NhCmhg==")
        #expect(get.headers["Content-Encoding"] == nil)
        #expect(try s3.send("GET", "/bucket/chunked").headers["x-amz-checksum-crc32"] == nil)
    }

    @Test func sigV2AndOBSSignaturesAreAccepted() throws {
        #expect(try s3.send("PUT", "/bucket/v2", body: bytes("two"), scheme: .v2).status == 200)
        #expect(try s3.send("GET", "/bucket/v2", scheme: .obs).text == "two")
    }

    // MARK: Objects

    @Test func putGetHeadWithRangesAndConditions() throws {
        let put = try s3.send("PUT", "/bucket/dir/hello.txt", headers: [
            ("Content-Type", "text/plain"), ("x-amz-meta-Color", "blue"), ("Cache-Control", "no-cache"),
        ], body: bytes("hello world"))
        #expect(put.status == 200)
        #expect(put.headers["ETag"] == "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"")

        let get = try s3.send("GET", "/bucket/dir/hello.txt")
        #expect(get.status == 200)
        #expect(get.text == "hello world")
        #expect(get.headers["Content-Type"] == "text/plain")
        #expect(get.headers["x-amz-meta-color"] == "blue")
        #expect(get.headers["Cache-Control"] == "no-cache")
        #expect(get.headers["x-amz-storage-class"] == nil)
        #expect(get.headers["Last-Modified"].flatMap(SigningTime.parseHTTPDate) != nil)

        let head = try s3.send("HEAD", "/bucket/dir/hello.txt")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["ETag"] == put.headers["ETag"])

        let ranges = [("bytes=0-4", "hello", "bytes 0-4/11"), ("bytes=6-", "world", "bytes 6-10/11"),
                      ("bytes=-3", "rld", "bytes 8-10/11")]
        for (range, text, contentRange) in ranges {
            let partial = try s3.send("GET", "/bucket/dir/hello.txt", headers: [("Range", range)])
            #expect(partial.status == 206)
            #expect(partial.text == text)
            #expect(partial.headers["Content-Range"] == contentRange)
        }
        let unsatisfiable = try s3.send("GET", "/bucket/dir/hello.txt", headers: [("Range", "bytes=11-")])
        #expect(unsatisfiable.status == 416 && unsatisfiable.errorCode == "InvalidRange")

        let etag = try #require(put.headers["ETag"])
        #expect(try s3.send("GET", "/bucket/dir/hello.txt", headers: [("If-Match", etag)]).status == 200)
        #expect(try s3.send("GET", "/bucket/dir/hello.txt", headers: [("If-Match", "\"x\"")]).status == 412)
        let notModified = try s3.send("GET", "/bucket/dir/hello.txt", headers: [("If-None-Match", etag)])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        #expect(try s3.send("GET", "/bucket/dir/hello.txt", headers: [("If-None-Match", "\"x\"")]).status == 200)

        let overridden = try s3.send("GET", "/bucket/dir/hello.txt?response-content-type=application%2Fjson")
        #expect(overridden.headers["Content-Type"] == "application/json")

        #expect(try s3.send("DELETE", "/bucket/dir/hello.txt").status == 204)
        #expect(try s3.send("HEAD", "/bucket/dir/hello.txt").status == 404)
        #expect(try s3.send("GET", "/missing-bucket/k").errorCode == "NoSuchBucket")
    }

    @Test func policyHeadersAreValidatedAndEchoed() throws {
        let put = try s3.send("PUT", "/bucket/kms", headers: [
            ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "k1"),
            ("x-amz-storage-class", "STANDARD_IA"), ("x-amz-website-redirect-location", "/elsewhere"),
        ], body: bytes("x"))
        #expect(put.headers["x-amz-server-side-encryption"] == "aws:kms")
        #expect(put.headers["x-amz-server-side-encryption-aws-kms-key-id"] == "k1")
        let head = try s3.send("HEAD", "/bucket/kms")
        #expect(head.headers["x-amz-storage-class"] == "STANDARD_IA")
        #expect(head.headers["x-amz-server-side-encryption"] == "aws:kms")
        #expect(head.headers["x-amz-server-side-encryption-aws-kms-key-id"] == "k1")
        #expect(head.headers["x-amz-website-redirect-location"] == "/elsewhere")

        let refusals: [([(String, String)], String)] = [
            ([("x-amz-storage-class", "standard_ia")], "InvalidStorageClass"),
            ([("x-amz-storage-class", "WARM")], "InvalidStorageClass"),
            ([("x-amz-server-side-encryption", "aes256")], "InvalidArgument"),
            ([("x-amz-server-side-encryption-aws-kms-key-id", "k1")], "InvalidArgument"),
            ([("x-amz-website-redirect-location", "ftp://x")], "InvalidRedirectLocation"),
            ([("x-amz-meta-big", String(repeating: "v", count: 2100))], "MetadataTooLarge"),
            ([("x-amz-server-side-encryption-customer-algorithm", "AES256")], "InvalidArgument"),
        ]
        for (headers, code) in refusals {
            #expect(try s3.send("PUT", "/bucket/refused", headers: headers, body: bytes("x")).errorCode == code)
        }
        #expect(try s3.send("HEAD", "/bucket/refused").status == 404)
        for storageClass in HeaderDialect.s3StorageClasses {
            #expect(try s3.send("PUT", "/bucket/sc", headers: [("x-amz-storage-class", storageClass)],
                                body: bytes("x")).status == 200)
        }
    }

    @Test func customerKeyIsNeededToReadAnSSECObject() throws {
        let key = [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                   ("x-amz-server-side-encryption-customer-key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
                   ("x-amz-server-side-encryption-customer-key-MD5", "tP/LI3N87DFaSk0aoqYgzg==")]
        #expect(try s3.send("PUT", "/bucket/ssec", headers: key, body: bytes("secret")).status == 200)
        #expect(try s3.send("GET", "/bucket/ssec").errorCode == "InvalidRequest")
        let get = try s3.send("GET", "/bucket/ssec", headers: key)
        #expect(get.text == "secret")
        #expect(get.headers["x-amz-server-side-encryption-customer-key-MD5"] == "tP/LI3N87DFaSk0aoqYgzg==")
        var wrongMD5 = key
        wrongMD5[2].1 = "XUFAKrxLKna5cZ2REBfFkg=="
        #expect(try s3.send("PUT", "/bucket/ssec2", headers: wrongMD5, body: bytes("x")).errorCode == "InvalidArgument")
    }

    @Test func obsDialectIsStoredInS3FormAndAnsweredInTheSignaturesDialect() throws {
        let put = try s3.send("PUT", "/bucket/obs", headers: [
            ("x-obs-storage-class", "WARM"), ("x-obs-server-side-encryption", "kms"),
            ("x-obs-server-side-encryption-kms-key-id", "obs-key"), ("x-obs-meta-team", "blue"),
        ], body: bytes("o"), scheme: .obs)
        #expect(put.status == 200)
        #expect(put.headers["x-obs-server-side-encryption"] == "kms")
        let obsHead = try s3.send("HEAD", "/bucket/obs", scheme: .obs)
        #expect(obsHead.headers["x-obs-storage-class"] == "WARM")
        #expect(obsHead.headers["x-obs-server-side-encryption"] == "kms")
        #expect(obsHead.headers["x-obs-server-side-encryption-kms-key-id"] == "obs-key")
        #expect(obsHead.headers["x-obs-meta-team"] == "blue")
        #expect(!obsHead.headers.contains { $0.name.hasPrefix("x-amz-") })
        let s3Head = try s3.send("HEAD", "/bucket/obs")
        #expect(s3Head.headers["x-amz-storage-class"] == "STANDARD_IA")
        #expect(s3Head.headers["x-amz-server-side-encryption"] == "aws:kms")
        #expect(s3Head.headers["x-amz-meta-team"] == "blue")
        #expect(try s3.send("PUT", "/bucket/obs2", headers: [("x-obs-storage-class", "GLACIER")], body: bytes("o"),
                            scheme: .obs).errorCode == "InvalidStorageClass")
    }

    @Test func copyObject() throws {
        try s3.send("PUT", "/bucket/src key+1", headers: [("x-amz-meta-a", "1"), ("Content-Type", "text/x")],
                    body: bytes("copy me"))
        let copied = try s3.send("PUT", "/bucket/dst", headers: [
            ("x-amz-copy-source", "/bucket/src%20key%2B1"), ("x-amz-storage-class", "GLACIER"),
        ])
        #expect(copied.status == 200)
        #expect(copied.text.contains("<CopyObjectResult"))
        #expect(copied.text.contains("<ETag>&quot;"))
        let dst = try s3.send("GET", "/bucket/dst")
        #expect(dst.text == "copy me")
        #expect(dst.headers["x-amz-meta-a"] == "1" && dst.headers["Content-Type"] == "text/x")
        #expect(dst.headers["x-amz-storage-class"] == "GLACIER")

        try s3.send("PUT", "/bucket/dst2", headers: [
            ("x-amz-copy-source", "bucket/src%20key%2B1?versionId=null"), ("x-amz-metadata-directive", "REPLACE"),
            ("x-amz-meta-b", "2"),
        ])
        let replaced = try s3.send("HEAD", "/bucket/dst2")
        #expect(replaced.headers["x-amz-meta-a"] == nil && replaced.headers["x-amz-meta-b"] == "2")
        #expect(replaced.headers["Content-Type"] == "binary/octet-stream")

        #expect(try s3.send("PUT", "/bucket/dst", headers: [("x-amz-copy-source", "/bucket/dst")]).errorCode == "InvalidRequest")
        #expect(try s3.send("PUT", "/bucket/dst", headers: [("x-amz-copy-source", "/bucket/none")]).errorCode == "NoSuchKey")
        #expect(try s3.send("PUT", "/bucket/dst", headers: [("x-amz-copy-source", "nobucket")]).errorCode == "InvalidArgument")
        #expect(try s3.send("PUT", "/bucket/dst", headers: [("x-amz-copy-source", "/bucket/dst"),
                                                            ("x-amz-metadata-directive", "MOVE")]).errorCode == "InvalidArgument")
    }

    @Test func deleteObjectsHonoursQuiet() throws {
        for key in ["d1", "d2", "d&3"] { try s3.send("PUT", "/bucket/\(PercentEncoding.encode(key))", body: bytes("x")) }
        let xml = "<Delete><Object><Key>d1</Key></Object><Object><Key>d&amp;3</Key></Object></Delete>"
        let loud = try s3.send("POST", "/bucket?delete", body: bytes(xml))
        #expect(loud.status == 200)
        #expect(loud.text.contains("<Deleted><Key>d1</Key></Deleted><Deleted><Key>d&amp;3</Key></Deleted>"))
        let quiet = try s3.send("POST", "/bucket?delete",
                                body: bytes("<Delete><Quiet>true</Quiet><Object><Key>d2</Key></Object></Delete>"))
        #expect(!quiet.text.contains("<Deleted>"))
        #expect(try s3.send("HEAD", "/bucket/d2").status == 404)
        #expect(try s3.send("POST", "/bucket?delete", body: bytes("<Delete><Object>")).errorCode == "MalformedXML")
    }

    // MARK: Buckets and listings

    @Test func bucketOperations() throws {
        #expect(try s3.send("PUT", "/bucket").errorCode == "BucketAlreadyOwnedByYou")
        #expect(try s3.send("PUT", "/Bad_Bucket").errorCode == "InvalidBucketName")
        #expect(try s3.send("HEAD", "/bucket").headers["x-amz-bucket-region"] == "us-east-1")
        #expect(try s3.send("HEAD", "/other-bucket").status == 404)
        #expect(try s3.send("GET", "/").text.contains("<Bucket><Name>bucket</Name>"))
        #expect(try s3.send("GET", "/bucket?location").text.hasSuffix("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></LocationConstraint>"))
        try s3.send("PUT", "/bucket/k", body: bytes("x"))
        #expect(try s3.send("DELETE", "/bucket").errorCode == "BucketNotEmpty")
        try s3.send("DELETE", "/bucket/k")
        #expect(try s3.send("DELETE", "/bucket").status == 204)
    }

    @Test func virtualHostedRequestsUnderLocalhost() throws {
        for scheme in UpstreamSigner.Scheme.allCases {
            #expect(try s3.send("PUT", "/vh.txt", body: bytes("virtual"), scheme: scheme, host: "bucket.localhost:9000").status == 200)
            #expect(try s3.send("GET", "/bucket/vh.txt", scheme: scheme).text == "virtual")
            #expect(try s3.send("GET", "/?list-type=2", scheme: scheme, host: "bucket.localhost").text.contains("<Key>vh.txt</Key>"))
        }
    }

    @Test func unsupportedOperationsAreNotImplemented() throws {
        for (method, target) in [("GET", "/bucket?versions"), ("PUT", "/bucket?acl"), ("POST", "/bucket/k?restore"),
                                 ("GET", "/bucket/k?unknown-thing")] {
            let answer = try s3.send(method, target)
            #expect(answer.status == 501, "\(method) \(target)")
            #expect(answer.errorCode == "NotImplemented")
        }
    }

    @Test func listObjectsV2WithDelimiterEncodingAndContinuation() throws {
        for key in ["a b+c.txt", "dir/one", "dir/two", "z"] {
            try s3.send("PUT", "/bucket/\(PercentEncoding.encode(key, encodeSlash: false))", body: bytes("x"))
        }
        let listing = try s3.send("GET", "/bucket?list-type=2&delimiter=%2F&encoding-type=url").text
        #expect(listing.contains("<Key>a%20b%2Bc.txt</Key>"))
        #expect(listing.contains("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"))
        #expect(listing.contains("<KeyCount>3</KeyCount>"))
        #expect(!listing.contains("dir/one"))

        let first = try s3.send("GET", "/bucket?list-type=2&max-keys=2").text
        #expect(first.contains("<IsTruncated>true</IsTruncated>"))
        let token = try #require(first.components(separatedBy: "<NextContinuationToken>").last?
            .components(separatedBy: "<").first)
        let second = try s3.send("GET", "/bucket?list-type=2&max-keys=2&continuation-token=\(PercentEncoding.encode(token))").text
        #expect(second.contains("<Key>dir/two</Key><") && second.contains("<Key>z</Key>"))
        #expect(second.contains("<IsTruncated>false</IsTruncated>"))

        let startAfter = try s3.send("GET", "/bucket?list-type=2&prefix=dir%2F&start-after=dir%2Fone").text
        #expect(startAfter.contains("<Key>dir/two</Key>") && !startAfter.contains("<Key>dir/one</Key>"))
        #expect(try s3.send("GET", "/bucket?list-type=2&encoding-type=zip").errorCode == "InvalidArgument")
        #expect(try s3.send("GET", "/bucket?list-type=2&max-keys=-1").errorCode == "InvalidArgument")
    }

    @Test func listObjectsV1WithMarker() throws {
        for key in ["a", "b", "c"] { try s3.send("PUT", "/bucket/\(key)", body: bytes("x")) }
        let page = try s3.send("GET", "/bucket?marker=a&max-keys=1").text
        #expect(page.contains("<Marker>a</Marker>"))
        #expect(page.contains("<Key>b</Key>") && !page.contains("<Key>c</Key>"))
        #expect(page.contains("<NextMarker>b</NextMarker>"))
        #expect(page.contains("<Owner><ID>"))
    }

    // MARK: Multipart

    @Test func multipartUploadCarriesInitiateAttributesToTheObject() throws {
        let initiate = try s3.send("POST", "/bucket/mp?uploads", headers: [
            ("x-amz-storage-class", "DEEP_ARCHIVE"), ("x-amz-server-side-encryption", "AES256"), ("x-amz-meta-x", "y"),
        ])
        #expect(initiate.headers["x-amz-server-side-encryption"] == "AES256")
        let uploadId = try #require(initiate.text.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        let part1 = try s3.send("PUT", "/bucket/mp?partNumber=1&uploadId=\(uploadId)", body: bytes("aaaaa"))
        #expect(part1.headers["ETag"] == "\"594f803b380a41396ed63dca39503542\"")
        try s3.send("PUT", "/bucket/source", body: bytes("xxbbbxx"))
        let part2 = try s3.send("PUT", "/bucket/mp?partNumber=2&uploadId=\(uploadId)", headers: [
            ("x-amz-copy-source", "/bucket/source"), ("x-amz-copy-source-range", "bytes=2-4"),
        ])
        #expect(part2.text.contains("<CopyPartResult"))
        #expect(try s3.send("PUT", "/bucket/mp?partNumber=10001&uploadId=\(uploadId)", body: bytes("x")).errorCode == "InvalidArgument")
        #expect(try s3.send("PUT", "/bucket/mp?partNumber=1&uploadId=nope", body: bytes("x")).errorCode == "NoSuchUpload")

        let parts = try s3.send("GET", "/bucket/mp?uploadId=\(uploadId)").text
        #expect(parts.contains("<PartNumber>1</PartNumber>") && parts.contains("<PartNumber>2</PartNumber>"))
        #expect(parts.contains("<StorageClass>DEEP_ARCHIVE</StorageClass>"))
        let uploads = try s3.send("GET", "/bucket?uploads").text
        #expect(uploads.contains("<Key>mp</Key><UploadId>\(uploadId)</UploadId>"))

        let completion = """
            <CompleteMultipartUpload>
              <Part><PartNumber>1</PartNumber><ETag>"594f803b380a41396ed63dca39503542"</ETag></Part>
              <Part><PartNumber>2</PartNumber><ETag>08f8e0260c64418510cefb2b06eee5cd</ETag></Part>
            </CompleteMultipartUpload>
            """
        let reversed = completion.replacingOccurrences(of: "<PartNumber>1<", with: "<PartNumber>3<")
        #expect(try s3.send("POST", "/bucket/mp?uploadId=\(uploadId)", body: bytes(reversed)).errorCode == "InvalidPartOrder")
        let complete = try s3.send("POST", "/bucket/mp?uploadId=\(uploadId)", body: bytes(completion))
        #expect(complete.status == 200)
        #expect(complete.text.contains("<ETag>&quot;72d27afac8e2fbd3662861b9d607a02c-2&quot;</ETag>"))
        let head = try s3.send("GET", "/bucket/mp")
        #expect(head.text == "aaaaabbb")
        #expect(head.headers["ETag"] == "\"72d27afac8e2fbd3662861b9d607a02c-2\"")
        #expect(head.headers["x-amz-storage-class"] == "DEEP_ARCHIVE")
        #expect(head.headers["x-amz-server-side-encryption"] == "AES256")
        #expect(head.headers["x-amz-meta-x"] == "y")
        #expect(try s3.send("DELETE", "/bucket/mp?uploadId=\(uploadId)").errorCode == "NoSuchUpload")
    }

    @Test func abortAndListUploadsWithMarkers() throws {
        var ids: [String] = []
        for key in ["u1", "u1", "u2"] {
            let text = try s3.send("POST", "/bucket/\(key)?uploads").text
            ids.append(try #require(text.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first))
        }
        let all = try s3.send("GET", "/bucket?uploads&max-uploads=2").text
        #expect(all.contains("<IsTruncated>true</IsTruncated>"))
        #expect(all.components(separatedBy: "<Upload>").count == 3)
        let rest = try s3.send("GET", "/bucket?uploads&key-marker=u1").text
        #expect(rest.contains("<Key>u2</Key>") && !rest.contains("<Key>u1</Key>"))
        #expect(try s3.send("DELETE", "/bucket/u2?uploadId=\(ids[2])").status == 204)
        #expect(try s3.send("DELETE", "/bucket/u2?uploadId=\(ids[2])").errorCode == "NoSuchUpload")
        #expect(try s3.send("DELETE", "/bucket/u2?uploadId=\(ids[0])").errorCode == "NoSuchUpload")
    }
}
