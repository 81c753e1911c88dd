import Audit
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
        #expect(audit.sinks == [.file(path: "/etc/obsgate/audit/audit.log", maxBytes: nil, keep: 5), .stdout])
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
