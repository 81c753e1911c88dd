import Foundation
import S3Core

extension OperationExecutor {
    /// ListObjects (v1: `marker`) and ListObjectsV2 (`continuation-token`, `start-after`).
    /// With `encoding-type=url`, keys, prefixes, the delimiter and markers are
    /// percent-encoded in the XML (boto3 always asks for it and decodes them).
    func listObjects(_ request: S3Request, version: Int) throws(S3Error) -> S3Response {
        let query = request.target
        let prefix = query.queryValue("prefix") ?? ""
        let delimiter = query.queryValue("delimiter").flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try limit(request, "max-keys")
        let encode = try urlEncoding(request)
        var marker: String?
        let continuationToken = query.queryValue("continuation-token")
        if version == 2 {
            marker = query.queryValue("start-after")
            if let continuationToken {
                guard let data = Data(base64Encoded: continuationToken), let decoded = String(data: data, encoding: .utf8) else {
                    throw S3Error.invalidArgument("The continuation token provided is incorrect")
                }
                marker = decoded
            }
        } else {
            marker = query.queryValue("marker")
        }
        let listing = KeyListing(sorted: try store.sortedObjects(bucket: request.bucket), prefix: prefix,
                                 delimiter: delimiter, after: marker, maxKeys: maxKeys)

        var xml = XMLResponseWriter(root: "ListBucketResult")
        xml.element("Name", request.bucket)
        xml.element("Prefix", encode(prefix))
        if version == 2 {
            if let continuationToken { xml.element("ContinuationToken", continuationToken) }
            if let startAfter = query.queryValue("start-after") { xml.element("StartAfter", encode(startAfter)) }
            xml.element("KeyCount", listing.items.count)
        } else {
            xml.element("Marker", encode(marker ?? ""))
        }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encode(delimiter)) }
        if query.queryValue("encoding-type") != nil { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", listing.isTruncated)
        if listing.isTruncated, let last = listing.lastKey {
            if version == 2 {
                xml.element("NextContinuationToken", Data(last.utf8).base64EncodedString())
            } else {
                xml.element("NextMarker", encode(last))
            }
        }
        let withOwner = version == 1 || query.queryValue("fetch-owner") == "true"
        var commonPrefixes: [String] = []
        for item in listing.items {
            switch item {
            case .entry(let key, let object):
                xml.element("Contents") {
                    $0.element("Key", encode(key))
                    $0.element("LastModified", object.lastModified)
                    $0.element("ETag", object.etag)
                    $0.element("Size", object.size)
                    if withOwner { $0.owner() }
                    $0.element("StorageClass", request.responseDialect.wireStorageClass(object.attributes.storageClass))
                }
            case .commonPrefix(let prefix):
                commonPrefixes.append(prefix)
            }
        }
        for prefix in commonPrefixes {
            xml.element("CommonPrefixes") { $0.element("Prefix", encode(prefix)) }
        }
        return .xml(xml)
    }

    /// ListMultipartUploads: `prefix`, `delimiter`, `key-marker` with `upload-id-marker`,
    /// `max-uploads`.
    func listMultipartUploads(_ request: S3Request) throws(S3Error) -> S3Response {
        let query = request.target
        let prefix = query.queryValue("prefix") ?? ""
        let delimiter = query.queryValue("delimiter").flatMap { $0.isEmpty ? nil : $0 }
        let maxUploads = try limit(request, "max-uploads")
        let encode = try urlEncoding(request)
        let keyMarker = query.queryValue("key-marker").flatMap { $0.isEmpty ? nil : $0 }
        let uploadIdMarker = query.queryValue("upload-id-marker").flatMap { $0.isEmpty ? nil : $0 }
        var uploads = try store.sortedUploads(bucket: request.bucket).map { (key: $0.key, value: $0) }
        var after = keyMarker
        if let keyMarker, let uploadIdMarker {
            // The marker key's uploads that come after the marker upload stay in.
            var passedMarker = false
            uploads = uploads.filter { entry in
                guard entry.key == keyMarker else { return keyMarker.utf8Precedes(entry.key) }
                defer { if entry.value.uploadId == uploadIdMarker { passedMarker = true } }
                return passedMarker
            }
            after = nil
        }
        let listing = KeyListing(sorted: uploads, prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxUploads)

        var xml = XMLResponseWriter(root: "ListMultipartUploadsResult")
        xml.element("Bucket", request.bucket)
        xml.element("KeyMarker", encode(keyMarker ?? ""))
        xml.element("UploadIdMarker", uploadIdMarker ?? "")
        if listing.isTruncated, let last = listing.items.last {
            xml.element("NextKeyMarker", encode(last.key))
            if case .entry(_, let upload) = last { xml.element("NextUploadIdMarker", upload.uploadId) }
        }
        xml.element("Prefix", encode(prefix))
        if let delimiter { xml.element("Delimiter", encode(delimiter)) }
        xml.element("MaxUploads", maxUploads)
        if query.queryValue("encoding-type") != nil { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", listing.isTruncated)
        var commonPrefixes: [String] = []
        for item in listing.items {
            switch item {
            case .entry(let key, let upload):
                xml.element("Upload") {
                    $0.element("Key", encode(key))
                    $0.element("UploadId", upload.uploadId)
                    $0.owner("Initiator")
                    $0.owner()
                    $0.element("StorageClass", request.responseDialect.wireStorageClass(upload.attributes.storageClass))
                    $0.element("Initiated", upload.initiated)
                }
            case .commonPrefix(let prefix):
                commonPrefixes.append(prefix)
            }
        }
        for prefix in commonPrefixes {
            xml.element("CommonPrefixes") { $0.element("Prefix", encode(prefix)) }
        }
        return .xml(xml)
    }

    /// `max-keys`, `max-parts`, `max-uploads`: a non-negative integer, 1000 at most.
    func limit(_ request: S3Request, _ name: String) throws(S3Error) -> Int {
        guard let text = request.target.queryValue(name) else { return 1000 }
        guard let value = Int(text), value >= 0 else {
            throw S3Error.invalidArgument("Provided \(name) not an integer or within integer range")
        }
        return min(value, 1000)
    }

    /// The text transform `encoding-type` asks for: identity, or percent-encoding with
    /// `/` kept (`+` becomes `%2B`, which boto3's `unquote_plus` needs).
    func urlEncoding(_ request: S3Request) throws(S3Error) -> @Sendable (String) -> String {
        switch request.target.queryValue("encoding-type") {
        case nil: return { $0 }
        case "url": return { PercentEncoding.encode($0, encodeSlash: false) }
        default: throw S3Error.invalidArgument("Invalid Encoding Method specified in Request")
        }
    }
}
