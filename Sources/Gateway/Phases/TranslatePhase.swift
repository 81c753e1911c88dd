import S3Core
import S3Signing

extension RequestPreparer {
    /// The translate phase: `x-amz-*` ↔ `x-obs-*` into the upstream's dialect, values too;
    /// a field with no equivalent there is refused (`HeaderDialect.translate`). A form's
    /// fields are translated the same way by its rewriter, which pins them in the
    /// upstream form's policy.
    func translate(_ request: inout PreparingRequest) throws(S3Error) {
        request.headers = try HeaderDialect.translate(request.headers, to: configuration.upstream.dialect)
    }
}
