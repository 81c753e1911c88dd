import Audit
import Foundation
import NIOCore
import NIOHTTP1
import S3Core
import S3Signing

/// The response side: the upstream's answer rewritten for the client, the gateway's own
/// S3 errors, and the exchange's log line, metrics and audit record.
extension ClientConnectionHandler {
    func writeContinue(_ exchange: Exchange) {
        context?.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: .continue))),
                               promise: nil)
    }

    func writeResponseHead(_ head: HTTPResponseHead, of exchange: Exchange) {
        exchange.status = Int(head.status.code)
        context?.write(wrapOutboundOut(.head(responseHead(from: head, of: exchange))), promise: nil)
    }

    func writeResponseBody(_ buffer: ByteBuffer, of exchange: Exchange) {
        exchange.bytesOut += buffer.readableBytes
        context?.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    func writeResponseEnd(of exchange: Exchange) {
        exchange.responseEndWritten = context?.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// The gateway's own answer: an S3 XML error in the client's dialect, with the
    /// configured response rules applied.
    func writeError(_ error: S3Error, close: Bool, of exchange: Exchange) {
        guard let context else { return }
        exchange.status = error.status
        var error = error
        if error.resource == nil { error.resource = exchange.prepared?.address.resource ?? exchange.classified?.address.resource }
        let body = exchange.head.method == .HEAD ? "" : error.xmlBody(requestId: exchange.requestId)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "x-amz-request-id", value: exchange.requestId)
        // The gateway's own answers get the same treatment as the upstream's: the client's
        // dialect (x-obs-request-id for an OBS client) and the configured rules.
        var head = responseHead(from: HTTPResponseHead(version: exchange.head.version,
                                                       status: HTTPResponseStatus(statusCode: error.status), headers: headers),
                                of: exchange)
        if close { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            exchange.bytesOut += body.utf8.count
        }
        exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// An answer of the gateway's own without a body (a CORS preflight it answers).
    func writeGatewayAnswer(_ head: HTTPResponseHead, close: Bool, of exchange: Exchange) {
        guard let context else { return }
        exchange.status = Int(head.status.code)
        var head = responseHead(from: head, of: exchange)
        head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        head.headers.replaceOrAdd(name: "x-amz-request-id", value: exchange.requestId)
        if close { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// The upstream's XML error answer without what it must not show (string-to-sign,
    /// the upstream's key).
    func writeSanitizedError(head: HTTPResponseHead, body: ByteBuffer, of exchange: Exchange) {
        guard let context else { return }
        let text = String(buffer: body)
        let sanitized = UpstreamErrorSanitizer.sanitize(text)
        let code = UpstreamErrorSanitizer.code(of: text)
        if code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" {
            environment.logger.error("the upstream refused the gateway's own signature: check the upstream credential profiles and region", metadata: [
                "request_id": "\(exchange.requestId)", "upstream_code": "\(code ?? "")",
            ])
        }
        exchange.status = Int(head.status.code)
        var rewritten = responseHead(from: head, of: exchange)
        rewritten.headers.replaceOrAdd(name: "Content-Length", value: String(sanitized.utf8.count))
        exchange.bytesOut += sanitized.utf8.count
        context.write(wrapOutboundOut(.head(rewritten)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: sanitized)))), promise: nil)
        exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    private func responseHead(from head: HTTPResponseHead, of exchange: Exchange) -> HTTPResponseHead {
        let rewriter = ResponseHeadRewriter(rules: environment.responseHeaderRules)
        // Most answers carry no Location: the rewriter for one is made only when it does.
        let location = head.headers.contains(name: "location") ? locationRewriter(of: exchange) : nil
        var rewritten = rewriter.rewrite(head, requestId: exchange.requestId, clientDialect: clientDialect(of: exchange),
                                         operation: exchange.prepared?.operation.name, location: location)
        rewritten.version = exchange.head.version
        corsFields(of: exchange).map { rewritten.headers.setCORSFields($0) }
        if exchange.machine.fate != .keepAlive { rewritten.headers.replaceOrAdd(name: "Connection", value: "close") }
        return rewritten
    }

    /// For a bucket whose CORS the gateway answers (`cors:`), the `Access-Control-*` fields
    /// every answer about it carries, the gateway's own included; nil for other buckets and
    /// for preflights (their answer has its fields already).
    private func corsFields(of exchange: Exchange) -> [(String, String)]? {
        guard let cors = exchange.preparer.configuration.cors, let operation = exchange.operation, !operation.isPreflight,
              let bucket = exchange.address?.bucket, cors.answers(for: bucket)
        else { return nil }
        return cors.responseFields(bucket: bucket, origin: exchange.clientHeaders["origin"], method: exchange.head.method.rawValue)
    }

    /// Maps upstream URLs to the gateway as this client addressed it; nil before the
    /// request was understood (the gateway's own answers carry no Location).
    private func locationRewriter(of exchange: Exchange) -> UpstreamLocationRewriter? {
        guard let prepared = exchange.prepared, let host = exchange.clientHeaders["host"] else { return nil }
        let configuration = exchange.preparer.configuration
        if let endpoint = configuration.publicEndpoint {
            return UpstreamLocationRewriter(upstreamHost: configuration.upstream.hostHeader, clientOrigin: endpoint,
                                            clientStyle: .path)
        }
        return UpstreamLocationRewriter(upstreamHost: configuration.upstream.hostHeader,
                                        clientOrigin: (environment.isTLS ? "https://" : "http://") + host,
                                        clientStyle: prepared.address.style)
    }

    /// The dialect of the client: from its verified signature, or — for a request refused
    /// before or during verification — from the form of the signature it sent.
    private func clientDialect(of exchange: Exchange) -> HeaderDialect {
        if let prepared = exchange.prepared { return prepared.clientDialect }
        let target = exchange.classified?.target ?? (try? RequestTarget(parsing: exchange.head.uri))
        return RequestAuthenticator.claimedDialect(target: target, headers: exchange.clientHeaders)
    }

    // MARK: - The record of an exchange

    /// The end of an exchange: its log line, metrics and audit record, all read from its
    /// outcome (`Exchange+Audit.swift`).
    func record(_ exchange: Exchange, context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        environment.logger.info("request", metadata: exchange.logMetadata(now: now))
        if let metrics = environment.metrics, let denial = exchange.denial { metrics.denied(principal: denial.principal, reason: denial.reason) }
        // After every other count of the exchange: it ends the request's time in flight.
        environment.metrics?.requestFinished(
            operation: exchange.operation?.name ?? "Unknown",
            decision: exchange.decision.rawValue, status: exchange.status,
            duration: .nanoseconds((now - exchange.started).nanoseconds),
            upstreamDuration: exchange.upstreamStarted.map { .nanoseconds((now - $0).nanoseconds) },
            bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut)
        let appendAudit = { [self] in
            guard let audit = environment.audit else { return }
            var record = exchange.auditRecord(endedAt: Date(), now: now)
            if admittedByRefusalThrottle(&record, context: context) {
                audit.append(record, keepWhenFull: exchange.auditAdmitted)
            }
        }
        guard let trace = exchange.trace else { return appendAudit() }
        let outcome = exchange.outcome
        var refusal: S3Error?
        if case .refused(_, let error) = outcome { refusal = error }
        trace.phases(exchange.facts.phaseTimes, refusedIn: outcome?.refusingPhase, error: refusal)
        var failed = false
        switch outcome {
        case .upstreamFailed, .upstreamCut, .clientGone, .clientTimedOut: failed = true
        case .answered, .refused, nil: break
        }
        trace.finish(exchange.spanAttributes, status: exchange.status,
                     upstreamStatus: exchange.upstreamStarted != nil ? exchange.status : nil, failed: failed,
                     appendAudit: appendAudit)
    }

    /// Broken HTTP's answer: 400 without a body, and the connection closes after it.
    func writeBadRequest(_ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest,
                                    headers: HTTPHeaders([("Connection", "close"), ("Content-Length", "0")]))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// Bytes that never became a request head (answered 400, `writeBadRequest`) still get a
    /// log line, a count and an audit record: smuggling attempts and broken clients are
    /// worth seeing.
    func logUnparsedRequest(_ context: ChannelHandlerContext) {
        let requestId = requestIds.next()
        environment.logger.info("request", metadata: [
            "request_id": "\(requestId)", "status": "400", "decision": "\(AuditDecision.refused.rawValue)",
            "error": "ClientProtocolError", "client_address": "\(clientAddress ?? "-")",
        ])
        environment.metrics?.unparsableRequest()
        guard let audit = environment.audit else { return }
        var record = AuditRecord(time: AuditTimestamp(Date()), requestId: requestId, method: "-", operation: "Unknown",
                                 decision: .refused)
        record.clientAddress = clientAddress
        record.status = 400
        record.errorCode = "ClientProtocolError"
        record.refusedIn = RequestPhase.classify.rawValue
        if admittedByRefusalThrottle(&record, context: context) { audit.append(record) }
    }

    static let preflightNames: Set<String> = [S3Operation.preflightBucket.name, S3Operation.preflightObject.name]

    /// Whether a record goes to the trail. Records of refusals nobody authenticated for
    /// are limited per client address (`AuditRefusalThrottle`): those over the limit are
    /// counted, and the next one written says how many were left out before it. So are
    /// CORS preflights, which anyone may send about any bucket without a key.
    private func admittedByRefusalThrottle(_ record: inout AuditRecord, context: ChannelHandlerContext) -> Bool {
        guard let throttle = environment.refusalThrottle, record.principal == nil,
              record.decision == .refused || record.decision == .deny || Self.preflightNames.contains(record.operation)
        else { return true }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let now = Double(context.eventLoop.now.uptimeNanoseconds) / 1e9
        switch throttle.withLockedValue({ $0.verdict(for: address, now: now) }) {
        case .write(let suppressed):
            if suppressed > 0 { record.suppressed = suppressed }
            return true
        case .suppress:
            environment.metrics?.auditRecordSuppressed()
            return false
        }
    }
}
