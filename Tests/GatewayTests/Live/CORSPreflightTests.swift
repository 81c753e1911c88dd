import Crypto
import Foundation
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// Browsers through the gateway, against radosgw: an unsigned CORS preflight is answered by
/// the bucket's CORS settings (set through the gateway), and the actual request carries
/// the store's `Access-Control-*` answer to its `Origin`.
@Suite(.serialized) struct CORSPreflightTests {
    static let cors = """
        <CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>\
        <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>\
        <AllowedHeader>*</AllowedHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>
        """

    @Test func aPreflightIsAnsweredByTheBucketsCORSSettings() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey, upstreamSecret: rgw.secretKey)
        let bucket = "cors-\(UUID().uuidString.prefix(8).lowercased())"
        func signed(_ method: String, _ target: String, _ headers: [(String, String)] = [], body: [UInt8] = []) async throws -> TestHTTPResponse {
            let length: [(String, String)] = method == "PUT" ? [("Content-Length", String(body.count))] : []
            return try await TestHTTPClient.send(port: gateway.port, method: method, target: target,
                                                 headers: try gateway.signedHeaders(method: method, target: target, headers: headers + length,
                                                                                    payloadHash: hexSHA256(body)), body: body)
        }
        #expect(try await signed("PUT", "/\(bucket)").status == 200)
        let cors = Array(Self.cors.utf8)
        let md5 = Data(Insecure.MD5.hash(data: cors)).base64EncodedString()
        let put = try await signed("PUT", "/\(bucket)?cors", [("Content-MD5", md5)], body: cors)
        #expect(put.status == 200, "\(put.bodyText)")
        #expect(try await signed("PUT", "/\(bucket)/photo.jpg", body: Array("pixels".utf8)).status == 200)

        // The browser's question, unsigned, for an allowed origin and method.
        let host = ("Host", "127.0.0.1:\(gateway.port)")
        let allowed = try await TestHTTPClient.send(port: gateway.port, method: "OPTIONS", target: "/\(bucket)/photo.jpg", headers: [
            host, ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type"),
        ])
        #expect(allowed.status == 200, "\(allowed.bodyText)")
        #expect(allowed.headers["Access-Control-Allow-Origin"].first == "https://app.example.com")
        #expect(allowed.headers["Access-Control-Allow-Methods"].first?.contains("PUT") == true)

        // Another origin: the store refuses it (the gateway adds no opinion of its own).
        let foreign = try await TestHTTPClient.send(port: gateway.port, method: "OPTIONS", target: "/\(bucket)/photo.jpg", headers: [
            host, ("Origin", "https://evil.example.net"), ("Access-Control-Request-Method", "PUT"),
        ])
        #expect(foreign.status == 403)
        #expect(foreign.headers["Access-Control-Allow-Origin"].isEmpty)

        // The actual request from the page: its Origin reaches the store, the answer comes back.
        let read = try await signed("GET", "/\(bucket)/photo.jpg", [("Origin", "https://app.example.com")])
        #expect(read.status == 200 && read.bodyText == "pixels")
        #expect(read.headers["Access-Control-Allow-Origin"].first == "https://app.example.com")

        // A preflight is a question, not a request: a header it does not define is refused.
        let smuggled = try await TestHTTPClient.send(port: gateway.port, method: "OPTIONS", target: "/\(bucket)/photo.jpg", headers: [
            host, ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"), ("x-amz-acl", "public-read"),
        ])
        #expect(smuggled.status == 400 && smuggled.bodyText.contains("x-amz-acl"))
        await gateway.stop()
    }
}
