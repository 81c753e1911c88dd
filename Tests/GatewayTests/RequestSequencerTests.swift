import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Gateway

/// `RequestSequencer` on its own: what the decoder reports after a request's end waits for
/// that exchange's end, in order, and reads wait only while something does.
@Suite struct RequestSequencerTests {
    /// What the gateway handler is handed, in words. A request whose target starts with
    /// `/now` is over as soon as it ends (answered at once), as a refused request is.
    final class Handed: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var events: [String] = []
        private var endsAtOnce = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                events.append(head.uri)
                endsAtOnce = head.uri.hasPrefix("/now")
            case .body: events.append("body")
            case .end:
                events.append("end")
                if endsAtOnce { context.triggerUserOutboundEvent(RequestHeadEvent.awaitingHead, promise: nil) }
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) { events.append("read complete") }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { events.append("error") }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append("\(event)") }
    }

    let channel = EmbeddedChannel()
    let handed = Handed()
    let reads = ReadCounter()

    init() throws {
        try channel.pipeline.syncOperations.addHandlers(reads, RequestSequencer(), handed)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func send(_ target: String, body: Bool = false) throws {
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: target)))
        if body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "b"))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    /// What was handed on, without the reads' completions.
    var parts: [String] { handed.events.filter { $0 != "read complete" } }

    func exchangeOver() {
        channel.triggerUserOutboundEvent(RequestHeadEvent.awaitingHead, promise: nil)
    }

    @Test func whatFollowsARequestsEndWaitsForItsExchangeToEnd() throws {
        try send("/a")
        try send("/b", body: true)
        try send("/c")
        #expect(parts == ["/a", "end"])
        exchangeOver()
        #expect(parts == ["/a", "end", "/b", "body", "end"])
        #expect(handed.events.last == "read complete", "what the gateway wrote upstream is flushed")
        exchangeOver()
        #expect(parts == ["/a", "end", "/b", "body", "end", "/c", "end"])
    }

    /// A request answered as soon as it ends (inside its own hand-on) lets the next in
    /// straight away, in order.
    @Test func anExchangeOverAtOnceLetsTheNextIn() throws {
        try send("/a")
        try send("/now1")
        try send("/now2")
        try send("/b")
        try send("/c")
        exchangeOver()
        #expect(parts == ["/a", "end", "/now1", "end", "/now2", "end", "/b", "end"])
    }

    @Test func readsWaitOnlyWhileSomethingWaits() throws {
        channel.read()
        #expect(reads.count == 1)
        try send("/a")
        channel.read()
        #expect(reads.count == 2, "reading goes on while the exchange is answered")
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/b")))
        channel.read()
        channel.read()
        #expect(reads.count == 2, "a pipelined head waits, and reads with it")
        exchangeOver()
        #expect(reads.count == 3, "the read asked for meanwhile, once")
    }

    /// The decoder's errors after a request's end (a parse error, and what it reports of
    /// the reads after that) are handed on after that exchange; between exchanges, at once.
    /// The connection's own errors go on at once.
    @Test func theDecodersErrorsWaitBehindTheExchange() throws {
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidHeaderToken)
        #expect(handed.events == ["error"])
        try send("/a")
        channel.pipeline.fireErrorCaught(HTTPParserError.headerOverflow)
        channel.pipeline.fireErrorCaught(ByteToMessageDecoderError.dataReceivedInErrorState(HTTPParserError.headerOverflow,
                                                                                            ByteBuffer(string: "x")))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(parts == ["error", "/a", "end"])
        channel.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
        #expect(parts == ["error", "/a", "end", "error"], "the connection's error at once")
        exchangeOver()
        #expect(parts == ["error", "/a", "end", "error", "error"], "the first of the decoder's, nothing after it")
    }

    /// The end of the client's input goes on at once while an exchange is answered (so that
    /// it closes the connection after its answer); behind a held request, it waits its turn.
    @Test func theInputsEndWaitsOnlyBehindAHeldRequest() throws {
        try send("/a")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(parts == ["/a", "end", "inputClosed"])

        let other = try RequestSequencerTests()
        try other.send("/a")
        try other.send("/b")
        other.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(other.parts == ["/a", "end"])
        other.exchangeOver()
        #expect(other.parts == ["/a", "end", "/b", "end"], "held behind /b until its exchange is over")
        other.exchangeOver()
        #expect(other.parts == ["/a", "end", "/b", "end", "inputClosed"])
    }

    /// Thousands of small pipelined requests from one read are handed on one by one, each
    /// after the exchange before.
    @Test func manyHeldRequestsAreHandedOnInOrder() throws {
        try send("/first")
        for index in 0..<5_000 { try send("/\(index)") }
        for _ in 0..<5_000 { exchangeOver() }
        let targets = parts.filter { $0 != "end" }
        #expect(targets.count == 5_001 && targets.last == "/4999" && targets[1] == "/0")
        #expect(targets == ["/first"] + (0..<5_000).map { "/\($0)" })
    }
}
