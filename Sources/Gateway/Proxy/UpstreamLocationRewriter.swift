import S3Core

/// Puts an absolute URL at the upstream (a `Location` field: a form upload's 201 or 303, a
/// redirect) at the gateway instead, as the client addressed it: the store's internal
/// address never reaches the client. A relative URL, or one at another site (a form's
/// `success_action_redirect` target), stays as it is.
///
///     upstream path-style        http://10.0.0.5:7480/bucket/a/b
///     upstream virtual-hosted    https://bucket.obs.internal/a/b
///     client path-style          https://gw.example/bucket/a/b
///     client virtual-hosted      https://bucket.s3.gw.example/a/b
struct UpstreamLocationRewriter: Sendable {
    /// The upstream's `host[:port]` as its Host field names it (default ports omitted).
    let upstreamHost: String
    /// `scheme://host[:port]` the client reached the gateway at (its Host field).
    let clientOrigin: String
    /// Whether the client named the bucket in its Host (virtual-hosted) or in the path.
    let clientStyle: AddressingStyle

    func rewrite(_ location: String) -> String {
        guard let (authority, rest) = Self.split(location) else { return location }
        let upstream = upstreamHost.asciiLowercased
        var bucketAndRest: String
        if authority == upstream {
            // Path-style upstream: the path is /bucket/key.
            bucketAndRest = rest
        } else if authority.hasSuffix("." + upstream) {
            // Virtual-hosted upstream: the bucket is the host's first labels.
            bucketAndRest = "/" + authority.dropLast(upstream.count + 1) + rest
        } else {
            return location
        }
        if clientStyle == .virtualHosted {
            // The client's Host names the bucket: drop it from the path.
            let afterBucket = bucketAndRest.dropFirst().drop { $0 != "/" && $0 != "?" }
            bucketAndRest = afterBucket.isEmpty ? "/" : String(afterBucket)
        }
        return clientOrigin + bucketAndRest
    }

    /// The lowercased authority (without a default port) and the rest (path and query,
    /// at least "/") of an absolute http or https URL; nil for anything else.
    static func split(_ url: String) -> (authority: String, rest: String)? {
        let lower = url.asciiLowercased
        let defaultPort: String
        let schemeLength: Int
        if lower.hasPrefix("http://") {
            (schemeLength, defaultPort) = (7, ":80")
        } else if lower.hasPrefix("https://") {
            (schemeLength, defaultPort) = (8, ":443")
        } else {
            return nil
        }
        let afterScheme = lower.dropFirst(schemeLength)
        var authority = String(afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if authority.hasSuffix(defaultPort) { authority.removeLast(defaultPort.count) }
        let rest = url.dropFirst(schemeLength).drop { $0 != "/" && $0 != "?" && $0 != "#" }
        return (authority, rest.first == "/" ? String(rest) : "/" + rest)
    }
}
