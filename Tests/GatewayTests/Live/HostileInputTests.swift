import Foundation
import S3Core
import S3Signing
import Testing
@testable import Gateway

/// Hostile request shapes over a raw socket (66), each judged three ways: the exact status the
/// gateway answers, that it closes the connection, and what a recording upstream received
/// — nothing, for every one of them, even with a valid request pipelined behind.
@Suite(.serialized) struct HostileInputTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let name: String
        /// The bytes to send, given the request head helpers for the gateway's port.
        let bytes: @Sendable (Heads) throws -> String
        let status: Int
        /// Whether the gateway closes the connection after its answer. A well-framed request
        /// refused after its head was read keeps it; the pipelined request is then answered.
        var closes = true
        var testDescription: String { name }
    }

    /// Request heads for the gateway under test: signed with the test client's key, or not.
    struct Heads: Sendable {
        let gateway: LiveGateway

        var host: String { "Host: 127.0.0.1:\(gateway.port)\r\n" }

        func signed(_ method: String, _ target: String, _ headers: [(String, String)] = [],
                    now: Date = Date(), payloadHash: String = SigV4.emptyPayloadHash) throws -> String {
            try gateway.signedHeaders(method: method, target: target, headers: headers, payloadHash: payloadHash, now: now)
                .map { "\($0.0): \($0.1)\r\n" }.joined()
        }

        func presigned(_ method: String, _ target: String, expires: Int) throws -> String {
            try TestSetup.presignedTarget(method: method, path: target, host: "127.0.0.1:\(gateway.port)", expires: expires)
        }

        func request(_ method: String, _ target: String, _ headers: [(String, String)] = [], now: Date = Date()) throws -> String {
            "\(method) \(target) HTTP/1.1\r\n" + (try signed(method, target, headers, now: now)) + "\r\n"
        }
    }

    static let shapes: [Shape] = framing + bytesOnTheWire + limits + methodsAndTargets + signatures

    /// Framing a proxy and its upstream could read differently: refused as broken HTTP
    /// (400, closed) before anything is forwarded.
    static let framing: [Shape] = [
        Shape(name: "Content-Length and Transfer-Encoding", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        }, status: 400),
        Shape(name: "Transfer-Encoding before Content-Length", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
        }, status: 400),
        Shape(name: "two different Content-Lengths", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
        }, status: 400),
        Shape(name: "a Content-Length list", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: 5, 6\r\n\r\nhello!"
        }, status: 400),
        Shape(name: "a signed Content-Length that is not a number", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: +5\r\n\r\nhello"
        }, status: 400),
        Shape(name: "Transfer-Encoding: chunked, identity", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
        }, status: 400),
        Shape(name: "an unknown transfer coding", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Transfer-Encoding: gzip\r\n\r\n"
        }, status: 400),
        // Unsigned: refused (403) when the head is read, before the broken body is.
        Shape(name: "a chunk size that overflows", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nx\r\n0\r\n\r\n"
        }, status: 403),
        Shape(name: "a negative Content-Length", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: -1\r\n\r\n"
        }, status: 400),
        Shape(name: "a chunk size that is not hex", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n"
        }, status: 403),
    ]

    /// Bytes that HTTP does not allow where they are.
    static let bytesOnTheWire: [Shape] = [
        Shape(name: "an obs-folded header line", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-meta-a: one\r\n two\r\n\r\n"
        }, status: 400),
        Shape(name: "a bare CR in a header value", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-meta-a: one\rtwo\r\n\r\n"
        }, status: 400),
        Shape(name: "a NUL in a header value", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-meta-a: one\u{0}two\r\n\r\n"
        }, status: 400),
        Shape(name: "a NUL in a header name", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz\u{0}-meta: one\r\n\r\n"
        }, status: 400),
        Shape(name: "a NUL in the target", bytes: { h in
            "GET /bucket/k\u{0}x HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400),
        Shape(name: "a space in the target", bytes: { h in
            "GET /bucket/k x HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400),
        Shape(name: "a header without a colon", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-acl public-read\r\n\r\n"
        }, status: 400),
        Shape(name: "a space before the colon", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-acl : public-read\r\n\r\n"
        }, status: 400),
        Shape(name: "an HTTP/2 preface", bytes: { _ in
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        }, status: 400),
        Shape(name: "an unknown HTTP version", bytes: { h in
            "GET /bucket/k HTTP/3.7\r\n\(h.host)\r\n"
        }, status: 400),
        Shape(name: "a bare LF inside a header value", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-meta-a: one\ntwo\r\n\r\n"
        }, status: 400),
        Shape(name: "a space inside a header name", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz meta: one\r\n\r\n"
        }, status: 400),
        Shape(name: "a lower-case method", bytes: { h in "get /bucket/k HTTP/1.1\r\n\(h.host)\r\n" }, status: 400),
        Shape(name: "a DEL byte in the target", bytes: { h in "GET /bucket/k\u{7F}x HTTP/1.1\r\n\(h.host)\r\n" }, status: 400),
    ]

    /// Heads larger than the limits.
    static let limits: [Shape] = [
        Shape(name: "a header line longer than the head limit", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-meta-a: \(String(repeating: "a", count: 70 * 1024))\r\n\r\n"
        }, status: 400),
        Shape(name: "more header fields than the limit", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)" + (0..<120).map { "x-amz-meta-f\($0): v\r\n" }.joined() + "\r\n"
        }, status: 400),
        Shape(name: "a target longer than the head limit", bytes: { h in
            "GET /b/\(String(repeating: "k", count: 70 * 1024)) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400),
    ]

    /// Shapes that are HTTP but no S3 operation the gateway judges.
    static let methodsAndTargets: [Shape] = [
        Shape(name: "PATCH", bytes: { h in try h.request("PATCH", "/bucket/k") }, status: 501),
        Shape(name: "TRACE", bytes: { h in try h.request("TRACE", "/bucket/k") }, status: 501),
        Shape(name: "PROPFIND (WebDAV)", bytes: { h in try h.request("PROPFIND", "/bucket/k") }, status: 501),
        Shape(name: "CONNECT", bytes: { h in "CONNECT 127.0.0.1:8000 HTTP/1.1\r\n\(h.host)\r\n" }, status: 400),
        Shape(name: "an absolute-form target", bytes: { h in
            "GET http://127.0.0.1:8000/bucket/k HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400),
        Shape(name: "two Host fields", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)\(h.host)\r\n"
        }, status: 400),
        Shape(name: "no Host field", bytes: { _ in "GET /bucket/k HTTP/1.1\r\n\r\n" }, status: 400),
        Shape(name: "Connection naming an end-to-end field", bytes: { h in
            try h.request("GET", "/bucket/k", [("Connection", "x-amz-acl")])
        }, status: 400),
        Shape(name: "an unknown subresource", bytes: { h in try h.request("GET", "/bucket/k?torrentx") }, status: 501),
        Shape(name: "a bucket subresource on an object", bytes: { h in try h.request("PUT", "/bucket/k?lifecycle") }, status: 501),
        Shape(name: "a header the operation does not define", bytes: { h in
            try h.request("GET", "/bucket/k", [("x-amz-acl", "public-read")])
        }, status: 400, closes: false),
    ]

    /// Signatures that must not pass: answered by the gateway, never forwarded.
    static let signatures: [Shape] = [
        Shape(name: "unsigned", bytes: { h in "GET /bucket/k HTTP/1.1\r\n\(h.host)\r\n" }, status: 403, closes: false),
        Shape(name: "a signature dated an hour ahead", bytes: { h in
            try h.request("GET", "/bucket/k", now: Date().addingTimeInterval(3600))
        }, status: 403, closes: false),
        Shape(name: "a signature dated an hour ago", bytes: { h in
            try h.request("GET", "/bucket/k", now: Date().addingTimeInterval(-3600))
        }, status: 403, closes: false),
        Shape(name: "a header added after signing", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n" + (try h.signed("GET", "/bucket/k")) + "x-amz-meta-added: 1\r\n\r\n"
        }, status: 403, closes: false),
        Shape(name: "a signed value changed", bytes: { h in
            let head = try h.signed("GET", "/bucket/k", [("x-amz-request-payer", "requester")])
            return "GET /bucket/k HTTP/1.1\r\n" + head.replacingOccurrences(of: "requester", with: "requester2") + "\r\n"
        }, status: 403, closes: false),
        Shape(name: "the Authorization field twice", bytes: { h in
            let head = try h.signed("GET", "/bucket/k")
            let authorization = head.split(separator: "\r\n").first { $0.hasPrefix("Authorization") }!
            return "GET /bucket/k HTTP/1.1\r\n" + head + authorization + "\r\n\r\n"
        }, status: 400, closes: false),
        Shape(name: "a header signature and presigned parameters", bytes: { h in
            let target = "/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
            return "GET \(target) HTTP/1.1\r\n" + (try h.signed("GET", target)) + "\r\n"
        }, status: 400, closes: false),
        Shape(name: "an unknown access key", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n" + (try h.gateway.signedHeaders(method: "GET", target: "/bucket/k", payloadHash: SigV4.emptyPayloadHash,
                                                                   accessKey: "GWUNKNOWN00000000001", secret: "x")
                .map { "\($0.0): \($0.1)\r\n" }.joined()) + "\r\n"
        }, status: 403, closes: false),
        Shape(name: "a malformed Authorization", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)x-amz-date: 20261203T000000Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
                + "Authorization: AWS4-HMAC-SHA256 Credential=x, Signature=y\r\n\r\n"
        }, status: 400, closes: false),
        Shape(name: "an unsupported Authorization scheme", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)Authorization: Bearer abc\r\n\r\n"
        }, status: 400, closes: false),
        Shape(name: "a presigned URL past its expiry", bytes: { h in
            let target = "/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(TestSetup.clientKey)%2F20200101%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20200101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" + String(repeating: "0", count: 64)
            return "GET \(target) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 403, closes: false),
        Shape(name: "a credential scope for another region", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n" + (try h.signed("GET", "/bucket/k")).replacingOccurrences(of: "/us-east-1/", with: "/eu-west-9/") + "\r\n"
        }, status: 400, closes: false),
        Shape(name: "a credential date that is not the x-amz-date", bytes: { h in
            let head = try h.signed("GET", "/bucket/k")
            let day = String(SigningTime.amzDate(Date()).prefix(8))
            return "GET /bucket/k HTTP/1.1\r\n" + head.replacingOccurrences(of: "/\(day)/", with: "/20000101/") + "\r\n"
        }, status: 400, closes: false),
        Shape(name: "an x-amz-date that is no date", bytes: { h in
            let head = try h.signed("GET", "/bucket/k")
            let stamp = SigningTime.amzDate(Date())
            return "GET /bucket/k HTTP/1.1\r\n" + head.replacingOccurrences(of: "x-amz-date: \(stamp)", with: "x-amz-date: 2026-13-01")
                .replacingOccurrences(of: "X-Amz-Date: \(stamp)", with: "X-Amz-Date: 2026-13-01") + "\r\n"
        }, status: 403, closes: false),
        Shape(name: "a SigV2 header with a wrong signature", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)Date: \(SigningTime.httpDate(Date()))\r\n"
                + "Authorization: AWS \(TestSetup.clientKey):AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"
        }, status: 403, closes: false),
        Shape(name: "an OBS header with a wrong signature", bytes: { h in
            "GET /bucket/k HTTP/1.1\r\n\(h.host)Date: \(SigningTime.httpDate(Date()))\r\n"
                + "Authorization: OBS \(TestSetup.clientKey):AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"
        }, status: 403, closes: false),
        Shape(name: "a SigV2 query URL past its Expires", bytes: { h in
            "GET /bucket/k?AWSAccessKeyId=\(TestSetup.clientKey)&Expires=1000000000&Signature=AAAA HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 403, closes: false),
        Shape(name: "a SigV2 query URL with its Signature twice", bytes: { h in
            "GET /bucket/k?AWSAccessKeyId=\(TestSetup.clientKey)&Expires=4000000000&Signature=AAAA&Signature=BBBB HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400, closes: false),
        Shape(name: "an unsigned HEAD", bytes: { h in "HEAD /bucket/k HTTP/1.1\r\n\(h.host)\r\n" }, status: 403, closes: false),
        Shape(name: "an unsigned DELETE", bytes: { h in "DELETE /bucket/k HTTP/1.1\r\n\(h.host)\r\n" }, status: 403,
              closes: false),
        Shape(name: "an unsigned upload with a body", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: 5\r\n\r\nhello"
        }, status: 403),
        Shape(name: "an unsigned upload waiting for 100-continue", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n\(h.host)Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        }, status: 403),
        Shape(name: "a presigned URL with a parameter added after signing", bytes: { h in
            "GET \(try h.presigned("GET", "/bucket/k", expires: 300))&x-amz-acl=public-read HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 403, closes: false),
        Shape(name: "a presigned URL with its signature given twice", bytes: { h in
            let target = try h.presigned("GET", "/bucket/k", expires: 300)
            return "GET \(target)&X-Amz-Signature=\(String(repeating: "0", count: 64)) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400, closes: false),
        Shape(name: "a presigned URL used with another method", bytes: { h in
            "DELETE \(try h.presigned("GET", "/bucket/k", expires: 300)) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 403, closes: false),
        Shape(name: "a presigned URL valid for more than a week", bytes: { h in
            "GET \(try h.presigned("GET", "/bucket/k", expires: 604_801)) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 400, closes: false),
        Shape(name: "a presigned URL that expired before it was made", bytes: { h in
            "GET \(try h.presigned("GET", "/bucket/k", expires: -1)) HTTP/1.1\r\n\(h.host)\r\n"
        }, status: 403, closes: false),
        Shape(name: "an x-amz-content-sha256 that is no hash", bytes: { h in
            "PUT /bucket/k HTTP/1.1\r\n" + (try h.signed("PUT", "/bucket/k", [("Content-Length", "5")], payloadHash: "not-a-hash"))
                + "\r\nhello"
        }, status: 400),
    ]

    /// The control for the presigned shapes: the same URL, untouched, goes through.
    @Test func aPresignedURLAsSignedGoesThrough() async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let heads = Heads(gateway: gateway)
        let client = try await RawClient.connect(port: gateway.port)
        try await client.send(Array("GET \(try heads.presigned("GET", "/bucket/k", expires: 300)) HTTP/1.1\r\n\(heads.host)\r\n".utf8))
        #expect(await eventually { client.receivedText.hasPrefix("HTTP/1.1 200 OK\r\n") }, "\(client.receivedText)")
        #expect(upstream.receivedText.hasPrefix("GET /bucket/k HTTP/1.1\r\n"))
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }

    @Test(arguments: shapes)
    func aHostileShapeIsAnsweredAndNothingGoesUpstream(_ shape: Shape) async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)")
        let heads = Heads(gateway: gateway)
        let client = try await RawClient.connect(port: gateway.port)
        // A valid signed request pipelined behind the hostile one: it must not go upstream
        // either (the stream is no longer trusted to be in step).
        try await client.send(Array((try shape.bytes(heads) + (try heads.request("GET", "/bucket/k"))).utf8))
        #expect(await eventually { client.receivedText.contains("\r\n\r\n") }, "no answer")
        let statusLine = client.receivedText.prefix { $0 != "\r" }
        #expect(statusLine.hasPrefix("HTTP/1.1 \(shape.status) "), "answered \(statusLine)")
        if shape.closes {
            // Nothing the client pipelined after a broken or unreadable head is read.
            #expect(await eventually { client.isClosed }, "the connection stayed open")
            #expect(upstream.receivedText.isEmpty, "the upstream received \(upstream.receivedText.prefix(300))")
            #expect(client.receivedText.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer: \(client.receivedText.prefix(400))")
        } else {
            // The refusal left the stream in step: the pipelined request, and only it, went
            // upstream and was answered.
            #expect(await eventually { client.receivedText.components(separatedBy: "HTTP/1.1 ").count == 3 })
            #expect(upstream.receivedText.hasPrefix("GET /bucket/k HTTP/1.1\r\n"), "\(upstream.receivedText.prefix(300))")
            #expect(client.receivedText.components(separatedBy: "HTTP/1.1 ").last?.hasPrefix("200 OK") == true)
            #expect(upstream.receivedText.components(separatedBy: " HTTP/1.1\r\n").count == 2, "\(upstream.receivedText)")
        }
        await client.close()
        await gateway.stop()
        await upstream.stop()
    }
}
