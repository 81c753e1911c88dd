import Credentials
import FormUpload
import Foundation
import Policy
import S3Core
import S3Signing
import Tracing

/// The phases every request passes before a byte goes upstream (docs/architecture.md), in
/// order; `RequestFacts.phase` names the one running, so that a refusal says which refused:
///
///     classify      request-target (origin-form only), Host → bucket and key; method +
///                   address + query → the operation's row of the closed table
///     authenticate  SigV4 header/presigned, SigV2, OBS → principal; or anonymous, where allowed
///     frame         the fields the operation admits; the body's length for the upstream
///                   (aws-chunked is decoded in flight)
///     police        the seed header rules, then the access rules and the upload policy:
///                   allow, deny, or change headers (defaults, stripping)
///     upload-binding  the upload id of a multipart request: the one the gateway bound at
///                   initiation, used by its initiator → the upstream's id
///     translate     x-amz-* ↔ x-obs-* into the upstream's dialect (values too; no equivalent → 400)
///     rebuild       the upstream request head from what was understood, re-signed
///
/// Each phase (a file of its own here) either passes the request on, having learned or
/// changed what it is responsible for, or throws the S3 error the client gets. One driver
/// runs the header path and the browser-form path. The preparer is immutable and does no I/O
/// (a class, so that each request shares the one in force rather than copying it):
/// the connection handler calls it on the event loop.
public final class RequestPreparer: Sendable {
    public let configuration: GatewayConfiguration
    public let credentials: ClientCredentials
    /// The upload policy in force; nil when the configuration names none (seed validation
    /// still applies).
    public let policy: UploadPolicy?
    let resolver: S3AddressResolver
    let authenticator: RequestAuthenticator
    let formVerifier: PostObjectVerifier
    let signers: [String: UpstreamSigner]
    let metrics: GatewayMetrics?

    /// The profile anonymous requests (where allowed) are re-signed with.
    static let anonymousProfile = "default"

    public init(configuration: GatewayConfiguration, credentials: ClientCredentials, policy: UploadPolicy? = nil,
                metrics: GatewayMetrics? = nil,
                keyCache: SigV4SigningKeyCache = SigV4SigningKeyCache()) throws(GatewayStartupError) {
        self.configuration = configuration
        self.credentials = credentials
        self.policy = policy
        self.metrics = metrics
        resolver = S3AddressResolver(baseDomains: configuration.virtualHostDomains)
        let settings = AuthenticationSettings(regions: configuration.regions, maxClockSkew: configuration.maxClockSkew,
                                              maxPresignedLifetime: configuration.maxPresignedLifetime)
        authenticator = RequestAuthenticator(settings: settings, secrets: credentials, keyCache: keyCache)
        formVerifier = PostObjectVerifier(settings: settings, secrets: credentials, keyCache: keyCache)
        var signers: [String: UpstreamSigner] = [:]
        for (name, profile) in configuration.upstream.profiles {
            signers[name] = UpstreamSigner(scheme: configuration.upstream.signing, credentials: profile,
                                           region: configuration.upstream.region, keyCache: keyCache)
        }
        self.signers = signers
        let unnamed = credentials.principalsWithoutProfile
        if signers.count > 1, !unnamed.isEmpty {
            // With one profile, `default` is the obvious one; with several, an entry cut
            // short (a half-written file) must not quietly get whatever `default` can do.
            throw GatewayStartupError("the configuration defines several upstream profiles, so every client entry must name its upstream_profile; these do not: \(unnamed.joined(separator: ", "))")
        }
        let missing = credentials.upstreamProfiles.subtracting(signers.keys).sorted()
        guard missing.isEmpty else {
            throw GatewayStartupError("the client credentials name upstream profiles that the configuration does not define: \(missing.joined(separator: ", "))")
        }
        if !configuration.anonymousReadBuckets.isEmpty, signers[Self.anonymousProfile] == nil {
            throw GatewayStartupError("anonymous reads need an upstream profile named '\(Self.anonymousProfile)'")
        }
    }

    /// A phase of the request path, run on a request between its head (or its form's
    /// fields) and the upstream.
    struct Phase: Sendable {
        let name: RequestPhase
        let run: @Sendable (RequestPreparer, inout PreparingRequest) throws(S3Error) -> Void
    }

    /// A request head's path, after `classify`.
    static let headerPath = [
        Phase(name: .authenticate) { (preparer, request) throws(S3Error) in try preparer.authenticate(&request) },
        Phase(name: .frame) { (preparer, request) throws(S3Error) in try preparer.frame(&request) },
        Phase(name: .police) { (preparer, request) throws(S3Error) in try preparer.police(&request) },
        Phase(name: .uploadBinding) { (preparer, request) throws(S3Error) in try preparer.bindUpload(&request) },
        Phase(name: .translate) { (preparer, request) throws(S3Error) in try preparer.translate(&request) },
        Phase(name: .rebuild) { (preparer, request) throws(S3Error) in try preparer.rebuild(&request) },
    ]

    /// A CORS preflight's path: never authenticated nor policed (it reads and changes
    /// nothing; the request it announces is judged when it comes), only admitted to the
    /// anonymous profile, framed, translated and re-signed.
    static let preflightPath = [
        Phase(name: .authenticate) { (preparer, request) throws(S3Error) in try preparer.admitPreflight(&request) },
    ] + headerPath.filter { $0.name != .authenticate && $0.name != .police && $0.name != .uploadBinding }

    /// A browser form's path, once its field section is read: the form's own verification
    /// stands for authentication and framing; from the police phase on it is the same path.
    static let formPath = [
        Phase(name: .formFields) { (preparer, request) throws(S3Error) in try preparer.verifyForm(&request) },
    ] + headerPath.drop { $0.name != .police }

    /// Runs the phases in order; a refusal keeps what they had learned and names the phase.
    func run(_ path: [Phase], on request: inout PreparingRequest) throws(RequestRefusal) -> PreparedRequest {
        do throws(S3Error) {
            for phase in path {
                request.facts.phase = phase.name
                guard request.recordsPhaseTimes else {
                    try phase.run(self, &request)
                    continue
                }
                let start = DefaultTracerClock.now.nanosecondsSinceEpoch
                defer {
                    request.facts.phaseTimes.append(PhaseTime(phase: phase.name, start: start,
                                                              end: DefaultTracerClock.now.nanosecondsSinceEpoch))
                }
                try phase.run(self, &request)
            }
            return try request.prepared()
        } catch {
            throw RequestRefusal(error: error.about(request.resource), facts: request.facts)
        }
    }

    /// Runs every phase on a request head; `classified` is its `classify(_:)`, when the
    /// caller has it already. `requestId` goes upstream in the configured request id header.
    /// `recordsPhaseTimes`: the exchange is traced, each phase's span needs its times.
    public func prepare(_ head: ClientRequestHead, classified: ClassifiedRequest? = nil, requestId: String? = nil,
                        recordsPhaseTimes: Bool = false, now: Date) throws(RequestRefusal) -> PreparedRequest {
        let request: ClassifiedRequest
        do throws(S3Error) {
            if let classified { request = classified } else { request = try classify(head) }
        } catch {
            throw RequestRefusal(error: error, facts: RequestFacts())
        }
        guard request.operation != .postObject else {
            throw RequestRefusal(error: S3Error.internalError("A form upload is prepared from its fields, not its head."),
                                 facts: RequestFacts())
        }
        var preparing = PreparingRequest(head: head, classified: request, requestId: requestId, now: now)
        preparing.recordsPhaseTimes = recordsPhaseTimes
        return try run(request.operation.isPreflight ? Self.preflightPath : Self.headerPath, on: &preparing)
    }

    /// The form's field section has been read (`parser` stopped at the file part): verify
    /// its signature and policy document, police its fields like headers, and re-sign it
    /// for the upstream.
    public func completeFormUpload(_ start: FormUploadStart, parser: MultipartFormParser, requestId: String? = nil,
                                   recordsPhaseTimes: Bool = false, now: Date) throws(RequestRefusal) -> PreparedFormUpload {
        var preparing = PreparingRequest(form: start, parser: parser, requestId: requestId, now: now)
        preparing.recordsPhaseTimes = recordsPhaseTimes
        let prepared = try run(Self.formPath, on: &preparing)
        guard let rewriter = preparing.rewriter else {
            throw RequestRefusal(error: S3Error.internalError("The form was not rebuilt."), facts: preparing.facts)
        }
        return PreparedFormUpload(prepared: prepared, rewriter: rewriter)
    }
}

/// A configuration problem found while starting; `obsgate serve` exits with code 2.
public struct GatewayStartupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
