import FormUpload
import Foundation
import S3Core
import S3Signing

extension RequestPreparer {
    /// The rebuild phase: the upstream request head from what the phases understood,
    /// re-signed with the principal's upstream profile; for a form, the upstream form
    /// (fields re-signed under a policy of the gateway's) and its head.
    func rebuild(_ request: inout PreparingRequest) throws(S3Error) {
        switch request.source {
        case .head(let head, let classified):
            request.upstream = try upstreamHead(
                method: head.method, target: classified.target, address: request.address, headers: request.headers,
                body: request.body, payload: request.payload, requestId: request.requestId,
                profile: request.identity?.upstreamProfile ?? Self.anonymousProfile, upstreamQuery: request.upstreamQuery,
                now: request.now)
        case .form(let start, let parser):
            guard let form = request.form, let identity = request.identity else {
                throw S3Error.internalError("The form was not verified.")
            }
            guard let signer = signers[identity.upstreamProfile] else {
                throw S3Error.internalError("No upstream profile named \(identity.upstreamProfile)")
            }
            let rewriter = try PostObjectRewriter(form: form, parser: parser, clientContentLength: start.clientContentLength,
                                                  signer: signer, dialect: configuration.upstream.dialect, now: request.now)
            let location = upstreamLocation(of: S3Address(style: start.address.style, bucket: start.bucket, key: nil))
            var headers = HeaderFields([("Host", location.host), ("Content-Type", rewriter.upstreamContentType),
                                        ("Content-Length", String(rewriter.upstreamContentLength))])
            if let name = configuration.requestIdHeader, let requestId = request.requestId { headers.add(name, requestId) }
            for field in start.informationalFields { headers.add(field.name, field.value) }
            request.upstream = UpstreamRequestHead(method: "POST", target: location.path, headers: headers)
            request.body = .exactly(rewriter.upstreamContentLength)
            request.rewriter = rewriter
        }
    }

    /// Where a bucket and key are on the upstream: its Host, the encoded path and how the
    /// bucket is named (for SigV2/OBS resources), in the configured upstream addressing.
    func upstreamLocation(of address: S3Address) -> (host: String, path: String, address: S3Address) {
        let upstream = configuration.upstream
        let encodedKey = address.key.map { PercentEncoding.encode($0, encodeSlash: false) }
        if upstream.addressing == .virtualHosted, let bucket = address.bucket {
            return ("\(bucket).\(upstream.hostHeader)", "/" + (encodedKey ?? ""),
                    S3Address(style: .virtualHosted, bucket: bucket, key: address.key))
        }
        var path = "/"
        if let bucket = address.bucket {
            path += PercentEncoding.encode(bucket)
            if let encodedKey { path += "/" + encodedKey }
        }
        return (upstream.hostHeader, path, S3Address(style: .path, bucket: address.bucket, key: address.key))
    }

    /// Hop-by-hop fields (RFC 9110 §7.6.1) and the client's own authentication, framing and
    /// signing fields: the upstream request gets its own. So does `Accept-Encoding`: the
    /// gateway reads error answers (to remove what they must not show) and rewrites others,
    /// which it cannot do to a compressed body.
    static let fieldsNotForwarded: Set<String> = HopByHop.names.union([
        "host", "authorization", "expect", "content-length", "date", "accept-encoding",
        S3HeaderName.amzDate, S3HeaderName.contentSHA256, S3HeaderName.securityToken, S3HeaderName.decodedContentLength,
        OBSHeaderName.date, OBSHeaderName.securityToken,
    ])

    func upstreamHead(method: String, target: RequestTarget, address: S3Address, headers clientHeaders: HeaderFields,
                      body: UpstreamBodyLength, payload: PayloadExpectation, requestId: String? = nil, profile: String,
                      upstreamQuery: [String: String] = [:], now: Date) throws(S3Error) -> UpstreamRequestHead {
        var decodesChunks = false
        if case .signedChunks = payload { decodesChunks = true }
        if case .unsignedChunksWithTrailer = payload { decodesChunks = true }

        var headers = HeaderFields()
        headers.reserveCapacity(clientHeaders.count + 8)  // + Host, Content-Length, the request id, the signature's
        for field in clientHeaders {
            let name = field.name.asciiLowercased
            if Self.fieldsNotForwarded.contains(name) { continue }
            if decodesChunks && (name == S3HeaderName.trailer || name == "x-amz-sdk-checksum-algorithm") { continue }
            if name == S3HeaderName.contentEncoding {
                let remaining = field.value.split(separator: ",").map { String($0.trimmingOWS) }
                    .filter { $0.asciiLowercased != "aws-chunked" }
                if !remaining.isEmpty { headers.add(field.name, remaining.joined(separator: ", ")) }
                continue
            }
            headers.add(field.name, field.value)
        }

        let location = upstreamLocation(of: address)
        let upstreamAddress = location.address
        let host = location.host
        var query: [QueryParameter] = []
        query.reserveCapacity(target.query.count)
        for parameter in target.query where !S3OperationClassifier.authenticationParameters.contains(parameter.name)
            && !S3OperationClassifier.isLiftedHeaderParameter(parameter.name) {
            query.append(upstreamQuery[parameter.name].map(parameter.replacingValue) ?? parameter)
        }
        // What the gateway sets that the client did not send (a sealed listing marker's upload id).
        for (name, value) in upstreamQuery.sorted(by: { $0.key < $1.key }) where !target.query.contains(where: { $0.name == name }) {
            query.append(QueryParameter(name: name, value: value))
        }
        let upstreamTarget = RequestTarget(rawPath: location.path, query: query)

        headers.add("Host", host)
        headers.add("Accept-Encoding", "identity")
        if case .exactly(let length) = body { headers.add("Content-Length", String(length)) }
        if let name = configuration.requestIdHeader, let requestId { headers.add(name, requestId) }
        guard let signer = signers[profile] else {
            throw S3Error.internalError("No upstream profile named \(profile)")
        }
        var payloadHash = SigV4.unsignedPayload
        if case .sha256(let hash) = payload { payloadHash = hash }
        if body == .none || body == .exactly(0), case .unsigned = payload { payloadHash = SigV4.emptyPayloadHash }
        try signer.sign(method: method, target: upstreamTarget, address: upstreamAddress, headers: &headers,
                        payloadHash: payloadHash, now: now)
        return UpstreamRequestHead(method: method, target: upstreamTarget.text, headers: headers)
    }
}
