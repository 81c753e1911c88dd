import Foundation
import Logging
import NIOCore
import NIOPosix
import Policy
import S3Core
import S3Signing
@testable import Gateway

/// A gateway running in-process on an ephemeral port in front of a given upstream, with
/// the test client key of `TestSetup`.
final class LiveGateway: Sendable {
    let server: GatewayServer
    let port: Int

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(server: GatewayServer, port: Int) {
        self.server = server
        self.port = port
    }

    static func start(upstream: String, upstreamKey: String = TestSetup.upstreamKey,
                      upstreamSecret: String = TestSetup.upstreamSecret, listenerTLS: String = "",
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
        return LiveGateway(server: server, port: addresses[0].port!)
    }

    func stop() async {
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
