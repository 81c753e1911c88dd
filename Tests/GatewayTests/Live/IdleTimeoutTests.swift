import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Gateway

/// `timeouts.body_idle`: a pause longer than it ends the upload with 400 RequestTimeout;
/// a body that keeps coming, however long it takes in all, does not.
@Suite(.serialized) struct IdleTimeoutTests {
    /// Sends a PUT head announcing `length` bytes, then `pieces` of one byte each `every`.
    func upload(to stack: DevUpstreamGatewayTests.Stack, length: Int, pieces: Int,
                every interval: Duration) async throws -> (channel: any Channel, response: EventLoopFuture<HTTPResponseHead>) {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: HTTPResponseHead.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HeadCatcher(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: stack.gateway.port).get()
        var headers = HTTPHeaders()
        for (name, value) in try stack.gateway.signedHeaders(method: "PUT", target: "/idle/k",
                                                             headers: [("Content-Length", String(length))]) {
            headers.add(name: name, value: value)
        }
        try await channel.writeAndFlush(HTTPClientRequestPart.head(
            HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/idle/k", headers: headers))).get()
        for _ in 0..<pieces {
            try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: [7])))).get()
            try await Task.sleep(for: interval)
        }
        return (channel, promise.futureResult)
    }

    @Test func aPauseLongerThanBodyIdleIsARequestTimeout() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(gatewayExtra: "timeouts: {body_idle: 1}")
        #expect(try await stack.send("PUT", "/idle").status == 200)
        let (channel, response) = try await upload(to: stack, length: 100, pieces: 1, every: .zero)
        #expect(try await response.get().status == .badRequest, "RequestTimeout once the body stopped")
        try? await channel.close().get()
        await stack.stop()
    }

    /// The body takes three times body_idle in all, but never pauses for long: the deadline
    /// moves with every part.
    @Test func aBodyThatKeepsComingOutlastsBodyIdle() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(gatewayExtra: "timeouts: {body_idle: 2}")
        #expect(try await stack.send("PUT", "/idle").status == 200)
        let (channel, response) = try await upload(to: stack, length: 30, pieces: 30, every: .milliseconds(200))
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        #expect(try await response.get().status == .ok)
        try? await channel.close().get()
        await stack.stop()
    }

    private final class HeadCatcher: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<HTTPResponseHead>
        init(promise: EventLoopPromise<HTTPResponseHead>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data), head.status.code >= 200 { promise.succeed(head) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.inputClosed)
            context.fireChannelInactive()
        }
    }
}
