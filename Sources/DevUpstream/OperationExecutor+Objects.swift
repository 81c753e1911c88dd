import Crypto
import Foundation
import S3Core
import S3Signing

extension OperationExecutor {
    func putObject(_ request: S3Request, body: ReceivedBody, now: Date) throws(S3Error) -> S3Response {
        var attributes = try ObjectAttributes(requestHeaders: request.headers, dialect: request.requestDialect)
        attributes.checksums = body.checksums
        let object = StoredObject(body: ObjectBody(body.bytes), etag: "\"\(hex(body.md5))\"",
                                  lastModified: ObjectStore.wholeSeconds(now), attributes: attributes)
        try store.put(object, bucket: request.bucket, key: request.key)
        return S3Response(status: 200, headers: [("ETag", object.etag)]
            + attributes.encryptionHeaders(request.responseDialect) + checksumHeaders(body.checksums))
    }

    /// GetObject and HeadObject: preconditions (If-Match → 412, If-None-Match → 304),
    /// then a single byte range (206, or 416 InvalidRange), then the object's headers.
    func getObject(_ request: S3Request) throws(S3Error) -> S3Response {
        if request.target.hasQuery("partNumber") {
            throw S3Error.notImplemented("GetObject by part number is not implemented by the development store.")
        }
        try checkVersionId(request.target.queryValue("versionId"))
        let object = try store.object(bucket: request.bucket, key: request.key)
        try object.attributes.checkCustomerKey(in: request.headers, dialect: request.requestDialect)
        let validators = [("ETag", object.etag), ("Last-Modified", SigningTime.httpDate(object.lastModified))]
        if let condition = request.headers["If-Match"], !Self.etag(object.etag, matchesAnyOf: condition) {
            throw S3Error.preconditionFailed("If-Match")
        }
        if let condition = request.headers["If-None-Match"], Self.etag(object.etag, matchesAnyOf: condition) {
            return S3Response(status: 304, headers: validators)
        }
        var status = 200
        var range = 0..<object.size
        var headers = validators + [("Accept-Ranges", "bytes")]
        switch ByteRange(header: request.headers["Range"], size: object.size) {
        case .whole:
            break
        case .partial(let partial):
            status = 206
            range = partial
            headers.append(("Content-Range", "bytes \(partial.lowerBound)-\(partial.upperBound - 1)/\(object.size)"))
        case .unsatisfiable:
            throw S3Error.invalidRange(objectSize: object.size)
        }
        let checksumMode = request.headers["x-amz-checksum-mode"] == "ENABLED"
        headers += object.attributes.objectHeaders(request.responseDialect, includeChecksums: checksumMode && status == 200)
        var response = S3Response(status: status, headers: headers, body: .object(object.body, range))
        for (parameter, header) in Self.responseOverrides {
            if let value = request.target.queryValue(parameter) { response.headers.replace(header, with: value) }
        }
        return response
    }

    func deleteObjects(_ request: S3Request, body: ReceivedBody) throws(S3Error) -> S3Response {
        let delete = try DeleteObjectsRequest(xml: body.bytes)
        try store.requireBucket(request.bucket)
        var xml = XMLResponseWriter(root: "DeleteResult")
        for key in delete.keys {
            try store.deleteObject(bucket: request.bucket, key: key)
            if !delete.quiet { xml.element("Deleted") { $0.element("Key", key) } }
        }
        return .xml(xml)
    }

    /// CopyObject. Storage class, encryption and redirect always come from the request;
    /// metadata and content headers come from the source (`COPY`, the default) or from
    /// the request (`REPLACE`). Copying an object onto itself must change something.
    func copyObject(_ request: S3Request, now: Date) throws(S3Error) -> S3Response {
        let dialect = request.requestDialect
        let (sourceBucket, sourceKey) = try copySource(request)
        let source = try store.object(bucket: sourceBucket, key: sourceKey)
        try source.attributes.checkCustomerKey(in: request.headers, dialect: dialect, prefix: "copy-source-")
        let directive = request.headers[dialect.header("metadata-directive")] ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error.invalidArgument("Unknown metadata directive.")
        }
        var attributes = try ObjectAttributes(requestHeaders: request.headers, dialect: dialect)
        if directive == "COPY" {
            attributes.copyContentDescription(from: source.attributes)
            let changesSomething = ["storage-class", "server-side-encryption", "website-redirect-location",
                                    "server-side-encryption-customer-algorithm"]
                .contains { request.headers.contains(dialect.header($0)) }
            if sourceBucket == request.bucket, sourceKey == request.key, !changesSomething {
                throw S3Error.invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
            }
        }
        attributes.checksums = source.attributes.checksums
        let object = StoredObject(body: source.body, etag: source.etag, lastModified: ObjectStore.wholeSeconds(now),
                                  attributes: attributes)
        try store.put(object, bucket: request.bucket, key: request.key)
        var xml = XMLResponseWriter(root: "CopyObjectResult")
        xml.element("LastModified", object.lastModified)
        xml.element("ETag", object.etag)
        return .xml(xml, headers: attributes.encryptionHeaders(request.responseDialect))
    }

    /// `x-amz-copy-source: [/]bucket/key[?versionId=v]`, bucket and key percent-encoded.
    func copySource(_ request: S3Request) throws(S3Error) -> (bucket: String, key: String) {
        let malformed = S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        guard var value = request.headers[request.requestDialect.header("copy-source")] else { throw malformed }
        if let question = value.firstIndex(of: "?") {
            let query = value[value.index(after: question)...]
            guard query.hasPrefix("versionId=") else { throw malformed }
            try checkVersionId(String(query.dropFirst("versionId=".count)))
            value = String(value[..<question])
        }
        let path = value.hasPrefix("/") ? value.dropFirst() : value[...]
        guard let slash = path.firstIndex(of: "/"),
              let bucket = PercentEncoding.decode(path[..<slash]),
              let key = PercentEncoding.decode(path[path.index(after: slash)...]),
              !bucket.isEmpty, !key.isEmpty
        else { throw malformed }
        return (bucket, key)
    }

    /// The store keeps no versions: only the `null` version exists.
    func checkVersionId(_ versionId: String?) throws(S3Error) {
        guard let versionId, versionId != "null" else { return }
        throw S3Error.invalidArgument("Invalid version id specified")
    }

    func checksumHeaders(_ checksums: [ChecksumAlgorithm: String]) -> [(String, String)] {
        ChecksumAlgorithm.allCases.compactMap { algorithm in checksums[algorithm].map { (algorithm.headerName, $0) } }
    }

    /// `If-Match`/`If-None-Match`: `*` or a list of (possibly weak) entity tags.
    static func etag(_ etag: String, matchesAnyOf condition: String) -> Bool {
        let target = ObjectStore.unquoted(etag)
        return condition.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return ObjectStore.unquoted(tag) == target
        }
    }

    /// GetObject's `response-*` query parameters and the headers they override.
    static let responseOverrides = [
        ("response-content-type", "Content-Type"), ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"), ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"), ("response-content-encoding", "Content-Encoding"),
    ]
}
