import Foundation
import S3Core
import S3Signing

/// Fuzz target `signatures`: the Authorization header and presigned-query parsers and the
/// verifier of all six schemes (SigV4 header and presigned, SigV2 header and query, OBS
/// header and query). The input is a `SignatureCase` in its text form, so a seed signed by
/// a real client (botocore, Huawei's SDK) stays valid whatever day the fuzzer runs.
///
/// Invariants:
/// - what the parsers read writes back to text that parses to the same value;
/// - an accepted request names the verifier's one key, the claims read without verifying
///   (for audit records of refusals) agree with it, and the same request with one
///   character of its signature, or its method, changed is refused.
public enum SignatureTarget {
    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let signed = SignatureCase(text: String(decoding: bytes, as: UTF8.self)) else { return }
        checkRoundTrips(target: signed.target, headers: signed.headerFields)
        guard case .success(let accepted) = signed.verdict() else { return }
        checkAcceptance(accepted, of: signed)
    }

    static func checkRoundTrips(target text: String, headers: HeaderFields) {
        if let target = try? RequestTarget(parsing: text) {
            Invariant.check(target.text == text, "RequestTarget.text \(target.text.debugDescription) of \(text.debugDescription)")
            for parameter in target.query {
                let encoded = PercentEncoding.encode(parameter.value)
                Invariant.check(PercentEncoding.decode(encoded) == parameter.value,
                                "percent-encoding \(parameter.value.debugDescription) does not decode back")
            }
            _ = try? SigV4.canonicalURI(rawPath: target.rawPath)
            if let text = target.queryValue("X-Amz-Credential"),
               let credential = try? SigV4Credential(parsing: text, malformed: S3Error.authorizationQueryParametersError) {
                let written = "\(credential.accessKeyId)/\(credential.scope.text)"
                Invariant.check((try? SigV4Credential(parsing: written, malformed: S3Error.authorizationQueryParametersError)) == credential,
                                "credential \(text.debugDescription) written as \(written.debugDescription) reads differently")
            }
        }
        for authorization in headers.values(S3HeaderName.authorization) {
            guard let parsed = try? SigV4Authorization(header: authorization) else { continue }
            let written = "\(SigV4.algorithm) Credential=\(parsed.credential.accessKeyId)/\(parsed.credential.scope.text), "
                + "SignedHeaders=\(parsed.signedHeaders.joined(separator: ";")), Signature=\(parsed.signature)"
            Invariant.check((try? SigV4Authorization(header: written)) == parsed,
                            "authorization \(authorization.debugDescription) written as \(written.debugDescription) reads differently")
        }
    }

    static func checkAcceptance(_ accepted: AuthenticatedRequest, of signed: SignatureCase) {
        Invariant.check(accepted.accessKeyId == signed.accessKey, "accepted as \(accepted.accessKeyId.debugDescription)")
        if let target = try? RequestTarget(parsing: signed.target) {
            let headers = signed.headerFields
            Invariant.check(RequestAuthenticator.isSigned(target: target, headers: headers), "accepted, yet not signed")
            Invariant.check(RequestAuthenticator.claimedAccessKeyId(target: target, headers: headers) == accepted.accessKeyId,
                            "the claimed access key differs from the verified one")
            Invariant.check(RequestAuthenticator.claimedDialect(target: target, headers: headers) == accepted.scheme.dialect,
                            "the claimed dialect differs from the verified scheme's")
        }
        let otherMethod = signed.method == "PUT" ? "GET" : "PUT"
        Invariant.check(isRefused(signed.verdict(method: otherMethod, target: signed.target)),
                        "still accepted with the method \(otherMethod)")
        var tampered = signed
        Invariant.check(tampered.changeSignature(scheme: accepted.scheme), "accepted with an empty signature")
        Invariant.check(isRefused(tampered.verdict()), "still accepted with the signature changed: \(tampered.target) \(tampered.headers)")
    }

    private static func isRefused(_ verdict: Result<AuthenticatedRequest, S3Error>) -> Bool {
        if case .failure = verdict { true } else { false }
    }
}

extension SignatureCase {
    /// Changes the first character of the signature the scheme reads (hex or base64, raw
    /// or percent-encoded: any change changes the bytes compared). false when it is empty.
    mutating func changeSignature(scheme: SignatureScheme) -> Bool {
        switch scheme {
        case .sigV4Header, .sigV2Header, .obsHeader:
            guard let index = headers.firstIndex(where: { $0.first?.asciiCaseInsensitiveEquals(S3HeaderName.authorization) == true }),
                  headers[index].count == 2
            else { return false }
            let value = headers[index][1]
            let marker = scheme == .sigV4Header ? "Signature=" : ":"
            guard let found = value.range(of: marker, options: .backwards), found.upperBound < value.endIndex else { return false }
            headers[index][1] = Self.changingCharacter(at: found.upperBound, of: value)
            return true
        case .sigV4Presigned, .sigV2Query, .obsQuery:
            let name = scheme == .sigV4Presigned ? "X-Amz-Signature" : "Signature"
            guard let mark = target.firstIndex(of: "?") else { return false }
            var elements = target[target.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false).map(String.init)
            guard let index = elements.firstIndex(where: { PercentEncoding.decode($0.prefix { $0 != "=" }) == name }),
                  let equals = elements[index].firstIndex(of: "="), elements[index].index(after: equals) < elements[index].endIndex
            else { return false }
            elements[index] = Self.changingCharacter(at: elements[index].index(after: equals), of: elements[index])
            target = target[...mark] + elements.joined(separator: "&")
            return true
        }
    }

    private static func changingCharacter(at index: String.Index, of text: String) -> String {
        var changed = text
        changed.replaceSubrange(index...index, with: text[index] == "0" ? "1" : "0")
        return changed
    }
}
