import NIOHTTP1
import S3Core

/// Rewrites the upstream's response head for the client, in this order:
///
/// 1. hop-by-hop fields (RFC 9110 §7.6.1, and any named in `Connection`) are dropped: they
///    describe the upstream connection, not this one; so are `Server`, OBS's `x-reserved`
///    and `x-obs-id-2`, which reveal the store's software and its internal hosts;
/// 2. a `Location` at the upstream is put at the gateway (`UpstreamLocationRewriter`);
/// 3. `x-amz-*` / `x-obs-*` fields are put in the client's dialect (the one its request
///    was signed in), with values such as storage classes translated too;
/// 4. the configured rules apply (remove, rename, set, add; scoped by operation and status);
/// 5. the gateway's request id is added (`x-amz-request-id` keeps the upstream's), so a
///    client report can be matched to the gateway's log line and the store's.
struct ResponseHeadRewriter: Sendable {
    static let revealing: Set<String> = ["server", "x-reserved", "x-obs-id-2"]
    static let requestIdHeader = "x-obsgate-request-id"

    let rules: [ResponseHeaderRule]

    func rewrite(_ head: HTTPResponseHead, requestId: String, clientDialect: HeaderDialect,
                 operation: String?, location: UpstreamLocationRewriter? = nil) -> HTTPResponseHead {
        let named = HopByHop.endToEndNamesInConnection(head.headers)
        var fields = HeaderFields()
        fields.reserveCapacity(head.headers.count + 1)  // + the gateway's request id
        for (name, value) in head.headers {
            let lower = name.asciiLowercased
            if HopByHop.names.contains(lower) || named.contains(lower) || Self.revealing.contains(lower) { continue }
            if lower == "location", let location {
                fields.add(name, location.rewrite(value))
            } else {
                fields.add(name, value)
            }
        }
        fields = (try? HeaderDialect.translate(fields, to: clientDialect, strict: false)) ?? fields
        let status = Int(head.status.code)
        for rule in rules where rule.applies(operation: operation, status: status) {
            for name in rule.remove { fields.remove(name) }
            for (from, to) in rule.rename {
                let values = fields.values(from)
                fields.remove(from)
                for value in values { fields.add(to, value) }
            }
            for (name, value) in rule.set { fields.replace(name, with: value) }
            for (name, value) in rule.add { fields.add(name, value) }
        }
        fields.replace(Self.requestIdHeader, with: requestId)
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: HTTPHeaders(fields))
    }
}
