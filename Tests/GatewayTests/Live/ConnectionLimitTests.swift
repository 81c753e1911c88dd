import Testing
@testable import Gateway

/// `limits.max_connections` and `limits.max_connections_per_address` against real
/// sockets: the connection over a cap is answered 503 SlowDown and closed, counted, and
/// the gateway takes connections again once others close.
@Suite(.serialized) struct ConnectionLimitTests {
    @Test(arguments: ["max_connections: 2", "max_connections_per_address: 2"])
    func theConnectionOverACapIsRefusedAndTheGatewayRecovers(_ limit: String) async throws {
        let upstream = try await ScriptedUpstream.start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let gateway = try await LiveGateway.start(upstream: "http://127.0.0.1:\(upstream.port)", extra: "limits: {\(limit)}")
        let first = try await RawClient.connect(port: gateway.port)
        let second = try await RawClient.connect(port: gateway.port)
        #expect(await eventually { sample("obsgate_client_connections", in: gateway.server.metricsText()) == 2 })

        let third = try await RawClient.connect(port: gateway.port)
        #expect(await eventually { third.receivedText.contains("</Error>") })
        #expect(third.receivedText.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(third.receivedText.contains("<Code>SlowDown</Code>"))
        #expect(third.receivedText.contains("Retry-After: 1\r\n"))
        let reason = limit.hasPrefix("max_connections_per_address") ? "per_address" : "total"
        let metrics = gateway.server.metricsText()
        #expect(metrics.contains("obsgate_client_connections_refused_total{limit=\"\(reason)\"} 1"))
        #expect(metrics.contains("obsgate_client_connections_limit{limit=\"\(reason)\"} 2"), "the cap, to alert against")
        await third.close()

        // The two admitted connections still work.
        let request = "GET /bucket/key HTTP/1.1\r\n"
            + (try gateway.signedHeaders(method: "GET", target: "/bucket/key")).map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        try await second.send(Array(request.utf8))
        #expect(await eventually { second.receivedText.hasPrefix("HTTP/1.1 200 OK\r\n") })

        await first.close()
        #expect(await eventually { sample("obsgate_client_connections", in: gateway.server.metricsText()) == 1 })
        let fourth = try await RawClient.connect(port: gateway.port)
        try await fourth.send(Array(request.utf8))
        #expect(await eventually { fourth.receivedText.hasPrefix("HTTP/1.1 200 OK\r\n") })
        await second.close()
        await fourth.close()
        await gateway.stop()
        await upstream.stop()
    }
}
