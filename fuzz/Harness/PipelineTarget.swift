import Foundation
import S3Core
import S3Signing

/// Fuzz target `pipeline`: the whole client pipeline — HTTP/1.1 decoding, pipelining,
/// every request phase, the upstream request, the answer's rewriting — driven through an
/// `EmbeddedChannel` (`PipelineRig`) with FuzzGateway's configuration and policy. The input
/// is the client's bytes, optionally followed by the line `=== upstream ===` and the bytes
/// every upstream request is answered with (by default an empty 200). A first request
/// head with the field `x-fuzz-sign: v4` is signed with the client key, now, before it is
/// sent (the field removed), so that seeds reach the phases after authentication.
///
/// Invariants:
/// - what the client receives is HTTP/1.x responses;
/// - nothing but a CORS preflight reaches the upstream unless the harness signed the
///   request, and every upstream request verifies under the upstream's own key;
/// - every upstream request that creates an object carries the policy's SSE-KMS key.
public enum PipelineTarget {
    static let separator = Array("\n=== upstream ===\n".utf8)
    static let defaultAnswer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)

    public static func run(_ bytes: UnsafeRawBufferPointer) {
        let input = Array(bytes)
        let split = input.firstRange(of: separator)
        let clientPart = split.map { Array(input[..<$0.lowerBound]) } ?? input
        let answer = split.map { Array(input[$0.upperBound...]) } ?? defaultAnswer
        let (client, signed) = signingIfAsked(clientPart)
        guard let rig = try? PipelineRig(preparer: FuzzGateway.preparer) else { return }
        defer { rig.close() }
        let transcript = rig.exchange(client: client, upstreamAnswer: answer)
        // HTTP/1.0 requests are answered in HTTP/1.0.
        Invariant.check(transcript.clientReceived.isEmpty || transcript.clientReceived.starts(with: Array("HTTP/1.".utf8)),
                        "the client received \(String(decoding: transcript.clientReceived.prefix(64), as: UTF8.self).debugDescription)")
        for request in upstreamRequests(transcript.upstreamReceived) {
            Invariant.check(signed || request.method == "OPTIONS", "an unsigned request reached the upstream: \(request.http.debugDescription)")
            checkUpstreamRequest(request)
        }
    }

    /// The client bytes with the first head signed when it asks to be, and whether it was.
    static func signingIfAsked(_ bytes: [UInt8]) -> (bytes: [UInt8], signed: Bool) {
        guard let text = String(validating: bytes, as: UTF8.self), var head = RawRequestHead(Substring(text)),
              head.headers.contains("x-fuzz-sign")
        else { return (bytes, false) }
        head.headers.remove("x-fuzz-sign")
        let signer = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(accessKeyId: FuzzGateway.clientKey,
                                                                                 secretAccessKey: FuzzGateway.clientSecret),
                                    region: FuzzGateway.region)
        guard let target = try? RequestTarget(parsing: head.target),
              let address = try? S3AddressResolver(baseDomains: [FuzzGateway.virtualHostDomain]).resolve(host: head.headers["host"], target: target),
              (try? signer.sign(method: head.method, target: target, address: address, headers: &head.headers,
                                payloadHash: head.headers[S3HeaderName.contentSHA256] ?? SigV4.unsignedPayload, now: Date())) != nil
        else { return (bytes, false) }
        return (Array((head.http + head.body).utf8), true)
    }

    /// The requests in the bytes the gateway wrote upstream, framed by Content-Length (the
    /// gateway sends no other framing upstream).
    static func upstreamRequests(_ bytes: [UInt8]) -> [RawRequestHead] {
        var requests: [RawRequestHead] = []
        var rest = bytes[...]
        while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            guard let head = RawRequestHead(Substring(String(decoding: rest[..<end.upperBound], as: UTF8.self))) else { break }
            requests.append(head)
            let length = head.headers["content-length"].flatMap { Int($0) } ?? 0
            rest = rest[end.upperBound...].dropFirst(length)
        }
        return requests
    }

    static func checkUpstreamRequest(_ request: RawRequestHead) {
        let verdict = SignatureCase(now: Date().timeIntervalSince1970, region: FuzzGateway.region, virtualHostBase: nil,
                                    accessKey: FuzzGateway.upstreamKey, secretKey: FuzzGateway.upstreamSecret,
                                    method: request.method, target: request.target,
                                    headers: request.headers.map { [$0.name, $0.value] }).verdict()
        Invariant.check((try? verdict.get()) != nil, "the upstream request does not verify (\(verdict)): \(request.http.debugDescription)")
        guard let target = try? RequestTarget(parsing: request.target),
              let address = try? S3AddressResolver(baseDomains: []).resolve(host: request.headers["host"], target: target)
        else { return }
        let operation = S3OperationClassifier.classify(method: request.method, address: address, target: target,
                                                       headers: request.headers, acceptsOBSOperations: false)
        guard [.putObject, .createMultipartUpload, .copyObject].contains(operation) else { return }
        Invariant.check(request.headers[S3HeaderName.serverSideEncryption] == "aws:kms"
                            && request.headers[S3HeaderName.sseKMSKeyId] == "testkey-1",
                        "\(operation.name) went upstream without the policy's SSE-KMS key: \(request.http.debugDescription)")
    }
}
