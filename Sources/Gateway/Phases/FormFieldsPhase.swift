import FormUpload
import S3Core
import S3Signing

extension RequestPreparer {
    /// The start of a browser form upload (`POST /bucket`, multipart/form-data), or nil for
    /// any other request. Its credentials are in the form's fields, so the gateway reads the
    /// field section (at most 20 KiB) before anything goes upstream.
    public func startFormUpload(_ head: ClientRequestHead, _ classified: ClassifiedRequest) throws(S3Error) -> FormUploadStart? {
        let address = classified.address
        guard classified.operation == .postObject, let bucket = address.bucket else { return nil }
        do throws(S3Error) {
            guard !head.headers.contains(S3HeaderName.authorization) else {
                throw S3Error.invalidArgument("A form upload authenticates through its fields, not an Authorization header")
            }
            guard head.headers.values(S3HeaderName.contentLength).count == 1,
                  let text = head.headers[S3HeaderName.contentLength], let length = Int(text), length >= 0 else {
                throw S3Error.missingContentLength()
            }
            let parser = try MultipartFormParser(contentType: head.headers[S3HeaderName.contentType] ?? "")
            return FormUploadStart(address: address, bucket: bucket, clientContentLength: length, parser: parser,
                                   expectsContinue: head.headers["expect"]?.asciiLowercased == "100-continue",
                                   isTLS: head.isTLS, informationalFields: HeaderFields(head.headers.filter {
                                       Self.informationalFields.contains($0.name.asciiLowercased)
                                   }.map { ($0.name, $0.value) }))
        } catch {
            throw error.about(address.resource)
        }
    }

    /// The form-fields phase, once the field section is read: the form's signature and
    /// policy document (`PostObjectVerifier`) → the principal, the key and the fields the
    /// later phases judge as headers.
    func verifyForm(_ request: inout PreparingRequest) throws(S3Error) {
        guard case .form(let start, let parser) = request.source else { return }
        request.facts.accessKeyId = PostObjectVerifier.claimedAccessKeyId(fields: parser.fields)
        let form = try formVerifier.verify(parser, bucket: start.bucket, now: request.now)
        request.facts.accessKeyId = form.accessKeyId
        guard let identity = credentials.identity(forAccessKey: form.accessKeyId) else { throw S3Error.invalidAccessKeyId() }
        request.identity = identity
        request.facts.identity = identity
        request.address = S3Address(style: start.address.style, bucket: start.bucket, key: form.key)
        request.facts.address = request.address
        request.headers = form.headers
        request.form = form
    }
}
