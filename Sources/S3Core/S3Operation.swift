/// The S3 (or OBS) API operation a request performs, decided from its method, address,
/// query sub-resources and a few headers. Shapes the gateway does not know are
/// `.unknown`, never guessed as a near neighbour: a policy that guards uploads must not be
/// sidestepped by an unexpected query parameter.
public enum S3Operation: Hashable, Sendable {
    // Service level
    case listBuckets

    // Bucket level
    case createBucket, deleteBucket, headBucket
    case listObjects, listObjectsV2, listObjectVersions, listMultipartUploads
    /// `POST /bucket?delete`
    case deleteObjects
    /// Browser form upload: `POST /bucket` with `multipart/form-data`.
    case postObject
    /// `GET|PUT|DELETE /bucket?<subresource>` (acl, cors, lifecycle, policy, ...).
    case getBucketConfiguration(String), putBucketConfiguration(String), deleteBucketConfiguration(String)

    // Object level
    case createMultipartUpload, uploadPart, uploadPartCopy, completeMultipartUpload
    case abortMultipartUpload, listParts
    case putObject, copyObject
    /// OBS `POST /bucket/key?append&position=N`.
    case appendObject
    /// OBS `PUT /bucket/key?metadata`: rewrites metadata, storage class and redirect of an
    /// existing object, so the policy treats it like a copy onto itself.
    case modifyObjectMetadata
    case getObject, headObject, deleteObject
    case restoreObject, selectObjectContent, getObjectAttributes
    /// `GET|PUT|DELETE /bucket/key?<subresource>` (acl, tagging, retention, legal-hold).
    case getObjectConfiguration(String), putObjectConfiguration(String), deleteObjectConfiguration(String)

    case unknown(reason: String)

    /// The S3 API name, as in the AWS API reference (e.g. `CreateMultipartUpload`).
    public var name: String {
        switch self {
        case .listBuckets: "ListBuckets"
        case .createBucket: "CreateBucket"
        case .deleteBucket: "DeleteBucket"
        case .headBucket: "HeadBucket"
        case .listObjects: "ListObjects"
        case .listObjectsV2: "ListObjectsV2"
        case .listObjectVersions: "ListObjectVersions"
        case .listMultipartUploads: "ListMultipartUploads"
        case .deleteObjects: "DeleteObjects"
        case .postObject: "PostObject"
        case .getBucketConfiguration(let sub): "GetBucket:\(sub)"
        case .putBucketConfiguration(let sub): "PutBucket:\(sub)"
        case .deleteBucketConfiguration(let sub): "DeleteBucket:\(sub)"
        case .createMultipartUpload: "CreateMultipartUpload"
        case .uploadPart: "UploadPart"
        case .uploadPartCopy: "UploadPartCopy"
        case .completeMultipartUpload: "CompleteMultipartUpload"
        case .abortMultipartUpload: "AbortMultipartUpload"
        case .listParts: "ListParts"
        case .putObject: "PutObject"
        case .copyObject: "CopyObject"
        case .appendObject: "AppendObject"
        case .modifyObjectMetadata: "ModifyObjectMetadata"
        case .getObject: "GetObject"
        case .headObject: "HeadObject"
        case .deleteObject: "DeleteObject"
        case .restoreObject: "RestoreObject"
        case .selectObjectContent: "SelectObjectContent"
        case .getObjectAttributes: "GetObjectAttributes"
        case .getObjectConfiguration(let sub): "GetObject:\(sub)"
        case .putObjectConfiguration(let sub): "PutObject:\(sub)"
        case .deleteObjectConfiguration(let sub): "DeleteObject:\(sub)"
        case .unknown: "Unknown"
        }
    }

    /// Whether the operation creates or replaces object content, its storage class or its
    /// encryption: the operations the upload policy must see (no bypass).
    public var createsObject: Bool {
        switch self {
        case .createMultipartUpload, .putObject, .copyObject, .postObject, .appendObject,
             .modifyObjectMetadata:
            return true
        default:
            return false
        }
    }
}

/// Classifies requests. The query-parameter vocabulary is closed: a parameter that is
/// neither a known sub-resource, an ordinary request parameter nor an authentication
/// parameter makes the shape unknown.
public enum S3OperationClassifier {
    public static func classify(method: String, address: S3Address, target: RequestTarget,
                                headers: HeaderFields) -> S3Operation {
        let names = Set(target.query.map(\.name))
        if let stranger = names.first(where: { !knownParameters.contains($0) && !isResponseOverride($0) && !isHeaderParameter($0) }) {
            return .unknown(reason: "unknown query parameter '\(stranger)'")
        }
        guard address.bucket != nil else {
            return method == "GET" && names.subtracting(authenticationParameters).isEmpty
                ? .listBuckets : .unknown(reason: "\(method) on the service endpoint")
        }
        // Headers may also arrive as query parameters (presigned URLs); a copy source given
        // that way still makes the request a copy.
        let lowercasedNames = Set(names.map { $0.asciiLowercased })
        let hasCopySource = headers.contains(S3HeaderName.copySource) || headers.contains(OBSHeaderName.copySource)
            || lowercasedNames.contains(S3HeaderName.copySource) || lowercasedNames.contains(OBSHeaderName.copySource)
        if address.key != nil {
            let bucketOnly = names.intersection(bucketOnlyParameters)
            if !bucketOnly.isEmpty {
                return .unknown(reason: "bucket parameter '\(bucketOnly.sorted()[0])' on an object")
            }
            return classifyObject(method: method, names: names, hasCopySource: hasCopySource)
        }
        let objectOnly = names.intersection(objectOnlyParameters)
        if !objectOnly.isEmpty, !(method == "GET" && objectOnly == ["uploads"]) {
            return .unknown(reason: "object parameter '\(objectOnly.sorted()[0])' on a bucket")
        }
        return classifyBucket(method: method, names: names, headers: headers)
    }

    private static func classifyObject(method: String, names: Set<String>, hasCopySource: Bool) -> S3Operation {
        let sub = names.intersection(objectConfigurationSubresources)
        if sub.count > 1 { return .unknown(reason: "several sub-resources: \(sub.sorted().joined(separator: ", "))") }
        let selectors = names.intersection(["uploads", "uploadId", "append", "restore", "select", "metadata", "attributes"])
        if selectors.count > 1 {
            return .unknown(reason: "conflicting selectors: \(selectors.sorted().joined(separator: ", "))")
        }
        switch method {
        case "POST":
            if names.contains("uploads") { return .createMultipartUpload }
            if names.contains("uploadId") { return .completeMultipartUpload }
            if names.contains("append") { return .appendObject }
            if names.contains("restore") { return .restoreObject }
            if names.contains("select") { return .selectObjectContent }
            return .unknown(reason: "POST on an object without a known sub-resource")
        case "PUT":
            if names.contains("partNumber") && names.contains("uploadId") {
                return hasCopySource ? .uploadPartCopy : .uploadPart
            }
            if names.contains("uploadId") || names.contains("uploads") || names.contains("partNumber") {
                return .unknown(reason: "PUT with an incomplete multipart parameter set")
            }
            if names.contains("metadata") { return .modifyObjectMetadata }
            if let name = sub.first { return .putObjectConfiguration(name) }
            return hasCopySource ? .copyObject : .putObject
        case "GET":
            if names.contains("uploadId") { return .listParts }
            if names.contains("attributes") { return .getObjectAttributes }
            if let name = sub.first { return .getObjectConfiguration(name) }
            return .getObject
        case "HEAD":
            return sub.isEmpty ? .headObject : .unknown(reason: "HEAD with a sub-resource")
        case "DELETE":
            if names.contains("uploadId") { return .abortMultipartUpload }
            if let name = sub.first { return .deleteObjectConfiguration(name) }
            return .deleteObject
        default:
            return .unknown(reason: "method \(method) on an object")
        }
    }

    private static func classifyBucket(method: String, names: Set<String>, headers: HeaderFields) -> S3Operation {
        let sub = names.intersection(bucketConfigurationSubresources)
        if sub.count > 1 { return .unknown(reason: "several sub-resources: \(sub.sorted().joined(separator: ", "))") }
        switch method {
        case "POST":
            if names.contains("delete") { return .deleteObjects }
            let contentType = headers[S3HeaderName.contentType]?.asciiLowercased ?? ""
            if sub.isEmpty && contentType.hasPrefix("multipart/form-data") { return .postObject }
            return .unknown(reason: "POST on a bucket that is neither DeleteObjects nor a form upload")
        case "PUT":
            if let name = sub.first { return .putBucketConfiguration(name) }
            return .createBucket
        case "GET":
            if names.contains("uploads") { return .listMultipartUploads }
            if names.contains("versions") { return .listObjectVersions }
            if let name = sub.first { return .getBucketConfiguration(name) }
            return names.contains("list-type") ? .listObjectsV2 : .listObjects
        case "HEAD":
            return sub.isEmpty ? .headBucket : .unknown(reason: "HEAD with a sub-resource")
        case "DELETE":
            if let name = sub.first { return .deleteBucketConfiguration(name) }
            return .deleteBucket
        default:
            return .unknown(reason: "method \(method) on a bucket")
        }
    }

    /// `x-amz-*` / `x-obs-*` parameters: presigned URLs carry headers such as `x-amz-acl`
    /// in the query, and S3 treats them as headers (the gateway lifts them into headers).
    public static func isHeaderParameter(_ name: String) -> Bool {
        name.hasASCIICaseInsensitivePrefix(S3HeaderName.prefix) || name.hasASCIICaseInsensitivePrefix(OBSHeaderName.prefix)
    }

    /// A header-like parameter that is not part of a presigned signature: it acts as a
    /// header of the request (`liftHeaderParameters`).
    public static func isLiftedHeaderParameter(_ name: String) -> Bool {
        !authenticationParameters.contains(name) && isHeaderParameter(name)
    }

    /// Moves the lifted header parameters of a query (`isLiftedHeaderParameter`) into the
    /// headers, so that policy and upstream see them as headers. A parameter that
    /// contradicts a header of the same name is refused.
    public static func liftHeaderParameters(from target: RequestTarget, into headers: inout HeaderFields) throws(S3Error) {
        for parameter in target.query where isLiftedHeaderParameter(parameter.name) {
            let name = parameter.name.asciiLowercased
            if let existing = headers[name], existing != parameter.value {
                throw S3Error.invalidArgument("The query parameter \(name) contradicts the header of the same name")
            }
            if !headers.contains(name) { headers.add(name, parameter.value) }
        }
    }

    /// `response-content-type` and the other response header overrides of GetObject.
    static func isResponseOverride(_ name: String) -> Bool { name.hasPrefix("response-") }

    /// Parameters that only make sense on a bucket; on an object they make the shape unknown.
    static let bucketOnlyParameters: Set<String> = bucketConfigurationSubresources
        .subtracting(objectConfigurationSubresources)
        .union(["delete", "versions", "list-type", "max-uploads", "key-marker", "upload-id-marker"])

    /// Parameters that only make sense on an object; on a bucket they make the shape
    /// unknown (except `uploads` with GET: ListMultipartUploads).
    static let objectOnlyParameters: Set<String> = [
        "uploads", "uploadId", "partNumber", "append", "position", "metadata", "restore", "select",
        "attributes", "retention", "legal-hold", "torrent",
    ]

    /// Sub-resources that address a configuration of an object rather than its content.
    static let objectConfigurationSubresources: Set<String> = [
        "acl", "tagging", "retention", "legal-hold", "torrent",
    ]

    /// Sub-resources that address a configuration of a bucket (S3 and OBS names).
    static let bucketConfigurationSubresources: Set<String> = [
        "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering",
        "inventory", "lifecycle", "location", "logging", "metrics", "notification",
        "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "tagging", "versioning", "website",
        // OBS
        "storageClass", "quota", "storageinfo", "storagePolicy", "customdomain",
        "directcoldaccess", "mirrorBackToSource", "obsworkflowtriggerpolicy",
    ]

    /// Parameters that carry a request's signature rather than select an operation.
    public static let authenticationParameters: Set<String> = [
        // SigV4 presigned
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        // SigV2 query
        "AWSAccessKeyId", "Expires", "Signature",
        // OBS query
        "AccessKeyId",
    ]

    static let knownParameters: Set<String> = objectConfigurationSubresources
        .union(bucketConfigurationSubresources)
        .union(authenticationParameters)
        .union([
            "uploads", "uploadId", "partNumber", "append", "position", "metadata", "restore",
            "select", "select-type", "attributes", "delete", "versions", "versionId",
            "prefix", "delimiter", "marker", "max-keys", "max-uploads", "max-parts",
            "part-number-marker", "key-marker", "upload-id-marker", "version-id-marker",
            "continuation-token", "start-after", "fetch-owner", "list-type", "encoding-type",
            "id", "x-id",
        ])
}
