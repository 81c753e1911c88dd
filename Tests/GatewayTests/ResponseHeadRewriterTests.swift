import NIOHTTP1
import S3Core
import Testing
import YAMLConfig
@testable import Gateway

@Suite struct ResponseHeadRewriterTests {
    static func head(_ fields: [(String, String)], status: HTTPResponseStatus = .ok) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(fields))
    }

    @Test func defaultsDropHopByHopAndRevealingFieldsAndAddTheGatewayRequestId() {
        let rewritten = ResponseHeadRewriter(rules: []).rewrite(
            Self.head([("Server", "Ceph"), ("x-reserved", "amazon, aws and amazon web services are trademarks"),
                       ("Connection", "keep-alive, x-hop"), ("x-hop", "1"), ("Keep-Alive", "timeout=5"),
                       ("Transfer-Encoding", "chunked"), ("ETag", "\"abc\""), ("x-amz-request-id", "UP-1")]),
            requestId: "GW-1", clientDialect: .s3, operation: "GetObject")
        let names = rewritten.headers.map { $0.name.lowercased() }
        #expect(names == ["etag", "x-amz-request-id", "x-obsgate-request-id"])
        #expect(rewritten.headers["x-amz-request-id"] == ["UP-1"], "the upstream's request id is kept")
        #expect(rewritten.headers["x-obsgate-request-id"] == ["GW-1"])
    }

    @Test func connectionNamesOnlyTheEndToEndFieldsItLists() {
        #expect(HopByHop.endToEndNamesInConnection(HeaderFields([("Host", "h")])).isEmpty)
        #expect(HopByHop.endToEndNamesInConnection(HeaderFields([("Connection", "keep-alive"), ("connection", "Close, TE")]))
            .isEmpty, "options and hop-by-hop fields are not end-to-end names")
        #expect(HopByHop.endToEndNamesInConnection(HeaderFields([("CONNECTION", " X-Amz-Acl ,, upgrade"), ("Connection", "x-b")]))
            == ["x-amz-acl", "x-b"])
        #expect(HopByHop.endToEndNamesInConnection(HTTPHeaders([("connection", "x-hop")])) == ["x-hop"])
    }

    @Test func obsResponsesAreTranslatedForS3ClientsAndKeptForOBSClients() {
        let upstream = Self.head([("x-obs-request-id", "R"), ("x-obs-id-2", "H"), ("x-obs-storage-class", "WARM"),
                                  ("x-obs-server-side-encryption", "kms"),
                                  ("x-obs-server-side-encryption-kms-key-id", "k1"), ("x-obs-meta-team", "blue")])
        let forS3 = ResponseHeadRewriter(rules: []).rewrite(upstream, requestId: "G", clientDialect: .s3, operation: "HeadObject")
        #expect(forS3.headers["x-amz-request-id"] == ["R"])
        #expect(forS3.headers["x-amz-id-2"].isEmpty, "x-obs-id-2 names an internal host: removed by default")
        #expect(forS3.headers["x-amz-storage-class"] == ["STANDARD_IA"])
        #expect(forS3.headers["x-amz-server-side-encryption"] == ["aws:kms"])
        #expect(forS3.headers["x-amz-server-side-encryption-aws-kms-key-id"] == ["k1"])
        #expect(forS3.headers["x-amz-meta-team"] == ["blue"])
        #expect(!forS3.headers.contains { $0.name.lowercased().hasPrefix("x-obs-") })
        let forOBS = ResponseHeadRewriter(rules: []).rewrite(upstream, requestId: "G", clientDialect: .obs, operation: "HeadObject")
        #expect(forOBS.headers["x-obs-storage-class"] == ["WARM"])
    }

    @Test(arguments: [
        // (upstream host, client origin, client style, upstream Location, client Location)
        ("10.0.0.5:7480", "https://gw.example", AddressingStyle.path, "http://10.0.0.5:7480/bkt/a/b%20c?x=1", "https://gw.example/bkt/a/b%20c?x=1"),
        ("10.0.0.5:7480", "https://bkt.s3.gw.example", .virtualHosted, "http://10.0.0.5:7480/bkt/a/b", "https://bkt.s3.gw.example/a/b"),
        ("obs.internal", "http://127.0.0.1:9000", .path, "https://bkt.obs.internal/a/b", "http://127.0.0.1:9000/bkt/a/b"),
        ("obs.internal", "https://bkt.s3.gw.example", .virtualHosted, "HTTPS://BKT.OBS.INTERNAL:443/a", "https://bkt.s3.gw.example/a"),
        ("obs.internal", "https://bkt.s3.gw.example", .virtualHosted, "https://bkt.obs.internal", "https://bkt.s3.gw.example/"),
        ("10.0.0.5:7480", "https://gw.example", .path, "http://10.0.0.5:7480", "https://gw.example/"),
        // Not at the upstream: a form's success_action_redirect target, a relative URL.
        ("10.0.0.5:7480", "https://gw.example", .path, "https://app.example/done?bucket=bkt", "https://app.example/done?bucket=bkt"),
        ("10.0.0.5:7480", "https://gw.example", .path, "http://10.0.0.50:7480/bkt/k", "http://10.0.0.50:7480/bkt/k"),
        ("10.0.0.5:7480", "https://gw.example", .path, "/bkt", "/bkt"),
    ])
    func anUpstreamLocationIsPutAtTheGateway(_ upstream: String, _ origin: String, _ style: AddressingStyle,
                                            _ location: String, _ expected: String) {
        let rewriter = UpstreamLocationRewriter(upstreamHost: upstream, clientOrigin: origin, clientStyle: style)
        let rewritten = ResponseHeadRewriter(rules: []).rewrite(Self.head([("Location", location)], status: .created),
                                                                requestId: "G", clientDialect: .s3, operation: "PostObject",
                                                                location: rewriter)
        #expect(rewritten.headers["Location"] == [expected])
    }

    @Test func configuredRulesApplyInOrderAndByScope() throws {
        let configuration = try TestSetup.configuration(TestSetup.configurationYAML(extra: """
            response_headers:
              - remove: [x-amz-id-2]
              - set: {Strict-Transport-Security: "max-age=63072000"}
              - operations: [GetObject]
                status: [2xx]
                rename: {x-amz-meta-team: x-amz-meta-owner}
                add: {Cache-Control: private}
              - status: [404]
                set: {x-note: missing}
            """))
        let rewriter = ResponseHeadRewriter(rules: configuration.responseHeaderRules)
        let ok = rewriter.rewrite(Self.head([("x-amz-id-2", "h"), ("x-amz-meta-team", "blue")]), requestId: "G",
                                  clientDialect: .s3, operation: "GetObject")
        #expect(ok.headers["x-amz-id-2"].isEmpty)
        #expect(ok.headers["Strict-Transport-Security"] == ["max-age=63072000"])
        #expect(ok.headers["x-amz-meta-owner"] == ["blue"])
        #expect(ok.headers["x-amz-meta-team"].isEmpty)
        #expect(ok.headers["Cache-Control"] == ["private"])
        #expect(ok.headers["x-note"].isEmpty)
        let head = rewriter.rewrite(Self.head([("x-amz-meta-team", "blue")]), requestId: "G", clientDialect: .s3, operation: "HeadObject")
        #expect(head.headers["x-amz-meta-team"] == ["blue"], "the GetObject-scoped rule does not apply to HeadObject")
        let missing = rewriter.rewrite(Self.head([], status: .notFound), requestId: "G", clientDialect: .s3, operation: "GetObject")
        #expect(missing.headers["x-note"] == ["missing"])
        #expect(missing.headers["Cache-Control"].isEmpty)
    }

    @Test(arguments: [
        ("response_headers:\n  - status: [2x]\n    remove: [a]", "expected a status class"),
        ("response_headers:\n  - operations: [GetObject]", "at least one of remove, rename, set, add"),
        ("response_headers:\n  - sett: {a: b}", "unknown key 'sett'"),
    ])
    func badRulesAreLoadErrors(_ yaml: String, _ message: String) {
        let error = #expect(throws: ConfigError.self) { try TestSetup.configuration(TestSetup.configurationYAML(extra: yaml)) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func theDialectFollowsTheSigningUnlessGiven() throws {
        #expect(try TestSetup.configuration(TestSetup.configurationYAML(signing: "obs")).upstream.dialect == .obs)
        #expect(try TestSetup.configuration(TestSetup.configurationYAML(signing: "v4")).upstream.dialect == .s3)
        let explicit = TestSetup.configurationYAML(signing: "v2").replacingOccurrences(of: "signing: v2", with: "signing: v2\n  dialect: obs")
        #expect(try TestSetup.configuration(explicit).upstream.dialect == .obs)
    }
}
