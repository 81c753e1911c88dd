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

    /// The field names listed in a message's `Connection` values, lowercase
    /// (`Connection = #connection-option`).
    static func connectionTokens(_ values: [String]) -> Set<String> {
        var tokens = Set<String>()
        for value in values {
            for token in value.split(separator: ",") { tokens.insert(token.trimmingOWS.asciiLowercased) }
        }
        return tokens
    }
}
