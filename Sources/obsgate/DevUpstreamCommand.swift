import ArgumentParser
import DevUpstream
import Foundation
import Logging
import NIOPosix
import S3Signing
import ServiceLifecycle

/// `obsgate dev-upstream`: the in-memory development store on its own, as the upstream of
/// benchmarks that measure the gateway in a separate process. Not a storage product: it
/// keeps everything in memory and forgets it when stopped.
struct DevUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-upstream",
        abstract: "Run the in-memory development S3 store alone (for benchmarks and experiments; data is not kept).")

    @Option(name: .long, help: "Port to listen on (127.0.0.1).")
    var port = 8100

    @Option(name: .customLong("access-key"), help: "The access key the store accepts.")
    var accessKey = "DEVUPSTREAMKEY000001"

    @Option(name: .customLong("secret-env"), help: "Environment variable holding the secret key.")
    var secretEnv = "OBSGATE_DEV_UPSTREAM_SECRET"

    func run() async throws {
        guard let secret = ProcessInfo.processInfo.environment[secretEnv], !secret.isEmpty else {
            FileHandle.standardError.write(Data("obsgate dev-upstream: set \(secretEnv) to the secret key\n".utf8))
            throw ExitCode(2)
        }
        var configuration = DevUpstreamConfiguration(credentials: [SigningCredentials(accessKeyId: accessKey, secretAccessKey: secret)])
        configuration.port = port
        let server = try await DevUpstreamServer.start(configuration, group: MultiThreadedEventLoopGroup.singleton,
                                                       logger: Logger(label: "dev-upstream"))
        FileHandle.standardOutput.write(Data("dev-upstream listening on http://127.0.0.1:\(server.port)\n".utf8))
        let logger = Logger(label: "dev-upstream")
        try await ServiceGroup(services: [StopOnShutdown(server: server)], gracefulShutdownSignals: [.sigterm, .sigint],
                               logger: logger).run()
    }
}

/// Keeps the store running until a graceful shutdown (SIGTERM, SIGINT), then stops it.
private struct StopOnShutdown: Service {
    let server: DevUpstreamServer

    func run() async throws {
        try? await gracefulShutdown()
        try await server.shutdown()
    }
}
