import Foundation
import TestSupport

/// Runs one of the Python generators in `Differential/`, whose cases are signed by real
/// client libraries (botocore, Huawei's OBS SDK, awscrt), and decodes the JSON it writes.
enum ExternalGenerator {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Differential")

    static func run<Output: Decodable>(_ script: String, arguments: [String] = [], as type: Output.Type) throws -> Output {
        try runJSONGenerator(directory.appendingPathComponent(script), arguments: arguments, as: type)
    }
}
