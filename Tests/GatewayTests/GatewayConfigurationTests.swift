import Audit
import Foundation
import Testing
import YAMLConfig
@testable import Gateway

/// The `audit:` and `tracing:` sections of the gateway configuration.
@Suite struct GatewayConfigurationTests {
    @Test func withoutTheSectionsThereIsNoAuditTrailAndTheRequestIdGoesUpstream() throws {
        let configuration = try TestSetup.configuration()
        #expect(configuration.audit == nil)
        #expect(configuration.requestIdHeader == "x-obsgate-request-id")
    }

    @Test func theAuditSectionIsReadWithPathsRelativeToTheConfigurationFile() throws {
        let configuration = try TestSetup.configuration(TestSetup.configurationYAML(extra: """
            audit:
              sinks: [{type: file, path: audit/audit.log}, {type: stdout}]
              flush: per-record
              fail_closed: true
            """))
        let audit = try #require(configuration.audit)
        #expect(audit.sinks == [.file(path: "/etc/obsgate/audit/audit.log", maxBytes: AuditConfiguration.defaultMaxBytes, keep: 5), .stdout])
        #expect(audit.flush == .perRecord)
        #expect(audit.failClosed)
    }

    @Test func anAuditErrorNamesItsPlace() throws {
        let error = #expect(throws: ConfigError.self) {
            try TestSetup.configuration(TestSetup.configurationYAML(extra: "audit:\n  sinks: [{type: syslog}]"))
        }
        #expect(error?.file == "obsgate.yaml")
        #expect(error?.message.contains("expected file or stdout") == true)
    }

    /// Upstream keys follow the client secrets' rules: one of inline, `_env`, `_file`; a
    /// file's trailing newline is not part of the key; an empty one is an error.
    @Test func upstreamKeysAreReadLikeClientSecrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try "upstream-secret\n".write(to: file, atomically: true, encoding: .utf8)
        let yaml = TestSetup.configurationYAML()
            .replacingOccurrences(of: "secret_key: \(TestSetup.upstreamSecret)", with: "secret_key_file: \(file.path)")
        #expect(try TestSetup.configuration(yaml).upstream.profiles["default"]?.secretAccessKey == "upstream-secret")

        try "\n".write(to: file, atomically: true, encoding: .utf8)
        let empty = #expect(throws: ConfigError.self) { try TestSetup.configuration(yaml) }
        #expect(empty?.message.contains("the secret key is empty") == true)

        let both = TestSetup.configurationYAML().replacingOccurrences(
            of: "secret_key: \(TestSetup.upstreamSecret)", with: "secret_key: a\n      secret_key_env: B")
        let twice = #expect(throws: ConfigError.self) { try TestSetup.configuration(both) }
        #expect(twice?.message.contains("give exactly one of secret_key, secret_key_env or secret_key_file for the secret key (found secret_key, secret_key_env)") == true)
    }

    @Test(arguments: [("X-Trace-Request", "x-trace-request"), ("false", nil)] as [(String, String?)])
    func theRequestIdHeaderCanBeRenamedOrTurnedOff(_ value: String, _ expected: String?) throws {
        let configuration = try TestSetup.configuration(TestSetup.configurationYAML(extra: "tracing: {request_id_header: \(value)}"))
        #expect(configuration.requestIdHeader == expected)
    }

    /// Names S3 gives a meaning to (or the signatures cover) would change what the upstream
    /// does with the request; they are refused, as is anything that is not a field name.
    @Test(arguments: ["x-amz-meta-id", "X-Obs-Request-Id", "authorization", "host", "traceparent", "\"x-a b\"", "true", "x-"])
    func aRequestIdHeaderThatCouldChangeTheRequestIsRefused(_ value: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try TestSetup.configuration(TestSetup.configurationYAML(extra: "tracing: {request_id_header: \(value)}"))
        }
        #expect(error?.line == 14)
    }
}

/// `tracing.otlp`: off without it; the collector's path added to a bare origin; the ratio.
@Suite struct TracingConfigurationTests {
    @Test func theSectionTurnsTracingOn() throws {
        #expect(try TestSetup.configuration().otlpTracing == nil)
        let bare = try TestSetup.configuration(TestSetup.configurationYAML(extra: "tracing:\n  otlp: {endpoint: \"http://127.0.0.1:4318/\"}"))
        #expect(bare.otlpTracing == GatewayConfiguration.OTLPTracing(endpoint: "http://127.0.0.1:4318/v1/traces"))
        let full = try TestSetup.configuration(TestSetup.configurationYAML(extra: """
            tracing:
              otlp: {endpoint: "https://collector.example:4318/custom/traces", service_name: edge, export_delay_ms: 50, sample_ratio: 0.25}
            """))
        var expected = GatewayConfiguration.OTLPTracing(endpoint: "https://collector.example:4318/custom/traces")
        expected.serviceName = "edge"
        expected.exportDelayMilliseconds = 50
        expected.sampleRatio = 0.25
        #expect(full.otlpTracing == expected)
    }

    @Test(arguments: [("{endpoint: collector:4318}", "expected an http or https URL"),
                      ("{endpoint: \"http://c:4318\", sample_ratio: 2}", "from 0 to 1"),
                      ("{endpoint: \"http://c:4318\", export_delay_ms: 5}", "export_delay_ms"),
                      ("{service_name: x}", "endpoint")])
    func aMistakeIsACallOut(_ otlp: String, _ expected: String) {
        let error = #expect(throws: ConfigError.self) {
            try TestSetup.configuration(TestSetup.configurationYAML(extra: "tracing:\n  otlp: \(otlp)"))
        }
        #expect(error.map { "\($0)" }?.contains(expected) == true, "\(error.map { "\($0)" } ?? "")")
    }
}
