import Audit
import Foundation
import Logging
import NIOCore
import S3Core
import S3Signing

/// Everything `obsgate serve` runs with, validated. Loaded from YAML by
/// `GatewayConfiguration.load(path:)`; every key is documented in docs/configuration.md.
public struct GatewayConfiguration: Sendable {
    public struct Listener: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var tls: TLSFiles?
    }

    public struct TLSFiles: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String
    }

    public struct Upstream: Sendable {
        public enum Addressing: String, Sendable, CaseIterable { case path, virtualHosted = "virtual-hosted" }
        public enum Scheme: String, Sendable { case http, https }
        public var scheme: Scheme
        public var host: String
        public var port: Int
        public var region: String
        public var signing: UpstreamSigner.Scheme
        /// The header dialect the upstream speaks: requests are translated into it before
        /// signing, responses back into the client's.
        public var dialect: HeaderDialect
        public var addressing: Addressing
        /// PEM bundle of CAs trusted for an https upstream; the system store when nil.
        public var caBundle: String?
        /// The TLS server name (SNI and certificate check); the endpoint host when nil.
        public var serverName: String?
        /// Credential profiles by name; client principals name the one they are re-signed with.
        public var profiles: [String: SigningCredentials]

        public var usesTLS: Bool { scheme == .https }

        /// `host[:port]` as the Host header names the endpoint (default ports omitted).
        public var hostHeader: String {
            (scheme == .http && port == 80) || (scheme == .https && port == 443) ? host : "\(host):\(port)"
        }
    }

    public struct Limits: Sendable {
        /// Most header fields in a request head (Envoy's default: 100).
        public var maxHeaderCount = 100
        /// Most bytes of all header fields together (Envoy's default: 60 KiB).
        public var maxHeaderBytes = 60 * 1024
        /// Largest signed aws-chunked chunk held in memory while its signature is checked.
        public var maxChunkSize = 16 * 1024 * 1024
        /// Idle upstream connections kept per event loop.
        public var maxIdleUpstreamConnections = 64
        /// Open client connections, in total: each holds a file descriptor, and one more
        /// for its upstream connection while a request is in flight.
        public var maxConnections = 4096
        /// Open client connections from one source address.
        public var maxConnectionsPerAddress = 1024
    }

    /// The timeouts, on the event loop's clock (configured in whole seconds).
    public struct Timeouts: Sendable {
        /// The whole request head must arrive within this time (slowloris protection).
        public var requestHead = TimeAmount.seconds(10)
        /// Longest pause while a request body is being received.
        public var bodyIdle = TimeAmount.seconds(30)
        /// A browser form's field section (everything before the file) must arrive within
        /// this time of the request head: until then the request is not authenticated.
        public var formFields = TimeAmount.seconds(10)
        /// A keep-alive client connection with no request in progress is closed after this.
        public var clientIdle = TimeAmount.seconds(60)
        public var upstreamConnect = TimeAmount.seconds(5)
        /// From the end of the request to the upstream's response head.
        public var upstreamFirstByte = TimeAmount.seconds(60)
        /// Longest pause while the upstream's response is being received.
        public var upstreamIdle = TimeAmount.seconds(60)
        /// On SIGTERM, how long in-flight requests may take before connections are closed.
        public var drain = TimeAmount.seconds(25)
        /// After an answer that closes the connection, how long what the client still sends
        /// is read and dropped before the close (`LingeringClose`).
        public var lingeringClose = TimeAmount.seconds(5)
    }

    public var listeners: [Listener]
    public var adminListener: Listener?
    public var upstream: Upstream
    /// Regions clients may sign for.
    public var regions: Set<String>
    /// Base domains for virtual-hosted client requests (`bucket.<domain>`).
    public var virtualHostDomains: [String]
    public var credentialsFile: String
    public var policyFile: String?
    /// Buckets that anonymous (unsigned) requests may read; empty: no anonymous access.
    public var anonymousReadBuckets: Set<String>
    public var maxClockSkew: TimeInterval
    /// The longest a SigV2 / OBS query-signed URL may be valid from now (their `Expires`
    /// is absolute); SigV4 URLs carry the same bound in `X-Amz-Expires`.
    public var maxPresignedLifetime: TimeInterval = 604_800
    /// SSE-C keys travel in headers, so S3 refuses them over plain HTTP; set false only
    /// when TLS ends in front of the gateway (a load balancer).
    public var sseCRequiresTLS: Bool
    /// Changes to the response headers clients get, after the built-in ones (hop-by-hop
    /// fields, `Server` and `x-reserved` removed; `x-obsgate-request-id` added).
    public var responseHeaderRules: [ResponseHeaderRule]
    /// CORS the gateway answers itself for the buckets its rules name (`cors:`); nil: every
    /// preflight goes to the store, whose bucket CORS configuration answers.
    public var cors: GatewayCORS?
    /// How multipart upload ids are bound to their initiation (`upload_binding`).
    public var uploadBinding = UploadBindingConfiguration.processKey()
    /// `scheme://host[:port]` clients reach the gateway at, for URLs in response bodies
    /// (CompleteMultipartUpload's `Location`); nil: from the request's Host.
    public var publicEndpoint: String?
    public var limits: Limits
    public var timeouts: Timeouts
    public var logLevel: Logger.Level
    /// How many event loops serve connections (`event_loops`).
    public var eventLoops = EventLoopCount.auto
    /// Where audit records go, and what happens while they cannot be written; nil: no
    /// audit trail.
    public var audit: AuditConfiguration?
    /// The header that carries the gateway's request id to the upstream (lowercase), so
    /// the upstream's logs can be joined with the gateway's; nil: not sent.
    public var requestIdHeader: String? = GatewayConfiguration.defaultRequestIdHeader

    /// OpenTelemetry traces over OTLP/HTTP (`tracing.otlp`); nil: off, and no tracer exists.
    public var otlpTracing: OTLPTracing?

    public struct OTLPTracing: Sendable, Equatable {
        /// Where spans are posted: an `http(s)://host[:port]` collector, `/v1/traces` added
        /// when the path is not given.
        public var endpoint: String
        public var serviceName = "obsgate"
        /// How long finished spans wait to be exported in a batch.
        public var exportDelayMilliseconds = 1000
        /// The share of traces recorded (0–1) when the client did not decide: a client's
        /// `traceparent` sampled flag is followed either way.
        public var sampleRatio = 1.0
    }

    /// The same name the client gets the id in.
    public static let defaultRequestIdHeader = ResponseHeadRewriter.requestIdHeader
}
