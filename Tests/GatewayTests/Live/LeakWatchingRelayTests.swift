import Testing

/// The relay the client-scenario suites run through sees the upstream's address in what a
/// server sends, and passes the bytes on unchanged.
@Suite struct LeakWatchingRelayTests {
    @Test func theUpstreamsAddressIsSeenInAnAnswer() async throws {
        let server = try await ScriptedUpstream.start(
            answer: "HTTP/1.1 200 OK\r\nContent-Length: 47\r\n\r\n<Location>http://10.0.0.5:7480/b/k</Location>\r\n")
        let relay = try await LeakWatchingRelay.start(to: server.port, watchingFor: "10.0.0.5:7480")
        let answer = try await TestHTTPClient.send(port: relay.port, method: "GET", target: "/b/k",
                                                   headers: [("Host", "127.0.0.1")])
        #expect(answer.status == 200 && answer.bodyText.contains("<Location>http://10.0.0.5:7480/b/k</Location>"))
        #expect(relay.leaks.count == 1 && relay.leaks[0].contains("10.0.0.5:7480"))
        let clean = try await LeakWatchingRelay.start(to: server.port, watchingFor: "10.0.0.6:7480")
        _ = try await TestHTTPClient.send(port: clean.port, method: "GET", target: "/b/k", headers: [("Host", "127.0.0.1")])
        #expect(clean.leaks.isEmpty)
        await relay.stop()
        await clean.stop()
        await server.stop()
    }
}
