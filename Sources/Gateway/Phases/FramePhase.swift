import S3Core
import S3Signing

extension RequestPreparer {
    /// The frame phase: the fields the operation admits (header-like query parameters of
    /// a presigned URL count as headers from here on), and the body's length for the
    /// upstream; an ACL given both ways is refused.
    func frame(_ request: inout PreparingRequest) throws(S3Error) {
        guard case .head(let head, let classified) = request.source else { return }
        var headers = head.headers
        try S3OperationClassifier.liftHeaderParameters(from: classified.target, into: &headers)
        request.headers = try Self.admittedFields(headers, of: classified.row)
        request.body = try upstreamBodyLength(method: head.method, headers: request.headers, payload: request.payload)
        if let conflict = Self.aclConflict(operation: request.operation, headers: request.headers, body: request.body) {
            throw conflict
        }
    }

    /// The body length the upstream gets. aws-chunked bodies are decoded on the way, so
    /// their upstream length is `x-amz-decoded-content-length`; a body of unknown length
    /// is refused with 411 as S3 does (the gateway never forwards unframed bytes).
    func upstreamBodyLength(method: String, headers: HeaderFields, payload: PayloadExpectation) throws(S3Error) -> UpstreamBodyLength {
        // Content-Length may be repeated, or be a list, only of one value (RFC 9112 §6.3).
        var length: Substring?
        var chunkedTransfer = false
        var awsChunkedEncoding = false
        for field in headers {
            if field.name.asciiCaseInsensitiveEquals(S3HeaderName.contentLength) {
                for element in field.value.listElements {
                    if let length, length != element { throw S3Error.badRequest("Conflicting Content-Length values") }
                    length = element
                }
            } else if field.name.asciiCaseInsensitiveEquals("transfer-encoding") {
                chunkedTransfer = chunkedTransfer || field.value.listElements.contains { $0.asciiCaseInsensitiveEquals("chunked") }
            } else if field.name.asciiCaseInsensitiveEquals(S3HeaderName.contentEncoding) {
                awsChunkedEncoding = awsChunkedEncoding
                    || field.value.listElements.contains { $0.asciiCaseInsensitiveEquals("aws-chunked") }
            }
        }
        switch payload {
        case .signedChunks, .unsignedChunksWithTrailer:
            guard let text = headers[S3HeaderName.decodedContentLength], let decoded = Int(text), decoded >= 0 else {
                throw S3Error.missingContentLength()
            }
            return .exactly(decoded)
        case .unsigned, .sha256:
            guard !awsChunkedEncoding else {
                throw S3Error.invalidRequest("Content-Encoding aws-chunked needs a STREAMING-* x-amz-content-sha256")
            }
            if let length {
                guard let value = Int(length), value >= 0 else { throw S3Error.badRequest("Invalid Content-Length") }
                return .exactly(value)
            }
            if chunkedTransfer { throw S3Error.missingContentLength() }
            // No framing field: no body. "A user agent SHOULD send Content-Length in a request
            // when the method defines a meaning for enclosed content" (RFC 9110 §8.6): the
            // upstream gets `Content-Length: 0` for those. Without a framing field NIO's
            // encoder would send a POST, PUT or PATCH chunked, which S3 refuses for a PUT
            // (501 NotImplemented), with a terminating chunk for nothing.
            return Self.anticipatesContent(method) ? .exactly(0) : .none
        }
    }

    /// The methods that define a meaning for a request's content (RFC 9110 §9.3.3, §9.3.4;
    /// RFC 5789): theirs is framed even when empty.
    static func anticipatesContent(_ method: String) -> Bool {
        method == "POST" || method == "PUT" || method == "PATCH"
    }

    /// An ACL is set by headers (a canned ACL or grants) or by a body, never both: the
    /// policy judges the headers, and a store that reads the body instead would apply an
    /// ACL nobody judged. The error, or nil.
    static func aclConflict(operation: S3Operation, headers: HeaderFields, body: UpstreamBodyLength) -> S3Error? {
        guard operation == .putObjectConfiguration("acl") || operation == .putBucketConfiguration("acl"),
              case .exactly(let length) = body, length > 0 else { return nil }
        let aclHeader = headers.first { field in
            let name = field.name.asciiLowercased
            return name == S3HeaderName.acl || name == OBSHeaderName.acl
                || name.hasPrefix(S3HeaderName.grantPrefix) || name.hasPrefix(OBSHeaderName.grantPrefix)
        }
        return aclHeader.map { S3Error.invalidRequest("Give the ACL in \($0.name.asciiLowercased) or in the body, not both") }
    }

    /// Fields read by the gateway itself (framing, signing, trailers) and never forwarded
    /// as they are.
    static let transportFields: Set<String> = fieldsNotForwarded.union([
        S3HeaderName.contentEncoding, S3HeaderName.trailer,
    ])

    /// Fields that describe the client or the trace rather than the request, and go
    /// upstream unchanged (W3C trace context joins the store's traces to the client's;
    /// the AWS SDKs for JavaScript send their user agent as `x-amz-user-agent`).
    /// `Origin` too: the store answers a browser's request with the CORS headers of the
    /// bucket's settings only when it sees where the request comes from.
    static let informationalFields: Set<String> = ["user-agent", "traceparent", "tracestate", "x-amz-user-agent", "origin"]

    /// Fields S3 defines on some operations that change what a request does: sent to an
    /// operation that does not define them, they are refused rather than dropped.
    static let conditionalFields: Set<String> = [
        "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "range",
    ]

    /// The rebuild phase's first half: the fields of the request the upstream may see,
    /// chosen from the operation's row of the closed table (`S3OperationRow.admitsHeader`).
    /// An `x-amz-*` / `x-obs-*` field the operation does not define, or a conditional
    /// field it does not define, is refused naming it; a plain field S3 does not read for
    /// it (`Accept`, `Origin`, SDK fields) is left out, except `informationalFields`.
    /// Transport fields stay for the framing and signing phases, which consume them.
    static func admittedFields(_ headers: HeaderFields, of row: S3OperationRow) throws(S3Error) -> HeaderFields {
        var admitted = HeaderFields()
        admitted.reserveCapacity(headers.count)
        for field in headers {
            let name = field.name.asciiLowercased
            if transportFields.contains(name) || row.admitsHeader(name) || informationalFields.contains(name) {
                admitted.add(field.name, field.value)
            } else if HeaderDialect.isDialectName(name) || conditionalFields.contains(name) {
                throw S3Error.invalidArgument("The header \(name) is not one obsgate forwards with \(row.name)")
                    .naming(name)
            }
        }
        return admitted
    }
}
