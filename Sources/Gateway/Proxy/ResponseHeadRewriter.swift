import NIOHTTP1

/// Rewrites the upstream's response head for the client: hop-by-hop fields (RFC 9110
/// §7.6.1, and any named in `Connection`) are dropped because they describe the upstream
/// connection, not this one; `Server` is dropped so the store's software is not revealed;
/// the gateway's request id is added so a client report can be matched to the log line.
enum ResponseHeadRewriter {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade",
    ]

    static let requestIdHeader = "x-obsgate-request-id"

    static func rewrite(_ head: HTTPResponseHead, requestId: String) -> HTTPResponseHead {
        let named = Set(head.headers[canonicalForm: "connection"].map { $0.lowercased() })
        var headers = HTTPHeaders()
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower == "server" { continue }
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: requestIdHeader, value: requestId)
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
    }
}
