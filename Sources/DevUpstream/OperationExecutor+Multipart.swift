import Crypto
import Foundation
import S3Core
import S3Signing

extension OperationExecutor {
    /// The attributes of the Initiate request (storage class, encryption, redirect,
    /// metadata) are kept with the upload and become the completed object's.
    func createMultipartUpload(_ request: S3Request, now: Date) throws(S3Error) -> S3Response {
        let attributes = try ObjectAttributes(requestHeaders: request.headers, dialect: request.requestDialect)
        let uploadId = try store.createUpload(bucket: request.bucket, key: request.key, attributes: attributes, now: now)
        var xml = XMLResponseWriter(root: "InitiateMultipartUploadResult")
        xml.element("Bucket", request.bucket)
        xml.element("Key", request.key)
        xml.element("UploadId", uploadId)
        return .xml(xml, headers: attributes.encryptionHeaders(request.responseDialect))
    }

    func uploadPart(_ request: S3Request, body: ReceivedBody, now: Date) throws(S3Error) -> S3Response {
        let number = try partNumber(request)
        let uploadId = try uploadId(request)
        let upload = try store.upload(bucket: request.bucket, key: request.key, uploadId: uploadId)
        try upload.attributes.checkCustomerKey(in: request.headers, dialect: request.requestDialect)
        let part = UploadedPart(body: ObjectBody(body.bytes), md5: body.md5, lastModified: ObjectStore.wholeSeconds(now))
        try store.putPart(part, number: number, bucket: request.bucket, key: request.key, uploadId: uploadId)
        return S3Response(status: 200, headers: [("ETag", part.etag)]
            + upload.attributes.encryptionHeaders(request.responseDialect) + checksumHeaders(body.checksums))
    }

    /// UploadPartCopy: the whole source, or `x-amz-copy-source-range: bytes=first-last`.
    func uploadPartCopy(_ request: S3Request, now: Date) throws(S3Error) -> S3Response {
        let dialect = request.requestDialect
        let number = try partNumber(request)
        let uploadId = try uploadId(request)
        let upload = try store.upload(bucket: request.bucket, key: request.key, uploadId: uploadId)
        try upload.attributes.checkCustomerKey(in: request.headers, dialect: dialect)
        let (sourceBucket, sourceKey) = try copySource(request)
        let source = try store.object(bucket: sourceBucket, key: sourceKey)
        try source.attributes.checkCustomerKey(in: request.headers, dialect: dialect, prefix: "copy-source-")
        var range = 0..<source.size
        if let header = request.headers[dialect.header("copy-source-range")] {
            guard let requested = ByteRange.copySourceRange(header, size: source.size) else {
                throw S3Error.invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, within the source object of size \(source.size)")
            }
            range = requested
        }
        let body = source.body.slice(range)
        var md5 = Insecure.MD5()
        body.forEachSegment { segment in segment.withUnsafeBytes { md5.update(bufferPointer: $0) } }
        let part = UploadedPart(body: body, md5: Array(md5.finalize()), lastModified: ObjectStore.wholeSeconds(now))
        try store.putPart(part, number: number, bucket: request.bucket, key: request.key, uploadId: uploadId)
        var xml = XMLResponseWriter(root: "CopyPartResult")
        xml.element("LastModified", part.lastModified)
        xml.element("ETag", part.etag)
        return .xml(xml, headers: upload.attributes.encryptionHeaders(request.responseDialect))
    }

    func completeMultipartUpload(_ request: S3Request, body: ReceivedBody, now: Date) throws(S3Error) -> S3Response {
        let parts = try CompleteMultipartUploadRequest.parts(xml: body.bytes)
        let object = try store.completeUpload(bucket: request.bucket, key: request.key, uploadId: try uploadId(request),
                                              parts: parts, minimumPartSize: minimumPartSize, now: now)
        let host = request.headers[S3HeaderName.host] ?? "localhost"
        var xml = XMLResponseWriter(root: "CompleteMultipartUploadResult")
        xml.element("Location", "http://\(host)/\(request.bucket)/\(PercentEncoding.encode(request.key, encodeSlash: false))")
        xml.element("Bucket", request.bucket)
        xml.element("Key", request.key)
        xml.element("ETag", object.etag)
        return .xml(xml, headers: object.attributes.encryptionHeaders(request.responseDialect))
    }

    func listParts(_ request: S3Request) throws(S3Error) -> S3Response {
        let uploadId = try uploadId(request)
        let upload = try store.upload(bucket: request.bucket, key: request.key, uploadId: uploadId)
        let maxParts = try limit(request, "max-parts")
        let marker = try request.target.queryValue("part-number-marker").map { (text) throws(S3Error) -> Int in
            guard let marker = Int(text), marker >= 0 else {
                throw S3Error.invalidArgument("Provided part-number-marker not an integer or within integer range")
            }
            return marker
        } ?? 0
        let remaining = upload.parts.keys.sorted().filter { $0 > marker }
        let page = remaining.prefix(maxParts)
        var xml = XMLResponseWriter(root: "ListPartsResult")
        xml.element("Bucket", request.bucket)
        xml.element("Key", request.key)
        xml.element("UploadId", uploadId)
        xml.owner("Initiator")
        xml.owner()
        xml.element("StorageClass", request.responseDialect.wireStorageClass(upload.attributes.storageClass))
        xml.element("PartNumberMarker", marker)
        xml.element("NextPartNumberMarker", page.last ?? marker)
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", page.count < remaining.count)
        for number in page {
            let part = upload.parts[number]!
            xml.element("Part") {
                $0.element("PartNumber", number)
                $0.element("LastModified", part.lastModified)
                $0.element("ETag", part.etag)
                $0.element("Size", part.body.count)
            }
        }
        return .xml(xml)
    }

    func partNumber(_ request: S3Request) throws(S3Error) -> Int {
        guard let number = request.target.queryValue("partNumber").flatMap({ Int($0) }),
              ObjectStore.partNumbers.contains(number)
        else { throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive") }
        return number
    }

    func uploadId(_ request: S3Request) throws(S3Error) -> String {
        guard let uploadId = request.target.queryValue("uploadId"), !uploadId.isEmpty else {
            throw S3Error.noSuchUpload("")
        }
        return uploadId
    }
}
