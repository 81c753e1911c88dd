import NIOHTTP1
import S3Core
import Testing
import YAMLConfig
@testable import Gateway

/// The `cors:` rules the gateway answers CORS from for stores without CORS support: parsed
/// from the configuration, matched as S3 matches a bucket's CORS rules.
@Suite struct CORSRulesTests {
    static let rules = """
        cors:
          - buckets: ["web-*"]
            allowed_origins: ["https://app.example.com", "https://*.example.org"]
            allowed_methods: [GET, PUT]
            allowed_headers: ["Content-Type", "x-amz-*"]
            expose_headers: [ETag]
            max_age_seconds: 600
          - buckets: [web-public, assets]
            allowed_origins: ["*"]
            allowed_methods: [GET, HEAD]
        """

    static func cors(_ yaml: String = rules) throws -> GatewayCORS {
        try #require(try TestSetup.configuration(TestSetup.configurationYAML(extra: yaml)).cors)
    }

    static func preflight(_ cors: GatewayCORS, bucket: String = "web-site", _ fields: [(String, String)]) throws(S3Error) -> [(String, String)] {
        try cors.preflight(bucket: bucket, headers: HeaderFields(fields))
    }

    static func value(_ name: String, in fields: [(String, String)]) -> String? {
        fields.first { $0.0 == name }?.1
    }

    @Test func theGatewayAnswersOnlyForTheBucketsItsRulesName() throws {
        let cors = try Self.cors()
        #expect(cors.answers(for: "web-site") && cors.answers(for: "assets"))
        #expect(!cors.answers(for: "backups") && !cors.answers(for: nil))
        #expect(try TestSetup.configuration().cors == nil, "without the section every preflight goes to the store")
    }

    @Test func anAllowedPreflightGetsTheRulesFields() throws {
        let fields = try Self.preflight(try Self.cors(), [
            ("Origin", "https://shop.example.org"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type, X-Amz-Date"),
        ])
        #expect(Self.value("Access-Control-Allow-Origin", in: fields) == "https://shop.example.org")
        #expect(Self.value("Access-Control-Allow-Credentials", in: fields) == "true")
        #expect(Self.value("Access-Control-Allow-Methods", in: fields) == "GET, PUT")
        #expect(Self.value("Access-Control-Allow-Headers", in: fields) == "content-type, x-amz-date")
        #expect(Self.value("Access-Control-Expose-Headers", in: fields) == "ETag")
        #expect(Self.value("Access-Control-Max-Age", in: fields) == "600")
        #expect(Self.value("Vary", in: fields)?.hasPrefix("Origin") == true)
    }

    @Test func aRuleForAnyOriginAnswersStarWithoutCredentials() throws {
        let fields = try Self.preflight(try Self.cors(), bucket: "assets", [
            ("Origin", "https://anyone.example.net"), ("Access-Control-Request-Method", "HEAD"),
        ])
        #expect(Self.value("Access-Control-Allow-Origin", in: fields) == "*")
        #expect(Self.value("Access-Control-Allow-Credentials", in: fields) == nil)
        #expect(Self.value("Access-Control-Max-Age", in: fields) == nil)
    }

    @Test func theFirstRuleThatAllowsEverythingAskedAnswers() throws {
        // web-public is named by both rules: a GET from any origin passes the second.
        let fields = try Self.preflight(try Self.cors(), bucket: "web-public", [
            ("Origin", "https://elsewhere.example.net"), ("Access-Control-Request-Method", "GET"),
        ])
        #expect(Self.value("Access-Control-Allow-Origin", in: fields) == "*")
    }

    @Test(arguments: [
        [("Origin", "https://evil.example.net"), ("Access-Control-Request-Method", "PUT")],
        [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "DELETE")],
        [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"),
         ("Access-Control-Request-Headers", "content-type, authorization")],
        // Origins match case-sensitively and whole: neither a prefix nor a suffix.
        [("Origin", "HTTPS://APP.EXAMPLE.COM"), ("Access-Control-Request-Method", "GET")],
        [("Origin", "https://app.example.com.evil.net"), ("Access-Control-Request-Method", "GET")],
        [("Origin", "https://.example.org.evil"), ("Access-Control-Request-Method", "GET")],
    ])
    func aPreflightNoRuleAllowsIsForbiddenAsS3Answers(_ fields: [(String, String)]) throws {
        let error = #expect(throws: S3Error.self) { try Self.preflight(try Self.cors(), fields) }
        #expect(error?.status == 403 && error?.code == "AccessForbidden")
    }

    @Test func aPreflightWithoutOriginOrMethodIsABadRequest() throws {
        let cors = try Self.cors()
        let noOrigin = #expect(throws: S3Error.self) { try Self.preflight(cors, [("Access-Control-Request-Method", "GET")]) }
        #expect(noOrigin?.status == 400 && noOrigin?.message == "Insufficient information. Origin request header needed.")
        let badMethod = #expect(throws: S3Error.self) {
            try Self.preflight(cors, [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PATCH")])
        }
        #expect(badMethod?.status == 400 && badMethod?.message == "Invalid Access-Control-Request-Method: PATCH")
    }

    @Test func anActualRequestGetsTheAllowingRulesFieldsAndAlwaysVary() throws {
        let cors = try Self.cors()
        let allowed = cors.responseFields(bucket: "web-site", origin: "https://app.example.com", method: "GET")
        #expect(Self.value("Access-Control-Allow-Origin", in: allowed) == "https://app.example.com")
        #expect(Self.value("Vary", in: allowed) == "Origin")
        let foreign = cors.responseFields(bucket: "web-site", origin: "https://evil.example.net", method: "GET")
        #expect(foreign.map(\.0) == ["Vary"])
        #expect(cors.responseFields(bucket: "web-site", origin: nil, method: "GET").map(\.0) == ["Vary"])
        #expect(cors.responseFields(bucket: "web-site", origin: "https://app.example.com", method: "DELETE").map(\.0) == ["Vary"])
    }

    @Test func theStoresAccessControlFieldsAreReplaced() {
        var headers = HTTPHeaders([("access-control-allow-origin", "*"), ("Access-Control-Allow-Methods", "DELETE"),
                                   ("ETag", "\"x\""), ("Vary", "Accept-Encoding")])
        headers.setCORSFields([("Access-Control-Allow-Origin", "https://app.example.com"), ("Vary", "Origin")])
        #expect(headers["access-control-allow-origin"] == ["https://app.example.com"])
        #expect(headers["access-control-allow-methods"].isEmpty)
        #expect(headers["vary"] == ["Accept-Encoding", "Origin"] && headers["etag"] == ["\"x\""])
    }

    @Test(arguments: [
        ("cors:\n  - buckets: [a]\n    allowed_origins: [\"https://*.*.example.com\"]\n    allowed_methods: [GET]", "at most one '*'"),
        ("cors:\n  - buckets: [a]\n    allowed_origins: [\"*\"]\n    allowed_methods: [PATCH]", "'PATCH' is not a method"),
        ("cors:\n  - buckets: [a]\n    allowed_origins: [\"*\"]", "allowed_methods"),
        ("cors:\n  - buckets: []\n    allowed_origins: [\"*\"]\n    allowed_methods: [GET]", "at least one bucket"),
        ("cors:\n  - buckets: [a]\n    allowed_origins: [\"*\"]\n    allowed_methods: [GET]\n    max_age_seconds: -1", "max_age_seconds"),
        ("cors:\n  - buckets: [\"[a\"]\n    allowed_origins: [\"*\"]\n    allowed_methods: [GET]", "invalid glob"),
    ])
    func aMistakeInTheRulesIsACallOutAtItsLine(_ yaml: String, _ expected: String) {
        let error = #expect(throws: ConfigError.self) { try TestSetup.configuration(TestSetup.configurationYAML(extra: yaml)) }
        #expect(error.map { "\($0)" }?.contains(expected) == true, "\(error.map { "\($0)" } ?? "")")
    }
}
