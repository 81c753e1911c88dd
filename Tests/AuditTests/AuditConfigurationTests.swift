import Testing
import YAMLConfig
@testable import Audit

/// Parses `text` as a gateway configuration file and reads its `audit:` section.
private func parse(_ text: String, baseDirectory: String? = "/etc/obsgate") throws(ConfigError) -> AuditConfiguration {
    let root = try YAMLNode.parse(text, file: "obsgate.yaml").mapping(allowed: ["audit"], required: ["audit"])
    return try AuditConfiguration.parse(node: root["audit"]!, baseDirectory: baseDirectory)
}

struct AuditConfigurationErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let location: String
    let message: String
    var testDescription: String { name }
}

@Suite("AuditConfiguration")
struct AuditConfigurationTests {
    @Test func everyKey() throws {
        let configuration = try parse("""
            audit:
              sinks:
                - type: file
                  path: /var/log/obsgate/audit.log
                  max_bytes: 104857600
                  keep: 10
                - type: stdout
              flush: batch
              batch_max_ms: 250
              queue_capacity: 50000
              fail_closed: true
              unauthenticated_refusals: {per_second: 5, burst: 20}
            """)
        #expect(configuration == AuditConfiguration(
            sinks: [.file(path: "/var/log/obsgate/audit.log", maxBytes: 104_857_600, keep: 10), .stdout],
            flush: .batch, batchMaxMilliseconds: 250, queueCapacity: 50_000, failClosed: true,
            refusalLimit: .init(perSecond: 5, burst: 20)))
    }

    @Test func defaults() throws {
        let configuration = try parse("audit:\n  sinks: [{type: file, path: audit.log}]\n")
        #expect(configuration == AuditConfiguration(sinks: [.file(path: "/etc/obsgate/audit.log", maxBytes: 268_435_456, keep: 5)]))
        #expect(configuration.flush == .batch && configuration.batchMaxMilliseconds == 100)
        #expect(configuration.queueCapacity == 10_000 && !configuration.failClosed)
        #expect(configuration.refusalLimit == .init(perSecond: 10, burst: 100))
    }

    @Test func maxBytesZeroTurnsRotationOff() throws {
        let configuration = try parse("audit:\n  sinks: [{type: file, path: audit.log, max_bytes: 0}]\n")
        #expect(configuration.sinks == [.file(path: "/etc/obsgate/audit.log", maxBytes: nil, keep: 5)])
    }

    @Test func perRecordFlush() throws {
        #expect(try parse("audit:\n  sinks: [{type: stdout}]\n  flush: per-record\n").flush == .perRecord)
    }

    @Test func aRelativePathStaysRelativeWithoutABaseDirectory() throws {
        let configuration = try parse("audit:\n  sinks: [{type: file, path: logs/audit.log}]\n", baseDirectory: nil)
        #expect(configuration.sinks == [.file(path: "logs/audit.log", maxBytes: 268_435_456, keep: 5)])
    }

    static let errors: [AuditConfigurationErrorCase] = [
        .init(name: "no sinks key", yaml: "audit:\n  flush: batch\n",
              location: "2:3", message: "audit: missing required key 'sinks'"),
        .init(name: "empty sinks", yaml: "audit:\n  sinks: []\n",
              location: "2:10", message: "audit.sinks: at least one sink is required"),
        .init(name: "unknown key", yaml: "audit:\n  sinks: [{type: stdout}]\n  flsuh: batch\n",
              location: "3:3", message: "audit: unknown key 'flsuh' (expected one of: batch_max_ms, fail_closed, flush, queue_capacity, sinks, unauthenticated_refusals)"),
        .init(name: "unknown sink type", yaml: "audit:\n  sinks:\n    - type: syslog\n",
              location: "3:13", message: "audit.sinks[0].type: expected file or stdout, found 'syslog'"),
        .init(name: "file without path", yaml: "audit:\n  sinks:\n    - type: file\n",
              location: "3:7", message: "audit.sinks[0]: missing required key 'path' for a file sink"),
        .init(name: "empty path", yaml: "audit:\n  sinks:\n    - {type: file, path: ''}\n",
              location: "3:26", message: "audit.sinks[0].path: must not be empty"),
        .init(name: "max_bytes too small", yaml: "audit:\n  sinks:\n    - {type: file, path: a.log, max_bytes: 100}\n",
              location: "3:44", message: "audit.sinks[0].max_bytes: expected 0 (no rotation) or at least 4096"),
        .init(name: "keep without rotation", yaml: "audit:\n  sinks:\n    - {type: file, path: a.log, max_bytes: 0, keep: 3}\n",
              location: "3:53", message: "audit.sinks[0].keep: applies only with rotation (max_bytes above 0)"),
        .init(name: "refusal limit zero", yaml: "audit:\n  sinks: [{type: stdout}]\n  unauthenticated_refusals: {per_second: 0}\n",
              location: "3:42", message: "audit.unauthenticated_refusals.per_second: must be between 1 and 1000000, found 0"),
        .init(name: "keep zero", yaml: "audit:\n  sinks:\n    - {type: file, path: a.log, max_bytes: 4096, keep: 0}\n",
              location: "3:56", message: "audit.sinks[0].keep: must be between 1 and 1000, found 0"),
        .init(name: "path on stdout", yaml: "audit:\n  sinks:\n    - {type: stdout, path: a.log}\n",
              location: "3:28", message: "audit.sinks[0].path: applies only to a file sink"),
        .init(name: "same file twice", yaml: "audit:\n  sinks:\n    - {type: file, path: a.log}\n    - {type: file, path: /etc/obsgate/a.log}\n",
              location: "4:7", message: "audit.sinks[1]: this sink is listed twice"),
        .init(name: "stdout twice", yaml: "audit:\n  sinks: [{type: stdout}, {type: stdout}]\n",
              location: "2:27", message: "audit.sinks[1]: this sink is listed twice"),
        .init(name: "unknown flush", yaml: "audit:\n  sinks: [{type: stdout}]\n  flush: always\n",
              location: "3:10", message: "audit.flush: expected per-record or batch, found 'always'"),
        .init(name: "batch_max_ms with per-record", yaml: "audit:\n  sinks: [{type: stdout}]\n  flush: per-record\n  batch_max_ms: 5\n",
              location: "4:17", message: "audit.batch_max_ms: applies only to flush: batch"),
        .init(name: "batch_max_ms zero", yaml: "audit:\n  sinks: [{type: stdout}]\n  batch_max_ms: 0\n",
              location: "3:17", message: "audit.batch_max_ms: must be between 1 and 60000, found 0"),
        .init(name: "queue_capacity not a number", yaml: "audit:\n  sinks: [{type: stdout}]\n  queue_capacity: lots\n",
              location: "3:19", message: "audit.queue_capacity: expected an integer"),
        .init(name: "fail_closed not a bool", yaml: "audit:\n  sinks: [{type: stdout}]\n  fail_closed: yes\n",
              location: "3:16", message: "audit.fail_closed: expected true or false, found 'yes'"),
        .init(name: "sinks not a list", yaml: "audit:\n  sinks: {type: stdout}\n",
              location: "2:10", message: "audit.sinks: expected a list, found a mapping"),
    ]

    @Test(arguments: errors)
    func errorsPointAtTheirLineAndColumn(_ testCase: AuditConfigurationErrorCase) throws {
        let error = try #require(throws: ConfigError.self) { try parse(testCase.yaml) }
        #expect("\(error.line):\(error.column)" == testCase.location, "\(error)")
        #expect(error.message.hasPrefix(testCase.message), "\(error)")
        #expect(error.description.hasPrefix("obsgate.yaml:\(testCase.location): error: "))
    }
}
