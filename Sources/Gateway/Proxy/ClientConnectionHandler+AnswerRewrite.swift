import NIOCore
import NIOHTTP1
import Policy
import S3Core
import S3Signing

/// The multipart operations' answers, rewritten before the client sees them
/// (`MultipartAnswerRewriter`): bound upload ids, URLs at the gateway.
extension ClientConnectionHandler {
    func rewriteAnswer(_ head: HTTPResponseHead, _ body: ByteBuffer, of exchange: Exchange) -> [Action]? {
        guard let prepared = exchange.prepared, let answer = answerToRewrite(prepared, of: exchange) else {
            return exchange.machine.answerUnreadable(S3Error.internalError("No rewriter for \(exchange.operation?.name ?? "this") answer."))
        }
        let rewriter = MultipartAnswerRewriter(binder: exchange.preparer.configuration.uploadBinding.binder, answer: answer)
        do throws(S3Error) {
            let rewritten = try rewriter.rewrite(Array(body.readableBytesView))
            var head = head
            if head.status == .noContent {
                head.headers.remove(name: "Content-Length")  // RFC 9110 §8.6: none on a 204
            } else {
                head.headers.replaceOrAdd(name: "Content-Length", value: String(rewritten.body.count))
            }
            head.headers.remove(name: "Content-MD5")
            exchange.clientUploadId = rewritten.uploadId
            var buffer = context?.channel.allocator.buffer(capacity: rewritten.body.count) ?? ByteBuffer()
            buffer.writeBytes(rewritten.body)
            return exchange.machine.answerRewritten(head, buffer, errorCode: rewritten.errorCode)
        } catch {
            environment.logger.warning("an upstream answer could not be rewritten", metadata: [
                "request_id": "\(exchange.requestId)", "error": "\(error.message)",
            ])
            return exchange.machine.answerUnreadable(error)
        }
    }

    private func answerToRewrite(_ prepared: PreparedRequest, of exchange: Exchange) -> MultipartAnswerRewriter.Answer? {
        guard let bucket = prepared.address.bucket else { return nil }
        switch prepared.operation {
        case .createMultipartUpload:
            guard let key = prepared.address.key else { return nil }
            let fields = prepared.objectFields
            return .initiate(UploadIdBinder.Binding(
                upstreamId: "", bucket: bucket, key: key, initiator: prepared.identity?.principal,
                sseCustomerKeyMD5: fields[S3HeaderName.sseCustomerKeyMD5] ?? fields[OBSHeaderName.sseCustomerKeyMD5]))
        case .listMultipartUploads:
            let policy = exchange.preparer.policy
            let identity = prepared.identity
            let sealedKeyMarker = exchange.classified?.target.queryValue("key-marker")
                .flatMap { exchange.preparer.configuration.uploadBinding.binder.isSealedListingMarker($0) ? $0 : nil }
            return .listUploads(bucket: bucket, sealedKeyMarker: sealedKeyMarker) { key in
                guard let policy else { return true }
                let request = PolicyRequest(operation: .listParts, bucket: bucket, key: key, principal: identity?.principal,
                                            groups: identity?.groups ?? [], headers: HeaderFields())
                if case .deny = policy.evaluate(request).outcome { return false }
                return true
            }
        case .listParts:
            guard let clientId = exchange.classified?.target.queryValue("uploadId") else { return nil }
            return .listParts(clientUploadId: clientId)
        case .completeMultipartUpload, .postObject:
            return .objectLocation(key: prepared.address.key) { key in self.gatewayURL(bucket: bucket, key: key, of: exchange) }
        default:
            return nil
        }
    }

    /// An object's URL at the gateway: under `public_endpoint` (path-style), else as the
    /// client addressed the gateway (its Host; the bucket in the host or the path).
    func gatewayURL(bucket: String, key: String, of exchange: Exchange) -> String {
        let encodedKey = PercentEncoding.encode(key, encodeSlash: false)
        if let endpoint = exchange.preparer.configuration.publicEndpoint {
            return "\(endpoint)/\(PercentEncoding.encode(bucket))/\(encodedKey)"
        }
        let origin = (environment.isTLS ? "https://" : "http://") + (exchange.clientHeaders["host"] ?? "localhost")
        if exchange.prepared?.address.style == .virtualHosted { return "\(origin)/\(encodedKey)" }
        return "\(origin)/\(PercentEncoding.encode(bucket))/\(encodedKey)"
    }
}
