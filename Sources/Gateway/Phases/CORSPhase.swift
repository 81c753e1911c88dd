import NIOHTTP1
import S3Core

extension RequestPreparer {
    /// A CORS preflight about a bucket whose CORS the gateway answers itself (`cors:`):
    /// its answer, from the rules — 200 with the `Access-Control-*` fields, or S3's 403
    /// `AccessForbidden` / 400 thrown. nil when the store answers (the preflight path).
    func gatewayPreflightAnswer(_ head: ClientRequestHead, _ request: ClassifiedRequest) throws(S3Error) -> HTTPResponseHead? {
        guard request.operation.isPreflight, let cors = configuration.cors, let bucket = request.address.bucket,
              cors.answers(for: bucket)
        else { return nil }
        var fields = HTTPHeaders()
        for (name, value) in try cors.preflight(bucket: bucket, headers: head.headers) { fields.add(name: name, value: value) }
        return HTTPResponseHead(version: .http1_1, status: .ok, headers: fields)
    }
}
