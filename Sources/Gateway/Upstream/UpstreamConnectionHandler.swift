import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the exchange that is using it.
protocol UpstreamResponseReceiver: AnyObject {
    func upstreamReceived(_ part: HTTPClientResponsePart)
    /// A read from the upstream ended: what it delivered may go out to the client now.
    func upstreamReadComplete()
    func upstreamWritabilityChanged()
    /// The connection closed or failed while this exchange was using it.
    func upstreamFailed(_ error: any Error)
    /// Whether the client can take more response bytes now (backpressure).
    var clientIsWritable: Bool { get }
}

/// The last handler of an upstream connection. It hands response parts to the exchange
/// that holds the connection, and reads from the upstream only while the client can take
/// more (the glue pattern of a streaming proxy: read from one side only while the other
/// side is writable).
final class UpstreamConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    weak var receiver: (any UpstreamResponseReceiver)?
    private var pendingRead = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let receiver else {
            // An idle pooled connection must not speak: anything it sends is out of step.
            context.close(promise: nil)
            return
        }
        receiver.upstreamReceived(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.upstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let receiver = self.receiver
        self.receiver = nil
        receiver?.upstreamFailed(ChannelError.inputClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let receiver = self.receiver
        self.receiver = nil
        receiver?.upstreamFailed(error)
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let receiver, !receiver.clientIsWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// The client became writable again: resume a read that was held back.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }
}
