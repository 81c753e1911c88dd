import Crypto
import DevUpstream
import Foundation
import Logging
import NIOPosix
import Policy
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// Random bytes, eight at a time (a byte-wise generator is slow in debug builds).
func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var generator = SystemRandomNumberGenerator()
        var index = 0
        while index < count {
            withUnsafeBytes(of: generator.next() as UInt64) { word in
                for byte in word where index < count {
                    buffer[index] = byte
                    index += 1
                }
            }
        }
    }
    return bytes
}

/// The gateway in front of the in-process development store, which records every request
/// it receives: what reaches the upstream, and what never does.
@Suite(.serialized) struct DevUpstreamGatewayTests {
    struct Stack {
        let upstream: DevUpstreamServer
        let gateway: LiveGateway

        static func start(gatewayExtra: String = "", upstreamExtra: String = "", policy: UploadPolicy? = nil) async throws -> Stack {
            var configuration = DevUpstreamConfiguration(credentials: [
                SigningCredentials(accessKeyId: TestSetup.upstreamKey, secretAccessKey: TestSetup.upstreamSecret),
            ])
            configuration.minimumPartSize = 1
            let upstream = try await DevUpstreamServer.start(configuration, group: MultiThreadedEventLoopGroup.singleton,
                                                            logger: Logger(label: "dev-upstream"))
            let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                      upstreamExtra: upstreamExtra, extra: gatewayExtra, policy: policy)
            return Stack(upstream: upstream, gateway: gateway)
        }

        func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [],
                  payloadHash: String? = nil, now: Date = Date(), accessKey: String = TestSetup.clientKey,
                  secret: String = TestSetup.clientSecret,
                  bodyPieces: Int = 1) async throws -> TestHTTPResponse {
            let hash = payloadHash ?? (body.isEmpty ? SigV4.emptyPayloadHash : SigV4.unsignedPayload)
            let lengthHeader: [(String, String)] = body.isEmpty && method != "PUT" && method != "POST" ? [] : [("Content-Length", String(body.count))]
            let signed = try gateway.signedHeaders(method: method, target: target, headers: headers + lengthHeader,
                                                   payloadHash: hash, now: now, accessKey: accessKey, secret: secret)
            return try await TestHTTPClient.send(port: gateway.port, method: method, target: target, headers: signed,
                                                 body: body, bodyPieces: bodyPieces)
        }

        func stop() async {
            await gateway.stop()
            try? await upstream.shutdown()
        }
    }

    @Test func refusedRequestsNeverReachTheUpstream() async throws {
        let stack = try await Stack.start()
        #expect(try await stack.send("PUT", "/bucket").status == 200)
        stack.upstream.clearRecordedRequests()

        let wrongSecret = try await stack.send("PUT", "/bucket/k", body: Array("x".utf8), secret: "not-the-secret")
        #expect(wrongSecret.status == 403)
        #expect(wrongSecret.bodyText.contains("<Code>SignatureDoesNotMatch</Code>"))
        #expect(!wrongSecret.bodyText.contains("AWS4-HMAC-SHA256\n"), "no string to sign in the error")

        let skewed = try await stack.send("GET", "/bucket/k", now: Date().addingTimeInterval(-20 * 60))
        #expect(skewed.status == 403)
        #expect(skewed.bodyText.contains("<Code>RequestTimeTooSkewed</Code>"))

        var unknownKey = try stack.gateway.signedHeaders(method: "GET", target: "/bucket/k")
        unknownKey = unknownKey.map { $0.0 == "Authorization" ? ($0.0, $0.1.replacingOccurrences(of: TestSetup.clientKey, with: "GWNOBODY000000000000")) : $0 }
        let unknown = try await TestHTTPClient.send(port: stack.gateway.port, method: "GET", target: "/bucket/k", headers: unknownKey)
        #expect(unknown.status == 403)
        #expect(unknown.bodyText.contains("<Code>InvalidAccessKeyId</Code>"))

        let anonymous = try await TestHTTPClient.send(port: stack.gateway.port, method: "GET", target: "/bucket/k",
                                                      headers: [("Host", "127.0.0.1")])
        #expect(anonymous.status == 403)

        #expect(stack.upstream.recordedRequests().isEmpty, "the upstream saw \(stack.upstream.recordedRequests().map(\.target))")
        await stack.stop()
    }

    @Test func aBodyThatDoesNotMatchItsHashLeavesNoObject() async throws {
        let stack = try await Stack.start()
        #expect(try await stack.send("PUT", "/bucket").status == 200)
        let declared = Array(repeating: UInt8(ascii: "a"), count: 300_000)
        var sent = declared
        sent[250_000] = UInt8(ascii: "b")
        let response = try await stack.send("PUT", "/bucket/object", body: sent, payloadHash: hexSHA256(declared),
                                            bodyPieces: 7)
        #expect(response.status == 400)
        #expect(response.bodyText.contains("<Code>XAmzContentSHA256Mismatch</Code>"))
        let read = try await stack.send("GET", "/bucket/object")
        #expect(read.status == 404)
        // The same body with its true hash is stored and reads back byte for byte.
        #expect(try await stack.send("PUT", "/bucket/object", body: sent, payloadHash: hexSHA256(sent), bodyPieces: 7).status == 200)
        let stored = try await stack.send("GET", "/bucket/object")
        #expect(stored.status == 200)
        #expect(stored.body == sent)
        await stack.stop()
    }

    @Test func largeBodiesStreamBothWaysAndReachTheUpstreamReSigned() async throws {
        let stack = try await Stack.start()
        #expect(try await stack.send("PUT", "/bucket").status == 200)
        let body = randomBytes(24 * 1024 * 1024)
        let key = "/bucket/dir/a%20b%2Bc%25d%3De%3Af%40g-%C3%A9.bin"
        #expect(try await stack.send("PUT", key, headers: [("x-amz-storage-class", "STANDARD_IA")], body: body,
                                     payloadHash: hexSHA256(body), bodyPieces: 50).status == 200)
        let read = try await stack.send("GET", key)
        #expect(read.status == 200)
        #expect(read.body.count == body.count)
        #expect(read.body == body)
        #expect(read.headers["x-amz-storage-class"].first == "STANDARD_IA")
        #expect(read.headers["Server"].isEmpty)
        #expect(!(read.headers["x-obsgate-request-id"].first ?? "").isEmpty)
        let put = try #require(stack.upstream.recordedRequests().first { $0.method == "PUT" && $0.target.hasPrefix("/bucket/dir/") })
        #expect(put.accessKeyId == TestSetup.upstreamKey, "re-signed with the upstream profile")
        #expect(put.target == key)
        #expect(put.headers["x-amz-content-sha256"] == hexSHA256(body), "the verified hash goes upstream too")
        await stack.stop()
    }

    @Test func expectContinueIsAnsweredAfterAuthentication() async throws {
        let stack = try await Stack.start()
        #expect(try await stack.send("PUT", "/bucket").status == 200)
        let body = Array("hello, continue".utf8)
        let response = try await stack.send("PUT", "/bucket/c", headers: [("Expect", "100-continue")], body: body,
                                            payloadHash: hexSHA256(body))
        #expect(response.status == 200)
        #expect(try await stack.send("GET", "/bucket/c").body == body)
        let forwarded = try #require(stack.upstream.recordedRequests().last { $0.method == "PUT" })
        #expect(forwarded.headers["Expect"] == nil, "the gateway answers 100-continue itself")
        await stack.stop()
    }

    /// An S3 client in front of an OBS-dialect upstream: the upstream receives OBS headers,
    /// values and signature; the client gets S3 headers and values back.
    @Test func anS3RequestReachesAnOBSUpstreamInItsDialectAndComesBackInS3s() async throws {
        let stack = try await Stack.start(upstreamExtra: "signing: obs")
        #expect(try await stack.send("PUT", "/bucket").status == 200)
        let body = Array("dialects".utf8)
        let put = try await stack.send("PUT", "/bucket/k", headers: [
            ("x-amz-storage-class", "STANDARD_IA"), ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "k1"), ("x-amz-meta-team", "blue"),
        ], body: body, payloadHash: hexSHA256(body))
        #expect(put.status == 200, "\(put.bodyText)")
        let forwarded = try #require(stack.upstream.recordedRequests().last { $0.method == "PUT" && $0.target == "/bucket/k" })
        #expect(forwarded.headers["Authorization"]?.hasPrefix("OBS \(TestSetup.upstreamKey):") == true)
        #expect(forwarded.headers["x-obs-storage-class"] == "WARM")
        #expect(forwarded.headers["x-obs-server-side-encryption"] == "kms")
        #expect(forwarded.headers["x-obs-server-side-encryption-kms-key-id"] == "k1")
        #expect(forwarded.headers["x-obs-meta-team"] == "blue")
        #expect(!forwarded.headers.contains { $0.name.lowercased().hasPrefix("x-amz-") })

        let head = try await stack.send("HEAD", "/bucket/k")
        #expect(head.headers["x-amz-storage-class"].first == "STANDARD_IA")
        #expect(head.headers["x-amz-server-side-encryption"].first == "aws:kms")
        #expect(head.headers["x-amz-meta-team"].first == "blue")
        #expect(!(head.headers["x-amz-request-id"].first ?? "").isEmpty)
        #expect(!head.headers.contains { $0.name.lowercased().hasPrefix("x-obs-") })

        stack.upstream.clearRecordedRequests()
        let unmappable = try await stack.send("PUT", "/bucket/rr", headers: [("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                              body: body, payloadHash: hexSHA256(body))
        #expect(unmappable.status == 400)
        #expect(unmappable.bodyText.contains("<Code>InvalidStorageClass</Code>"))
        #expect(stack.upstream.recordedRequests().isEmpty)
        await stack.stop()
    }
}
