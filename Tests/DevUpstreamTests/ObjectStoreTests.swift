import Crypto
import Foundation
import S3Core
import Testing
@testable import DevUpstream

@Suite struct ObjectStoreTests {
    let store = ObjectStore()
    let now = Date(timeIntervalSince1970: 1_700_000_000.75)

    func object(_ text: String) -> StoredObject {
        StoredObject(body: ObjectBody(Array(text.utf8)), etag: "\"e\"", lastModified: now, attributes: ObjectAttributes())
    }

    @Test func putGetDelete() throws {
        try store.createBucket("bucket-one", now: now)
        try store.put(object("hello"), bucket: "bucket-one", key: "a/b.txt")
        #expect(try store.object(bucket: "bucket-one", key: "a/b.txt").body.bytes == Array("hello".utf8))
        try store.deleteObject(bucket: "bucket-one", key: "a/b.txt")
        try store.deleteObject(bucket: "bucket-one", key: "a/b.txt") // deleting a missing key succeeds
        #expect(throws: S3Error.noSuchKey("a/b.txt")) { try store.object(bucket: "bucket-one", key: "a/b.txt") }
        #expect(throws: S3Error.noSuchBucket("nope-bucket")) {
            try store.put(object("x"), bucket: "nope-bucket", key: "k")
        }
    }

    @Test func bucketRules() throws {
        try store.createBucket("bucket-two", now: now)
        #expect(store.listBuckets().map(\.name) == ["bucket-two"])
        #expect(store.listBuckets()[0].created == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(throws: S3Error.bucketAlreadyOwnedByYou("bucket-two")) { try store.createBucket("bucket-two", now: now) }
        try store.put(object("x"), bucket: "bucket-two", key: "k")
        #expect(throws: S3Error.bucketNotEmpty("bucket-two")) { try store.deleteBucket("bucket-two") }
        try store.deleteObject(bucket: "bucket-two", key: "k")
        try store.deleteBucket("bucket-two")
        #expect(throws: S3Error.noSuchBucket("bucket-two")) { try store.deleteBucket("bucket-two") }
    }

    @Test(arguments: [
        ("abc", true), ("my.bucket-1", true), ("ab", false), (String(repeating: "a", count: 64), false),
        ("Upper", false), ("-dash", false), ("dash-", false), ("a..b", false), ("192.168.1.1", false),
        ("under_score", false), ("1.2.3.x", true),
    ])
    func bucketNames(name: String, valid: Bool) {
        #expect(ObjectStore.isValidBucketName(name) == valid)
    }

    @Test func multipartCompleteJoinsPartsAndComputesTheMultipartETag() throws {
        try store.createBucket("mp-bucket", now: now)
        var attributes = ObjectAttributes()
        attributes.storageClass = "GLACIER"
        let uploadId = try store.createUpload(bucket: "mp-bucket", key: "big", attributes: attributes, now: now)
        let part1 = UploadedPart(body: ObjectBody(Array("aaaaa".utf8)),
                                 md5: md5("aaaaa"), lastModified: now)
        let part2 = UploadedPart(body: ObjectBody(Array("bbb".utf8)), md5: md5("bbb"), lastModified: now)
        try store.putPart(part1, number: 1, bucket: "mp-bucket", key: "big", uploadId: uploadId)
        try store.putPart(part2, number: 2, bucket: "mp-bucket", key: "big", uploadId: uploadId)
        #expect(part1.etag == "\"594f803b380a41396ed63dca39503542\"")

        let object = try store.completeUpload(
            bucket: "mp-bucket", key: "big", uploadId: uploadId,
            parts: [CompletedPart(partNumber: 1, etag: part1.etag), CompletedPart(partNumber: 2, etag: part2.etag)],
            minimumPartSize: 5, now: now)
        // hex(md5(md5("aaaaa") ‖ md5("bbb")))-2, computed with Python's hashlib.
        #expect(object.etag == "\"72d27afac8e2fbd3662861b9d607a02c-2\"")
        #expect(object.body.bytes == Array("aaaaabbb".utf8))
        #expect(object.attributes.storageClass == "GLACIER")
        #expect(try store.object(bucket: "mp-bucket", key: "big").etag == object.etag)
        #expect(throws: S3Error.noSuchUpload(uploadId)) { try store.upload(bucket: "mp-bucket", key: "big", uploadId: uploadId) }
    }

    @Test func multipartCompleteRefusesBadPartLists() throws {
        try store.createBucket("mp-errors", now: now)
        let uploadId = try store.createUpload(bucket: "mp-errors", key: "k", attributes: ObjectAttributes(), now: now)
        let small = UploadedPart(body: ObjectBody(Array("abc".utf8)), md5: md5("abc"), lastModified: now)
        try store.putPart(small, number: 1, bucket: "mp-errors", key: "k", uploadId: uploadId)
        try store.putPart(small, number: 2, bucket: "mp-errors", key: "k", uploadId: uploadId)
        func complete(_ parts: [(Int, String)], minimum: Int = 1) throws {
            _ = try store.completeUpload(bucket: "mp-errors", key: "k", uploadId: uploadId,
                                         parts: parts.map { CompletedPart(partNumber: $0.0, etag: $0.1) },
                                         minimumPartSize: minimum, now: now)
        }
        #expect(throws: S3Error.invalidPartOrder()) { try complete([(2, small.etag), (1, small.etag)]) }
        #expect(throws: S3Error.invalidPartOrder()) { try complete([(1, small.etag), (1, small.etag)]) }
        #expect(throws: S3Error.malformedXML()) { try complete([]) }
        #expect { try complete([(1, small.etag), (3, small.etag)]) } throws: { ($0 as? S3Error)?.code == "InvalidPart" }
        #expect { try complete([(1, "\"00000000000000000000000000000000\"")]) } throws: { ($0 as? S3Error)?.code == "InvalidPart" }
        #expect(throws: S3Error.entityTooSmall(partNumber: 1)) { try complete([(1, small.etag), (2, small.etag)], minimum: 5) }
        #expect(throws: S3Error.noSuchUpload("other")) {
            _ = try store.completeUpload(bucket: "mp-errors", key: "k", uploadId: "other",
                                         parts: [CompletedPart(partNumber: 1, etag: small.etag)], minimumPartSize: 1, now: now)
        }
        // The upload is still there after the refusals, and an unquoted ETag is accepted.
        try complete([(1, ObjectStore.unquoted(small.etag))])
        try store.abortUpload(bucket: "mp-errors", key: "k", uploadId: try store.createUpload(
            bucket: "mp-errors", key: "k", attributes: ObjectAttributes(), now: now))
        #expect(throws: S3Error.noSuchUpload("gone")) { try store.abortUpload(bucket: "mp-errors", key: "k", uploadId: "gone") }
    }

    @Test func objectBodySlicesAcrossSegments() {
        let body = ObjectBody(joining: [ObjectBody(Array("abc".utf8)), ObjectBody([]), ObjectBody(Array("defgh".utf8))])
        #expect(body.count == 8)
        #expect(Array(body.chunk(at: 1, maxLength: 10)) == Array("bc".utf8))
        #expect(Array(body.chunk(at: 3, maxLength: 2)) == Array("de".utf8))
        #expect(body.slice(2..<6).bytes == Array("cdef".utf8))
        #expect(body.slice(0..<0).count == 0)
    }
}

func md5(_ text: String) -> [UInt8] {
    Array(Insecure.MD5.hash(data: Array(text.utf8)))
}

extension ObjectBody {
    /// All bytes in one array.
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        forEachSegment { bytes += $0 }
        return bytes
    }
}
