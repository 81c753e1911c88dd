import S3Signing
import Testing
import YAMLConfig
@testable import Gateway

/// `upload_binding` and `public_endpoint`, as the configuration reads them.
@Suite struct UploadBindingConfigurationTests {
    static func configuration(_ extra: String, environment: [String: String] = [:]) throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(TestSetup.configurationYAML(extra: extra), file: "obsgate.yaml",
                                       baseDirectory: "/etc/obsgate", environment: environment)
    }

    @Test func keysBindNewestFirstAndLegacyIdsAreRefusedByDefault() throws {
        let configuration = try Self.configuration("""
            upload_binding:
              keys:
                - {id: k2, secret_env: BINDING_K2}
                - {id: k1, secret: "first-binding-key-0123456789abcdef"}
            """, environment: ["BINDING_K2": "second-binding-key-0123456789abcdef"])
        let binding = configuration.uploadBinding
        #expect(binding.keysConfigured && binding.legacyIds == .refuse)
        #expect(binding.binder.keys.map(\.id) == ["k2", "k1"])
        #expect(binding.binder.bind(.init(upstreamId: "u", bucket: "b", key: "k", initiator: "a")).contains(".k2."))
        let allowing = try Self.configuration("upload_binding:\n  keys: [{id: k1, secret: \"first-binding-key-0123456789abcdef\"}]\n  legacy_ids: allow")
        #expect(allowing.uploadBinding.legacyIds == .allow)
    }

    @Test func withoutTheSectionAKeyIsMadeAtStart() throws {
        let first = try TestSetup.configuration(), second = try TestSetup.configuration()
        #expect(!first.uploadBinding.keysConfigured)
        let id = first.uploadBinding.binder.bind(.init(upstreamId: "u", bucket: "b", key: "k", initiator: "a"))
        #expect(second.uploadBinding.binder.verify(id, bucket: "b", key: "k") == .forged, "each process has its own key")
    }

    @Test(arguments: [
        ("upload_binding:\n  keys: [{id: k1, secret: short}]", "at least 32 bytes"),
        ("upload_binding:\n  keys: [{id: \"k 1\", secret: \"first-binding-key-0123456789abcdef\"}]", "key id"),
        ("upload_binding:\n  keys: [{id: k1, secret: \"first-binding-key-0123456789abcdef\"}, {id: k1, secret: \"second-binding-key-0123456789abcdef\"}]", "given twice"),
        ("upload_binding:\n  keys: []", "at least one key"),
        ("upload_binding:\n  keys: [{id: k1}]", "give exactly one of secret"),
        ("upload_binding:\n  keys: [{id: k1, secret: \"first-binding-key-0123456789abcdef\"}]\n  legacy_ids: sometimes", "refuse or allow"),
        ("public_endpoint: s3.example.com", "expected an origin"),
        ("public_endpoint: https://s3.example.com/path", "expected an origin"),
    ])
    func aMistakeIsACallOutAtItsLine(_ extra: String, _ expected: String) {
        let error = #expect(throws: ConfigError.self) { try Self.configuration(extra) }
        #expect(error?.message.contains(expected) == true, "\(error.map { "\($0)" } ?? "")")
    }

    @Test func thePublicEndpointIsAnOrigin() throws {
        #expect(try Self.configuration("public_endpoint: https://s3.example.com/").publicEndpoint == "https://s3.example.com")
        #expect(try Self.configuration("public_endpoint: http://127.0.0.1:9000").publicEndpoint == "http://127.0.0.1:9000")
        #expect(try TestSetup.configuration().publicEndpoint == nil)
    }
}
