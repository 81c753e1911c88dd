import Foundation

/// What a program run by the tests printed, and how it ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Whether the time limit ended it.
    public var timedOut: Bool
}

/// Runs a program found on PATH to its end, or until `timeout` (then it is terminated and
/// `timedOut` is set): no test may hang on a stuck child. Output goes through files, so a
/// chatty child cannot stall on a full pipe.
///
/// The limit is coreutils `timeout` (TERM, then KILL 10 s later): it holds for a child that
/// ignores TERM, and needs no timer thread of this process. The child starts with no signal
/// blocked (`runWithNoSignalBlocked`); before, a scenario script that looped ran 13 minutes
/// past its 300 s, its TERM blocked.
public func runProcess(_ arguments: [String], environment: [String: String]? = nil,
                       timeout: TimeInterval = 600) throws -> ProcessResult {
    let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: outputs) }
    let stdoutURL = outputs.appendingPathComponent("stdout"), stderrURL = outputs.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--kill-after=10", String(Int(timeout.rounded(.up)))] + arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.runWithNoSignalBlocked()
    process.waitUntilExit()
    // `timeout` exits 124 when TERM ended the program; when it had to KILL, it is killed
    // with its process group.
    let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    return ProcessResult(status: killed ? 128 + SIGKILL : process.terminationStatus,
                         stdout: try String(contentsOf: stdoutURL, encoding: .utf8),
                         stderr: try String(contentsOf: stderrURL, encoding: .utf8),
                         timedOut: killed || (process.terminationReason == .exit && process.terminationStatus == 124))
}

/// Runs a Python generator (`OBSGATE_PYTHON`, else `python3`) that writes JSON to the path
/// given as its first argument, and decodes it. The generators' libraries (botocore, the
/// OBS SDK, awscrt) come from `scripts/install-test-deps.sh`; when they are missing the
/// test fails with the generator's own error rather than skipping.
public func runJSONGenerator<Output: Decodable>(_ script: URL, arguments: [String] = [], as type: Output.Type,
                                                timeout: TimeInterval = 600) throws -> Output {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: output) }
    let python = ProcessInfo.processInfo.environment["OBSGATE_PYTHON"] ?? "python3"
    let result = try runProcess([python, script.path, output.path] + arguments, timeout: timeout)
    guard result.status == 0, !result.timedOut else { throw GeneratorFailed(script: script.lastPathComponent, result: result) }
    return try JSONDecoder().decode(Output.self, from: Data(contentsOf: output))
}

public struct GeneratorFailed: Error, CustomStringConvertible {
    public let script: String
    public let result: ProcessResult
    public var description: String {
        "\(script) \(result.timedOut ? "timed out" : "exited with \(result.status)") (run scripts/install-test-deps.sh):\n\(result.stderr.suffix(2000))"
    }
}

extension Process {
    /// `run()`, the child starting with no signal blocked. A child inherits the spawning
    /// thread's signal mask, and Dispatch's worker threads, which run the tests, block nearly
    /// every signal — SIGTERM included: `terminate()` would not end a child spawned from one.
    /// Every process a test starts is started with this.
    public func runWithNoSignalBlocked() throws {
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try run()
    }
}
