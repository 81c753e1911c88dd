import ArgumentParser
import Credentials
import Foundation
import Gateway
import Logging
import NIOPosix
import ServiceLifecycle
import YAMLConfig

/// `obsgate serve --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: "Every configuration key is described in docs/configuration.md. A configuration error exits with code 2.")

    @Option(name: .long, help: "The gateway configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Listen on this address instead of the file's listeners, e.g. 127.0.0.1:9000.")
    var listen: String?

    @Option(name: .long, help: "Upstream endpoint instead of the file's, e.g. http://127.0.0.1:8000.")
    var upstream: String?

    @Option(name: .long, help: "Client credentials file instead of the file's.")
    var credentials: String?

    @Option(name: .long, help: "Policy file instead of the file's.")
    var policy: String?

    @Option(name: .customLong("admin-listen"), help: "Admin listener address instead of the file's.")
    var adminListen: String?

    @Flag(name: .customLong("check-config"), help: "Load and validate everything, then exit (0 valid, 2 invalid).")
    var checkConfig = false

    func run() async throws {
        let overrides = GatewayConfiguration.Overrides(listen: listen, upstream: upstream, credentials: credentials,
                                                       policy: policy, adminListen: adminListen)
        let loaded = try GatewayLoader.load(configPath: config, overrides: overrides)
        if checkConfig {
            print("\(config): ok")
            return
        }
        try await GatewayLoader.run(loaded)
    }
}

/// Loading and running shared by `serve` and `demo`.
enum GatewayLoader {
    struct Loaded {
        let configuration: GatewayConfiguration
        let credentials: ClientCredentials
    }

    /// Loads the configuration and the client credentials; any error is printed and exits 2.
    static func load(configPath: String, overrides: GatewayConfiguration.Overrides) throws -> Loaded {
        do {
            let configuration = try GatewayConfiguration.load(path: configPath, overrides: overrides)
            let credentials = try ClientCredentials.load(path: configuration.credentialsFile)
            return Loaded(configuration: configuration, credentials: credentials)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    static func run(_ loaded: Loaded, onStarted: @escaping @Sendable (GatewayServer) -> Void = { _ in }) async throws {
        let level = Logger.Level(rawValue: loaded.configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "obsgate")
        let group = MultiThreadedEventLoopGroup.singleton
        let server: GatewayServer
        do {
            server = try GatewayServer(configuration: loaded.configuration, credentials: loaded.credentials,
                                       group: group, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("obsgate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let services = ServiceGroup(
            services: [GatewayService(server: server, onStarted: onStarted)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await services.run()
    }
}
