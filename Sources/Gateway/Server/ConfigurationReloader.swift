import Credentials
import Foundation
import Logging
import Policy
import ServiceLifecycle
import UnixSignals

/// Hot reload of the client credentials and the upload policy (and reopening the audit
/// files): on SIGHUP, and — credentials and policy only — when one of the watched files
/// has changed and holds still (read every `pollInterval`; `ReloadDebouncer` waits for two
/// equal reads; a Kubernetes ConfigMap update swaps a symlink, which reading follows). The new set is loaded and
/// validated completely first; on any error the previous one stays in force, the error is
/// logged with its location and counted.
public struct ConfigurationReloader: Service {
    public typealias Loader = @Sendable () throws -> (credentials: ClientCredentials, policy: UploadPolicy?)

    let server: GatewayServer
    let watchedFiles: [String]
    let load: Loader
    let logger: Logger
    let pollInterval: Duration

    public init(server: GatewayServer, watchedFiles: [String], pollInterval: Duration = .seconds(2),
                logger: Logger, load: @escaping Loader) {
        self.server = server
        self.watchedFiles = watchedFiles
        self.pollInterval = pollInterval
        self.logger = logger
        self.load = load
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    // logrotate's postrotate signal: the audit files were moved away.
                    server.reopenAuditFiles()
                    reload(reason: "SIGHUP")
                }
            }
            group.addTask {
                var debouncer = ReloadDebouncer(loaded: fileContents())
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: pollInterval)
                    if debouncer.observe(fileContents()) { reload(reason: "file changed") }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Loads and swaps in a new set; the previous one stays when anything is wrong.
    public func reload(reason: String) {
        do {
            let loaded = try load()
            try server.replace(credentials: loaded.credentials, policy: loaded.policy)
        } catch {
            server.recordReloadFailure()
            logger.error("reload failed; the previous credentials and policy stay in force",
                         metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    /// The contents of each watched file, symlinks followed (nil: unreadable).
    private func fileContents() -> ReloadDebouncer.Snapshot {
        watchedFiles.map { FileManager.default.contents(atPath: URL(fileURLWithPath: $0).resolvingSymlinksInPath().path) }
    }
}
