import Foundation
import Logging
import NIOCore
import NIOPosix
import Policy
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// A gateway running in-process on an ephemeral port in front of a given upstream, with
/// the test client key of `TestSetup`. With `watchingForLeaks`, clients reach it through a
/// `LeakWatchingRelay` (`port` is the relay's), and `stop()` fails the test if any response
/// carried the upstream's `host:port`.
final class LiveGateway: Sendable {
    let server: GatewayServer
    let port: Int
    private let relay: LeakWatchingRelay?

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(server: GatewayServer, port: Int, relay: LeakWatchingRelay?) {
        self.server = server
        self.port = relay?.port ?? port
        self.relay = relay
    }

    static func start(upstream: String, upstreamKey: String = TestSetup.upstreamKey,
                      upstreamSecret: String = TestSetup.upstreamSecret, watchingForLeaks: Bool = false,
                      listenerTLS: String = "",
                      upstreamExtra: String = "", extra: String = "", policy: UploadPolicy? = nil,
                      logger: Logger = Logger(label: "live-gateway")) async throws -> LiveGateway {
        let yaml = """
            listeners:
              - address: 127.0.0.1:0
                \(listenerTLS)
            upstream:
              endpoint: \(upstream)
              region: us-east-1
              \(upstreamExtra)
              profiles:
                default:
                  access_key: "\(upstreamKey)"
                  secret_key: "\(upstreamSecret)"
            credentials: clients.yaml
            \(extra)
            """
        let configuration = try GatewayConfiguration.parse(yaml, file: "live.yaml", baseDirectory: "/", environment: [:])
        let server = try GatewayServer(configuration: configuration, credentials: try TestSetup.credentials(),
                                       policy: policy, group: MultiThreadedEventLoopGroup.singleton,
                                       logger: logger)
        let addresses = try await server.start()
        var relay: LeakWatchingRelay?
        if watchingForLeaks {
            relay = try await LeakWatchingRelay.start(to: addresses[0].port!, watchingFor: configuration.upstream.hostHeader)
        }
        return LiveGateway(server: server, port: addresses[0].port!, relay: relay)
    }

    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        if let relay {
            #expect(relay.leaks.isEmpty, "responses carried the upstream's address:\n\(relay.leaks.prefix(5).joined(separator: "\n---\n"))",
                    sourceLocation: sourceLocation)
            await relay.stop()
        }
        await server.shutdown()
    }

    /// Headers of a request signed (SigV4 header form) with the test client key.
    func signedHeaders(method: String, target: String, headers: [(String, String)] = [],
                       payloadHash: String = SigV4.unsignedPayload, now: Date = Date(),
                       accessKey: String = TestSetup.clientKey,
                       secret: String = TestSetup.clientSecret) throws -> [(String, String)] {
        try TestSetup.signedHeaders(method: method, target: target, host: "127.0.0.1:\(port)", headers: headers,
                                    payloadHash: payloadHash, now: now, accessKey: accessKey, secret: secret).map { ($0.name, $0.value) }
    }
}
