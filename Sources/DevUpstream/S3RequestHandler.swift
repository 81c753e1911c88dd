import Foundation
import Logging
import NIOCore
import NIOHTTP1
import S3Core
import S3Signing

/// Serves the S3 requests of one HTTP/1.1 connection, one at a time (NIO's
/// `HTTPServerPipelineHandler` in front holds back pipelined requests until the previous
/// response has ended).
///
/// For each request: admit it (signature, operation) as soon as the head arrives; answer
/// `100 Continue` if the client waits for it; stream the body through a
/// ``RequestBodySink``; run the operation; record the request; write the answer, object
/// bodies in 64 KiB slices as the channel stays writable. A request refused before its
/// body ended is answered at once; the rest of its body is dropped, or the connection is
/// closed when the client is waiting for `100 Continue` or the body was bad.
final class S3RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest slice of an object written at once.
    static let sliceSize = 64 * 1024
    /// The largest body of a request that does not carry object data (an XML document).
    static let maxDocumentSize = 4 * 1024 * 1024

    private let admission: RequestAdmission
    private let executor: OperationExecutor
    private let recorder: RequestRecorder
    private let maxObjectSize: Int
    private let logger: Logger
    private var state = State.idle

    private enum State {
        case idle
        /// Admitted; the body streams into the sink.
        case receiving(Receiving)
        /// Answered before the body ended; the rest of the body is dropped.
        case draining
        /// An object body is being written.
        case streaming(ObjectStream)
    }

    /// One request from its head on.
    private struct Exchange {
        let head: HTTPRequestHead
        let headers: HeaderFields
        let requestId = RandomIdentifier.hex(byteCount: 8, uppercase: true)
        let hostId = RandomIdentifier.hex(byteCount: 24)
        var wireLength = 0

        var hasBody: Bool {
            headers["Transfer-Encoding"] != nil || (headers[S3HeaderName.contentLength].flatMap { Int($0) } ?? 0) > 0
        }
        var expectsContinue: Bool {
            headers["Expect"]?.asciiCaseInsensitiveEquals("100-continue") == true
        }
    }

    private struct Receiving {
        var exchange: Exchange
        let request: S3Request
        var sink: RequestBodySink
    }

    private struct ObjectStream {
        let body: ObjectBody
        var next: Int
        let end: Int
        let close: Bool
    }

    init(admission: RequestAdmission, executor: OperationExecutor, recorder: RequestRecorder,
         maxObjectSize: Int, logger: Logger) {
        self.admission = admission
        self.executor = executor
        self.recorder = recorder
        self.maxObjectSize = maxObjectSize
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): receivedHead(head, context: context)
        case .body(let buffer): receivedBody(buffer, context: context)
        case .end: receivedEnd(context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .streaming = state, context.channel.isWritable { writeSlices(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .idle
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Request parts

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let exchange = Exchange(head: head, headers: HeaderFields(head.headers.map { ($0.name, $0.value) }))
        let request: S3Request
        let sink: RequestBodySink
        do throws(RequestAdmission.Refusal) {
            request = try admission.admit(method: head.method.rawValue, uri: head.uri, headers: exchange.headers, now: Date())
            do throws(S3Error) {
                let limit = OperationExecutor.carriesObjectData(request.operation) ? maxObjectSize : Self.maxDocumentSize
                sink = try RequestBodySink(
                    expectation: request.payload, headers: exchange.headers,
                    verifyChecksumHeaders: OperationExecutor.checksumHeadersDescribeBody(request.operation), limit: limit)
            } catch {
                throw RequestAdmission.Refusal(error: error, accessKeyId: request.accessKeyId)
            }
        } catch {
            // A client waiting for 100 Continue may never send the body it announced.
            let close = exchange.hasBody && exchange.expectsContinue
            answerRefusal(error.error, exchange: exchange, accessKeyId: error.accessKeyId, close: close, context: context)
            if !close { state = .draining }
            return
        }
        if exchange.expectsContinue && exchange.hasBody {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                  promise: nil)
        }
        state = .receiving(Receiving(exchange: exchange, request: request, sink: sink))
    }

    private func receivedBody(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard case .receiving(var receiving) = state else { return }
        state = .idle // so the sink's buffers stay uniquely referenced while they grow
        var failure: S3Error?
        buffer.withUnsafeReadableBytes { bytes in
            do throws(S3Error) {
                try receiving.sink.consume(bytes)
            } catch {
                failure = error
            }
        }
        receiving.exchange.wireLength = receiving.sink.wireLength
        if let failure {
            answerRefusal(failure, exchange: receiving.exchange, accessKeyId: receiving.request.accessKeyId,
                          close: true, context: context)
            state = .draining
            return
        }
        state = .receiving(receiving)
    }

    private func receivedEnd(context: ChannelHandlerContext) {
        guard case .receiving(var receiving) = state else {
            if case .draining = state { state = .idle }
            return
        }
        state = .idle
        let request = receiving.request
        let response: S3Response
        do throws(S3Error) {
            let body = try receiving.sink.finish()
            response = try executor.execute(request, body: body, now: Date())
        } catch {
            answerRefusal(error.about(request.address.resource), exchange: receiving.exchange,
                          accessKeyId: request.accessKeyId, close: false, context: context)
            return
        }
        answer(response, exchange: receiving.exchange, accessKeyId: request.accessKeyId,
               dialect: request.responseDialect, close: false, context: context)
    }

    // MARK: Answers

    private func answerRefusal(_ error: S3Error, exchange: Exchange, accessKeyId: String?, close: Bool,
                               context: ChannelHandlerContext) {
        let resource = error.resource ?? String(exchange.head.uri.prefix { $0 != "?" })
        let response = S3Response.error(error.about(resource), requestId: exchange.requestId, hostId: exchange.hostId)
        let dialect = RequestAuthenticator.claimedDialect(target: try? RequestTarget(parsing: exchange.head.uri),
                                                          headers: exchange.headers)
        answer(response, exchange: exchange, accessKeyId: accessKeyId, dialect: dialect, close: close, context: context)
    }

    /// Records the request, then writes the response head and its body (or starts
    /// streaming an object body). HEAD responses carry the length of the body they omit.
    private func answer(_ response: S3Response, exchange: Exchange, accessKeyId: String?, dialect: HeaderDialect,
                        close requestedClose: Bool, context: ChannelHandlerContext) {
        recorder.record(RecordedRequest(method: exchange.head.method.rawValue, target: exchange.head.uri,
                                        headers: exchange.headers, bodyLength: exchange.wireLength,
                                        accessKeyId: accessKeyId))
        logger.debug("request", metadata: [
            "method": "\(exchange.head.method.rawValue)", "target": "\(exchange.head.uri)",
            "status": "\(response.status)", "request-id": "\(exchange.requestId)",
        ])
        let close = requestedClose || !exchange.head.isKeepAlive
        let status = HTTPResponseStatus(statusCode: response.status)
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.add(name: dialect.requestIdHeader, value: exchange.requestId)
        headers.add(name: dialect.hostIdHeader, value: exchange.hostId)
        headers.add(name: "Date", value: SigningTime.httpDate(Date()))
        headers.add(name: "Server", value: "obsgate-dev-upstream")
        if status.mayHaveResponseBody {
            headers.add(name: "Content-Length", value: String(response.body.length))
        }
        if close {
            headers.add(name: "Connection", value: "close")
        } else if exchange.head.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: status,
                                                             headers: headers))), promise: nil)
        let omitBody = exchange.head.method == .HEAD || !status.mayHaveResponseBody
        switch response.body {
        case .object(let body, let range) where !omitBody && !range.isEmpty:
            state = .streaming(ObjectStream(body: body, next: range.lowerBound, end: range.upperBound, close: close))
            writeSlices(context: context)
            return
        case .xml(let text) where !omitBody:
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))),
                          promise: nil)
        default:
            break
        }
        finishResponse(close: close, context: context)
    }

    /// Writes slices while the channel is writable; `channelWritabilityChanged` resumes.
    private func writeSlices(context: ChannelHandlerContext) {
        while case .streaming(var stream) = state, context.channel.isWritable {
            guard stream.next < stream.end else {
                state = .idle
                finishResponse(close: stream.close, context: context)
                return
            }
            let slice = stream.body.chunk(at: stream.next, maxLength: min(Self.sliceSize, stream.end - stream.next))
            stream.next += slice.count
            state = .streaming(stream)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: slice)))),
                          promise: nil)
        }
        context.flush()
    }

    private func finishResponse(close: Bool, context: ChannelHandlerContext) {
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
