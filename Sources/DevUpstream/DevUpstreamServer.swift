import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A development S3 store over HTTP/1.1: `obsgate demo` runs the gateway in front of it,
/// tests use it as a fast upstream that records what it received, and benchmarks use it
/// as their baseline. Everything lives in memory and is gone after ``shutdown()``; it
/// verifies signatures like S3 but is not meant to hold anyone's data.
public final class DevUpstreamServer: Sendable {
    private let serverChannel: any Channel
    private let recorder: RequestRecorder
    private let tracker: ConnectionTracker

    /// The port the server listens on (the ephemeral one when configured with port 0).
    public var port: Int { serverChannel.localAddress?.port ?? 0 }

    private init(serverChannel: any Channel, recorder: RequestRecorder, tracker: ConnectionTracker) {
        self.serverChannel = serverChannel
        self.recorder = recorder
        self.tracker = tracker
    }

    /// Binds the listening socket and starts serving.
    public static func start(_ configuration: DevUpstreamConfiguration, group: any EventLoopGroup,
                             logger: Logger) async throws -> DevUpstreamServer {
        let store = ObjectStore()
        let recorder = RequestRecorder()
        let admission = RequestAdmission(credentials: configuration.credentials, regions: configuration.regions)
        let executor = OperationExecutor(store: store, minimumPartSize: configuration.minimumPartSize,
                                         region: configuration.regions.sorted().first ?? "us-east-1")
        let maxObjectSize = configuration.maxObjectSize
        let tracker = ConnectionTracker()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                tracker.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(S3RequestHandler(
                        admission: admission, executor: executor, recorder: recorder,
                        maxObjectSize: maxObjectSize, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        logger.info("development upstream listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return DevUpstreamServer(serverChannel: channel, recorder: recorder, tracker: tracker)
    }

    /// Every request received so far, in the order they were answered (per connection,
    /// the order they arrived).
    public func recordedRequests() -> [RecordedRequest] {
        recorder.all()
    }

    public func clearRecordedRequests() {
        recorder.clear()
    }

    /// Stops listening and closes every open connection.
    public func shutdown() async throws {
        try await serverChannel.close()
        for connection in tracker.all() {
            try? await connection.close()
        }
    }
}

/// The open connections, so that shutdown can close them.
private final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.channels.withLock { $0.removeValue(forKey: id) }
        }
    }

    func all() -> [any Channel] {
        channels.withLock { Array($0.values) }
    }
}
