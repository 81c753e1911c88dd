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
    /// A browser's CORS preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`): unsigned, answered by the bucket's CORS settings.
    case preflightBucket, preflightObject
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
        case .preflightBucket: "PreflightBucket"
        case .preflightObject: "PreflightObject"
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

    /// Whether the operation changes what the store holds or how (objects, their ACLs,
    /// tags, retention, uploads, buckets and their settings), as opposed to reading it:
    /// while the audit trail cannot be written, `fail_closed` refuses exactly these.
    public var changesState: Bool {
        switch self {
        case .listBuckets, .headBucket, .listObjects, .listObjectsV2, .listObjectVersions, .listMultipartUploads,
             .getBucketConfiguration, .listParts, .getObject, .headObject, .selectObjectContent,
             .getObjectAttributes, .getObjectConfiguration, .preflightBucket, .preflightObject, .unknown:
            return false
        case .createBucket, .deleteBucket, .deleteObjects, .postObject, .putBucketConfiguration,
             .deleteBucketConfiguration, .createMultipartUpload, .uploadPart, .uploadPartCopy,
             .completeMultipartUpload, .abortMultipartUpload, .putObject, .copyObject, .appendObject,
             .modifyObjectMetadata, .deleteObject, .restoreObject, .putObjectConfiguration,
             .deleteObjectConfiguration:
            return true
        }
    }

    /// Whether the operation creates or replaces object content, its storage class or its
    /// encryption: the operations the upload policy must see (no bypass).
    public var isPreflight: Bool { self == .preflightBucket || self == .preflightObject }

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

/// Classifies requests by the closed table of `S3OperationTable`: a request that matches
/// no row is `.unknown`, never guessed as a near neighbour.
public enum S3OperationClassifier {
    /// The operation of a request. `acceptsOBSOperations`: whether OBS-only operations
    /// (`?append`, `?metadata`, OBS bucket settings) are operations here (an OBS upstream,
    /// the development store) or unknown (an S3 upstream would read them as others).
    public static func classify(method: String, address: S3Address, target: RequestTarget, headers: HeaderFields,
                                acceptsOBSOperations: Bool) -> S3Operation {
        switch row(method: method, address: address, target: target, headers: headers,
                   acceptsOBSOperations: acceptsOBSOperations) {
        case .success(let row): row.operation
        case .failure(let unmatched): .unknown(reason: unmatched.reason)
        }
    }

    /// The table row of a request (`S3OperationTable.match`), from its method, address,
    /// query and header names. Headers carried in the query count as headers.
    public static func row(method: String, address: S3Address, target: RequestTarget, headers: HeaderFields,
                           acceptsOBSOperations: Bool) -> Result<S3OperationRow, UnmatchedRequest> {
        // A list, not a set: a query has a few names, and hashing each cost more than the
        // comparisons (a repeated name is listed twice, which no check below minds).
        var queryNames: [String] = []
        var liftedHeaderNames: [String] = []
        for parameter in target.query where !authenticationParameters.contains(parameter.name) {
            if isHeaderParameter(parameter.name) {
                liftedHeaderNames.append(parameter.name)
            } else {
                queryNames.append(parameter.name)
            }
        }
        let level: S3APIOperation.Level = address.bucket == nil ? .service : address.key == nil ? .bucket : .object
        return S3OperationTable.match(method: method, level: level, query: target.query, queryNames: queryNames,
                                      contentType: headers[S3HeaderName.contentType],
                                      acceptsOBSOperations: acceptsOBSOperations) { name in
            headers.contains(name) || liftedHeaderNames.contains { $0.asciiCaseInsensitiveEquals(name) }
        }
    }

    /// `x-amz-*` / `x-obs-*` parameters: presigned URLs carry headers such as `x-amz-acl`
    /// in the query, and S3 treats them as headers (the gateway lifts them into headers).
    public static func isHeaderParameter(_ name: String) -> Bool {
        HeaderDialect.isDialectName(name)
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
}
