import Crypto
import Foundation
import FormUpload
import S3Core
import S3Signing

/// Fuzz target `form`: a browser form upload's multipart/form-data body
/// (`MultipartFormParser`), its POST policy (`PostPolicy`), its verification
/// (`PostObjectVerifier`) and the body rewritten for the upstream (`PostObjectRewriter`).
/// The input is the request's Content-Type on the first line, then the body, posted to
/// the bucket `uploads`. A signature field (`x-amz-signature`, `signature`) whose value is
/// `sign-me` is replaced by the real signature of the form's policy under FuzzGateway's
/// client key, so fuzzed forms get past the signature to the policy and the rewriter; the
/// clock stands a minute before the policy's expiration.
///
/// Invariants:
/// - the body parsed whole and one byte at a time gives the same fields and verdict (and
///   the same file part and bytes, when it parses);
/// - no field name, file name or part Content-Type holds CR or LF, and a verified form
///   forwards no field value with CR, LF or NUL (they end up in upstream part headers);
/// - the upstream body the rewriter writes has the announced length and parses to the
///   fields it announced and the client's file bytes.
public enum FormTarget {
    static let bucket = "uploads"

    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
        let body = Array(bytes[(newline + 1)...])
        let whole = ParsedForm(body, contentType: contentType, pieceSize: max(body.count, 1))
        let bytewise = ParsedForm(body, contentType: contentType, pieceSize: 1)
        Invariant.check(whole.fields == bytewise.fields && whole.failure == bytewise.failure
                            && (whole.failure != nil || (whole.file == bytewise.file && whole.fileData == bytewise.fileData
                                                         && whole.closing == bytewise.closing)),
                        "parsed whole: \(whole), byte by byte: \(bytewise)")
        let partHeaders = whole.fields.map(\.name) + [whole.file?.fieldName, whole.file?.filename, whole.file?.contentType].compactMap { $0 }
        Invariant.check(!partHeaders.contains { $0.contains("\r") || $0.contains("\n") }, "a part header value with a line break: \(partHeaders)")
        guard whole.failure == nil, let file = whole.file, let form = verify(whole.fields, file: file) else { return }
        Invariant.check(!form.forwardedFields.contains { $0.value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" } },
                        "a forwarded field with a line break or NUL: \(form.forwardedFields)")
        checkRewrite(of: body, contentType: contentType, form: form, fileData: whole.fileData)
    }

    static func verify(_ fields: [FormField], file: FilePart) -> VerifiedPostForm? {
        let signed = fields.map { signingIfAsked($0, of: fields) }
        let policy = signed.first { $0.name.asciiLowercased == "policy" }.flatMap { try? PostPolicy(base64: $0.value) }
        let now = policy?.expiration.addingTimeInterval(-60) ?? Date(timeIntervalSince1970: 1_767_225_600)
        let verifier = PostObjectVerifier(settings: AuthenticationSettings(regions: [FuzzGateway.region]),
                                          secrets: OneSecret(accessKey: FuzzGateway.clientKey, secret: FuzzGateway.clientSecret))
        return try? verifier.verify(fields: signed, file: file, bucket: bucket, now: now)
    }

    /// The field with `sign-me` replaced by the signature of the form's policy.
    private static func signingIfAsked(_ field: FormField, of fields: [FormField]) -> FormField {
        guard field.value == "sign-me" else { return field }
        func value(_ name: String) -> String? { fields.first { $0.name.asciiLowercased == name }?.value }
        let policy = Data((value("policy") ?? "").utf8)
        switch field.name.asciiLowercased {
        case "x-amz-signature":
            guard let credential = value("x-amz-credential"),
                  let scope = try? SigV4Credential(parsing: credential, malformed: S3Error.invalidArgument).scope
            else { return field }
            let key = SigV4SigningKeyCache.derive(secret: FuzzGateway.clientSecret, scope: scope)
            return FormField(name: field.name, value: hex(HMAC<SHA256>.authenticationCode(for: policy, using: key.key)))
        case "signature":
            let key = SymmetricKey(data: Data(FuzzGateway.clientSecret.utf8))
            return FormField(name: field.name, value: Data(HMAC<Insecure.SHA1>.authenticationCode(for: policy, using: key)).base64EncodedString())
        default:
            return field
        }
    }

    static func checkRewrite(of body: [UInt8], contentType: String, form: VerifiedPostForm, fileData: [UInt8]) {
        guard let upstream = rewritten(body, contentType: contentType, form: form) else { return }
        Invariant.check(upstream.body.count == upstream.announcedLength,
                        "the upstream body is \(upstream.body.count) bytes, announced \(upstream.announcedLength)")
        let reparsed = ParsedForm(upstream.body, contentType: upstream.contentType, pieceSize: upstream.body.count)
        Invariant.check(reparsed.failure == nil && reparsed.fields == upstream.fields && reparsed.fileData == fileData,
                        "the upstream body reads \(reparsed), announced \(upstream.fields) and \(fileData.count) file bytes")
    }

    /// The request body the gateway sends the store for a verified form, or nil when the
    /// form is refused for its size or length (then nothing goes upstream).
    static func rewritten(_ body: [UInt8], contentType: String, form: VerifiedPostForm)
        -> (contentType: String, body: [UInt8], announcedLength: Int, fields: [FormField])? {
        do throws(S3Error) {
            var parser = try MultipartFormParser(contentType: contentType)
            let consumed = try parser.consume(body).consumed
            let signer = UpstreamSigner(scheme: .v4, credentials: SigningCredentials(accessKeyId: FuzzGateway.upstreamKey,
                                                                                     secretAccessKey: FuzzGateway.upstreamSecret),
                                        region: FuzzGateway.region)
            var rewriter = try PostObjectRewriter(form: form, parser: parser, clientContentLength: body.count, signer: signer,
                                                  dialect: .s3, now: form.policy.expiration.addingTimeInterval(-60))
            let upstream = try rewriter.upstreamPrefix + rewriter.consume(Array(body[consumed...])) + rewriter.finish()
            return (rewriter.upstreamContentType, upstream, rewriter.upstreamContentLength, rewriter.upstreamFields)
        } catch {
            return nil
        }
    }
}

/// What a parser read from a body fed in pieces of one size.
struct ParsedForm: CustomStringConvertible {
    var fields: [FormField] = []
    var file: FilePart?
    var fileData: [UInt8] = []
    var closing: [UInt8] = []
    /// The error code of a refused body.
    var failure: String?

    init(_ body: [UInt8], contentType: String, pieceSize: Int) {
        var parser: MultipartFormParser
        do throws(S3Error) {
            parser = try MultipartFormParser(contentType: contentType)
        } catch {
            failure = error.code
            return
        }
        do throws(S3Error) {
            for start in stride(from: 0, to: body.count, by: pieceSize) {
                var piece = body[start..<min(start + pieceSize, body.count)]
                // The parser stops right after the file part's headers; the rest is fed again.
                while !piece.isEmpty {
                    let read = try parser.consume(Array(piece))
                    file = read.file ?? file
                    fileData += read.fileData
                    closing += read.closing
                    Invariant.check(read.consumed > 0, "the parser took none of \(piece.count) bytes")
                    guard read.consumed > 0 else { break }
                    piece = piece.dropFirst(read.consumed)
                }
            }
            try parser.finish()
        } catch {
            failure = error.code
        }
        // The fields read before a refusal too (a refused call's events are not returned).
        fields = parser.fields
    }

    var description: String {
        "\(failure ?? "complete"): fields \(fields.map { "\($0.name)=\($0.value.debugDescription)" }), file \(String(describing: file)), "
            + "\(fileData.count) file bytes, \(closing.count) closing bytes"
    }
}
