import Audit
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Policy
import S3Core

/// The request side: the phases run on a head, a form's fields and a judged body; the
/// audit trail's fail-closed check; the upstream request, written through the body source.
/// Work that concludes something returns the machine's answer to it.
extension ClientConnectionHandler {
    func start(_ head: HTTPRequestHead) {
        guard let context else { return }
        context.triggerUserOutboundEvent(RequestHeadEvent.headReceived, promise: nil)
        let clientHead = ClientRequestHead(
            method: head.method.rawValue, uri: head.uri,
            headers: HeaderFields(head.headers), isTLS: environment.isTLS)
        let exchange = Exchange(requestId: requestIds.next(), head: head, clientHeaders: clientHead.headers,
                                preparer: environment.preparer(), timeouts: environment.timeouts, now: context.eventLoop.now)
        exchange.clientAddress = clientAddress
        exchange.trace = environment.tracer.map { ExchangeTrace(tracer: $0, clientHeaders: clientHead.headers) }
        self.exchange = exchange
        environment.metrics?.requestStarted()
        handle(prepare(exchange, clientHead, now: context.eventLoop.now), of: exchange)
    }

    /// The head's phases: classify; then a form's start, a judged body's start, or every
    /// phase before forwarding and the audit trail's check.
    private func prepare(_ exchange: Exchange, _ clientHead: ClientRequestHead, now: NIODeadline) -> [Action] {
        let preparer = exchange.preparer
        let classified: ClassifiedRequest
        do throws(S3Error) {
            classified = try preparer.classify(clientHead)
            exchange.classified = classified
            if let form = try preparer.startFormUpload(clientHead, classified) {
                // The credentials are in the body: its field section is read first.
                exchange.form = form
                return exchange.machine.formStarted(expectsContinue: form.expectsContinue, now: now)
            }
        } catch {
            // A head the gateway could not read as one request (a doubled Host, a
            // Connection naming an end-to-end field, an unknown shape).
            return exchange.machine.headRefused(error, in: exchange.classified == nil ? .classify : .formFields)
        }
        do throws(S3Error) {
            if let answer = try preparer.gatewayPreflightAnswer(clientHead, classified) {
                return exchange.machine.answeredByGateway(answer)
            }
        } catch {
            return exchange.machine.refused(error, in: .cors)
        }
        do throws(RequestRefusal) {
            let prepared = try preparer.prepare(clientHead, classified: classified, requestId: exchange.requestId,
                                                recordsPhaseTimes: exchange.trace != nil, now: Date())
            exchange.facts = RequestFacts(prepared)
            do throws(S3Error) {
                exchange.forwarder = try BodyForwarder(prepared: prepared, maxChunkSize: environment.limits.maxChunkSize)
            } catch {
                var facts = exchange.facts
                facts.phase = .frame
                throw RequestRefusal(error: error, facts: facts)
            }
            exchange.prepared = prepared
            if preparer.judgesBody(prepared) {
                // A bucket configuration or a restore: its body is read and judged before
                // anything goes upstream.
                return exchange.machine.judgedBodyStarted(expectsContinue: prepared.expectsContinue, now: now)
            }
            return auditTrailRefusal(exchange)
                ?? exchange.machine.requestPrepared(expectsContinue: prepared.expectsContinue, now: now)
        } catch {
            return reject(exchange, error)
        }
    }

    /// A refusal by a phase, keeping what the phases learned for the audit record.
    func reject(_ exchange: Exchange, _ refusal: RequestRefusal) -> [Action] {
        if refusal.facts.operation != nil { exchange.facts = refusal.facts }
        return exchange.machine.refused(refusal.error, in: refusal.facts.phase)
    }

    /// The fail-closed check of the audit trail, for requests that change what the store
    /// holds (`S3Operation.changesState`): while records cannot be written they get 503
    /// (with `fail_closed: true`) rather than happen unrecorded. nil when admitted.
    private func auditTrailRefusal(_ exchange: Exchange) -> [Action]? {
        guard let audit = environment.audit, let operation = exchange.prepared?.operation, operation.changesState
        else { return nil }
        switch audit.admitsStateChange() {
        case .recorded:
            exchange.auditAdmitted = true
            return nil
        case .unrecorded:
            return nil
        case .refused:
            return exchange.machine.refused(S3Error.serviceUnavailable(
                "The gateway cannot write its audit trail; requests that change stored data are refused until it can. Please try again."),
                in: .auditTrail)
        }
    }

    /// Feeds a form's field section until the file part begins; then verifies the form —
    /// against the keys and policy in force now, not when its head arrived — and keeps the
    /// rest of this buffer for the rewriter.
    func readFormFields(_ buffer: ByteBuffer, of exchange: Exchange) -> [Action]? {
        // Taken out of the exchange while it parses, so the parser's buffers are not shared.
        guard var form = exchange.form.take() else { return nil }
        let consumed: Int
        do throws(S3Error) {
            consumed = try buffer.withUnsafeReadableBytes { (bytes) throws(S3Error) in try form.parser.consume(bytes) { _ in } }
        } catch {
            return exchange.machine.refused(error.about(form.address.resource), in: .formFields)
        }
        guard form.parser.filePart != nil else {
            exchange.form = form
            return nil
        }
        exchange.preparer = environment.preparer()
        do throws(RequestRefusal) {
            let ready = try exchange.preparer.completeFormUpload(form, parser: form.parser, requestId: exchange.requestId,
                                                                 recordsPhaseTimes: exchange.trace != nil, now: Date())
            exchange.prepared = ready.prepared
            exchange.facts = RequestFacts(ready.prepared)
            exchange.forwarder = FormBodyForwarder(rewriter: ready.rewriter)
            let rest = buffer.getSlice(at: buffer.readerIndex + consumed, length: buffer.readableBytes - consumed)
            return auditTrailRefusal(exchange)
                ?? exchange.machine.formVerified(rest: rest.flatMap { $0.readableBytes > 0 ? $0 : nil })
        } catch {
            return reject(exchange, error)
        }
    }

    /// Collects a judged body, verified and decoded by its forwarder; one larger than the
    /// judge reads is judged (and refused) at once.
    func collectJudgedBody(_ buffer: ByteBuffer, of exchange: Exchange) -> [Action]? {
        guard let forwarder = exchange.forwarder, let context else { return nil }
        do throws(S3Error) {
            for part in try forwarder.forward(buffer, allocator: context.channel.allocator) {
                exchange.judgedBody.append(contentsOf: part.readableBytesView)
            }
        } catch {
            return exchange.machine.bodyRejected(error)
        }
        guard exchange.judgedBody.count > BucketConfigurationJudge.maxBodyBytes else { return nil }
        return judge(exchange.judgedBody, of: exchange)
    }

    /// The judged body is complete: judge it, then send it upstream as it was verified.
    func judgeBody(of exchange: Exchange) -> [Action]? {
        guard let forwarder = exchange.forwarder, let context else { return nil }
        var body = exchange.judgedBody
        do throws(S3Error) {
            for part in try forwarder.finish(allocator: context.channel.allocator) { body.append(contentsOf: part.readableBytesView) }
        } catch {
            return exchange.machine.bodyRejected(error)
        }
        if let refusal = judge(body, of: exchange) { return refusal }
        exchange.judgedBody = []
        exchange.forwarder = JudgedBodySource()
        return auditTrailRefusal(exchange)
            ?? exchange.machine.bodyJudged(body.isEmpty ? nil : context.channel.allocator.buffer(bytes: body))
    }

    /// nil when the judge accepts the body; the machine's answer to the refusal otherwise.
    private func judge(_ body: [UInt8], of exchange: Exchange) -> [Action]? {
        guard let prepared = exchange.prepared else { return nil }
        do throws(RequestRefusal) {
            try exchange.preparer.judgeBody(body, of: prepared, facts: exchange.facts)
            return nil
        } catch {
            return reject(exchange, error)
        }
    }

    // MARK: - The upstream request

    func connectUpstream(_ exchange: Exchange) {
        guard let context, let pool = upstreamPool else { return }
        exchange.trace?.connecting()
        if let connection = pool.takeIdle() {
            upstreamAcquired(.success(connection), reused: true, for: exchange)
            return
        }
        // The handler and the exchange belong to this loop, where the connection completes:
        // both are bound to it (the exchange is not Sendable).
        let bound = NIOLoopBound((handler: self, exchange: exchange), eventLoop: context.eventLoop)
        pool.connectNew().whenComplete { result in
            bound.value.handler.upstreamAcquired(result, reused: false, for: bound.value.exchange)
        }
    }

    private func upstreamAcquired(_ result: Result<UpstreamConnection, any Error>, reused: Bool, for exchange: Exchange) {
        guard let context else {
            if case .success(let connection) = result { connection.channel.close(promise: nil) }
            return
        }
        switch result {
        case .failure(let error):
            let failure = Self.upstreamConnectError(error)
            exchange.trace?.connected(failure: failure)
            handle(exchange.machine.upstreamConnectFailed(failure), of: exchange)
        case .success(let connection):
            connection.handler.receiver = self
            exchange.trace?.connected()
            exchange.upstream = connection.channel
            exchange.upstreamHandler = connection.handler
            handle(exchange.machine.upstreamConnected(reused: reused, now: context.eventLoop.now), of: exchange)
        }
    }

    func startUpstreamRequest(_ exchange: Exchange, body: [ByteBuffer], end: Bool, sendContinue: Bool) -> [Action]? {
        guard let context, let upstream = exchange.upstream, let prepared = exchange.prepared else { return nil }
        var headers = HTTPHeaders(prepared.upstream.headers)
        exchange.trace?.upstreamRequest(&headers)
        upstream.write(HTTPClientRequestPart.head(HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: prepared.upstream.method), uri: prepared.upstream.target,
            headers: headers)), promise: nil)
        exchange.upstreamStarted = context.eventLoop.now
        // Authenticated and allowed: now the client may send its body.
        if sendContinue { writeContinue(exchange) }
        for part in body {
            if let refusal = forward(part, of: exchange) { return refusal }
        }
        if end { return finishUpstreamRequest(exchange) }
        flushUpstream(upstream)
        resumeClientRead()
        return nil
    }

    /// A body part through the body source to the upstream.
    func forward(_ buffer: ByteBuffer, of exchange: Exchange) -> [Action]? {
        guard let upstream = exchange.upstream, let forwarder = exchange.forwarder else { return nil }
        do throws(S3Error) {
            for part in try forwarder.forward(buffer, allocator: upstream.allocator) {
                upstream.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil)
            }
            flushUpstream(upstream)
            return nil
        } catch {
            return exchange.machine.bodyRejected(error)
        }
    }

    /// The body source's final checks, what it held back, and the request's end.
    func finishUpstreamRequest(_ exchange: Exchange) -> [Action]? {
        guard let upstream = exchange.upstream, let forwarder = exchange.forwarder else { return nil }
        do throws(S3Error) {
            for part in try forwarder.finish(allocator: upstream.allocator) {
                upstream.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil)
            }
            upstream.write(HTTPClientRequestPart.end(nil), promise: nil)
            flushUpstream(upstream)
            return nil
        } catch {
            return exchange.machine.bodyRejected(error)
        }
    }

    /// The upstream connection goes back to the pool, its exchange complete.
    func releaseUpstream(_ exchange: Exchange) {
        guard let upstream = exchange.upstream, let handler = exchange.upstreamHandler else { return }
        detachUpstream(exchange)
        upstreamPool?.release(UpstreamConnection(channel: upstream, handler: handler))
    }

    /// Drops the upstream connection. A request whose body was not complete never meets
    /// its Content-Length, so the upstream cannot store it.
    func closeUpstream(_ exchange: Exchange) {
        let upstream = exchange.upstream
        detachUpstream(exchange)
        upstream?.close(promise: nil)
    }

    private func detachUpstream(_ exchange: Exchange) {
        exchange.upstreamHandler?.receiver = nil
        exchange.upstream = nil
        exchange.upstreamHandler = nil
    }

    static func upstreamConnectError(_ error: any Error) -> S3Error {
        if let connectError = error as? ChannelError, case .connectTimeout = connectError {
            return S3Error.gatewayTimeout("Connecting to the upstream timed out.")
        }
        if error is NIOConnectionError || error is IOError {
            return S3Error.badGateway("The upstream refused or could not be reached.")
        }
        return S3Error.badGateway("The upstream could not be reached.")
    }
}
