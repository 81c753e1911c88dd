import Foundation
import Policy
import S3Core
@testable import Audit

/// A fixed instant: 2025-06-01T12:00:00.000Z.
let june1 = AuditTimestamp(millisecondsSince1970: 1_748_779_200_000)

/// A record with every field set, the way the gateway fills one for a mutated
/// CreateMultipartUpload.
func sampleRecord(_ number: Int = 1) -> AuditRecord {
    var record = AuditRecord(time: AuditTimestamp(millisecondsSince1970: june1.millisecondsSince1970 + Int64(number)),
                             requestId: "REQ\(number)", method: "POST", operation: "CreateMultipartUpload",
                             decision: .allow)
    record.upstreamRequestId = "tx00000\(number)-rgw"
    record.clientAddress = "192.0.2.7:5012\(number % 10)"
    record.principal = "alice"
    record.accessKeyId = "GWALICE0000000000001"
    record.bucket = "photos"
    record.key = "2025/06/01/café \"\(number)\".jpg"
    record.setPolicyDecision(PolicyDecision(
        outcome: .allowWithMutations, matchedRules: ["kms-default", "standard-only"],
        mutations: [.set(name: "x-amz-server-side-encryption", value: "aws:kms"),
                    .set(name: "x-amz-server-side-encryption-aws-kms-key-id", value: "testkey-1"),
                    .remove(name: "x-amz-website-redirect-location")],
        policyVersion: String(repeating: "ab", count: 32)))
    record.setHeaders(HeaderFields([("x-amz-server-side-encryption", "aws:kms"),
                                    ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1"),
                                    ("x-amz-storage-class", "STANDARD")]))
    record.status = 200
    record.uploadId = "2~upload-\(number)"
    record.bytesIn = 0
    record.bytesOut = 312
    record.durationMs = 17
    return record
}

/// A sealed audit file: a new-chain anchor and `count` records, each line with its newline.
func sealedFile(records count: Int, chain: inout AuditChain, anchor: AuditAnchor.Reason = .newChain) throws -> [UInt8] {
    var bytes = try chain.seal(AuditAnchor(anchor, time: june1)) + [UInt8(ascii: "\n")]
    for index in 0..<count {
        bytes += try chain.seal(sampleRecord(index + 1)) + [UInt8(ascii: "\n")]
    }
    return bytes
}

func lines(of bytes: [UInt8]) -> [[UInt8]] {
    bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map(Array.init)
}

func joined(_ lines: [[UInt8]]) -> [UInt8] {
    lines.flatMap { $0 + [UInt8(ascii: "\n")] }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "obsgate-audit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func contents(_ path: String) -> [UInt8] {
    (FileManager.default.contents(atPath: path)).map(Array.init) ?? []
}

/// Decoded chain fields of each line of a file.
func anchors(in path: String) -> [String] {
    lines(of: contents(path)).compactMap { line in
        (try? JSONDecoder().decode(AuditLineFields.self, from: Data(line)))?.anchor
    }
}

/// Polls until the condition holds, for up to `timeout` (ten seconds unless told).
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
