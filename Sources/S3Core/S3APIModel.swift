/// Every operation of the AWS S3 API as botocore's model (`botocore/data/s3/2006-03-01/
/// service-2.json`) describes it: its HTTP method, the address level it works on, the query
/// keys that select it, and the query parameters and headers it accepts. It is the reference
/// the gateway's own knowledge of S3 (`S3Operation`, the policy's header checks) is tested
/// against, so that a header or sub-resource AWS adds is noticed rather than passed unseen.
///
/// The table (`operations`, `botocoreVersion`, `apiVersion`) is generated, not written:
/// `scripts/generate-s3-api-model.py` reads the model of the botocore pinned in
/// `scripts/requirements-test.txt` and writes `S3APIModel+Generated.swift`. To refresh it
/// after a botocore upgrade, run
///
///     python3 scripts/generate-s3-api-model.py Sources/S3Core/S3APIModel+Generated.swift
///
/// `S3APIModelTests` reruns the generator with `--check` and fails on any difference, so the
/// committed table cannot drift from the script or the model. docs/s3-api-model.md
/// describes the fields.
public enum S3APIModel {
    /// The operations by name (the model's operation names are unique).
    public static let byName: [String: S3APIOperation] =
        Dictionary(uniqueKeysWithValues: operations.map { ($0.name, $0) })
}

/// One operation of the S3 model, reduced to what identifies a request and what it may carry.
/// Header names are lowercase; query keys keep the model's spelling (`uploadId`,
/// `list-type`), since S3 query keys are case-sensitive.
public struct S3APIOperation: Sendable, Hashable {
    /// Where the request is addressed, from the model's `requestUri`.
    public enum Level: Sendable, Hashable {
        /// No bucket in the address (`GET /` for ListBuckets).
        case service
        /// A bucket (`/{Bucket}`), with or without a sub-resource.
        case bucket
        /// An object (`/{Bucket}/{Key+}`).
        case object
    }

    /// The API name, e.g. `PutObject`.
    public var name: String
    /// The HTTP method, uppercase.
    public var method: String
    public var level: Level
    /// Query keys a request of this operation always has: those fixed by the `requestUri`
    /// (`?uploads`, `?list-type=2`) and the required query parameters (`uploadId`,
    /// `partNumber`, `id`). Operations with the same method and level differ here, or else
    /// in `requiredHeaders`.
    public var selectors: Set<String>
    /// The values the `requestUri` fixes for some selectors (`list-type` → `2`); a selector
    /// with no entry may have any value (or none, e.g. `?acl`).
    public var selectorValues: [String: String]
    /// The optional query parameters (`prefix`, `versionId`, `response-content-type`, ...).
    public var parameters: Set<String>
    /// Every request header the model names for the input, lowercase.
    public var headers: Set<String>
    /// Prefixes of header families the input carries as a map, lowercase (`x-amz-meta-`).
    public var headerPrefixes: Set<String>
    /// The headers (a subset of `headers`) the operation requires, e.g. `x-amz-copy-source`
    /// for CopyObject and UploadPartCopy: what tells them from PutObject and UploadPart.
    public var requiredHeaders: Set<String>
    /// Marked deprecated in the model (e.g. PutBucketLifecycle, replaced by
    /// PutBucketLifecycleConfiguration at the same address).
    public var deprecated: Bool

    public init(name: String, method: String, level: Level, selectors: Set<String>,
                selectorValues: [String: String], parameters: Set<String>, headers: Set<String>,
                headerPrefixes: Set<String>, requiredHeaders: Set<String>, deprecated: Bool) {
        self.name = name
        self.method = method
        self.level = level
        self.selectors = selectors
        self.selectorValues = selectorValues
        self.parameters = parameters
        self.headers = headers
        self.headerPrefixes = headerPrefixes
        self.requiredHeaders = requiredHeaders
        self.deprecated = deprecated
    }
}
