import ArgumentParser
import Credentials
import Foundation
import Gateway
import Logging
import NIOPosix
import Policy
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
        let policy: UploadPolicy?
        /// Files whose change reloads credentials and policy (none for the demo).
        var watchedFiles: [String] = []
    }

    /// Loads the configuration, the client credentials and the policy; any error is printed
    /// and exits 2.
    static func load(configPath: String, overrides: GatewayConfiguration.Overrides) throws -> Loaded {
        do {
            let configuration = try GatewayConfiguration.load(path: configPath, overrides: overrides)
            let (credentials, policy) = try loadReloadable(configuration)
            return Loaded(configuration: configuration, credentials: credentials, policy: policy,
                          watchedFiles: [configuration.credentialsFile] + (configuration.policyFile.map { [$0] } ?? []))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// What a reload re-reads: the client credentials and the policy.
    static func loadReloadable(_ configuration: GatewayConfiguration) throws -> (ClientCredentials, UploadPolicy?) {
        let credentials = try ClientCredentials.load(path: configuration.credentialsFile)
        let policy = try configuration.policyFile.map { try UploadPolicy.load(path: $0) }
        return (credentials, policy)
    }

    static func run(_ loaded: Loaded, onStarted: @escaping @Sendable (GatewayServer) -> Void = { _ in }) async throws {
        let level = loaded.configuration.logLevel
        LoggingSystem.bootstrap { label in LogLineHandler(label: label, level: level) }
        let logger = Logger(label: "obsgate")
        let loops = loaded.configuration.eventLoops.resolved()
        logger.info("event loops", metadata: ["count": "\(loops)"])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        do {
            try await serve(loaded, group: group, logger: logger, onStarted: onStarted)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private static func serve(_ loaded: Loaded, group: MultiThreadedEventLoopGroup, logger: Logger,
                              onStarted: @escaping @Sendable (GatewayServer) -> Void) async throws {
        let server: GatewayServer
        do {
            server = try GatewayServer(configuration: loaded.configuration, credentials: loaded.credentials,
                                       policy: loaded.policy, group: group, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("obsgate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var services: [any Service] = [GatewayService(server: server, onStarted: onStarted)]
        if !loaded.watchedFiles.isEmpty {
            let configuration = loaded.configuration
            services.append(ConfigurationReloader(server: server, watchedFiles: loaded.watchedFiles, logger: logger) {
                let (credentials, policy) = try loadReloadable(configuration)
                return (credentials, policy)
            })
        }
        let serviceGroup = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await serviceGroup.run()
    }
}
