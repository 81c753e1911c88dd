import Credentials
import Foundation
import Testing
@testable import Gateway

/// A browser form's field section against radosgw: it is verified against the keys in
/// force when the fields are complete (not when the head arrived), and it must arrive
/// within `timeouts.form_fields`. Judged by what radosgw holds, read with its own key.
@Suite(.serialized) struct FormLifecycleTests {
    /// A request to radosgw itself, signed with its key, past the gateway.
    static func atTheStore(_ rgw: Peers.Radosgw, _ method: String, _ target: String) async throws -> Int {
        let url = try #require(URL(string: rgw.endpoint))
        let (host, port) = (try #require(url.host), try #require(url.port))
        let headers = try TestSetup.signedHeaders(method: method, target: target, host: "\(host):\(port)",
                                                  accessKey: rgw.accessKey, secret: rgw.secretKey)
        return try await TestHTTPClient.send(host: host, port: port, method: method, target: target,
                                             headers: headers.map { ($0.name, $0.value) }).status
    }

    static func formHead(_ gateway: LiveGateway, bucket: String, _ form: (body: String, contentType: String)) -> [UInt8] {
        Array(("POST /\(bucket) HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\nContent-Type: \(form.contentType)\r\n"
            + "Content-Length: \(form.body.utf8.count)\r\n\r\n").utf8)
    }

    @Test func aKeyRevokedWhileTheFieldsWereComingNoLongerSignsTheForm() async throws {
        let rgw = try Peers.radosgw()
        // The fields' deadline is far above any pause of a loaded (or sanitized) machine
        // between the head and the fields: the reload, not the clock, is what this judges.
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey, extra: "timeouts:\n  form_fields: 600")
        let bucket = "forms-\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await Self.atTheStore(rgw, "PUT", "/\(bucket)") == 200)
        let form = try TestSetup.signedForm(bucket: bucket, key: "late", file: "signed with a key revoked meanwhile")
        let client = try await RawClient.connect(port: gateway.port)
        try await client.send(Self.formHead(gateway, bucket: bucket, form))

        // The reload that revokes the key lands between the head and the fields.
        let revoked = try ClientCredentials.parse(TestSetup.clientsYAML.replacingOccurrences(
            of: TestSetup.clientKey, with: "GWREPLACEMENTKEY0001"), file: "clients.yaml")
        try gateway.server.replace(credentials: revoked, policy: nil)
        try await client.send(Array(form.body.utf8))
        #expect(await eventually { client.receivedText.contains("</Error>") })
        #expect(client.receivedText.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(client.receivedText.contains("<Code>InvalidAccessKeyId</Code>"))
        #expect(try await Self.atTheStore(rgw, "HEAD", "/\(bucket)/late") == 404, "the store holds nothing")
        await client.close()

        #expect(try await Self.atTheStore(rgw, "DELETE", "/\(bucket)") == 204)
        await gateway.stop()
    }

    @Test func aFormHeadWithoutItsFieldsIsClosedAtTheDeadline() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey,
                                                  extra: "timeouts: {form_fields: 1, body_idle: 30, client_idle: 30}")
        let form = try TestSetup.signedForm(bucket: "forms-idle", key: "k", file: "never sent")
        let client = try await RawClient.connect(port: gateway.port)
        try await client.send(Self.formHead(gateway, bucket: "forms-idle", form))
        #expect(await eventually { client.receivedText.contains("</Error>") })
        #expect(client.receivedText.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(client.receivedText.contains("<Code>RequestTimeout</Code>"))
        #expect(client.receivedText.contains("Connection: close\r\n"))
        await client.close()
        await gateway.stop()
    }
}
