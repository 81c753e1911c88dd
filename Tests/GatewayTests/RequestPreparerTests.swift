import Foundation
import Policy
import S3Core
import S3Signing
import Testing
@testable import Gateway

@Suite struct RequestPreparerTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    /// Verifies an upstream head the way the upstream store would: with the upstream's keys.
    func verifyAsUpstream(_ head: UpstreamRequestHead, addressing: [String] = []) throws -> AuthenticatedRequest {
        let target = try RequestTarget(parsing: head.target)
        let address = try S3AddressResolver(baseDomains: addressing).resolve(host: head.headers["Host"], target: target)
        let authenticator = RequestAuthenticator(
            settings: AuthenticationSettings(regions: ["us-east-1"]),
            secrets: StaticUpstreamSecrets())
        return try authenticator.authenticate(method: head.method, target: target, headers: head.headers,
                                              address: address, now: now)
    }

    struct StaticUpstreamSecrets: SecretLookup {
        func secret(forAccessKey accessKeyId: String) -> String? {
            accessKeyId == TestSetup.upstreamKey ? TestSetup.upstreamSecret : nil
        }
    }

    /// A browser's CORS preflight is not signed: it goes upstream re-signed with the
    /// anonymous (default) profile, carrying the browser's question and nothing else, and
    /// no policy judges it, even one that denies everything to everyone.
    @Test func anUnsignedPreflightGoesUpstreamReSignedWithItsQuestion() throws {
        let head = ClientRequestHead(method: "OPTIONS", uri: "/bucket/photo.jpg", headers: HeaderFields([
            ("Host", "127.0.0.1:9000"), ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type"), ("Accept", "*/*"),
        ]))
        let denyAll = try UploadPolicy.parse("""
            version: 1
            access:
              - {id: nobody, operations: [read, list, write, multipart, delete, object-config, bucket-config], effect: deny}
            """, file: "policy.yaml")
        let preparer = try RequestPreparer(configuration: TestSetup.configuration(), credentials: TestSetup.credentials(),
                                           policy: denyAll)
        let prepared = try preparer.prepare(head, now: now)
        #expect(prepared.operation == .preflightObject)
        #expect(prepared.identity == nil)
        #expect(prepared.upstream.method == "OPTIONS")
        #expect(prepared.upstream.headers["Origin"] == "https://app.example.com")
        #expect(prepared.upstream.headers["Access-Control-Request-Method"] == "PUT")
        #expect(prepared.upstream.headers["Access-Control-Request-Headers"] == "content-type")
        #expect(prepared.upstream.headers["Accept"] == nil)
        #expect(try verifyAsUpstream(prepared.upstream).accessKeyId == TestSetup.upstreamKey)
        let bucketLevel = ClientRequestHead(method: "OPTIONS", uri: "/bucket", headers: head.headers)
        #expect(try preparer.prepare(bucketLevel, now: now).operation == .preflightBucket)
        let withQuery = ClientRequestHead(method: "OPTIONS", uri: "/bucket/photo.jpg?acl", headers: head.headers)
        #expect(throws: RequestRefusal.self) { try preparer.prepare(withQuery, now: now) }
    }

    @Test func aSignedInitiateIsRebuiltAndReSignedForTheUpstream() throws {
        let head = try TestSetup.signedClientHead(
            method: "POST", target: "/bucket/dir/a%20b%2Bc%3D%3A%40%C3%A9?uploads",
            headers: [("x-amz-storage-class", "STANDARD_IA"), ("Connection", "keep-alive, te"), ("TE", "trailers"),
                      ("x-custom", "not S3's"), ("Accept", "*/*"), ("User-Agent", "test")],
            now: now)
        let prepared = try TestSetup.preparer().prepare(head, now: now)
        #expect(prepared.operation == .createMultipartUpload)
        #expect(prepared.address.key == "dir/a b+c=:@é")
        #expect(prepared.identity?.principal == "tester")
        #expect(prepared.upstream.target == "/bucket/dir/a%20b%2Bc%3D%3A%40%C3%A9?uploads")
        #expect(prepared.upstream.headers["Host"] == "127.0.0.1:8000")
        #expect(prepared.upstream.headers["x-amz-storage-class"] == "STANDARD_IA")
        #expect(prepared.upstream.headers["User-Agent"] == "test")
        // Hop-by-hop fields stay on this hop; fields S3 does not read are not forwarded.
        #expect(prepared.upstream.headers["Connection"] == nil)
        #expect(prepared.upstream.headers["TE"] == nil)
        #expect(prepared.upstream.headers["x-custom"] == nil)
        #expect(prepared.upstream.headers["Accept"] == nil)
        // The client's signature is gone; the upstream's verifies with the upstream key.
        #expect(!(prepared.upstream.headers["Authorization"]?.contains(TestSetup.clientKey) ?? true))
        let verified = try verifyAsUpstream(prepared.upstream)
        #expect(verified.accessKeyId == TestSetup.upstreamKey)
    }

    /// The gateway reads error answers and rewrites others, so the upstream is asked for
    /// its answers uncompressed, whatever the client would accept.
    @Test func theUpstreamIsAskedForAnswersWithoutContentCoding() throws {
        for clientAccepts in [nil, "gzip, deflate, br", "identity"] {
            let head = try TestSetup.signedClientHead(method: "POST", target: "/bucket/key?uploads",
                                                      headers: clientAccepts.map { [("Accept-Encoding", $0)] } ?? [], now: now)
            let prepared = try TestSetup.preparer().prepare(head, now: now)
            #expect(prepared.upstream.headers.values("accept-encoding") == ["identity"], "client sent \(clientAccepts ?? "none")")
        }
    }

    @Test func presignedAuthenticationParametersAreNotForwarded() throws {
        let target = try TestSetup.presignedTarget(method: "GET", path: "/bucket/key", query: "versionId=v1", now: now)
        let head = ClientRequestHead(method: "GET", uri: target, headers: HeaderFields([("Host", "127.0.0.1:9000")]))
        let prepared = try TestSetup.preparer().prepare(head, now: now)
        #expect(prepared.scheme == .sigV4Presigned)
        #expect(prepared.upstream.target == "/bucket/key?versionId=v1")
        #expect(try verifyAsUpstream(prepared.upstream).accessKeyId == TestSetup.upstreamKey)
    }

    @Test func virtualHostedClientToVirtualHostedUpstream() throws {
        let head = try TestSetup.signedClientHead(method: "GET", target: "/some/key", host: "my.bucket.s3.gateway.test", now: now)
        let prepared = try TestSetup.preparer(TestSetup.configurationYAML(addressing: "virtual-hosted")).prepare(head, now: now)
        #expect(prepared.address == S3Address(style: .virtualHosted, bucket: "my.bucket", key: "some/key"))
        #expect(prepared.upstream.headers["Host"] == "my.bucket.127.0.0.1:8000")
        #expect(prepared.upstream.target == "/some/key")
    }

    @Test(arguments: ["v2", "obs"])
    func hmacV1UpstreamSignaturesVerify(_ scheme: String) throws {
        let preparer = try TestSetup.preparer(TestSetup.configurationYAML(signing: scheme))
        let uploadId = preparer.configuration.uploadBinding.binder.bind(.init(upstreamId: "u1", bucket: "bucket", key: "k",
                                                                              initiator: "tester"))
        let head = try TestSetup.signedClientHead(method: "PUT", target: "/bucket/k?uploadId=\(uploadId)&partNumber=2",
                                                  headers: [("Content-Length", "5")], now: now)
        let prepared = try preparer.prepare(head, now: now)
        #expect(prepared.operation == .uploadPart)
        #expect(prepared.upstream.target == "/bucket/k?uploadId=u1&partNumber=2", "the upstream gets its own id")
        #expect(prepared.upstream.headers["Authorization"]?.hasPrefix(scheme == "v2" ? "AWS " : "OBS ") == true)
        #expect(prepared.upstream.headers["Content-Length"] == "5")
        let verified = try verifyAsUpstream(prepared.upstream)
        #expect(verified.scheme == (scheme == "v2" ? .sigV2Header : .obsHeader))
    }

    @Test func awsChunkedBodiesGoUpstreamDecodedWithTheirDecodedLength() throws {
        let head = try TestSetup.signedClientHead(
            method: "PUT", target: "/bucket/key",
            headers: [("Content-Encoding", "aws-chunked"), ("Transfer-Encoding", "chunked"),
                      ("x-amz-decoded-content-length", "1234"), ("x-amz-trailer", "x-amz-checksum-crc32"),
                      ("x-amz-sdk-checksum-algorithm", "CRC32")],
            payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", now: now)
        let prepared = try TestSetup.preparer().prepare(head, now: now)
        #expect(prepared.upstreamBody == .exactly(1234))
        #expect(prepared.upstream.headers["Content-Length"] == "1234")
        #expect(prepared.upstream.headers["Content-Encoding"] == nil)
        #expect(prepared.upstream.headers["Transfer-Encoding"] == nil)
        #expect(prepared.upstream.headers["x-amz-trailer"] == nil)
        #expect(prepared.upstream.headers["x-amz-decoded-content-length"] == nil)
        #expect(prepared.bodyVerifiedAtEnd)
    }

    @Test func aChunkedBodyWithoutALengthIsRefused() throws {
        let head = try TestSetup.signedClientHead(method: "PUT", target: "/bucket/key",
                                                  headers: [("Transfer-Encoding", "chunked")], now: now)
        let error = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
        #expect(error?.error.code == "MissingContentLength")
        #expect(error?.error.status == 411)
    }

    @Test func unsignedRequestsAreRefusedUnlessTheBucketAllowsAnonymousReads() throws {
        let anonymousGet = ClientRequestHead(method: "GET", uri: "/public/logo.png", headers: HeaderFields([("Host", "gw")]))
        let refused = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(anonymousGet, now: now) }
        #expect(refused?.error.code == "AccessDenied")
        #expect(refused?.error.resource == "/public/logo.png")

        let open = try TestSetup.preparer(TestSetup.configurationYAML(extra: "anonymous: {read_buckets: [public]}"))
        let prepared = try open.prepare(anonymousGet, now: now)
        #expect(prepared.identity == nil)
        #expect(try verifyAsUpstream(prepared.upstream).accessKeyId == TestSetup.upstreamKey)
        let anonymousPut = ClientRequestHead(method: "PUT", uri: "/public/x", headers: HeaderFields([("Host", "gw")]))
        #expect(throws: RequestRefusal.self) { try open.prepare(anonymousPut, now: now) }
    }

    /// S3 refuses response header overrides and version selection to anonymous readers:
    /// `?response-content-type=text/html` would serve any public object as a page.
    @Test(arguments: ["response-content-type=text%2Fhtml", "response-content-disposition=inline", "versionId=v1"])
    func anonymousReadsTakeTheObjectAsItIs(_ query: String) throws {
        let open = try TestSetup.preparer(TestSetup.configurationYAML(extra: "anonymous: {read_buckets: [public]}"))
        let head = ClientRequestHead(method: "GET", uri: "/public/logo.png?\(query)", headers: HeaderFields([("Host", "gw")]))
        let error = #expect(throws: RequestRefusal.self) { try open.prepare(head, now: now) }
        #expect(error?.error.code == "InvalidRequest")
        #expect(error?.error.status == 400)
    }

    @Test func unknownShapesAreNotForwarded() throws {
        let head = try TestSetup.signedClientHead(method: "POST", target: "/bucket/key?frobnicate", now: now)
        let error = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
        #expect(error?.error.code == "NotImplemented")
        #expect(error?.error.status == 501)
    }

    @Test func headerParametersOfAPresignedURLBecomeHeaders() throws {
        let head = try TestSetup.signedClientHead(method: "PUT", target: "/bucket/key?x-amz-acl=private",
                                                  headers: [("Content-Length", "0")], now: now)
        let prepared = try TestSetup.preparer().prepare(head, now: now)
        #expect(prepared.upstream.headers["x-amz-acl"] == "private")
        #expect(prepared.upstream.target == "/bucket/key")
    }

    @Test func aHeaderParameterThatContradictsAHeaderIsRefused() throws {
        let head = try TestSetup.signedClientHead(method: "PUT", target: "/bucket/key?x-amz-acl=public-read",
                                                  headers: [("x-amz-acl", "private"), ("Content-Length", "0")], now: now)
        let error = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
        #expect(error?.error.code == "InvalidArgument")
    }

    /// Fields the gateway cannot judge are refused before anything reads them, naming the
    /// field: a Connection token naming an end-to-end field (its removal would undo what the
    /// policy injected), a name with '_' (radosgw reads x_amz_acl as x-amz-acl), an
    /// x-amz-/x-obs- field the operation does not define (an OBS look-alike included), and
    /// a conditional field the operation does not define.
    @Test("fields the gateway cannot judge are refused", arguments: [
        ("PUT", [("Connection", "keep-alive, x-amz-server-side-encryption")], "x-amz-server-side-encryption"),
        ("PUT", [("Connection", "x-amz-copy-source")], "x-amz-copy-source"),
        ("PUT", [("x_amz_acl", "public-read")], "x_amz_acl"),
        ("PUT", [("x-obs-server-side-encryption-aws-kms-key-id", "k")], "x-obs-server-side-encryption-aws-kms-key-id"),
        ("PUT", [("x-amz-unheard-of", "1")], "x-amz-unheard-of"),
        ("PUT", [("x-amz-metadata-directive", "REPLACE")], "x-amz-metadata-directive"),
        ("PUT", [("Range", "bytes=0-1")], "range"),
        ("GET", [("x-amz-acl", "public-read")], "x-amz-acl"),
    ] as [(String, [(String, String)], String)])
    func fieldsTheGatewayCannotJudgeAreRefused(_ method: String, _ headers: [(String, String)], _ named: String) throws {
        let head = try TestSetup.signedClientHead(method: method, target: "/bucket/key",
                                                  headers: headers + (method == "PUT" ? [("Content-Length", "0")] : []),
                                                  now: now)
        let error = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
        #expect(error?.error.code == "InvalidArgument")
        #expect(error?.error.message.contains(named) == true, "\(error?.error.message ?? "")")
    }

    @Test("S3's bucket naming rules", arguments: [
        ("/ab/k", false), ("/abc/k", true), ("/Abc/k", false), ("/a_b/k", false), ("/-ab/k", false), ("/ab-/k", false),
        ("/a..b/k", false), ("/192.168.1.1/k", false), ("/finance.s3.up.example:1/k", false),
        ("/\(String(repeating: "a", count: 63))/k", true), ("/\(String(repeating: "a", count: 64))/k", false),
        ("/my.bucket-1/k", true), ("/.abc/k", false), ("/abc./k", false), ("/1.2.3/k", true), ("/1.2.3.4/k", false),
        ("/1.2.3.4.5/k", true), ("/1.2.3.a/k", true), ("/ab%C3%A9/k", false), ("/a.-b/k", true), ("/a-.b/k", true),
    ])
    func bucketNames(_ target: String, _ valid: Bool) throws {
        let head = ClientRequestHead(method: "GET", uri: target, headers: HeaderFields([("Host", "127.0.0.1:9000")]))
        if valid {
            #expect(try TestSetup.preparer().classify(head).address.bucket != nil)
        } else {
            let error = #expect(throws: S3Error.self) { try TestSetup.preparer().classify(head) }
            #expect(error?.code == "InvalidBucketName")
        }
    }

    @Test func aKeyLongerThan1024BytesIsRefused() throws {
        let fits = ClientRequestHead(method: "GET", uri: "/bucket/" + String(repeating: "k", count: 1024),
                                     headers: HeaderFields([("Host", "127.0.0.1:9000")]))
        #expect(try TestSetup.preparer().classify(fits).address.key?.utf8.count == 1024)
        let long = ClientRequestHead(method: "GET", uri: "/bucket/" + String(repeating: "%C3%A9", count: 513),
                                     headers: HeaderFields([("Host", "127.0.0.1:9000")]))
        let error = #expect(throws: S3Error.self) { try TestSetup.preparer().classify(long) }
        #expect(error?.code == "KeyTooLongError")
        #expect(error?.status == 400)
    }

    /// An ACL comes in headers or in a body, never both: the policy judges the headers.
    @Test(arguments: [
        ("/bucket/key?acl", [("x-amz-acl", "private")], "<AccessControlPolicy/>", "InvalidRequest"),
        ("/bucket?acl", [("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")], "<AccessControlPolicy/>", "InvalidRequest"),
        ("/bucket/key?acl", [("x-amz-acl", "private")], "", nil),
        ("/bucket/key?acl", [], "<AccessControlPolicy/>", nil),
    ] as [(String, [(String, String)], String, String?)])
    func anACLInHeadersAndBodyIsRefused(_ target: String, _ headers: [(String, String)], _ body: String, _ code: String?) throws {
        let head = try TestSetup.signedClientHead(method: "PUT", target: target,
                                                  headers: headers + [("Content-Length", String(body.utf8.count))], now: now)
        if let code {
            let error = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
            #expect(error?.error.code == code)
        } else {
            #expect(try TestSetup.preparer().prepare(head, now: now).upstream.method == "PUT")
        }
    }

    @Test func aSecondHostHeaderIsRefused() throws {
        var head = try TestSetup.signedClientHead(method: "GET", target: "/bucket/key", now: now)
        head.headers.add("Host", "other.example")
        #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
    }

    @Test func theRequestIdGoesUpstreamSignedAndTheClientCannotChooseIt() throws {
        let head = try TestSetup.signedClientHead(
            method: "GET", target: "/bucket/key",
            headers: [("x-obsgate-request-id", "chosen-by-client"),
                      ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")], now: now)
        let prepared = try TestSetup.preparer().prepare(head, requestId: "0123456789ABCDEF", now: now)
        #expect(prepared.upstream.headers.values("x-obsgate-request-id") == ["0123456789ABCDEF"])
        #expect(prepared.upstream.headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(try verifyAsUpstream(prepared.upstream).accessKeyId == TestSetup.upstreamKey)

        let silent = try TestSetup.preparer(TestSetup.configurationYAML(extra: "tracing: {request_id_header: false}"))
            .prepare(head, requestId: "0123456789ABCDEF", now: now)
        #expect(silent.upstream.headers["x-obsgate-request-id"] == nil)
    }

    /// A refused request still says who claimed to send it and what it was.
    @Test func aRefusalKeepsTheClaimedKeyAndTheAddress() throws {
        let head = ClientRequestHead(
            method: "PUT", uri: "/bucket/key",
            headers: try TestSetup.signedHeaders(method: "PUT", target: "/bucket/key", host: "127.0.0.1:9000",
                                                 headers: [("Content-Length", "0")], now: now, secret: "wrong"))
        let refusal = #expect(throws: RequestRefusal.self) { try TestSetup.preparer().prepare(head, now: now) }
        #expect(refusal?.error.code == "SignatureDoesNotMatch")
        #expect(refusal?.facts.accessKeyId == TestSetup.clientKey)
        #expect(refusal?.facts.identity == nil)
        #expect(refusal?.facts.operation == .putObject)
        #expect(refusal?.facts.address?.key == "key")
    }

    @Test func aPolicyDenialKeepsTheDecisionAndTheIdentity() throws {
        let policy = try UploadPolicy.parse("""
            version: 1
            rules:
              - id: no-glacier
                storage_class: {deny: [GLACIER]}
            """, file: "policy.yaml")
        let preparer = try RequestPreparer(configuration: try TestSetup.configuration(), credentials: try TestSetup.credentials(),
                                           policy: policy)
        let head = try TestSetup.signedClientHead(method: "POST", target: "/bucket/key?uploads",
                                                  headers: [("x-amz-storage-class", "GLACIER")], now: now)
        let refusal = #expect(throws: RequestRefusal.self) { try preparer.prepare(head, now: now) }
        #expect(refusal?.error.code == "AccessDenied")
        #expect(refusal?.facts.decision?.deniedBy == "no-glacier")
        #expect(refusal?.facts.identity?.principal == "tester")
        #expect(refusal?.facts.operation == .createMultipartUpload)
    }

    /// With one upstream profile an entry may leave `upstream_profile` out; with several,
    /// an entry without one (perhaps cut short in a half-written file) is refused.
    @Test func withSeveralProfilesEveryClientMustNameOne() throws {
        let twoProfiles = try TestSetup.configuration(TestSetup.configurationYAML().replacingOccurrences(
            of: "  profiles:\n", with: "  profiles:\n    archive:\n      access_key: ARCHIVEKEY\n      secret_key: archive-secret\n"))
        #expect(twoProfiles.upstream.profiles.count == 2)
        do {
            _ = try RequestPreparer(configuration: twoProfiles, credentials: try TestSetup.credentials())
            Issue.record("accepted entries without upstream_profile")
        } catch {
            #expect("\(error)".contains("must name its upstream_profile; these do not: platform, tester"))
        }
        _ = try RequestPreparer(configuration: twoProfiles, credentials: try ClientCredentialsFixture.withProfile("archive"))
        _ = try RequestPreparer(configuration: try TestSetup.configuration(), credentials: try TestSetup.credentials())
    }

    /// Without a `default` profile nothing may go upstream unsigned, preflights included.
    @Test func aPreflightWithoutADefaultProfileIsRefused() throws {
        let archiveOnly = try TestSetup.configuration(TestSetup.configurationYAML().replacingOccurrences(
            of: "    default:\n", with: "    archive:\n"))
        let preparer = try RequestPreparer(configuration: archiveOnly, credentials: try ClientCredentialsFixture.withProfile("archive"))
        let head = ClientRequestHead(method: "OPTIONS", uri: "/bucket/k", headers: HeaderFields([
            ("Host", "127.0.0.1:9000"), ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"),
        ]))
        let refusal = #expect(throws: RequestRefusal.self) { try preparer.prepare(head, now: now) }
        #expect(refusal?.error.code == "AccessDenied")
        #expect(refusal?.error.message.contains("profile 'default'") == true)
    }

    @Test func credentialsNamingAnUndefinedProfileAreRefusedAtStart() throws {
        let credentials = try ClientCredentialsFixture.withProfile("archive")
        #expect(throws: GatewayStartupError.self) {
            try RequestPreparer(configuration: try TestSetup.configuration(), credentials: credentials)
        }
    }
}

import Credentials

enum ClientCredentialsFixture {
    static func withProfile(_ profile: String) throws -> ClientCredentials {
        try ClientCredentials.parse("""
            version: 1
            clients:
              - {access_key: AK1, secret: s, principal: p, upstream_profile: \(profile)}
            """, file: "clients.yaml")
    }
}
