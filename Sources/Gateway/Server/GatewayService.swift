import Logging
import ServiceLifecycle

/// Runs a `GatewayServer` under swift-service-lifecycle: started when the service group
/// runs, drained on graceful shutdown (SIGTERM or SIGINT).
public struct GatewayService: Service {
    public let server: GatewayServer
    private let onStarted: @Sendable (GatewayServer) -> Void

    public init(server: GatewayServer, onStarted: @escaping @Sendable (GatewayServer) -> Void = { _ in }) {
        self.server = server
        self.onStarted = onStarted
    }

    public func run() async throws {
        try await server.start()
        onStarted(server)
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
