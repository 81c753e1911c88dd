import Foundation
import S3Signing
import S3Core

/// A request written out as text in the signing test suites:
///
///     METHOD SP target SP HTTP/1.1 LF *(Name ":" value LF) LF body
///
/// The target may contain raw spaces (`GET /example space/ HTTP/1.1`), so the method and
/// version are taken from the ends of the line. A header line starting with whitespace
/// continues the previous value (obs-fold), which the suites use in one case.
struct RawRequestFile {
    let method: String
    let target: String
    let headers: HeaderFields
    let body: [UInt8]
    let hasFoldedHeader: Bool

    init(_ text: String) {
        let parts = text.components(separatedBy: "\n\n")
        let head = parts[0].components(separatedBy: "\n")
        body = Array(parts.dropFirst().joined(separator: "\n\n").utf8)
        let requestLine = head[0]
        let firstSpace = requestLine.firstIndex(of: " ")!
        let lastSpace = requestLine.lastIndex(of: " ")!
        method = String(requestLine[..<firstSpace])
        target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        var fields: [(String, String)] = []
        var folded = false
        for line in head.dropFirst() where !line.isEmpty {
            if line.first == " " || line.first == "\t" {
                folded = true
                fields[fields.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            let colon = line.firstIndex(of: ":")!
            fields.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        headers = HeaderFields(fields)
        hasFoldedHeader = folded
    }
}

enum Fixtures {
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    static func directories(_ relativePath: String) -> [String] {
        let base = root.appendingPathComponent(relativePath)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        return names.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: base.appendingPathComponent($0).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }
}

/// A fixed secret lookup for tests.
struct StaticSecrets: SecretLookup {
    let secrets: [String: String]
    func secret(forAccessKey accessKeyId: String) -> String? { secrets[accessKeyId] }
}
