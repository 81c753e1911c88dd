import Foundation
import NIOConcurrencyHelpers
import TestSupport

/// `obsgate serve` as a child process on ephemeral ports: it is told `127.0.0.1:0` and
/// its ports are read from its `listening` log lines, so no test guesses a port that
/// another process (or an outgoing connection) may hold. Its standard error is drained
/// all along and kept for failure messages.
final class ServeProcess: Sendable {
    let process: Process
    let port: Int
    let adminPort: Int?
    private let log: NIOLockedValueBox<String>

    var pid: Int32 { process.processIdentifier }
    var output: String { log.withLockedValue { $0 } }

    private init(process: Process, port: Int, adminPort: Int?, log: NIOLockedValueBox<String>) {
        self.process = process
        self.port = port
        self.adminPort = adminPort
        self.log = log
    }

    /// Starts `obsgate serve --config FILE --listen 127.0.0.1:0` (and `--admin-listen
    /// 127.0.0.1:0` with `admin`), through `launcher` (e.g. setpriv) when given, and waits
    /// up to 30 s for it to listen.
    static func start(configuration: URL, admin: Bool = false, launcher: [String] = []) async throws -> ServeProcess {
        try await start(launcher + [ServeProcessTests.binary, "serve", "--config", configuration.path, "--listen", "127.0.0.1:0"]
                        + (admin ? ["--admin-listen", "127.0.0.1:0"] : []), admin: admin)
    }

    /// Starts the program of `arguments` (an obsgate command that logs its `listening`
    /// lines: serve, demo) and waits up to 30 s for it to listen. Its standard output goes
    /// to `output` too.
    static func start(_ arguments: [String], admin: Bool) async throws -> ServeProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        let log = NIOLockedValueBox("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.withLockedValue { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.runWithNoSignalBlocked()
        for _ in 0..<300 {
            let text = log.withLockedValue { $0 }
            let port = Self.port(in: text, after: "] listening")
            let adminPort = Self.port(in: text, after: "] admin listening")
            if let port, !admin || adminPort != nil {
                return ServeProcess(process: process, port: port, adminPort: adminPort, log: log)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning { process.terminate() }
        throw Peers.PeerMissing(description: "\(arguments.dropFirst().prefix(1).joined()) did not start listening:\n\(log.withLockedValue { $0 })")
    }

    /// The port of the log line that ends with `suffix`: `… address=[IPv4]127.0.0.1/127.0.0.1:PORT … [Gateway] listening`.
    private static func port(in text: String, after suffix: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasSuffix(suffix) {
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                  let colon = field.lastIndex(of: ":")
            else { continue }
            return Int(field[field.index(after: colon)...])
        }
        return nil
    }

    /// Waits up to `seconds` for the process to exit; its exit status, or nil while it runs.
    func waitForExit(seconds: Int = 15) async throws -> Int32? {
        for _ in 0..<(seconds * 10) where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.terminate() }
    }
}
