import S3Core
import S3Signing

extension RequestPreparer {
    /// The parse and classify phases: what a request is, as far as its head tells without
    /// authentication. Done once per request (parsing a presigned URL's query is not free);
    /// the result also names the request in the log line, metrics and audit record of a
    /// request refused later.
    public func classify(_ head: ClientRequestHead) throws(S3Error) -> ClassifiedRequest {
        try head.checkFields()
        let target = try RequestTarget(parsing: head.uri)
        let host = head.headers[S3HeaderName.host] ?? ""
        let address = try resolver.resolve(host: host, target: target)
        if let bucket = address.bucket { try S3AddressResolver.checkBucketName(bucket) }
        switch S3OperationClassifier.row(method: head.method, address: address, target: target, headers: head.headers,
                                         acceptsOBSOperations: configuration.upstream.dialect == .obs) {
        case .success(let row):
            return ClassifiedRequest(target: target, address: address, row: row)
        case .failure(let unmatched):
            throw S3Error.notImplemented("obsgate does not forward this request shape: \(unmatched.reason).").about(address.resource)
        }
    }
}
