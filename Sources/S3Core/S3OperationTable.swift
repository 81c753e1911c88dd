/// The closed table of the operations obsgate forwards: one row per operation, each the
/// operation's shape in S3's API model (`S3APIModel`, generated from botocore) or, for the
/// operations only OBS or browsers have, written here from the OBS API reference. A
/// request is the operation of the one row whose method, address level and selecting query
/// keys it matches exactly and whose other query parameters it accepts; any other request
/// (an unknown sub-resource, a sub-resource mixed with multipart parameters, a sub-resource
/// on a method that does not define it) is no operation at all and is refused. docs/s3-operations.md
/// prints the table.
///
/// The same row says which headers the operation may carry (`admitsHeader`): the upstream
/// request is built from those, never from the rest of what the client sent.
public struct S3OperationRow: Sendable {
    public let operation: S3Operation
    /// The operation's shape: method, level, selectors, parameters and headers (S3 names).
    public let shape: S3APIOperation
    /// Only an OBS upstream has it (`?append`, `?metadata`, OBS bucket settings): an S3
    /// store reads such a request as another operation (`PUT ?metadata` as PutObject).
    public let obsOnly: Bool

    public var name: String { shape.name }

    /// Whether a request header of this operation may go upstream: one the operation
    /// defines (in either dialect: `x-obs-acl` stands for `x-amz-acl`, and only the OBS
    /// spelling of a renamed header counts), or a member of a family it defines
    /// (`x-amz-meta-*`). `lowercaseName` is lowercase.
    public func admitsHeader(_ lowercaseName: String) -> Bool {
        var name = lowercaseName
        if name.hasPrefix(OBSHeaderName.prefix) {
            guard let s3Name = HeaderDialect.obs.translateName(name, to: .s3),
                  HeaderDialect.s3.translateName(s3Name, to: .obs) == name else { return false }
            name = s3Name
        }
        return shape.headers.contains(name) || shape.headerPrefixes.contains { name.hasPrefix($0) }
    }

    /// Whether a query parameter (not an authentication parameter, not a header carried
    /// in the query) belongs to this operation.
    func admitsParameter(_ name: String) -> Bool {
        shape.selectors.contains(name) || shape.parameters.contains(name) || S3OperationTable.anyOperationParameters.contains(name)
    }
}

public enum S3OperationTable {
    /// Operations of the S3 model obsgate does not forward, and why. Every other
    /// non-deprecated operation of the model is a row.
    public static let excluded: [String: String] = [
        "CreateSession": "S3 Express One Zone session credentials: the gateway issues its own keys",
        "ListDirectoryBuckets": "S3 Express One Zone; not told apart from ListBuckets by the request",
        "WriteGetObjectResponse": "S3 Object Lambda; addressed by host prefix, not a bucket",
        "RenameObject": "S3 Express One Zone; moves an object without the upload policy seeing it",
        "UpdateObjectEncryption": "changes an object's encryption after the upload policy judged it",
        "CreateBucketMetadataConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "CreateBucketMetadataTableConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "DeleteBucketMetadataConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "DeleteBucketMetadataTableConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "GetBucketMetadataConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "GetBucketMetadataTableConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "UpdateBucketMetadataInventoryTableConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "UpdateBucketMetadataJournalTableConfiguration": "S3 Metadata tables; not supported by S3-compatible stores",
        "GetBucketAbac": "attribute-based access control of S3; not supported by S3-compatible stores",
        "PutBucketAbac": "attribute-based access control of S3; not supported by S3-compatible stores",
    ]

    /// Query parameters any operation may carry: botocore's `x-id` names the operation
    /// for routing and changes nothing.
    static let anyOperationParameters: Set<String> = ["x-id"]

    /// Operations of the model that are not configuration sub-resources.
    static let namedOperations: [String: S3Operation] = [
        "ListBuckets": .listBuckets,
        "CreateBucket": .createBucket, "DeleteBucket": .deleteBucket, "HeadBucket": .headBucket,
        "ListObjects": .listObjects, "ListObjectsV2": .listObjectsV2, "ListObjectVersions": .listObjectVersions,
        "ListMultipartUploads": .listMultipartUploads, "DeleteObjects": .deleteObjects,
        "CreateMultipartUpload": .createMultipartUpload, "UploadPart": .uploadPart, "UploadPartCopy": .uploadPartCopy,
        "CompleteMultipartUpload": .completeMultipartUpload, "AbortMultipartUpload": .abortMultipartUpload,
        "ListParts": .listParts, "PutObject": .putObject, "CopyObject": .copyObject, "GetObject": .getObject,
        "HeadObject": .headObject, "DeleteObject": .deleteObject, "RestoreObject": .restoreObject,
        "SelectObjectContent": .selectObjectContent, "GetObjectAttributes": .getObjectAttributes,
    ]

    /// Every row: the model's operations (less `excluded` and the deprecated ones), then
    /// the browser form upload and the OBS-only operations.
    public static let rows: [S3OperationRow] = {
        var rows: [S3OperationRow] = []
        for shape in S3APIModel.operations where !shape.deprecated && excluded[shape.name] == nil {
            guard let operation = namedOperations[shape.name] ?? configurationOperation(shape) else {
                preconditionFailure("S3 model operation \(shape.name) is neither a row nor excluded")
            }
            rows.append(S3OperationRow(operation: operation, shape: shape, obsOnly: false))
        }
        return rows + formAndOBSRows
    }()

    /// The API name of an operation (`PutBucketLifecycleConfiguration` for
    /// `.putBucketConfiguration("lifecycle")`): its first row's. Access rules name
    /// operations this way.
    public static func apiName(of operation: S3Operation) -> String {
        apiNames[operation] ?? operation.name
    }

    private static let apiNames: [S3Operation: String] = {
        var names: [S3Operation: String] = [:]
        for row in rows where names[row.operation] == nil { names[row.operation] = row.name }
        return names
    }()

    /// GET / PUT / DELETE of one configuration sub-resource of a bucket or an object
    /// (`PutBucketLifecycleConfiguration` is `PUT /bucket?lifecycle`).
    private static func configurationOperation(_ shape: S3APIOperation) -> S3Operation? {
        let named = shape.selectors.subtracting(["id"])
        guard named.count == 1, let subresource = named.first, shape.selectorValues.isEmpty else { return nil }
        switch (shape.level, shape.method) {
        case (.bucket, "GET"): return .getBucketConfiguration(subresource)
        case (.bucket, "PUT"): return .putBucketConfiguration(subresource)
        case (.bucket, "DELETE"): return .deleteBucketConfiguration(subresource)
        case (.object, "GET"): return .getObjectConfiguration(subresource)
        case (.object, "PUT"): return .putObjectConfiguration(subresource)
        case (.object, "DELETE"): return .deleteObjectConfiguration(subresource)
        default: return nil
        }
    }

    /// The rows S3's model does not have: the browser form upload (PostObject, from S3's
    /// POST Object reference; its fields are judged by the form path, its head carries only
    /// the multipart framing) and the operations of the OBS API reference only OBS has.
    static let formAndOBSRows: [S3OperationRow] = {
        let putObject = S3APIModel.byName["PutObject"]!
        let objectMetadataHeaders: Set<String> = [
            "cache-control", "content-disposition", "content-encoding", "content-language", "content-type", "expires",
            S3HeaderName.storageClass, S3HeaderName.websiteRedirectLocation, "x-amz-metadata-directive",
            "x-amz-expected-bucket-owner",
        ]
        func shape(_ name: String, _ method: String, _ level: S3APIOperation.Level, _ selectors: Set<String>,
                   parameters: Set<String> = [], headers: Set<String> = ["content-md5", "content-type", "content-length"],
                   headerPrefixes: Set<String> = []) -> S3APIOperation {
            S3APIOperation(name: name, method: method, level: level, selectors: selectors, selectorValues: [:],
                           parameters: parameters, headers: headers, headerPrefixes: headerPrefixes, requiredHeaders: [],
                           deprecated: false)
        }
        // CORS preflights (S3's "OPTIONS object"): the browser's question and nothing else.
        let preflightHeaders: Set<String> = ["origin", "access-control-request-method", "access-control-request-headers"]
        var rows = [
            S3OperationRow(operation: .postObject, shape: shape("PostObject", "POST", .bucket, [],
                                                                headers: ["content-type", "content-length"]),
                           obsOnly: false),
            S3OperationRow(operation: .preflightBucket, shape: shape("PreflightBucket", "OPTIONS", .bucket, [],
                                                                     headers: preflightHeaders),
                           obsOnly: false),
            S3OperationRow(operation: .preflightObject, shape: shape("PreflightObject", "OPTIONS", .object, [],
                                                                     headers: preflightHeaders),
                           obsOnly: false),
            // OBS "Appending an object": POST /key?append&position=N, the headers of PutObject.
            S3OperationRow(operation: .appendObject,
                           shape: shape("AppendObject", "POST", .object, ["append", "position"],
                                        headers: putObject.headers, headerPrefixes: putObject.headerPrefixes),
                           obsOnly: true),
            // OBS "Modifying object metadata": PUT /key?metadata with x-obs-metadata-directive.
            S3OperationRow(operation: .modifyObjectMetadata,
                           shape: shape("ModifyObjectMetadata", "PUT", .object, ["metadata"], parameters: ["versionId"],
                                        headers: objectMetadataHeaders, headerPrefixes: [S3HeaderName.metaPrefix]),
                           obsOnly: true),
        ]
        // OBS bucket settings: storage class and policy, quota, usage, custom domains,
        // direct cold access, mirroring back to source, workflow triggers.
        let obsBucketSettings: [(String, [String])] = [
            ("storageClass", ["GET", "PUT"]), ("storagePolicy", ["GET", "PUT"]), ("quota", ["GET", "PUT"]),
            ("storageinfo", ["GET"]), ("customdomain", ["GET", "PUT", "DELETE"]),
            ("directcoldaccess", ["GET", "PUT", "DELETE"]), ("mirrorBackToSource", ["GET", "PUT", "DELETE"]),
            ("obsworkflowtriggerpolicy", ["GET", "PUT", "DELETE"]),
        ]
        for (subresource, methods) in obsBucketSettings {
            for method in methods {
                let operation: S3Operation = switch method {
                case "GET": .getBucketConfiguration(subresource)
                case "PUT": .putBucketConfiguration(subresource)
                default: .deleteBucketConfiguration(subresource)
                }
                rows.append(S3OperationRow(operation: operation, shape: shape(operation.name, method, .bucket, [subresource]),
                                           obsOnly: true))
            }
        }
        return rows
    }()

    private struct MethodAndLevel: Hashable {
        let method: String
        let level: S3APIOperation.Level
    }

    /// The rows by method and level: a request is compared with the few rows of its own
    /// method and level, not all of them (this runs for every request).
    private static let rowsByMethodAndLevel: [MethodAndLevel: [S3OperationRow]] =
        Dictionary(grouping: rows) { MethodAndLevel(method: $0.shape.method, level: $0.shape.level) }

    /// The row a request matches, or why it matches none.
    ///
    /// - `queryNames`: the request's query keys less authentication parameters and headers
    ///   carried in the query (`S3OperationClassifier.isLiftedHeaderParameter`);
    /// - `hasHeader`: whether it carries a header of that (lowercase) name, counting those
    ///   carried in the query (asked of the few rows that require a header, so that no set
    ///   of names is built per request).
    ///
    /// Of the rows of the method and level whose selectors the query holds (with the fixed
    /// values) and whose parameters cover the rest of the query, the most specific wins:
    /// the most selectors, then the most required headers present (CopyObject over
    /// PutObject when `x-amz-copy-source` is sent).
    public static func match(method: String, level: S3APIOperation.Level, query: [QueryParameter],
                             queryNames: [String], contentType: String?, acceptsOBSOperations: Bool,
                             hasHeader: (String) -> Bool) -> Result<S3OperationRow, UnmatchedRequest> {
        var best: S3OperationRow?
        for row in rowsByMethodAndLevel[MethodAndLevel(method: method, level: level)] ?? [] {
            if row.obsOnly && !acceptsOBSOperations { continue }
            guard row.shape.selectors.allSatisfy(queryNames.contains),
                  row.shape.selectorValues.allSatisfy({ selector in
                      query.contains { $0.name == selector.key && $0.value == selector.value } }),
                  queryNames.allSatisfy(row.admitsParameter),
                  row.shape.requiredHeaders.allSatisfy({ required in
                      hasHeader(required) || HeaderDialect.s3.translateName(required, to: .obs).map(hasHeader) ?? false })
            else { continue }
            if row.operation == .postObject, !(contentType?.asciiLowercased.hasPrefix("multipart/form-data") ?? false) {
                continue
            }
            if let current = best {
                let moreSelectors = row.shape.selectors.count > current.shape.selectors.count
                let sameSelectors = row.shape.selectors.count == current.shape.selectors.count
                if moreSelectors || (sameSelectors && row.shape.requiredHeaders.count > current.shape.requiredHeaders.count) {
                    best = row
                }
            } else {
                best = row
            }
        }
        if let best { return .success(best) }
        let what = level == .service ? "the service" : level == .bucket ? "a bucket" : "an object"
        let names = Set(queryNames)
        let keys = names.sorted()
        let shape = keys.isEmpty ? "\(method) on \(what)" : "\(method) on \(what) with ?\(keys.joined(separator: "&"))"
        let obsOnly = rows.contains { $0.obsOnly && $0.shape.method == method && $0.shape.level == level
            && $0.shape.selectors == names }
        return .failure(UnmatchedRequest(reason: obsOnly
            ? "\(shape) is an OBS operation, and the upstream is not OBS"
            : "\(shape) is no operation obsgate knows (docs/s3-operations.md lists them)"))
    }
}

/// Why a request matches no row of `S3OperationTable`.
public struct UnmatchedRequest: Error, Sendable {
    public let reason: String
}
