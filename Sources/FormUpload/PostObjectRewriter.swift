import Crypto
import Foundation
import S3Core
import S3Signing

/// Turns a verified browser form upload into the upstream's: a new field section — the
/// forwarded fields, a new policy document that pins each of them, signed with the
/// upstream credentials — then the client's file bytes, unchanged and streamed, then the
/// client's closing delimiter.
///
///     client:   [field section ............][file part headers] file data CRLF--boundary-- [epilogue]
///     upstream: [new field section ][new file part headers    ] file data CRLF--boundary-- [epilogue]
///               \_________________ upstreamPrefix ____________/ \__ identical bytes, streamed ____/
///
/// The boundary stays the client's (the file was parsed with it, so it cannot occur in
/// the file), so the upstream body length is known as soon as the field section is:
///
///     upstreamContentLength = client Content-Length − client field section + upstreamPrefix.count
///
/// The new policy:
///
///     { "expiration": now + policyLifetime,
///       "conditions": [ {"bucket": B}, ["eq", "$key", K], ["eq", "$<field>", <value>] for each
///                       forwarded field and upstream auth field, ["content-length-range", min, max] ] }
///
/// where `min`/`max` are the client policy's range, `max` also capped by `maxFileSize` and
/// by what the Content-Length leaves for the file. The upstream thus enforces the very same
/// fields and size bounds the gateway verified.
///
/// The closing delimiter (and epilogue) is held back until `finish()` has checked the end:
/// the parser reached the closing boundary, the body had exactly its Content-Length, and
/// the file size is within the range. An upstream that never gets those last bytes never
/// sees a complete body, so a form that fails at its end stores nothing. A file larger than
/// the range is refused as soon as it grows past it.
///
/// Memory: the new field section, plus at most the closing delimiter and the epilogue.
public struct PostObjectRewriter: Sendable {
    /// S3's limit on a POST Object upload: 5 GB.
    public static let maxPostObjectSize = 5 * 1024 * 1024 * 1024
    /// How long the upstream policy is valid. Stores check it when they read the fields,
    /// which come first, so a slow file does not outlive it.
    public static let defaultPolicyLifetime: TimeInterval = 900

    /// `multipart/form-data; boundary=…` for the upstream request.
    public let upstreamContentType: String
    /// The upstream body's first bytes: the new field section and the file part's headers.
    public let upstreamPrefix: [UInt8]
    /// The upstream body's length, for its Content-Length header.
    public let upstreamContentLength: Int
    /// The upstream's text fields in order, ending with `policy` and its signature (for
    /// tests and inspection; like every signature, not for logs).
    public let upstreamFields: [FormField]
    /// The file sizes accepted (also the upstream policy's `content-length-range`, except
    /// that its `max` is further capped by the Content-Length).
    public let allowedSizes: SizeRange
    /// File bytes released so far.
    public private(set) var fileSize = 0

    private var parser: MultipartFormParser
    private let clientContentLength: Int
    /// Client body bytes accounted for (the field section, then every byte fed).
    private var received: Int
    /// Upstream body bytes released (the prefix is the caller's to send).
    private var released: Int
    private var heldClosing: [UInt8] = []
    private var failure: S3Error?

    /// - Parameters:
    ///   - form: the verified fields (and the policy's size range).
    ///   - parser: the parser that read the field section; it must have stopped right after
    ///     the file part's headers (no file byte consumed yet).
    ///   - clientContentLength: the client request's Content-Length (a form upload without
    ///     one is refused before this point: 411).
    ///   - signer: the upstream scheme, credentials and region of the principal's profile.
    ///   - dialect: the upstream's header dialect: `x-amz-*` / `x-obs-*` fields are renamed
    ///     (and their values translated) into it, as request headers are, so an OBS-dialect
    ///     encryption field is not sent to an S3 store under a name it ignores; a value
    ///     with no equivalent there is refused.
    public init(form: VerifiedPostForm, parser: MultipartFormParser, clientContentLength: Int,
                signer: UpstreamSigner, dialect: HeaderDialect, now: Date,
                policyLifetime: TimeInterval = defaultPolicyLifetime,
                maxFileSize: Int = maxPostObjectSize) throws(S3Error) {
        guard let sectionLength = parser.fieldSectionLength, parser.filePart != nil, parser.fileLength == 0 else {
            throw S3Error.internalError("The form rewriter needs a parser stopped at the file part")
        }
        let boundary = parser.boundary
        let delimiter = "\r\n--" + boundary
        // The smallest ending is the closing delimiter alone; the epilogue adds at most its limit.
        let largestFile = clientContentLength - sectionLength - (delimiter.utf8.count + 2)
        guard largestFile >= 0 else {
            throw S3Error.malformedPOSTRequest("the Content-Length is too short for the form's fields and closing boundary")
        }
        let smallestFile = max(0, largestFile - parser.limits.maxEpilogueSize)
        let requested = form.contentLengthRange ?? SizeRange(min: 0, max: Int.max)
        let allowed = SizeRange(min: requested.min, max: min(requested.max, maxFileSize))
        if largestFile < allowed.min {
            throw S3Error.entityTooSmall(proposedSize: largestFile, minSizeAllowed: allowed.min)
        }
        if smallestFile > allowed.max {
            throw S3Error.entityTooLarge(proposedSize: smallestFile, maxSizeAllowed: allowed.max)
        }

        // The fields, then the authentication of the scheme, then the policy and signature.
        let forwarded = try HeaderDialect.translate(HeaderFields(form.forwardedFields.map { ($0.name, $0.value) }), to: dialect)
            .map { FormField(name: $0.name, value: $0.value) }
        var fields = [FormField(name: "key", value: form.key)] + forwarded
        let credentials = signer.credentials
        var amzScope: SigV4Scope?
        // Fields S3 exempts from conditions, sent after the conditioned ones.
        var unconditioned: [FormField] = []
        switch signer.scheme {
        case .v4:
            let amzDate = SigningTime.amzDate(now)
            let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: signer.region)
            amzScope = scope
            fields.append(FormField(name: "x-amz-algorithm", value: SigV4.algorithm))
            fields.append(FormField(name: "x-amz-credential", value: "\(credentials.accessKeyId)/\(scope.text)"))
            fields.append(FormField(name: "x-amz-date", value: amzDate))
            if let token = credentials.sessionToken { fields.append(FormField(name: S3HeaderName.securityToken, value: token)) }
        case .v2:
            if let token = credentials.sessionToken { fields.append(FormField(name: S3HeaderName.securityToken, value: token)) }
            unconditioned.append(FormField(name: "AWSAccessKeyId", value: credentials.accessKeyId))
        case .obs:
            if let token = credentials.sessionToken { fields.append(FormField(name: OBSHeaderName.securityToken, value: token)) }
            unconditioned.append(FormField(name: "AccessKeyId", value: credentials.accessKeyId))
        }
        let policyMax = min(allowed.max, largestFile)
        var conditions: [Any] = [["bucket": form.bucket]]
        conditions += fields.map { ["eq", "$" + $0.name, $0.value] }
        conditions.append(["content-length-range", allowed.min, max(policyMax, allowed.min)] as [Any])
        let document: [String: Any] = [
            "expiration": PostPolicy.formatExpiration(now.addingTimeInterval(policyLifetime)),
            "conditions": conditions,
        ]
        guard let json = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw S3Error.internalError("The upstream policy document could not be written")
        }
        let policy = json.base64EncodedString()
        fields += unconditioned
        switch signer.scheme {
        case .v4:
            let key = signer.keyCache.signingKey(secret: credentials.secretAccessKey, scope: amzScope!)
            let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(policy.utf8), using: key.key))
            fields.append(FormField(name: "policy", value: policy))
            fields.append(FormField(name: "x-amz-signature", value: signature))
        case .v2, .obs:
            let signature = HMACV1.signature(secret: credentials.secretAccessKey, stringToSign: policy)
            fields.append(FormField(name: "policy", value: policy))
            fields.append(FormField(name: "signature", value: signature))
        }

        // The bytes.
        // The part header carries the value without surrounding whitespace (RFC 9110 §5.5:
        // a header value's OWS is not part of it), so that every parser reads the same one.
        let contentType = (form.forwardedFields.first { $0.name.asciiLowercased == "content-type" }?.value
            ?? "application/octet-stream").trimmingCharacters(in: [" ", "\t"])
        var prefix: [UInt8] = []
        for (index, field) in fields.enumerated() {
            // A backslash too: RFC 2045 parsers read it as an escape in the quoted name.
            guard !field.name.contains(where: { $0 == "\"" || $0 == "\\" || $0 == "\r" || $0 == "\n" }),
                  !field.value.contains(delimiter) else {
                throw S3Error.invalidArgument("The form field '\(S3Error.printable(field.name))' cannot be forwarded.")
            }
            prefix += Array(((index == 0 ? "" : "\r\n") + "--\(boundary)\r\n").utf8)
            prefix += Array("Content-Disposition: form-data; name=\"\(field.name)\"\r\n\r\n".utf8)
            prefix += Array(field.value.utf8)
        }
        var disposition = "Content-Disposition: form-data; name=\"file\""
        if form.file.filename != nil {
            disposition += "; filename=\"" + Self.escapeFilename(form.file.basename) + "\""
        }
        prefix += Array("\r\n--\(boundary)\r\n\(disposition)\r\nContent-Type: \(contentType)\r\n\r\n".utf8)

        upstreamFields = fields
        upstreamPrefix = prefix
        upstreamContentLength = clientContentLength - sectionLength + prefix.count
        upstreamContentType = "multipart/form-data; boundary="
            + (boundary.utf8.allSatisfy(MultipartFormParser.isTokenByte) ? boundary : "\"\(boundary)\"")
        allowedSizes = allowed
        self.parser = parser
        self.clientContentLength = clientContentLength
        received = sectionLength
        released = prefix.count
    }

    /// HTML's encoding of a filename in a form: `"` → `%22`, CR → `%0D`, LF → `%0A`.
    static func escapeFilename(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "%22"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Feeds the client's body bytes that follow the field section (starting with the bytes
    /// the parser left unconsumed); `release` gets the file bytes that may go upstream now,
    /// as slices of `bytes` or of the delimiter (valid only during the call).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 release: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        if let failure { throw failure }
        do throws(S3Error) {
            guard received + bytes.count <= clientContentLength else {
                throw S3Error.badRequest("The request body is longer than its Content-Length")
            }
            received += bytes.count
            var parser = self.parser
            var fileSize = self.fileSize
            var released = self.released
            var closing: [UInt8] = []
            let maximum = allowedSizes.max
            try parser.consume(bytes) { (event) throws(S3Error) in
                switch event {
                case .fileData(let data):
                    guard fileSize + data.count <= maximum else {
                        throw S3Error.entityTooLarge(proposedSize: fileSize + data.count, maxSizeAllowed: maximum)
                    }
                    fileSize += data.count
                    released += data.count
                    release(data)
                case .closing(let data):
                    closing.append(contentsOf: data)
                case .field, .fileHeader:
                    throw S3Error.internalError("The form parser reported a field after the file part")
                }
            }
            self.parser = parser
            self.fileSize = fileSize
            self.released = released
            heldClosing += closing
        } catch {
            failure = error
            throw error
        }
    }

    /// The client's body ended: checks what only the end can show, then releases the held
    /// closing delimiter. If this throws, the upstream must not get a complete body (reset
    /// its connection).
    public mutating func finish(release: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        if let failure { throw failure }
        do throws(S3Error) {
            try parser.finish()
            guard received == clientContentLength else {
                throw S3Error.incompleteBody("The request body is shorter than its Content-Length")
            }
            try allowedSizes.check(fileSize)
            guard released + heldClosing.count == upstreamContentLength else {
                throw S3Error.internalError("The upstream form body does not have the length announced")
            }
            released += heldClosing.count
        } catch {
            failure = error
            throw error
        }
        heldClosing.withUnsafeBytes { release($0) }
        heldClosing = []
    }
}

extension PostObjectRewriter {
    /// Convenience for tests and small bodies: the bytes released for `bytes`.
    public mutating func consume(_ bytes: [UInt8]) throws(S3Error) -> [UInt8] {
        var out: [UInt8] = []
        var failure: S3Error?
        bytes.withUnsafeBytes { buffer in
            do throws(S3Error) {
                try consume(buffer) { out.append(contentsOf: $0) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Convenience for tests: the bytes `finish(release:)` releases.
    public mutating func finish() throws(S3Error) -> [UInt8] {
        var out: [UInt8] = []
        try finish { out.append(contentsOf: $0) }
        return out
    }
}
