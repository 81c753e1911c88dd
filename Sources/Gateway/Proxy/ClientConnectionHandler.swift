import Audit
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Policy
import S3Core
import S3Signing

/// The gateway's handler of one client connection: it runs the request phases on each
/// request head, forwards the verified request to a pooled upstream connection and the
/// upstream's response back, with backpressure both ways, and answers every refusal with
/// an S3 XML error. NIO's `HTTPServerPipelineHandler` in front of it keeps pipelined
/// requests in order, so there is at most one exchange at a time.
final class ClientConnectionHandler: ChannelDuplexHandler, UpstreamResponseReceiver {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Environment: Sendable {
        /// The preparer in force for a new request (it changes on reload).
        let preparer: @Sendable () -> RequestPreparer
        let pools: UpstreamPools
        let timeouts: GatewayConfiguration.Timeouts
        let limits: GatewayConfiguration.Limits
        let responseHeaderRules: [ResponseHeaderRule]
        var metrics: GatewayMetrics? = nil
        /// Where each exchange's audit record goes; nil without an `audit:` section.
        var audit: AuditWriter? = nil
        /// Limits the records of unauthenticated refusals per client address; shared by
        /// every connection (nil: no limit).
        var refusalThrottle: NIOLockedValueBox<AuditRefusalThrottle>? = nil
        let logger: Logger
        let isTLS: Bool
    }

    private let environment: Environment
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var pendingRead = false
    /// The handler answered and is closing the connection: what the HTTP decoder reports
    /// after that (a body cut off by the close) is not a request of its own.
    private var closing = false

    init(environment: Environment) {
        self.environment = environment
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: - Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Requests pipelined behind one that closes the connection are not answered.
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head): start(head)
        case .body(let buffer): requestBody(buffer)
        case .end: requestEnd()
        }
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.discardingBody, !exchange.clientEnded, exchange.formFields == nil,
           exchange.judgedBody == nil, !(exchange.upstream?.isWritable ?? false) {
            // The upstream cannot take more yet (not connected, or its buffer is full).
            pendingRead = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstreamHandler?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, exchange == nil {
            // A connection already closing does so once its last response is written.
            if !closing { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Broken HTTP (NIO's protocol-error handler has already answered 400) and any other
    /// error on the client connection end it: nothing half-parsed may go on.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let exchange {
            exchange.errorCode = exchange.errorCode ?? "ClientProtocolError"
            abortUpstream(exchange)
        } else if error is HTTPParserError, !closing {
            logUnparsedRequest(context)
        }
        context.close(promise: nil)
    }

    /// Bytes that never became a request head (NIO's protocol error handler answered them
    /// 400) still get a log line, a count and an audit record: smuggling attempts and
    /// broken clients are worth seeing.
    private func logUnparsedRequest(_ context: ChannelHandlerContext) {
        let requestId = Self.newRequestId()
        let clientAddress = Exchange.auditAddress(context.channel.remoteAddress)
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
        if admittedByRefusalThrottle(&record, context: context) { audit.append(record) }
    }

    /// Whether a record goes to the trail. Records of refusals nobody authenticated for
    /// are limited per client address (`AuditRefusalThrottle`): those over the limit are
    /// counted, and the next one written says how many were left out before it.
    private func admittedByRefusalThrottle(_ record: inout AuditRecord, context: ChannelHandlerContext) -> Bool {
        guard let throttle = environment.refusalThrottle, record.principal == nil,
              record.decision == .refused || record.decision == .deny
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

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            exchange.cancelTimers()
            abortUpstream(exchange)
            if !exchange.responseComplete { exchange.errorCode = "ClientDisconnected" }
            log(exchange)
            self.exchange = nil
        }
        context.fireChannelInactive()
    }

    private func start(_ head: HTTPRequestHead) {
        guard let context else { return }
        context.triggerUserOutboundEvent(RequestHeadEvent.headReceived, promise: nil)
        let clientHead = ClientRequestHead(
            method: head.method.rawValue, uri: head.uri,
            headers: HeaderFields(head.headers.map { ($0.name, $0.value) }), isTLS: environment.isTLS)
        let exchange = Exchange(requestId: Self.newRequestId(), head: head, clientHeaders: clientHead.headers,
                                preparer: environment.preparer())
        exchange.clientAddress = Exchange.auditAddress(context.channel.remoteAddress)
        self.exchange = exchange
        environment.metrics?.requestStarted()
        let preparer = exchange.preparer
        let classified: ClassifiedRequest
        do throws(S3Error) {
            classified = try preparer.classify(clientHead)
            exchange.classified = classified
            if let form = try preparer.startFormUpload(clientHead, classified) {
                // The credentials are in the body: read the field section first, within its
                // deadline, however slowly it trickles in.
                exchange.formFields = form
                armFormFieldsDeadline(exchange)
                if form.expectsContinue {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                          promise: nil)
                }
                return
            }
        } catch {
            // A head the gateway could not read as one request (a doubled Host, a
            // Connection naming an end-to-end field, an unknown shape): what follows it on
            // the connection cannot be trusted either.
            exchange.mustClose = true
            closing = true
            reject(exchange, RequestRefusal(error: error, facts: RequestFacts()))
            return
        }
        do throws(RequestRefusal) {
            let prepared = try preparer.prepare(clientHead, classified: classified, requestId: exchange.requestId, now: Date())
            exchange.facts = RequestFacts(prepared)
            do throws(S3Error) {
                exchange.forwarder = try BodyForwarder(prepared: prepared, maxChunkSize: environment.limits.maxChunkSize)
            } catch {
                throw RequestRefusal(error: error, facts: exchange.facts)
            }
            exchange.prepared = prepared
            // A body announced but not sent must not hold the exchange open: the body-idle
            // deadline runs from the head.
            if exchange.announcesBody { armBodyIdleTimer(exchange) }
            if preparer.judgesBody(prepared) {
                // A bucket configuration: its body is read and judged before anything goes upstream.
                exchange.judgedBody = []
                if prepared.expectsContinue {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                          promise: nil)
                }
                return
            }
        } catch {
            reject(exchange, error)
            return
        }
        guard admittedByAuditTrail(exchange) else { return }
        connectUpstream(exchange)
    }

    /// Collects a judged body, verified and decoded by its forwarder; one larger than the
    /// judge reads is refused at once.
    private func collectJudgedBody(_ buffer: ByteBuffer, of exchange: Exchange) {
        guard let forwarder = exchange.forwarder, let context else { return }
        do throws(S3Error) {
            for part in try forwarder.forward(buffer, allocator: context.channel.allocator) {
                exchange.judgedBody?.append(contentsOf: part.readableBytesView)
            }
        } catch {
            reject(exchange, RequestRefusal(error: error, facts: exchange.facts))
            return
        }
        if let body = exchange.judgedBody, body.count > BucketConfigurationJudge.maxBodyBytes {
            judgeBody(body, of: exchange)
        }
    }

    /// The judged body is complete: judge it, then send it upstream as it was verified.
    private func finishJudgedBody(_ exchange: Exchange) {
        guard let forwarder = exchange.forwarder, let context, var body = exchange.judgedBody else { return }
        do throws(S3Error) {
            for part in try forwarder.finish(allocator: context.channel.allocator) { body.append(contentsOf: part.readableBytesView) }
        } catch {
            reject(exchange, RequestRefusal(error: error, facts: exchange.facts))
            return
        }
        guard judgeBody(body, of: exchange) else { return }
        exchange.judgedBody = nil
        exchange.forwarder = JudgedBodySource()
        if !body.isEmpty { exchange.bufferedBody = [context.channel.allocator.buffer(bytes: body)] }
        guard admittedByAuditTrail(exchange) else { return }
        connectUpstream(exchange)
    }

    /// Whether the judge accepts the body; refuses the exchange otherwise.
    @discardableResult
    private func judgeBody(_ body: [UInt8], of exchange: Exchange) -> Bool {
        guard let prepared = exchange.prepared else { return false }
        do throws(RequestRefusal) {
            try exchange.preparer.judgeBody(body, of: prepared, facts: exchange.facts)
            return true
        } catch {
            reject(exchange, error)
            return false
        }
    }

    /// The fail-closed check of the audit trail, for requests that change what the store
    /// holds (`S3Operation.changesState`): while records cannot be written, they get 503
    /// (with `fail_closed: true`) rather than happen unrecorded. Reads go on.
    private func admittedByAuditTrail(_ exchange: Exchange) -> Bool {
        guard let audit = environment.audit, let operation = exchange.prepared?.operation, operation.changesState
        else { return true }
        switch audit.admitsStateChange() {
        case .recorded:
            exchange.auditAdmitted = true
            return true
        case .unrecorded:
            return true
        case .refused:
            exchange.refusedByGateway = true
            refuse(exchange, with: S3Error.serviceUnavailable(
                "The gateway cannot write its audit trail; requests that change stored data are refused until it can. Please try again."))
            return false
        }
    }

    /// Feeds a form upload's field section until the file part begins; then verifies the
    /// form, and connects upstream with the rest of this buffer kept for the rewriter.
    private func readFormFields(_ buffer: ByteBuffer, of exchange: Exchange) {
        // Taken out of the exchange while it parses, so the parser's buffers are not shared.
        guard var form = exchange.formFields.take() else { return }
        let consumed: Int
        do throws(S3Error) {
            consumed = try buffer.withUnsafeReadableBytes { (bytes) throws(S3Error) in try form.parser.consume(bytes) { _ in } }
        } catch {
            reject(exchange, RequestRefusal(error: error.about(form.address.resource), facts: RequestFacts()))
            return
        }
        let parser = form.parser
        guard parser.filePart != nil else {
            exchange.formFields = form
            return
        }
        exchange.formFieldsTimer?.cancel()
        exchange.formFieldsTimer = nil
        // Verified against the keys and policy in force now, not when the head arrived.
        exchange.preparer = environment.preparer()
        do throws(RequestRefusal) {
            let ready = try exchange.preparer.completeFormUpload(form, parser: parser, requestId: exchange.requestId,
                                                                 now: Date())
            exchange.prepared = ready.prepared
            exchange.facts = RequestFacts(ready.prepared)
            exchange.forwarder = FormBodyForwarder(rewriter: ready.rewriter)
            let rest = buffer.getSlice(at: buffer.readerIndex + consumed, length: buffer.readableBytes - consumed)
            if let rest, rest.readableBytes > 0 { exchange.bufferedBody.append(rest) }
            guard admittedByAuditTrail(exchange) else { return }
            connectUpstream(exchange)
        } catch {
            reject(exchange, error)
        }
    }

    private func requestBody(_ buffer: ByteBuffer) {
        guard let exchange, !exchange.discardingBody else { return }
        exchange.bytesIn += buffer.readableBytes
        armBodyIdleTimer(exchange)
        if exchange.formFields != nil {
            readFormFields(buffer, of: exchange)
        } else if exchange.judgedBody != nil {
            collectJudgedBody(buffer, of: exchange)
        } else if exchange.upstream == nil {
            exchange.bufferedBody.append(buffer)
        } else {
            forward(buffer, of: exchange)
        }
    }

    private func requestEnd() {
        guard let exchange else { return }
        exchange.clientEnded = true
        exchange.cancelBodyIdleTimer()
        if exchange.discardingBody {
            completeIfDone(exchange)
        } else if let form = exchange.formFields {
            reject(exchange, RequestRefusal(
                error: S3Error.malformedPOSTRequest("the body ended before the file part").about(form.address.resource),
                facts: RequestFacts()))
        } else if exchange.judgedBody != nil {
            finishJudgedBody(exchange)
        } else if exchange.upstream != nil {
            finishRequest(exchange)
        }
    }

    // MARK: - Upstream side

    private func connectUpstream(_ exchange: Exchange) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        environment.pools.pool(for: context.eventLoop).acquire().whenComplete { result in
            bound.value.upstreamAcquired(result, for: exchange)
        }
    }

    private func upstreamAcquired(_ result: Result<(channel: any Channel, reused: Bool), any Error>, for exchange: Exchange) {
        guard let context, self.exchange === exchange, let prepared = exchange.prepared else {
            if case .success(let connection) = result { connection.channel.close(promise: nil) }
            return
        }
        let connection: (channel: any Channel, reused: Bool)
        switch result {
        case .success(let value): connection = value
        case .failure(let error):
            refuse(exchange, with: Self.upstreamConnectError(error))
            return
        }
        guard let handler = try? connection.channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) else {
            connection.channel.close(promise: nil)
            refuse(exchange, with: S3Error.badGateway("The upstream connection could not be set up."))
            return
        }
        handler.receiver = self
        exchange.upstream = connection.channel
        exchange.upstreamHandler = handler
        exchange.upstreamReused = connection.reused

        var headers = HTTPHeaders()
        for field in prepared.upstream.headers { headers.add(name: field.name, value: field.value) }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: prepared.upstream.method),
                                   uri: prepared.upstream.target, headers: headers)
        connection.channel.write(HTTPClientRequestPart.head(head), promise: nil)
        exchange.upstreamStarted = .now()

        if prepared.expectsContinue, !exchange.clientEnded {
            // Authenticated and allowed: now the client may send its body.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                  promise: nil)
        }
        let buffered = exchange.bufferedBody
        exchange.bufferedBody = []
        for buffer in buffered where self.exchange === exchange && !exchange.discardingBody {
            forward(buffer, of: exchange)
        }
        guard self.exchange === exchange, !exchange.discardingBody else { return }
        if exchange.clientEnded {
            finishRequest(exchange)
        } else {
            connection.channel.flush()
        }
        resumeClientReadIfPossible()
    }

    private func forward(_ buffer: ByteBuffer, of exchange: Exchange) {
        guard let upstream = exchange.upstream, let forwarder = exchange.forwarder else { return }
        do throws(S3Error) {
            let buffers = try forwarder.forward(buffer, allocator: upstream.allocator)
            for part in buffers { upstream.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil) }
            upstream.flush()
        } catch {
            abortUpstream(exchange)
            exchange.refusedByGateway = true
            refuse(exchange, with: error)
        }
    }

    private func finishRequest(_ exchange: Exchange) {
        guard let upstream = exchange.upstream, let forwarder = exchange.forwarder, let context else { return }
        do throws(S3Error) {
            let buffers = try forwarder.finish(allocator: upstream.allocator)
            for part in buffers { upstream.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil) }
            upstream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            exchange.requestForwarded = true
            if !exchange.responseStarted {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                exchange.firstByteTimer = context.eventLoop.scheduleTask(in: TimeAmount(seconds: environment.timeouts.upstreamFirstByte)) {
                    bound.value.upstreamTimedOut(exchange)
                }
            }
        } catch {
            abortUpstream(exchange)
            exchange.refusedByGateway = true
            refuse(exchange, with: error)
        }
    }

    func upstreamReceived(_ part: HTTPClientResponsePart) {
        guard let exchange, let context else { return }
        armUpstreamIdleTimer(exchange)
        switch part {
        case .head(let head):
            if head.status.code < 200 && head.status != .switchingProtocols { return }
            exchange.firstByteTimer?.cancel()
            exchange.upstreamKeepAlive = head.isKeepAlive
            exchange.upstreamRequestId = head.headers.first(name: "x-amz-request-id") ?? head.headers.first(name: "x-obs-request-id")
            exchange.status = Int(head.status.code)
            if exchange.prepared?.operation == .createMultipartUpload, (200..<300).contains(head.status.code) {
                exchange.uploadIdCollector = InitiateMultipartUploadResult.PrefixCollector()
            }
            let isXML = head.headers.first(name: "content-type")?.lowercased().contains("xml") ?? false
            if head.status.code >= 400, exchange.head.method != .HEAD, isXML {
                exchange.response = .collectingError(head, context.channel.allocator.buffer(capacity: 512))
            } else {
                exchange.response = .streaming
                context.write(wrapOutboundOut(.head(responseHead(from: head, of: exchange))), promise: nil)
            }
        case .body(let buffer):
            switch exchange.response {
            case .collectingError(let head, var collected):
                collected.writeImmutableBuffer(buffer)
                exchange.response = .collectingError(head, collected)
                if collected.readableBytes > UpstreamErrorSanitizer.maxBodyBytes {
                    abortUpstream(exchange)
                    refuse(exchange, with: S3Error.badGateway("The upstream answered with an oversized error body."))
                }
            case .streaming:
                exchange.bytesOut += buffer.readableBytes
                exchange.uploadIdCollector?.append(contentsOf: buffer.readableBytesView)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            case .notStarted, .complete:
                break
            }
        case .end:
            if case .collectingError(let head, let collected) = exchange.response {
                writeSanitizedError(head: head, body: collected, of: exchange)
            } else {
                exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            }
            exchange.response = .complete
            exchange.cancelUpstreamIdleTimer()
            releaseUpstream(exchange)
            if !exchange.clientEnded { exchange.mustClose = true }
            completeIfDone(exchange)
        }
    }

    func upstreamWritabilityChanged() {
        resumeClientReadIfPossible()
    }

    func upstreamFailed(_ error: any Error) {
        guard let exchange else { return }
        exchange.upstream = nil
        exchange.upstreamHandler = nil
        exchange.firstByteTimer?.cancel()
        switch exchange.response {
        case .notStarted:
            // A pooled connection the upstream had closed: an idempotent request that sent
            // no body is retried once on a fresh connection; anything else is not.
            let idempotent = exchange.head.method == .GET || exchange.head.method == .HEAD
            if exchange.upstreamReused, idempotent, !exchange.retriedOnFreshConnection, exchange.bytesIn == 0 {
                exchange.retriedOnFreshConnection = true
                exchange.requestForwarded = false
                connectUpstream(exchange)
                return
            }
            refuse(exchange, with: S3Error.badGateway("The upstream closed the connection before answering."))
        case .collectingError:
            // Nothing went to the client yet: it gets a whole answer of the gateway's own.
            refuse(exchange, with: S3Error.badGateway("The upstream closed the connection in the middle of its error answer."))
        case .streaming:
            // Part of the response went out: the client cannot be given a whole one.
            exchange.errorCode = "UpstreamClosedMidResponse"
            context?.close(promise: nil)
        case .complete:
            break
        }
    }

    private func upstreamTimedOut(_ exchange: Exchange) {
        guard self.exchange === exchange, !exchange.responseComplete else { return }
        abortUpstream(exchange)
        if exchange.clientHeadSent {
            exchange.errorCode = "UpstreamIdleTimeout"
            context?.close(promise: nil)
        } else {
            refuse(exchange, with: S3Error.gatewayTimeout("The upstream did not answer in time."))
        }
    }

    // MARK: - Completion

    /// Answers a request a gateway phase refused, keeping what the phases learned for its
    /// audit record.
    private func reject(_ exchange: Exchange, _ refusal: RequestRefusal) {
        if refusal.facts.operation != nil { exchange.facts = refusal.facts }
        exchange.refusedByGateway = true
        refuse(exchange, with: refusal.error)
    }

    /// Answers the exchange with an S3 error. Its body, if still coming, is not forwarded;
    /// if part of it may still be on the wire the connection closes after the answer.
    private func refuse(_ exchange: Exchange, with error: S3Error) {
        guard let context, self.exchange === exchange else { return }
        exchange.discardingBody = true
        exchange.bufferedBody = []
        exchange.cancelBodyIdleTimer()
        if exchange.announcesBody && !exchange.clientEnded { exchange.mustClose = true }
        guard !exchange.clientHeadSent else {
            // The head already went out: the only honest signal left is to close.
            exchange.errorCode = error.code
            context.close(promise: nil)
            return
        }
        exchange.status = error.status
        exchange.errorCode = error.code
        var error = error
        if error.resource == nil { error.resource = exchange.prepared?.address.resource }
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
        if exchange.mustClose { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            exchange.bytesOut += body.utf8.count
        }
        exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        exchange.response = .complete
        completeIfDone(exchange)
    }

    private func writeSanitizedError(head: HTTPResponseHead, body: ByteBuffer, of exchange: Exchange) {
        guard let context else { return }
        let text = String(buffer: body)
        let sanitized = UpstreamErrorSanitizer.sanitize(text)
        let code = UpstreamErrorSanitizer.code(of: text)
        exchange.errorCode = code
        if code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" {
            environment.logger.error("the upstream refused the gateway's own signature: check the upstream credential profiles and region", metadata: [
                "request_id": "\(exchange.requestId)", "upstream_code": "\(code ?? "")",
            ])
        }
        var rewritten = responseHead(from: head, of: exchange)
        rewritten.headers.replaceOrAdd(name: "Content-Length", value: String(sanitized.utf8.count))
        exchange.bytesOut += sanitized.utf8.count
        context.write(wrapOutboundOut(.head(rewritten)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: sanitized)))), promise: nil)
        exchange.responseEndWritten = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    private func responseHead(from head: HTTPResponseHead, of exchange: Exchange) -> HTTPResponseHead {
        let rewriter = ResponseHeadRewriter(rules: environment.responseHeaderRules)
        var rewritten = rewriter.rewrite(head, requestId: exchange.requestId, clientDialect: clientDialect(of: exchange),
                                         operation: exchange.prepared?.operation.name, location: locationRewriter(of: exchange))
        rewritten.version = exchange.head.version
        if !exchange.head.isKeepAlive { rewritten.headers.replaceOrAdd(name: "Connection", value: "close") }
        return rewritten
    }

    /// Maps upstream URLs to the gateway as this client addressed it; nil before the
    /// request was understood (the gateway's own answers carry no Location).
    private func locationRewriter(of exchange: Exchange) -> UpstreamLocationRewriter? {
        guard let prepared = exchange.prepared, let host = exchange.clientHeaders["host"] else { return nil }
        return UpstreamLocationRewriter(upstreamHost: exchange.preparer.configuration.upstream.hostHeader,
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

    /// The exchange is over once its response is written and the client's request has
    /// ended (or the connection is to be closed anyway).
    private func completeIfDone(_ exchange: Exchange) {
        guard let context, self.exchange === exchange, exchange.responseComplete,
              exchange.clientEnded || exchange.mustClose
        else { return }
        exchange.cancelTimers()
        if exchange.upstream != nil { abortUpstream(exchange) }
        log(exchange)
        self.exchange = nil
        if exchange.mustClose || !exchange.head.isKeepAlive {
            closeAfterResponse(exchange, context: context)
            return
        }
        context.triggerUserOutboundEvent(RequestHeadEvent.awaitingHead, promise: nil)
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    /// Closes the connection once the response is on the wire: closing the channel at once
    /// would drop the writes still queued behind a full socket (a slow client's download
    /// cut short). A client that stops reading gets the client-idle deadline to take it.
    private func closeAfterResponse(_ exchange: Exchange, context: ChannelHandlerContext) {
        closing = true
        context.triggerUserOutboundEvent(RequestHeadEvent.closingAfterResponse, promise: nil)
        guard let written = exchange.responseEndWritten else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        written.whenComplete { _ in channel.close(promise: nil) }
    }

    /// A connection whose exchange finished cleanly goes back to the pool; any other is
    /// closed.
    private func releaseUpstream(_ exchange: Exchange) {
        guard let upstream = exchange.upstream, let context else { return }
        exchange.upstreamHandler?.receiver = nil
        exchange.upstream = nil
        exchange.upstreamHandler = nil
        if exchange.requestForwarded && exchange.upstreamKeepAlive {
            environment.pools.pool(for: context.eventLoop).release(upstream)
        } else {
            upstream.close(promise: nil)
        }
    }

    /// Drops the upstream connection mid-exchange. A request whose body was not complete
    /// never meets its Content-Length, so the upstream cannot store it.
    private func abortUpstream(_ exchange: Exchange) {
        exchange.firstByteTimer?.cancel()
        exchange.upstreamHandler?.receiver = nil
        exchange.upstream?.close(promise: nil)
        exchange.upstream = nil
        exchange.upstreamHandler = nil
    }

    private func resumeClientReadIfPossible() {
        guard pendingRead, let context, let exchange, exchange.upstream?.isWritable ?? false else { return }
        pendingRead = false
        context.read()
    }

    /// A client body part arrived: the body-idle deadline moves.
    private func armBodyIdleTimer(_ exchange: Exchange) {
        exchange.lastClientBodyAt = context?.eventLoop.now ?? .now()
        guard exchange.bodyIdleTimer == nil else { return }
        let idle = TimeAmount(seconds: environment.timeouts.bodyIdle)
        watchIdle(exchange, timer: \.bodyIdleTimer, lastActivity: \.lastClientBodyAt, idle: idle, checkIn: idle) { handler in
            guard !exchange.clientEnded else { return }
            handler.abortUpstream(exchange)
            handler.refuse(exchange, with: S3Error(
                code: "RequestTimeout",
                message: "Your socket connection to the server was not read from or written to within the timeout period.",
                status: 400))
        }
    }

    /// A browser form's fields must all arrive within `timeouts.form_fields` of its head.
    private func armFormFieldsDeadline(_ exchange: Exchange) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        exchange.formFieldsTimer = context.eventLoop.scheduleTask(in: TimeAmount(seconds: environment.timeouts.formFields)) {
            let handler = bound.value
            guard handler.exchange === exchange, exchange.formFields != nil else { return }
            handler.refuse(exchange, with: S3Error(
                code: "RequestTimeout",
                message: "The form's fields did not arrive within the timeout period.", status: 400))
        }
    }

    /// An upstream response part arrived: the upstream-idle deadline moves.
    private func armUpstreamIdleTimer(_ exchange: Exchange) {
        exchange.lastUpstreamAt = context?.eventLoop.now ?? .now()
        guard exchange.upstreamIdleTimer == nil else { return }
        let idle = TimeAmount(seconds: environment.timeouts.upstreamIdle)
        watchIdle(exchange, timer: \.upstreamIdleTimer, lastActivity: \.lastUpstreamAt, idle: idle, checkIn: idle) { handler in
            handler.upstreamTimedOut(exchange)
        }
    }

    /// One timer per exchange and direction, pushed back when activity came in the
    /// meantime (as NIO's IdleStateHandler does), rather than one cancelled and scheduled
    /// anew per body part: cancelling a scheduled task searches the event loop's timers.
    private func watchIdle(_ exchange: Exchange, timer: ReferenceWritableKeyPath<Exchange, Scheduled<Void>?>,
                           lastActivity: KeyPath<Exchange, NIODeadline>, idle: TimeAmount, checkIn delay: TimeAmount,
                           onIdle: @escaping (ClientConnectionHandler) -> Void) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        exchange[keyPath: timer] = context.eventLoop.scheduleTask(in: delay) {
            let handler = bound.value
            guard handler.exchange === exchange, let context = handler.context else { return }
            // The loop's clock, which a test's EmbeddedEventLoop advances by hand.
            let quiet = context.eventLoop.now - exchange[keyPath: lastActivity]
            if quiet < idle {
                handler.watchIdle(exchange, timer: timer, lastActivity: lastActivity, idle: idle, checkIn: idle - quiet,
                                  onIdle: onIdle)
            } else {
                onIdle(handler)
            }
        }
    }

    // MARK: - Helpers

    /// The end of an exchange: its log line, metrics and audit record.
    private func log(_ exchange: Exchange) {
        let elapsed = (NIODeadline.now() - exchange.started).nanoseconds / 1_000_000
        let decision = exchange.decision
        var metadata: Logger.Metadata = [
            "request_id": "\(exchange.requestId)",
            "method": "\(exchange.head.method.rawValue)",
            "status": "\(exchange.status.map(String.init) ?? "-")",
            "decision": "\(decision.rawValue)",
            "bytes_in": "\(exchange.bytesIn)",
            "bytes_out": "\(exchange.bytesOut)",
            "duration_ms": "\(elapsed)",
        ]
        // The path as sent, never the query: a presigned URL's query carries its signature.
        metadata["path"] = "\(exchange.head.uri.prefix { $0 != "?" })"
        if let operation = exchange.operation { metadata["operation"] = "\(operation.name)" }
        if let address = exchange.address { metadata["resource"] = "\(address.resource)" }
        if exchange.prepared != nil || exchange.facts.identity != nil {
            metadata["principal"] = "\(exchange.facts.identity?.principal ?? "anonymous")"
        }
        if let accessKeyId = exchange.facts.accessKeyId { metadata["access_key_id"] = "\(accessKeyId)" }
        if let accessRule = exchange.facts.decision?.accessRule { metadata["access_rule"] = "\(accessRule)" }
        if let rules = exchange.facts.decision?.matchedRules, !rules.isEmpty {
            metadata["rules"] = "\(rules.joined(separator: ","))"
        }
        if let code = exchange.errorCode { metadata["error"] = "\(code)" }
        if let upstreamId = exchange.upstreamRequestId { metadata["upstream_request_id"] = "\(upstreamId)" }
        // W3C Trace Context (passed upstream unchanged): joins this line to the client's trace.
        if let traceparent = exchange.head.headers.first(name: "traceparent") { metadata["traceparent"] = "\(traceparent)" }
        environment.logger.info("request", metadata: metadata)
        environment.metrics?.requestFinished(
            operation: exchange.operation?.name ?? "Unknown",
            decision: decision.rawValue, status: exchange.status,
            duration: .nanoseconds((NIODeadline.now() - exchange.started).nanoseconds),
            upstreamDuration: exchange.upstreamStarted.map { .nanoseconds((NIODeadline.now() - $0).nanoseconds) },
            bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut)
        if let audit = environment.audit, let context {
            var record = exchange.auditRecord(endedAt: Date())
            if admittedByRefusalThrottle(&record, context: context) {
                audit.append(record, keepWhenFull: exchange.auditAdmitted)
            }
        }
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

    /// 16 upper-case hex digits of a random 64-bit number (zero-padded on the left).
    static func newRequestId() -> String {
        String(format: "%016llX", UInt64.random(in: .min ... .max))
    }
}
