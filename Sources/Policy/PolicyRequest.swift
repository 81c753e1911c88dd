import S3Core

/// The normalised view of a request the seed rules and the policy see: what it does, where,
/// who sent it, and its headers as received (either dialect, any case; header-like query
/// parameters of presigned URLs and the policy-relevant fields of a form upload already
/// presented as headers by the gateway).
public struct PolicyRequest: Sendable {
    public var operation: S3Operation
    public var bucket: String?
    public var key: String?
    /// nil = anonymous.
    public var principal: String?
    public var groups: [String]
    public var headers: HeaderFields
    public var isTLS: Bool

    public init(operation: S3Operation, bucket: String?, key: String?, principal: String?,
                groups: [String] = [], headers: HeaderFields, isTLS: Bool = false) {
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.principal = principal
        self.groups = groups
        self.headers = headers
        self.isTLS = isTLS
    }
}

extension PolicyRequest {
    /// Builds the view from a request line such as `POST /bucket/key?uploads` (an optional
    /// trailing `HTTP/1.1` is ignored) the way the gateway does: S3Core's `RequestTarget`,
    /// `S3AddressResolver` (virtual-hosted when `Host` is `<bucket>.<domain>` for one of
    /// `virtualHostDomains`) and `S3OperationClassifier`; `x-amz-*` / `x-obs-*` query
    /// parameters other than signature parameters are lifted into the headers, as the
    /// gateway does for presigned URLs. Used by `obsgate policy explain` and the tests.
    public init(requestLine: String, headers: HeaderFields, principal: String?, groups: [String] = [],
                isTLS: Bool = false, virtualHostDomains: [String] = []) throws(S3Error) {
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 || (parts.count == 3 && parts[2].hasPrefix("HTTP/")) else {
            throw S3Error.badRequest("A request line is 'METHOD /target', e.g. 'POST /bucket/key?uploads'")
        }
        let method = parts[0].uppercased()
        let target = try RequestTarget(parsing: String(parts[1]))
        let address = try S3AddressResolver(baseDomains: virtualHostDomains).resolve(host: headers[S3HeaderName.host], target: target)
        var allHeaders = headers
        try S3OperationClassifier.liftHeaderParameters(from: target, into: &allHeaders)
        let operation = S3OperationClassifier.classify(method: method, address: address, target: target, headers: allHeaders,
                                                       acceptsOBSOperations: true)
        self.init(operation: operation, bucket: address.bucket, key: address.key, principal: principal,
                  groups: groups, headers: allHeaders, isTLS: isTLS)
    }
}
