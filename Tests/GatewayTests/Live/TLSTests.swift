import DevUpstream
import Foundation
import Logging
import NIOPosix
import S3Signing
import Testing
@testable import Gateway

/// TLS on both sides: a client talks plain HTTP to gateway A, whose upstream is gateway B
/// over https (verified against a CA bundle, with SNI), and B forwards to the store.
@Suite(.serialized) struct TLSTests {
    /// A self-signed certificate for `localhost` made with openssl for this test run, in a
    /// directory of its own that the caller removes.
    static func makeCertificate() throws -> (directory: URL, certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("obsgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Named as a Kubernetes TLS Secret mounts them: the key must load without a .pem name.
        let certificate = directory.appendingPathComponent("tls.crt").path
        let key = directory.appendingPathComponent("tls.key").path
        let result = try Peers.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                    "-out", certificate, "-days", "1", "-subj", "/CN=localhost",
                                    "-addext", "subjectAltName=DNS:localhost"], timeout: 60)
        guard result.status == 0 else { throw Peers.PeerMissing(description: "openssl failed: \(result.output)") }
        return (directory, certificate, key)
    }

    @Test func aRequestCrossesATLSHopBetweenTwoGateways() async throws {
        let tls = try Self.makeCertificate()
        defer { try? FileManager.default.removeItem(at: tls.directory) }
        let store = try await DevUpstreamServer.start(
            DevUpstreamConfiguration(credentials: [SigningCredentials(accessKeyId: TestSetup.upstreamKey,
                                                                      secretAccessKey: TestSetup.upstreamSecret)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "store"))
        let inner = try await LiveGateway.start(
            upstream: "http://127.0.0.1:\(store.port)",
            listenerTLS: "tls: {certificate: \"\(tls.certificate)\", private_key: \"\(tls.key)\"}")
        // The certificate made for one day expires in a day, as the metric says.
        let expiry = sample(#"obsgate_tls_certificate_expiry_timestamp_seconds{listener="127.0.0.1:0"}"#,
                            in: inner.server.metricsText())
        #expect(expiry.map { abs($0 - (Date().timeIntervalSince1970 + 86_400)) < 600 } == true, "expiry \(String(describing: expiry))")
        // The outer gateway signs towards the inner one with a key the inner one issued.
        let outer = try await LiveGateway.start(
            upstream: "https://127.0.0.1:\(inner.port)", upstreamKey: TestSetup.clientKey,
            upstreamSecret: TestSetup.clientSecret,
            upstreamExtra: "ca_bundle: \"\(tls.certificate)\"\n  server_name: localhost")

        let create = try await TestHTTPClient.send(port: outer.port, method: "PUT", target: "/tls-bucket",
                                                   headers: try outer.signedHeaders(method: "PUT", target: "/tls-bucket",
                                                                                    headers: [("Content-Length", "0")]))
        #expect(create.status == 200, "\(create.bodyText)")
        let body = Array("over TLS".utf8)
        let put = try await TestHTTPClient.send(
            port: outer.port, method: "PUT", target: "/tls-bucket/k",
            headers: try outer.signedHeaders(method: "PUT", target: "/tls-bucket/k", headers: [("Content-Length", "\(body.count)")],
                                             payloadHash: hexSHA256(body)),
            body: body)
        #expect(put.status == 200)
        let get = try await TestHTTPClient.send(port: outer.port, method: "GET", target: "/tls-bucket/k",
                                                headers: try outer.signedHeaders(method: "GET", target: "/tls-bucket/k"))
        #expect(get.body == body)
        await outer.stop()

        // Without the CA bundle, the inner gateway's certificate is not trusted: 502.
        let untrusting = try await LiveGateway.start(
            upstream: "https://127.0.0.1:\(inner.port)", upstreamKey: TestSetup.clientKey,
            upstreamSecret: TestSetup.clientSecret, upstreamExtra: "server_name: localhost")
        let refused = try await TestHTTPClient.send(port: untrusting.port, method: "GET", target: "/tls-bucket/k",
                                                    headers: try untrusting.signedHeaders(method: "GET", target: "/tls-bucket/k"))
        #expect(refused.status == 502)
        await untrusting.stop()
        await inner.stop()
        try await store.shutdown()
    }
}
