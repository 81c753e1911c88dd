import Foundation

/// Runs one of the Python generators in `Differential/`, whose cases are signed by real
/// client libraries (botocore, Huawei's OBS SDK, awscrt), and decodes the JSON it writes.
/// The libraries are installed by `scripts/install-test-deps.sh`; when they are missing the
/// test fails with the generator's own error rather than skipping.
enum ExternalGenerator {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Differential")

    static func run<Output: Decodable>(_ script: String, arguments: [String] = [], as type: Output.Type) throws -> Output {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("obsgate-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let python = ProcessInfo.processInfo.environment["OBSGATE_PYTHON"] ?? "python3"
        process.arguments = [python, directory.appendingPathComponent(script).path, output.path] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GeneratorFailed(script: script, status: process.terminationStatus, stderr: errorText)
        }
        return try JSONDecoder().decode(Output.self, from: Data(contentsOf: output))
    }

    struct GeneratorFailed: Error, CustomStringConvertible {
        let script: String
        let status: Int32
        let stderr: String
        var description: String {
            "\(script) exited with \(status) (run scripts/install-test-deps.sh):\n\(stderr.suffix(2000))"
        }
    }
}
