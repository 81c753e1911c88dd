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
