import Foundation
import S3Core
import S3Signing

/// Carries out one admitted S3 operation against the store and shapes S3's answer.
///
/// It sees a request whose body has fully arrived and checked out, and returns the status,
/// headers and body S3 would send; it does no I/O, so every operation is tested without
/// sockets.
struct OperationExecutor: Sendable {
    let store: ObjectStore
    let minimumPartSize: Int
    /// The region HeadBucket and GetBucketLocation report.
    let region: String

    /// The operations the store implements; everything else is 501 NotImplemented.
    static func supports(_ operation: S3Operation) -> Bool {
        switch operation {
        case .listBuckets, .createBucket, .headBucket, .deleteBucket, .listObjectsV2, .listObjects,
             .getBucketConfiguration("location"), .putObject, .getObject, .headObject, .deleteObject,
             .deleteObjects, .copyObject, .createMultipartUpload, .uploadPart, .uploadPartCopy,
             .completeMultipartUpload, .abortMultipartUpload, .listParts, .listMultipartUploads:
            return true
        default:
            return false
        }
    }

    /// Whether the operation's body is object data, limited by the configured object
    /// size; other bodies are small XML documents.
    static func carriesObjectData(_ operation: S3Operation) -> Bool {
        operation == .putObject || operation == .uploadPart
    }

    /// Whether `x-amz-checksum-*` request headers describe the body (and are verified
    /// against it) rather than the object a request assembles.
    static func checksumHeadersDescribeBody(_ operation: S3Operation) -> Bool {
        operation == .putObject || operation == .uploadPart || operation == .deleteObjects
    }

    func execute(_ request: S3Request, body: ReceivedBody, now: Date) throws(S3Error) -> S3Response {
        switch request.operation {
        case .listBuckets: return listBuckets()
        case .createBucket: return try createBucket(request, now: now)
        case .headBucket:
            try store.requireBucket(request.bucket)
            return S3Response(status: 200, headers: [("x-amz-bucket-region", region)])
        case .deleteBucket:
            try store.deleteBucket(request.bucket)
            return S3Response(status: 204)
        case .getBucketConfiguration:
            try store.requireBucket(request.bucket)
            // us-east-1 is the empty LocationConstraint.
            return .xml(XMLResponseWriter(root: "LocationConstraint", text: region == "us-east-1" ? "" : region))
        case .listObjectsV2: return try listObjects(request, version: 2)
        case .listObjects: return try listObjects(request, version: 1)
        case .putObject: return try putObject(request, body: body, now: now)
        case .getObject, .headObject: return try getObject(request)
        case .deleteObject:
            try store.deleteObject(bucket: request.bucket, key: request.key)
            return S3Response(status: 204)
        case .deleteObjects: return try deleteObjects(request, body: body)
        case .copyObject: return try copyObject(request, now: now)
        case .createMultipartUpload: return try createMultipartUpload(request, now: now)
        case .uploadPart: return try uploadPart(request, body: body, now: now)
        case .uploadPartCopy: return try uploadPartCopy(request, now: now)
        case .completeMultipartUpload: return try completeMultipartUpload(request, body: body, now: now)
        case .abortMultipartUpload:
            try store.abortUpload(bucket: request.bucket, key: request.key, uploadId: try uploadId(request))
            return S3Response(status: 204)
        case .listParts: return try listParts(request)
        case .listMultipartUploads: return try listMultipartUploads(request)
        default:
            throw S3Error.notImplemented("\(request.operation.name) is not implemented by the development store.")
        }
    }

    private func listBuckets() -> S3Response {
        var xml = XMLResponseWriter(root: "ListAllMyBucketsResult")
        xml.owner()
        xml.element("Buckets") { xml in
            for bucket in store.listBuckets() {
                xml.element("Bucket") {
                    $0.element("Name", bucket.name)
                    $0.element("CreationDate", bucket.created)
                }
            }
        }
        return .xml(xml)
    }

    private func createBucket(_ request: S3Request, now: Date) throws(S3Error) -> S3Response {
        try store.createBucket(request.bucket, now: now)
        return S3Response(status: 200, headers: [("Location", "/" + request.bucket)])
    }
}

extension XMLResponseWriter {
    /// The single owner of everything in the development store.
    static let ownerId = "0e5a7c9d1b3f4a6c8e0d2f4b6a8c0e1d3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c"
    static let ownerName = "dev-upstream"

    mutating func owner(_ element: String = "Owner") {
        self.element(element) {
            $0.element("ID", Self.ownerId)
            $0.element("DisplayName", Self.ownerName)
        }
    }
}
