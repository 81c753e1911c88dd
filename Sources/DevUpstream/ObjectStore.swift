import Foundation
import S3Core
import Synchronization

/// An object as the store keeps it.
struct StoredObject: Sendable {
    var body: ObjectBody
    /// The ETag as S3 sends it, quotes included: `"hex(md5)"` for a single PUT,
    /// `"hex(md5 of the part md5s)-N"` for a multipart upload.
    var etag: String
    /// Whole seconds, so the HTTP date and the XML timestamp of one object agree.
    var lastModified: Date
    var attributes: ObjectAttributes

    var size: Int { body.count }
}

/// The in-memory S3 store: buckets, objects and multipart uploads behind one lock.
///
/// It knows nothing about HTTP or NIO, so every rule it enforces (bucket names, empty
/// buckets, part order and ETags) is unit-tested without sockets. Operations hold the lock
/// only to look up or swap values; object bytes are shared, never copied under it.
final class ObjectStore: Sendable {
    struct Bucket: Sendable {
        var created: Date
        var objects: [String: StoredObject] = [:]
        var uploads: [String: MultipartUpload] = [:]
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    init() {}

    // MARK: Buckets

    func createBucket(_ name: String, now: Date) throws(S3Error) {
        guard Self.isValidBucketName(name) else { throw S3Error.invalidBucketName(name) }
        try buckets.withLock { (buckets) throws(S3Error) in
            guard buckets[name] == nil else { throw S3Error.bucketAlreadyOwnedByYou(name) }
            buckets[name] = Bucket(created: Self.wholeSeconds(now))
        }
    }

    /// Deletes an empty bucket; its unfinished multipart uploads go with it.
    func deleteBucket(_ name: String) throws(S3Error) {
        try buckets.withLock { (buckets) throws(S3Error) in
            guard let bucket = buckets[name] else { throw S3Error.noSuchBucket(name) }
            guard bucket.objects.isEmpty else { throw S3Error.bucketNotEmpty(name) }
            buckets[name] = nil
        }
    }

    func requireBucket(_ name: String) throws(S3Error) {
        _ = try withBucket(name) { _ in () }
    }

    /// Every bucket and its creation date, sorted by name.
    func listBuckets() -> [(name: String, created: Date)] {
        buckets.withLock { buckets in buckets.map { ($0.key, $0.value.created) } }
            .sorted { $0.name.utf8Precedes($1.name) }
    }

    // MARK: Objects

    func put(_ object: StoredObject, bucket: String, key: String) throws(S3Error) {
        try withBucket(bucket) { $0.objects[key] = object }
    }

    func object(bucket: String, key: String) throws(S3Error) -> StoredObject {
        let object = try withBucket(bucket) { $0.objects[key] }
        guard let object else { throw S3Error.noSuchKey(key) }
        return object
    }

    /// Deleting a key that does not exist succeeds, as in S3.
    func deleteObject(bucket: String, key: String) throws(S3Error) {
        try withBucket(bucket) { $0.objects[key] = nil }
    }

    /// The objects of a bucket in S3's listing order (UTF-8 byte order of the keys).
    func sortedObjects(bucket: String) throws(S3Error) -> [(key: String, value: StoredObject)] {
        let objects = try withBucket(bucket) { $0.objects }
        return objects.map { (key: $0.key, value: $0.value) }
            .sorted { $0.key.utf8Precedes($1.key) }
    }

    // MARK: Shared

    /// Runs `body` on a bucket, in place and under the lock.
    func withBucket<T>(_ name: String, _ body: (inout Bucket) throws(S3Error) -> T) throws(S3Error) -> T {
        try buckets.withLock { (buckets) throws(S3Error) -> T in
            guard buckets[name] != nil else { throw S3Error.noSuchBucket(name) }
            return try body(&buckets[name]!)
        }
    }

    /// S3's bucket naming rules: 3–63 characters of lowercase letters, digits, `.` and `-`,
    /// beginning and ending with a letter or digit, no `..`, not an IPv4 address.
    static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isLowerAlphanumeric(bytes.first!), isLowerAlphanumeric(bytes.last!),
              bytes.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }),
              !name.contains("..")
        else { return false }
        let labels = name.split(separator: ".")
        return !(labels.count == 4 && labels.allSatisfy { UInt8($0) != nil })
    }

    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}
