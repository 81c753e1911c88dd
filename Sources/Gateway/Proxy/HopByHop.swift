import S3Core

/// Fields that describe one connection, not the message (RFC 9110 §7.6.1): neither the
/// request going upstream nor the response going back carries them, nor any field their
/// `Connection` header names.
enum HopByHop {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade",
    ]

    /// `Connection` options that are not field names (RFC 9112 §9.3, §9.6).
    static let connectionOptions: Set<String> = ["close", "keep-alive"]

    /// The names a message's `Connection` values list (`Connection = #connection-option`)
    /// other than the hop-by-hop fields themselves and the options `close` and
    /// `keep-alive`, lowercase: the end-to-end fields the sender asks to drop. Nearly every
    /// message lists none, and then nothing is allocated.
    static func endToEndNamesInConnection(_ fields: some Sequence<(name: String, value: String)>) -> [String] {
        var listed: [String] = []
        for field in fields where field.name.asciiCaseInsensitiveEquals("connection") {
            for token in field.value.listElements where !isHopByHopOrOption(token) {
                listed.append(String(token).asciiLowercased)
            }
        }
        return listed
    }

    /// Whether a `Connection` token names a hop-by-hop field or is an option (any case).
    /// The options first: nearly every `Connection` is `keep-alive` or `close`.
    private static func isHopByHopOrOption(_ token: Substring) -> Bool {
        connectionOptions.contains { token.asciiCaseInsensitiveEquals($0) }
            || names.contains { token.asciiCaseInsensitiveEquals($0) }
    }
}
