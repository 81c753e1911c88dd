import Foundation
import S3Core

/// An upstream error body may carry what only the gateway should see: the string to sign
/// and canonical request of a failed signature (which echo the upstream access key), and
/// the access key itself. Those elements are removed before the body reaches the client.
/// Public for the fuzz harness, which checks that none of `hiddenElements` gets through.
public enum UpstreamErrorSanitizer {
    public static let hiddenElements = [
        "StringToSign", "StringToSignBytes", "CanonicalRequest", "CanonicalRequestBytes",
        "SignatureProvided", "AWSAccessKeyId", "AccessKeyId", "HostId",
    ]

    /// Error bodies larger than this are replaced by a generic error rather than parsed.
    static let maxBodyBytes = 64 * 1024

    static func sanitize(_ body: String) -> String {
        var text = body
        for name in hiddenElements {
            while let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) {
                text.removeSubrange(open.lowerBound..<close.upperBound)
            }
            while let empty = text.range(of: "<\(name)/>") { text.removeSubrange(empty) }
        }
        // A spelling the cuts above do not know (`<AWSAccessKeyId >`, a prefix: found by the
        // xml fuzz target) still names the element: the body is withheld, its code kept.
        guard !hiddenElements.contains(where: { text.contains($0) }) else {
            let code = code(of: body).map { "<Code>\(XMLText.escape($0))</Code>" } ?? ""
            return #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<Error>\(code)"
                + "<Message>The upstream's error was withheld: it named what only the gateway may see.</Message></Error>"
        }
        return text
    }

    /// The `<Code>` of an S3 error body, if any.
    static func code(of body: String) -> String? {
        guard let open = body.range(of: "<Code>"), let close = body.range(of: "</Code>", range: open.upperBound..<body.endIndex)
        else { return nil }
        return String(body[open.upperBound..<close.lowerBound])
    }
}
