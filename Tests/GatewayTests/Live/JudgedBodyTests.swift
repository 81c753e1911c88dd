import Foundation
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// A bucket configuration is read whole, verified and judged before anything goes
/// upstream, in front of the development store (which records what reaches it).
@Suite(.serialized) struct JudgedBodyTests {
    static func lifecycle(_ storageClass: String) -> [UInt8] {
        Array("""
            <LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>r</ID><Status>Enabled</Status>\
            <Filter><Prefix>logs/</Prefix></Filter><Transition><Days>1</Days><StorageClass>\(storageClass)</StorageClass>\
            </Transition></Rule></LifecycleConfiguration>
            """.utf8)
    }

    @Test func aBucketConfigurationIsJudgedBeforeAnythingGoesUpstream() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try BucketConfigurationTests.policy())
        func put(_ body: [UInt8], admin: Bool) async throws -> TestHTTPResponse {
            try await stack.send("PUT", "/bucket?lifecycle", body: body, payloadHash: hexSHA256(body),
                                 accessKey: admin ? TestSetup.adminKey : TestSetup.clientKey,
                                 secret: admin ? TestSetup.adminSecret : TestSetup.clientSecret)
        }
        let byTester = try await put(Self.lifecycle("STANDARD_IA"), admin: false)
        #expect(byTester.status == 403)
        #expect(byTester.bodyText.contains("denied by default"), "\(byTester.bodyText)")

        let glacier = try await put(Self.lifecycle("GLACIER"), admin: true)
        #expect(glacier.status == 403)
        #expect(glacier.bodyText.contains("policy rule &apos;no-archive&apos;"), "\(glacier.bodyText)")

        let malformed = try await put(Array("<LifecycleConfiguration><Rule>".utf8), admin: true)
        #expect(malformed.status == 400)
        #expect(malformed.bodyText.contains("<Code>MalformedXML</Code>"), "\(malformed.bodyText)")
        #expect(stack.upstream.recordedRequests().isEmpty, "a refused configuration reached the store")

        await stack.stop()
    }

    /// An allowed configuration goes upstream byte for byte once it was judged (to a
    /// recording upstream: the development store refuses lifecycle before reading bodies).
    @Test func anAllowedConfigurationGoesUpstreamAsSent() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                  policy: try BucketConfigurationTests.policy())
        let body = Self.lifecycle("STANDARD_IA")
        let headers = try gateway.signedHeaders(method: "PUT", target: "/bucket?lifecycle",
                                                headers: [("Content-Length", String(body.count))], payloadHash: hexSHA256(body),
                                                accessKey: TestSetup.adminKey, secret: TestSetup.adminSecret)
        let response = try await TestHTTPClient.send(port: gateway.port, method: "PUT", target: "/bucket?lifecycle",
                                                     headers: headers, body: body)
        #expect(response.status == 200, "\(response.bodyText)")
        let text = String(decoding: body, as: UTF8.self)
        #expect(await eventually { upstream.receivedText.hasSuffix("\r\n\r\n" + text) }, "\(upstream.receivedText)")
        #expect(upstream.receivedText.hasPrefix("PUT /bucket?lifecycle HTTP/1.1\r\n"))
        await gateway.stop()
        await upstream.stop()
    }

    /// A body over the judge's limit is refused as soon as it passes the limit.
    @Test func anOversizeConfigurationIsRefused() async throws {
        let stack = try await DevUpstreamGatewayTests.Stack.start(policy: try BucketConfigurationTests.policy())
        let body = Array(repeating: UInt8(ascii: " "), count: 1_048_577)
        let response = try await stack.send("PUT", "/bucket?lifecycle", body: body, accessKey: TestSetup.adminKey,
                                            secret: TestSetup.adminSecret, bodyPieces: 8)
        #expect(response.status == 400)
        #expect(response.bodyText.contains("<Code>MalformedXML</Code>"), "\(response.bodyText)")
        #expect(stack.upstream.recordedRequests().isEmpty)
        await stack.stop()
    }
}
