import Crypto
import Foundation
import S3Core
import S3Signing

/// A multipart upload in progress: its attributes come from the Initiate request and
/// apply to the object that Complete creates.
struct MultipartUpload: Sendable {
    var key: String
    var uploadId: String
    var initiated: Date
    var attributes: ObjectAttributes
    var parts: [Int: UploadedPart] = [:]
}

struct UploadedPart: Sendable {
    var body: ObjectBody
    /// The raw MD5 of the part; its hex form, quoted, is the part's ETag.
    var md5: [UInt8]
    var lastModified: Date

    var etag: String { "\"\(hex(md5))\"" }
}

/// One `<Part>` of a CompleteMultipartUpload request.
struct CompletedPart: Sendable, Equatable {
    var partNumber: Int
    var etag: String
}

extension ObjectStore {
    static let partNumbers = 1...10_000

    func createUpload(bucket: String, key: String, attributes: ObjectAttributes, now: Date) throws(S3Error) -> String {
        let uploadId = RandomIdentifier.hex(byteCount: 24)
        let upload = MultipartUpload(key: key, uploadId: uploadId, initiated: Self.wholeSeconds(now),
                                     attributes: attributes)
        try withBucket(bucket) { $0.uploads[uploadId] = upload }
        return uploadId
    }

    func upload(bucket: String, key: String, uploadId: String) throws(S3Error) -> MultipartUpload {
        try withBucket(bucket) { (bucket) throws(S3Error) in
            try Self.upload(in: bucket, key: key, uploadId: uploadId)
        }
    }

    /// Stores a part, replacing an earlier part with the same number.
    func putPart(_ part: UploadedPart, number: Int, bucket: String, key: String, uploadId: String) throws(S3Error) {
        try withBucket(bucket) { (bucket) throws(S3Error) in
            _ = try Self.upload(in: bucket, key: key, uploadId: uploadId)
            bucket.uploads[uploadId]!.parts[number] = part
        }
    }

    /// Joins the listed parts into the object, as S3 checks them: at least one part, part
    /// numbers strictly ascending (InvalidPartOrder), each part uploaded with the given
    /// ETag (InvalidPart), every part but the last at least `minimumPartSize`
    /// (EntityTooSmall). The ETag is S3's multipart form, `"hex(md5(md5₁‖…‖md5ₙ))-n"`.
    func completeUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart],
                        minimumPartSize: Int, now: Date) throws(S3Error) -> StoredObject {
        guard !parts.isEmpty else { throw S3Error.malformedXML() }
        guard zip(parts, parts.dropFirst()).allSatisfy({ $0.partNumber < $1.partNumber }) else {
            throw S3Error.invalidPartOrder()
        }
        return try withBucket(bucket) { (bucket) throws(S3Error) -> StoredObject in
            let upload = try Self.upload(in: bucket, key: key, uploadId: uploadId)
            var chosen: [UploadedPart] = []
            for listed in parts {
                guard let part = upload.parts[listed.partNumber],
                      Self.unquoted(listed.etag).asciiLowercased == hex(part.md5)
                else {
                    throw S3Error.invalidPart("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.")
                }
                chosen.append(part)
            }
            for (listed, part) in zip(parts, chosen).dropLast() where part.body.count < minimumPartSize {
                throw S3Error.entityTooSmall(partNumber: listed.partNumber)
            }
            let digest = Insecure.MD5.hash(data: chosen.flatMap(\.md5))
            let object = StoredObject(body: ObjectBody(joining: chosen.map(\.body)),
                                      etag: "\"\(hex(digest))-\(chosen.count)\"",
                                      lastModified: Self.wholeSeconds(now), attributes: upload.attributes)
            bucket.uploads[uploadId] = nil
            bucket.objects[key] = object
            return object
        }
    }

    func abortUpload(bucket: String, key: String, uploadId: String) throws(S3Error) {
        try withBucket(bucket) { (bucket) throws(S3Error) in
            _ = try Self.upload(in: bucket, key: key, uploadId: uploadId)
            bucket.uploads[uploadId] = nil
        }
    }

    /// The uploads in progress in a bucket, ordered by key, then by initiation.
    func sortedUploads(bucket: String) throws(S3Error) -> [MultipartUpload] {
        try withBucket(bucket) { Array($0.uploads.values) }.sorted {
            $0.key == $1.key ? ($0.initiated, $0.uploadId) < ($1.initiated, $1.uploadId)
                : $0.key.utf8Precedes($1.key)
        }
    }

    private static func upload(in bucket: Bucket, key: String, uploadId: String) throws(S3Error) -> MultipartUpload {
        guard let upload = bucket.uploads[uploadId], upload.key == key else { throw S3Error.noSuchUpload(uploadId) }
        return upload
    }

    /// An ETag as clients send it back: with or without its quotes.
    static func unquoted(_ etag: String) -> String {
        let trimmed = etag.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 2, trimmed.hasPrefix("\""), trimmed.hasSuffix("\"") else { return trimmed }
        return String(trimmed.dropFirst().dropLast())
    }
}

/// Random identifiers: upload ids, request ids.
enum RandomIdentifier {
    static func hex(byteCount: Int, uppercase: Bool = false) -> String {
        var generator = SystemRandomNumberGenerator()
        let text = S3Core.hex((0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return uppercase ? text.uppercased() : text
    }
}
