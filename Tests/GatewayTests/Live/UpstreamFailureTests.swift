import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Gateway

/// How the gateway answers when the upstream fails, against real sockets.
@Suite(.serialized) struct UpstreamFailureTests {
    @Test func aRefusedUpstreamIs502() async throws {
        // Bind and close a port so nothing listens there.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let deadPort = probe.localAddress!.port!
        try await probe.close().get()
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(deadPort)")
        let target = "/bucket/key"
        let response = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: target,
                                                     headers: try gateway.signedHeaders(method: "GET", target: target))
        #expect(response.status == 502)
        #expect(response.bodyText.contains("<Code>BadGateway</Code>"))
        await gateway.stop()
    }

    @Test func anUpstreamThatNeverAnswersIs504AfterTheFirstByteTimeout() async throws {
        let upstream = try await ScriptedUpstream.start(answer: nil)
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                  extra: "timeouts: {upstream_first_byte: 1}")
        let started = Date()
        let response = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/key",
                                                     headers: try gateway.signedHeaders(method: "GET", target: "/bucket/key"))
        #expect(response.status == 504)
        #expect(response.bodyText.contains("<Code>GatewayTimeout</Code>"))
        // The configured 1 s applied, not the 60 s default (a loaded machine may add some).
        #expect(Date().timeIntervalSince(started) < 30)
        await gateway.stop()
        await upstream.stop()
    }

    /// An upstream that stalls in the middle of an error body: nothing of it reached the
    /// client yet (error bodies are collected to be sanitised), so the client gets a whole
    /// 504 of the gateway's own rather than a closed connection.
    @Test func anUpstreamStallingInItsErrorBodyIs504() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 500 Internal Server Error\r\n"
            + "Content-Type: application/xml\r\nContent-Length: 1000\r\n\r\n<?xml version=\"1.0\"?><Error><Code>InternalError</Code>")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)",
                                                  extra: "timeouts: {upstream_idle: 1}")
        let response = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/key",
                                                     headers: try gateway.signedHeaders(method: "GET", target: "/bucket/key"))
        #expect(response.status == 504)
        #expect(response.bodyText.contains("<Code>GatewayTimeout</Code>"))
        await gateway.stop()
        await upstream.stop()
    }

    @Test func anUpstreamSignatureErrorLosesItsStringToSign() async throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message>\
            <AWSAccessKeyId>UPSTREAMKEY000000001</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign>\
            <SignatureProvided>abc</SignatureProvided><CanonicalRequest>GET /x</CanonicalRequest><RequestId>r1</RequestId></Error>
            """
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nServer: Ceph\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let response = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/bucket/key",
                                                     headers: try gateway.signedHeaders(method: "GET", target: "/bucket/key"))
        #expect(response.status == 403)
        #expect(response.bodyText.contains("<Code>SignatureDoesNotMatch</Code>"))
        for hidden in ["StringToSign", "CanonicalRequest", "SignatureProvided", "UPSTREAMKEY000000001"] {
            #expect(!response.bodyText.contains(hidden), "\(hidden) reached the client")
        }
        #expect(response.headers["Content-Length"].first == String(response.body.count))
        #expect(response.headers["Server"].isEmpty)
        // What the upstream received: the gateway's signature, not the client's.
        #expect(upstream.receivedText.contains("Credential=\(TestSetup.upstreamKey)/"))
        #expect(!upstream.receivedText.contains(TestSetup.clientKey))
        await gateway.stop()
        await upstream.stop()
    }
}
