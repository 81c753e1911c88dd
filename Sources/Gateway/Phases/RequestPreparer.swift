import Credentials
import FormUpload
import Foundation
import Policy
import S3Core
import S3Signing

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
///     translate     x-amz-* ↔ x-obs-* into the upstream's dialect (values too; no equivalent → 400)
///     rebuild       the upstream request head from what was understood, re-signed
///
/// Each phase either passes the request on or throws the S3 error the client gets. The
/// preparer is a value with no I/O: the connection handler calls it on the event loop.
public struct RequestPreparer: Sendable {
    public let configuration: GatewayConfiguration
    public let credentials: ClientCredentials
    /// The upload policy in force; nil when the configuration names none (seed validation
    /// still applies).
    public let policy: UploadPolicy?
    private let resolver: S3AddressResolver
    private let authenticator: RequestAuthenticator
    private let formVerifier: PostObjectVerifier
    private let signers: [String: UpstreamSigner]
    private let metrics: GatewayMetrics?

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

    /// Runs every phase on a request head; `classified` is its `classify(_:)`, when the
    /// caller has it already. `requestId` goes upstream in the configured request id header.
    public func prepare(_ head: ClientRequestHead, classified: ClassifiedRequest? = nil, requestId: String? = nil,
                        now: Date) throws(RequestRefusal) -> PreparedRequest {
        var facts = RequestFacts()
        do throws(S3Error) {
            let request: ClassifiedRequest
            if let classified { request = classified } else { request = try classify(head) }
            return try prepare(head, request, requestId: requestId, now: now, facts: &facts)
        } catch {
            throw RequestRefusal(error: error, facts: facts)
        }
    }

    private func prepare(_ head: ClientRequestHead, _ classified: ClassifiedRequest, requestId: String?, now: Date,
                         facts: inout RequestFacts) throws(S3Error) -> PreparedRequest {
        let (target, address, operation) = (classified.target, classified.address, classified.operation)
        facts.operation = operation
        facts.address = address
        if operation == .postObject {
            throw S3Error.internalError("A form upload is prepared from its fields, not its head.")
        }

        facts.phase = .authenticate
        var identity: ClientIdentity?
        var authenticated: AuthenticatedRequest?
        do throws(S3Error) {
            if RequestAuthenticator.isSigned(target: target, headers: head.headers) {
                let result = try authenticator.authenticate(method: head.method, target: target, headers: head.headers,
                                                            address: address, now: now)
                facts.accessKeyId = result.accessKeyId
                guard let known = credentials.identity(forAccessKey: result.accessKeyId) else { throw S3Error.invalidAccessKeyId() }
                identity = known
                facts.identity = known
                authenticated = result
            } else {
                try allowAnonymous(operation: operation, address: address, target: target)
            }
        } catch {
            // Whom the refused request claims to come from; read only now, as it is needed only now.
            if facts.accessKeyId == nil, RequestAuthenticator.isSigned(target: target, headers: head.headers) {
                facts.accessKeyId = RequestAuthenticator.claimedAccessKeyId(target: target, headers: head.headers)
            }
            throw error.about(address.resource)
        }

        facts.phase = .frame
        // Header-like query parameters of presigned URLs (`x-amz-acl=...`) act as headers:
        // from here on the policy and the upstream see them as headers.
        var headers = head.headers
        try S3OperationClassifier.liftHeaderParameters(from: target, into: &headers)
        do throws(S3Error) {
            headers = try Self.admittedFields(headers, of: classified.row)
        } catch {
            throw error.about(address.resource)
        }

        let payload = authenticated?.payload ?? .unsigned
        let body = try upstreamBodyLength(method: head.method, headers: headers, payload: payload)
        if let conflict = Self.aclConflict(operation: operation, headers: headers, body: body) {
            throw conflict.about(address.resource)
        }

        facts.phase = .police
        let policyRequest = PolicyRequest(operation: operation, bucket: address.bucket, key: address.key,
                                          principal: identity?.principal, groups: identity?.groups ?? [],
                                          headers: headers, isTLS: head.isTLS)
        let decision: PolicyDecision?
        do throws(S3Error) {
            decision = try police(policyRequest, facts: &facts)
        } catch {
            throw error.about(address.resource)
        }
        if let decision { headers = decision.applying(to: headers) }

        facts.phase = .translate
        do throws(S3Error) {
            headers = try HeaderDialect.translate(headers, to: configuration.upstream.dialect)
        } catch {
            throw error.about(address.resource)
        }

        facts.phase = .rebuild
        let upstream = try upstreamHead(method: head.method, target: target, address: address, headers: headers,
                                        body: body, payload: payload, requestId: requestId,
                                        profile: identity?.upstreamProfile ?? Self.anonymousProfile, now: now)
        return PreparedRequest(
            operation: operation, address: address, identity: identity, scheme: authenticated?.scheme, decision: decision,
            payload: payload, trailerHeader: head.headers[S3HeaderName.trailer], upstream: upstream,
            objectFields: upstream.headers, upstreamBody: body,
            expectsContinue: head.headers[ "expect"]?.asciiLowercased == "100-continue")
    }

    /// The parse and classify phases: what a request is, as far as its head tells without
    /// authentication. Done once per request (parsing a presigned URL's query is not free);
    /// the result also names the request in the log line, metrics and audit record of a
    /// request refused later.
    public func classify(_ head: ClientRequestHead) throws(S3Error) -> ClassifiedRequest {
        try head.checkFields()
        let target = try RequestTarget(parsing: head.uri)
        let host = head.headers[S3HeaderName.host] ?? ""
        let address = try resolver.resolve(host: host, target: target)
        if let bucket = address.bucket { try S3AddressResolver.checkBucketName(bucket) }
        switch S3OperationClassifier.row(method: head.method, address: address, target: target, headers: head.headers,
                                         acceptsOBSOperations: configuration.upstream.dialect == .obs) {
        case .success(let row):
            return ClassifiedRequest(target: target, address: address, row: row)
        case .failure(let unmatched):
            throw S3Error.notImplemented("obsgate does not forward this request shape: \(unmatched.reason).").about(address.resource)
        }
    }

    // MARK: Browser form uploads

    /// The start of a browser form upload (`POST /bucket`, multipart/form-data), or nil for
    /// any other request. Its credentials are in the form's fields, so the gateway reads the
    /// field section (at most 20 KiB) before anything goes upstream.
    public func startFormUpload(_ head: ClientRequestHead, _ classified: ClassifiedRequest) throws(S3Error) -> FormUploadStart? {
        let address = classified.address
        guard classified.operation == .postObject, let bucket = address.bucket else { return nil }
        do throws(S3Error) {
            guard !head.headers.contains(S3HeaderName.authorization) else {
                throw S3Error.invalidArgument("A form upload authenticates through its fields, not an Authorization header")
            }
            guard head.headers.values(S3HeaderName.contentLength).count == 1,
                  let text = head.headers[S3HeaderName.contentLength], let length = Int(text), length >= 0 else {
                throw S3Error.missingContentLength()
            }
            let parser = try MultipartFormParser(contentType: head.headers[S3HeaderName.contentType] ?? "")
            return FormUploadStart(address: address, bucket: bucket, clientContentLength: length, parser: parser,
                                   expectsContinue: head.headers["expect"]?.asciiLowercased == "100-continue",
                                   isTLS: head.isTLS)
        } catch {
            throw error.about(address.resource)
        }
    }

    /// The form's field section has been read (`parser` stopped at the file part): verify
    /// its signature and policy document, run the seed rules and the upload policy on its
    /// fields, and re-sign it for the upstream.
    public func completeFormUpload(_ start: FormUploadStart, parser: MultipartFormParser, requestId: String? = nil,
                                   now: Date) throws(RequestRefusal) -> PreparedFormUpload {
        var facts = RequestFacts()
        facts.phase = .formFields
        facts.operation = .postObject
        facts.address = start.address
        facts.accessKeyId = PostObjectVerifier.claimedAccessKeyId(fields: parser.fields)
        do throws(S3Error) {
            let form = try formVerifier.verify(parser, bucket: start.bucket, now: now)
            facts.accessKeyId = form.accessKeyId
            guard let identity = credentials.identity(forAccessKey: form.accessKeyId) else { throw S3Error.invalidAccessKeyId() }
            facts.identity = identity
            let address = S3Address(style: start.address.style, bucket: start.bucket, key: form.key)
            facts.address = address
            let policyRequest = PolicyRequest(operation: .postObject, bucket: start.bucket, key: form.key,
                                              principal: identity.principal, groups: identity.groups,
                                              headers: form.headers, isTLS: start.isTLS)
            let decision = try police(policyRequest, facts: &facts)
            if let decision, !decision.mutations.isEmpty, decision.outcome != .auditOnly {
                // A form's fields are covered by the client's signed policy document:
                // the gateway does not rewrite them behind the client's back.
                throw S3Error.accessDenied("Policy rules \(decision.matchedRules.joined(separator: ", ")) would change this form upload (\(decision.mutations.map(\.description).joined(separator: "; "))); send those fields in the form")
            }
            guard let signer = signers[identity.upstreamProfile] else {
                throw S3Error.internalError("No upstream profile named \(identity.upstreamProfile)")
            }
            let rewriter = try PostObjectRewriter(form: form, parser: parser, clientContentLength: start.clientContentLength,
                                                  signer: signer, dialect: configuration.upstream.dialect, now: now)
            let location = upstreamLocation(of: S3Address(style: start.address.style, bucket: start.bucket, key: nil))
            var headers = HeaderFields([("Host", location.host), ("Content-Type", rewriter.upstreamContentType),
                                        ("Content-Length", String(rewriter.upstreamContentLength))])
            if let name = configuration.requestIdHeader, let requestId { headers.add(name, requestId) }
            let prepared = PreparedRequest(
                operation: .postObject, address: address, identity: identity, scheme: nil, decision: decision,
                payload: .unsigned, trailerHeader: nil,
                upstream: UpstreamRequestHead(method: "POST", target: location.path, headers: headers),
                objectFields: try HeaderDialect.translate(form.headers, to: configuration.upstream.dialect),
                upstreamBody: .exactly(rewriter.upstreamContentLength), expectsContinue: false)
            return PreparedFormUpload(prepared: prepared, rewriter: rewriter)
        } catch {
            throw RequestRefusal(error: error.about(start.address.resource), facts: facts)
        }
    }

    // MARK: Bucket configuration bodies

    /// Whether a request's body is read whole and judged (`judgeBody`) before anything
    /// goes upstream: bucket configurations that could undo the upload rules, under a policy.
    public func judgesBody(_ prepared: PreparedRequest) -> Bool {
        prepared.operation == .restoreObject || (policy != nil && BucketConfigurationJudge.judgesBody(prepared.operation))
    }

    /// The judge phase: a bucket configuration (verified body, headers as they go
    /// upstream) against the upload rules of its bucket. Throws the denial naming the rule
    /// (kept in the decision of `facts`), or 400 for a body it cannot read.
    public func judgeBody(_ body: [UInt8], of prepared: PreparedRequest, facts: RequestFacts) throws(RequestRefusal) {
        var facts = facts
        facts.phase = .judgeBody
        if prepared.operation == .restoreObject {
            do throws(S3Error) {
                try RestoreRequestJudge.judge(body)
            } catch {
                throw RequestRefusal(error: error.about(prepared.address.resource), facts: facts)
            }
            return
        }
        guard let policy, let bucket = prepared.address.bucket else { return }
        do throws(S3Error) {
            guard let denial = try BucketConfigurationJudge.judge(operation: prepared.operation, bucket: bucket,
                                                                  headers: prepared.objectFields, body: body, policy: policy)
            else { return }
            if var decision = facts.decision {
                decision.outcome = .deny(denial.error)
                decision.deniedBy = denial.ruleId
                decision.denyReason = denial.reason
                if !decision.matchedRules.contains(denial.ruleId) { decision.matchedRules.append(denial.ruleId) }
                facts.decision = decision
                metrics?.policyEvaluated(matchedRules: [], deniedBy: denial.ruleId)
            }
            throw denial.error
        } catch {
            throw RequestRefusal(error: error.about(prepared.address.resource), facts: facts)
        }
    }

    /// The validate and police phases: the seed rules, then the upload policy, counted;
    /// the decision (a denial included) is kept in `facts`. Throws the seed rules' error or
    /// the denying rule's.
    private func police(_ request: PolicyRequest, facts: inout RequestFacts) throws(S3Error) -> PolicyDecision? {
        guard let decision = try SeedValidation.police(request, policy: policy,
                                                       requireTLSForSSEC: configuration.sseCRequiresTLS)
        else { return nil }
        metrics?.policyEvaluated(matchedRules: decision.matchedRules, deniedBy: decision.deniedBy)
        facts.decision = decision
        if case .deny(let error) = decision.outcome { throw error }
        return decision
    }

    /// An unsigned GET/HEAD of an object in an `anonymous.read_buckets` bucket, as the
    /// object is: S3 refuses response header overrides (`?response-content-type=text/html`
    /// would serve any public object as a page) and version selection to anonymous readers.
    private func allowAnonymous(operation: S3Operation, address: S3Address, target: RequestTarget) throws(S3Error) {
        guard let bucket = address.bucket, configuration.anonymousReadBuckets.contains(bucket),
              operation == .getObject || operation == .headObject
        else { throw S3Error.accessDenied("Anonymous access is not allowed; sign the request with a gateway-issued key") }
        if let parameter = target.query.first(where: { $0.name.hasPrefix("response-") || $0.name == "versionId" }) {
            throw S3Error.invalidRequest("Anonymous requests cannot use the \(parameter.name) parameter; sign the request")
        }
    }

    /// The body length the upstream gets. aws-chunked bodies are decoded on the way, so
    /// their upstream length is `x-amz-decoded-content-length`; a body of unknown length
    /// is refused with 411 as S3 does (the gateway never forwards unframed bytes).
    func upstreamBodyLength(method: String, headers: HeaderFields, payload: PayloadExpectation) throws(S3Error) -> UpstreamBodyLength {
        let lengths = Set(headers.values(S3HeaderName.contentLength).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) })
        guard lengths.count <= 1 else { throw S3Error.badRequest("Conflicting Content-Length values") }
        let chunkedTransfer = headers.values("transfer-encoding").contains { $0.asciiLowercased.contains("chunked") }
        let awsChunkedEncoding = headers.values(S3HeaderName.contentEncoding)
            .flatMap { $0.split(separator: ",") }.contains { $0.trimmingCharacters(in: .whitespaces).asciiLowercased == "aws-chunked" }
        switch payload {
        case .signedChunks, .unsignedChunksWithTrailer:
            guard let text = headers[S3HeaderName.decodedContentLength], let decoded = Int(text), decoded >= 0 else {
                throw S3Error.missingContentLength()
            }
            return .exactly(decoded)
        case .unsigned, .sha256:
            guard !awsChunkedEncoding else {
                throw S3Error.invalidRequest("Content-Encoding aws-chunked needs a STREAMING-* x-amz-content-sha256")
            }
            if let text = lengths.first {
                guard let length = Int(text), length >= 0 else { throw S3Error.badRequest("Invalid Content-Length") }
                return .exactly(length)
            }
            if chunkedTransfer { throw S3Error.missingContentLength() }
            return .none
        }
    }

    /// An ACL is set by headers (a canned ACL or grants) or by a body, never both: the
    /// policy judges the headers, and a store that reads the body instead would apply an
    /// ACL nobody judged. The error, or nil.
    static func aclConflict(operation: S3Operation, headers: HeaderFields, body: UpstreamBodyLength) -> S3Error? {
        guard operation == .putObjectConfiguration("acl") || operation == .putBucketConfiguration("acl"),
              case .exactly(let length) = body, length > 0 else { return nil }
        let aclHeader = headers.first { field in
            let name = field.name.asciiLowercased
            return name == S3HeaderName.acl || name == OBSHeaderName.acl
                || name.hasPrefix(S3HeaderName.grantPrefix) || name.hasPrefix(OBSHeaderName.grantPrefix)
        }
        return aclHeader.map { S3Error.invalidRequest("Give the ACL in \($0.name.asciiLowercased) or in the body, not both") }
    }

    /// Where a bucket and key are on the upstream: its Host, the encoded path and how the
    /// bucket is named (for SigV2/OBS resources), in the configured upstream addressing.
    func upstreamLocation(of address: S3Address) -> (host: String, path: String, address: S3Address) {
        let upstream = configuration.upstream
        let encodedKey = address.key.map { PercentEncoding.encode($0, encodeSlash: false) }
        if upstream.addressing == .virtualHosted, let bucket = address.bucket {
            return ("\(bucket).\(upstream.hostHeader)", "/" + (encodedKey ?? ""),
                    S3Address(style: .virtualHosted, bucket: bucket, key: address.key))
        }
        var path = "/"
        if let bucket = address.bucket {
            path += PercentEncoding.encode(bucket)
            if let encodedKey { path += "/" + encodedKey }
        }
        return (upstream.hostHeader, path, S3Address(style: .path, bucket: address.bucket, key: address.key))
    }

    /// Hop-by-hop fields (RFC 9110 §7.6.1) and the client's own authentication, framing and
    /// signing fields: the upstream request gets its own.
    static let fieldsNotForwarded: Set<String> = HopByHop.names.union([
        "host", "authorization", "expect", "content-length", "date",
        S3HeaderName.amzDate, S3HeaderName.contentSHA256, S3HeaderName.securityToken, S3HeaderName.decodedContentLength,
        OBSHeaderName.date, OBSHeaderName.securityToken,
    ])

    /// Fields read by the gateway itself (framing, signing, trailers) and never forwarded
    /// as they are.
    static let transportFields: Set<String> = fieldsNotForwarded.union([
        S3HeaderName.contentEncoding, S3HeaderName.trailer,
    ])

    /// Fields that describe the client or the trace rather than the request, and go
    /// upstream unchanged (W3C trace context joins the store's traces to the client's;
    /// the AWS SDKs for JavaScript send their user agent as `x-amz-user-agent`).
    static let informationalFields: Set<String> = ["user-agent", "traceparent", "tracestate", "x-amz-user-agent"]

    /// Fields S3 defines on some operations that change what a request does: sent to an
    /// operation that does not define them, they are refused rather than dropped.
    static let conditionalFields: Set<String> = [
        "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "range",
    ]

    /// The rebuild phase's first half: the fields of the request the upstream may see,
    /// chosen from the operation's row of the closed table (`S3OperationRow.admitsHeader`).
    /// An `x-amz-*` / `x-obs-*` field the operation does not define, or a conditional
    /// field it does not define, is refused naming it; a plain field S3 does not read for
    /// it (`Accept`, `Origin`, SDK fields) is left out, except `informationalFields`.
    /// Transport fields stay for the framing and signing phases, which consume them.
    static func admittedFields(_ headers: HeaderFields, of row: S3OperationRow) throws(S3Error) -> HeaderFields {
        var admitted = HeaderFields()
        for field in headers {
            let name = field.name.asciiLowercased
            if transportFields.contains(name) || row.admitsHeader(name) || informationalFields.contains(name) {
                admitted.add(field.name, field.value)
            } else if name.hasPrefix(S3HeaderName.prefix) || name.hasPrefix(OBSHeaderName.prefix) || conditionalFields.contains(name) {
                throw S3Error.invalidArgument("The header \(name) is not one obsgate forwards with \(row.name)")
                    .naming(name)
            }
        }
        return admitted
    }

    func upstreamHead(method: String, target: RequestTarget, address: S3Address, headers clientHeaders: HeaderFields,
                      body: UpstreamBodyLength, payload: PayloadExpectation, requestId: String? = nil, profile: String,
                      now: Date) throws(S3Error) -> UpstreamRequestHead {
        var decodesChunks = false
        if case .signedChunks = payload { decodesChunks = true }
        if case .unsignedChunksWithTrailer = payload { decodesChunks = true }

        var headers = HeaderFields()
        for field in clientHeaders {
            let name = field.name.asciiLowercased
            if Self.fieldsNotForwarded.contains(name) { continue }
            if decodesChunks && (name == S3HeaderName.trailer || name == "x-amz-sdk-checksum-algorithm") { continue }
            if name == S3HeaderName.contentEncoding {
                let remaining = field.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { $0.asciiLowercased != "aws-chunked" }
                if !remaining.isEmpty { headers.add(field.name, remaining.joined(separator: ", ")) }
                continue
            }
            headers.add(field.name, field.value)
        }

        let location = upstreamLocation(of: address)
        let upstreamAddress = location.address
        var path = location.path
        let host = location.host
        let query = target.query
            .filter { !S3OperationClassifier.authenticationParameters.contains($0.name)
                && !S3OperationClassifier.isLiftedHeaderParameter($0.name) }
            .map { parameter in parameter.rawValue.map { "\(parameter.rawName)=\($0)" } ?? parameter.rawName }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        let upstreamTarget = try RequestTarget(parsing: path)

        headers.add("Host", host)
        if case .exactly(let length) = body { headers.add("Content-Length", String(length)) }
        if let name = configuration.requestIdHeader, let requestId { headers.add(name, requestId) }
        guard let signer = signers[profile] else {
            throw S3Error.internalError("No upstream profile named \(profile)")
        }
        var payloadHash = SigV4.unsignedPayload
        if case .sha256(let hash) = payload { payloadHash = hash }
        if body == .none || body == .exactly(0), case .unsigned = payload { payloadHash = SigV4.emptyPayloadHash }
        try signer.sign(method: method, target: upstreamTarget, address: upstreamAddress, headers: &headers,
                        payloadHash: payloadHash, now: now)
        return UpstreamRequestHead(method: method, target: path, headers: headers)
    }
}

/// A configuration problem found while starting; `obsgate serve` exits with code 2.
public struct GatewayStartupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
