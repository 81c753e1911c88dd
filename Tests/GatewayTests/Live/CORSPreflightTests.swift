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
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey, upstreamSecret: rgw.secretKey, watchingForLeaks: true)
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

    /// A store without CORS support: the gateway answers from its `cors:` rules for the
    /// buckets they name — preflights never reach the store, and every answer about such a
    /// bucket carries the gateway's `Access-Control-*` fields instead of the store's.
    @Test func theGatewayAnswersCORSItselfForTheBucketsItsRulesName() async throws {
        let upstream = try await ScriptedUpstream.start(
            answer: "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://store.example\r\nContent-Length: 2\r\n\r\nok")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)", extra: """
            cors:
              - buckets: ["web-*"]
                allowed_origins: ["https://app.example.com"]
                allowed_methods: [GET, PUT]
                allowed_headers: ["content-type"]
                max_age_seconds: 600
            """)
        let host = ("Host", "127.0.0.1:\(gateway.port)")
        func preflight(_ target: String, _ fields: [(String, String)]) async throws -> TestHTTPResponse {
            try await TestHTTPClient.send(port: gateway.port, method: "OPTIONS", target: target, headers: [host] + fields)
        }
        let allowed = try await preflight("/web-site/photo.jpg", [
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "Content-Type"),
        ])
        #expect(allowed.status == 200 && allowed.bodyText.isEmpty)
        #expect(allowed.headers["Access-Control-Allow-Origin"] == ["https://app.example.com"])
        #expect(allowed.headers["Access-Control-Allow-Methods"] == ["GET, PUT"])
        #expect(allowed.headers["Access-Control-Allow-Headers"] == ["content-type"])
        #expect(allowed.headers["Access-Control-Max-Age"] == ["600"])
        let foreign = try await preflight("/web-site/photo.jpg", [("Origin", "https://evil.example.net"),
                                                                 ("Access-Control-Request-Method", "PUT")])
        #expect(foreign.status == 403 && foreign.bodyText.contains("<Code>AccessForbidden</Code>"))
        let noMethod = try await preflight("/web-site", [("Origin", "https://app.example.com")])
        #expect(noMethod.status == 400 && noMethod.bodyText.contains("Invalid Access-Control-Request-Method: null"))
        #expect(upstream.receivedText.isEmpty, "a preflight the gateway answers never reaches the store: \(upstream.receivedText)")

        // The actual request: the store's Access-Control-* fields give way to the rule's.
        let origin = ("Origin", "https://app.example.com")
        let read = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/web-site/photo.jpg",
                                                 headers: try gateway.signedHeaders(method: "GET", target: "/web-site/photo.jpg",
                                                                                    headers: [origin]))
        #expect(read.status == 200 && read.bodyText == "ok")
        #expect(read.headers["Access-Control-Allow-Origin"] == ["https://app.example.com"])
        #expect(read.headers["Vary"] == ["Origin"])
        #expect(upstream.receivedText.hasPrefix("GET /web-site/photo.jpg HTTP/1.1\r\n"))

        // The gateway's own refusal carries them too, so the page can read why.
        let unsigned = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/web-site/photo.jpg",
                                                     headers: [host, origin])
        #expect(unsigned.status == 403 && unsigned.headers["Access-Control-Allow-Origin"] == ["https://app.example.com"])

        // Another bucket is the store's business: its preflight goes upstream, its fields pass.
        let other = try await TestHTTPClient.send(port: gateway.port, method: "GET", target: "/backups/k",
                                                  headers: try gateway.signedHeaders(method: "GET", target: "/backups/k", headers: [origin]))
        #expect(other.headers["Access-Control-Allow-Origin"] == ["https://store.example"])
        _ = try await preflight("/backups/k", [origin, ("Access-Control-Request-Method", "GET")])
        #expect(upstream.receivedText.contains("OPTIONS /backups/k HTTP/1.1\r\n"))
        await gateway.stop()
        await upstream.stop()
    }
}
