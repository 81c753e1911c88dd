import S3Core

/// A client's request head as the gateway's phases see it: NIO-free, so every phase is
/// testable without a channel.
public struct ClientRequestHead: Sendable {
    public var method: String
    /// The request-target exactly as on the request line.
    public var uri: String
    public var headers: HeaderFields
    /// Whether the client connection is TLS (SSE-C requires it).
    public var isTLS: Bool

    public init(method: String, uri: String, headers: HeaderFields, isTLS: Bool = false) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.isTLS = isTLS
    }
}

/// How many body bytes the upstream request carries.
public enum UpstreamBodyLength: Sendable, Equatable {
    case none
    case exactly(Int)
}

/// The request the gateway sends upstream: rebuilt from validated parts, never copied
/// from the client's bytes.
public struct UpstreamRequestHead: Sendable, Equatable {
    public var method: String
    public var target: String
    public var headers: HeaderFields
}

extension ClientRequestHead {
    /// The checks of the head's fields that come before anything reads them, so that no
    /// later phase (or the upstream) can see a field differently from the gateway:
    ///
    /// - exactly one `Host` (RFC 9112 §3.2: a request with more than one is a 400);
    /// - no field name with `_`: some stores (radosgw, through CGI-style names) read
    ///   `x_amz_acl` as `x-amz-acl`, so such a name could carry meaning past the policy;
    /// - `Connection` may name only hop-by-hop fields (`Connection = #connection-option`,
    ///   RFC 9110 §7.6.1): a proxy removes the fields it names, and removing an end-to-end
    ///   field such as `x-amz-server-side-encryption` after the policy judged it would
    ///   change what the request does.
    /// - `Transfer-Encoding`, when present, is `chunked` alone: a request whose last coding
    ///   is not chunked has no length a reader can determine (RFC 9112 §6.1: 400, then close),
    ///   and the gateway decodes no other coding, so its framing would be a guess.
    ///
    /// A head that fails them is refused and its connection closed.
    public func checkFields() throws(S3Error) {
        guard headers.first(S3HeaderName.host)?.occurrences == 1 else {
            throw S3Error.invalidRequest("A request must carry exactly one Host header")
        }
        for field in headers where field.name.utf8.contains(UInt8(ascii: "_")) {
            throw S3Error.invalidArgument("The header name \(field.name) contains '_', which obsgate does not accept in field names")
        }
        var codings = 0
        var chunkedAlone = true
        for field in headers where field.name.asciiCaseInsensitiveEquals("transfer-encoding") {
            for coding in field.value.listElements {
                codings += 1
                chunkedAlone = chunkedAlone && coding.asciiCaseInsensitiveEquals("chunked")
            }
        }
        guard codings == 0 || (codings == 1 && chunkedAlone) else {
            let given = headers.values("transfer-encoding").joined(separator: ", ")
            throw S3Error.invalidRequest("Transfer-Encoding must be chunked alone; \(given) is not")
        }
        if let token = HopByHop.endToEndNamesInConnection(headers).first {
            throw S3Error.invalidArgument("Connection names \(token), which is not a hop-by-hop field")
        }
    }
}
