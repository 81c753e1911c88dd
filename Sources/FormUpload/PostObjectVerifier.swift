import Crypto
import Foundation
import S3Core
import S3Signing

/// Which signature a form carried.
public enum PostFormSignatureScheme: String, Sendable, Equatable {
    /// `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature` =
    /// hex(HMAC-SHA256(SigV4 signing key, policy)).
    case sigV4 = "sigv4-post"
    /// `AWSAccessKeyId`, `signature` = base64(HMAC-SHA1(secret, policy)).
    case sigV2 = "sigv2-post"
}

/// A form whose signature, expiry and conditions checked out.
public struct VerifiedPostForm: Sendable, Equatable {
    public let accessKeyId: String
    public let scheme: PostFormSignatureScheme
    /// The bucket the form was posted to.
    public let bucket: String
    /// The object key, with `${filename}` expanded.
    public let key: String
    /// Every text field as the policy judged it (`${filename}` expanded), in arrival order.
    public let fields: [FormField]
    /// The fields the upstream gets besides `key` and its own authentication fields: every
    /// field except the client's authentication fields, `bucket`, `key` and `x-ignore-*`;
    /// then as the upload policy changed them (`settingField`, `removingField`).
    public private(set) var forwardedFields: [FormField]
    public let file: FilePart
    public let policy: PostPolicy
    /// The policy's `content-length-range` (intersected), nil when it has none.
    public var contentLengthRange: SizeRange? { policy.contentLengthRange }

    /// The forwarded fields as request headers, so the upload policy can police a form like
    /// a PutObject: `acl` appears as `x-amz-acl`, `tagging` as `x-amz-tagging`, every other
    /// field under its own name (`x-amz-storage-class`, `x-amz-server-side-encryption*`,
    /// `x-amz-website-redirect-location`, `x-amz-meta-*`, `Content-Type`, `x-obs-*`, …).
    /// `success_action_status`, `success_action_redirect` and `redirect` shape the
    /// response, not the object, and are left out.
    public var headers: HeaderFields {
        var headers = HeaderFields()
        for field in forwardedFields {
            switch field.name.asciiLowercased {
            case "success_action_status", "success_action_redirect", "redirect": continue
            case "acl": headers.add("x-amz-acl", field.value)
            case "tagging": headers.add("x-amz-tagging", field.value)
            default: headers.add(field.name, field.value)
            }
        }
        return headers
    }

    /// The form field a request header of `headers` stands for.
    static func fieldName(ofHeader name: String) -> String {
        switch name.asciiLowercased {
        case "x-amz-acl": "acl"
        case "x-amz-tagging": "tagging"
        default: name
        }
    }

    /// The form with the field the header `name` stands for set to `value` (replacing any
    /// of that name), as the upload policy injects a default into a form. The upstream form
    /// pins it like every forwarded field.
    public func settingField(ofHeader name: String, to value: String) -> VerifiedPostForm {
        var form = removingField(ofHeader: name)
        form.forwardedFields.append(FormField(name: Self.fieldName(ofHeader: name), value: value))
        return form
    }

    /// The form without the field the header `name` stands for, in either spelling (`acl`
    /// and `x-amz-acl` both become the header `x-amz-acl`).
    public func removingField(ofHeader name: String) -> VerifiedPostForm {
        let names: Set = [Self.fieldName(ofHeader: name).asciiLowercased, name.asciiLowercased]
        var form = self
        form.forwardedFields.removeAll { names.contains($0.name.asciiLowercased) }
        return form
    }
}

/// Verifies the authentication of a browser form upload (POST Object) from its text
/// fields, as S3 does (AWS S3 API reference, "Authenticating Requests in Browser-Based
/// Uploads Using POST (AWS Signature Version 4)"; developer guide, "HTML Forms (AWS
/// Signature Version 2)"):
///
///     SigV4: x-amz-signature = hex(HMAC-SHA256(SigningKey(secret, x-amz-credential scope), policy))
///     SigV2: signature       = base64(HMAC-SHA1(secret, policy))
///
/// where `policy` is the base64 text of the policy field exactly as sent. Then the policy
/// document: not expired, every condition satisfied, every field covered.
///
/// Rules of the gateway on top of S3's, each refusing rather than guessing:
///
/// - a field given twice is refused (S3 would join the values with ","; the upstream and
///   the policy could then read different things);
/// - forms without a policy (anonymous uploads to a public bucket) are refused;
/// - `${filename}` is expanded in every field but the authentication fields, as S3
///   documents it; a value that still contains `${filename}` after expansion (a filename
///   that itself contains it) is refused, so the upstream cannot expand it again;
/// - forwarded field values other than `key` may not contain CR, LF or NUL (they become
///   object headers);
/// - the `x-amz-date` of a SigV4 form is not held to the clock skew: like S3, the policy's
///   expiration decides how long a form is valid.
public struct PostObjectVerifier: Sendable {
    public let settings: AuthenticationSettings
    public let secrets: any SecretLookup
    public let keyCache: SigV4SigningKeyCache

    public init(settings: AuthenticationSettings, secrets: any SecretLookup,
                keyCache: SigV4SigningKeyCache = SigV4SigningKeyCache()) {
        self.settings = settings
        self.secrets = secrets
        self.keyCache = keyCache
    }

    /// Fields that carry the client's authentication: verified here, never forwarded and
    /// never `${filename}`-expanded.
    static let authenticationFields: Set<String> = [
        "policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token",
        "signature", "awsaccesskeyid", "accesskeyid", "x-obs-security-token",
    ]

    /// The access key id a form claims to be signed with (`x-amz-credential`,
    /// `AWSAccessKeyId` or OBS's `AccessKeyId`), read without verifying anything: for the
    /// audit record of a form whose key is unknown or whose signature does not match.
    public static func claimedAccessKeyId(fields: [FormField]) -> String? {
        for field in fields {
            switch field.name.asciiLowercased {
            case "x-amz-credential": return try? credential(field.value).accessKeyId
            case "awsaccesskeyid", "accesskeyid": return field.value
            default: continue
            }
        }
        return nil
    }

    /// Verifies the form a parser has read up to its file part.
    public func verify(_ parser: MultipartFormParser, bucket: String, now: Date) throws(S3Error) -> VerifiedPostForm {
        guard let file = parser.filePart else {
            throw S3Error.invalidArgument("POST requires exactly one file upload per request.")
        }
        return try verify(fields: parser.fields, file: file, bucket: bucket, now: now)
    }

    public func verify(fields: [FormField], file: FilePart, bucket: String, now: Date) throws(S3Error) -> VerifiedPostForm {
        var values: [String: String] = [:]
        for field in fields {
            let name = field.name.asciiLowercased
            guard values[name] == nil else {
                throw S3Error.invalidArgument("The form field '\(S3Error.printable(field.name))' was given more than once; this gateway does not accept repeated fields.")
            }
            values[name] = field.value
        }
        guard values["key"] != nil else {
            throw S3Error.invalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
        }
        let signsV4 = values["x-amz-signature"] != nil || values["x-amz-algorithm"] != nil || values["x-amz-credential"] != nil
        let signsV2 = values["signature"] != nil || values["awsaccesskeyid"] != nil
        guard !(signsV4 && signsV2) else {
            throw S3Error.invalidArgument("Only one auth mechanism allowed; the form carries both SigV4 and SigV2 fields")
        }
        guard let policyText = values["policy"] else {
            if signsV4 || signsV2 {
                throw S3Error.invalidArgument("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.")
            }
            throw S3Error.accessDenied("Anonymous access is not allowed; sign the form with a gateway-issued key")
        }

        // authenticate
        let accessKeyId: String
        let scheme: PostFormSignatureScheme
        if signsV4 {
            accessKeyId = try verifySigV4(values, policy: policyText)
            scheme = .sigV4
        } else {
            accessKeyId = try verifySigV2(values, policy: policyText)
            scheme = .sigV2
        }

        // the policy document
        let policy = try PostPolicy(base64: policyText)
        try policy.checkExpiration(now: now, maxLifetime: settings.maxPresignedLifetime)
        let basename = file.basename
        let expanded = fields.map { field in
            guard !Self.authenticationFields.contains(field.name.asciiLowercased) else { return field }
            return FormField(name: field.name, value: field.value.replacingOccurrences(of: "${filename}", with: basename))
        }
        try policy.check(fields: expanded, bucket: bucket,
                         exempt: scheme == .sigV4 ? ["policy", "x-amz-signature"] : ["policy", "signature", "awsaccesskeyid"])

        // what goes on
        var key = ""
        var forwarded: [FormField] = []
        for field in expanded {
            let name = field.name.asciiLowercased
            if !Self.authenticationFields.contains(name), field.value.contains("${filename}") {
                throw S3Error.invalidArgument("The file name makes the field '\(S3Error.printable(field.name))' contain '${filename}' after expansion.")
            }
            switch name {
            case "key":
                key = field.value
            case "bucket":
                guard field.value == bucket else {
                    throw S3Error.invalidArgument("The bucket field does not name the bucket the form was posted to.")
                }
            case _ where Self.authenticationFields.contains(name) || name.hasPrefix("x-ignore-"):
                continue
            default:
                guard !field.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                    throw S3Error.invalidArgument("The form field '\(S3Error.printable(field.name))' contains a line break.")
                }
                forwarded.append(field)
            }
        }
        guard !key.isEmpty else { throw S3Error.invalidArgument("User key must have a length greater than 0.") }
        guard key.utf8.count <= S3AddressResolver.maxKeyLength else {
            throw S3Error.keyTooLong(size: key.utf8.count, maxSize: S3AddressResolver.maxKeyLength)
        }
        return VerifiedPostForm(accessKeyId: accessKeyId, scheme: scheme, bucket: bucket, key: key, fields: expanded,
                                forwardedFields: forwarded, file: file, policy: policy)
    }

    // MARK: Signatures

    private func verifySigV4(_ values: [String: String], policy: String) throws(S3Error) -> String {
        func required(_ name: String) throws(S3Error) -> String {
            guard let value = values[name] else {
                throw S3Error.invalidArgument("Bucket POST must contain a field named '\(name)'.  If it is specified, please check the order of the fields.")
            }
            return value
        }
        let algorithm = try required("x-amz-algorithm")
        let credentialText = try required("x-amz-credential")
        let amzDate = try required("x-amz-date")
        let signature = try required("x-amz-signature")
        guard algorithm == SigV4.algorithm else {
            throw S3Error.invalidArgument("x-amz-algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let credential = try Self.credential(credentialText)
        let (accessKeyId, scope) = (credential.accessKeyId, credential.scope)
        guard let secret = secrets.secret(forAccessKey: accessKeyId) else { throw S3Error.invalidAccessKeyId() }
        guard SigningTime.parseAmzDate(amzDate) != nil else {
            throw S3Error.invalidArgument("x-amz-date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        try settings.checkScope(scope, amzDate: amzDate, subject: "The x-amz-credential field", dateName: "x-amz-date",
                                malformed: S3Error.invalidArgument)
        let key = keyCache.signingKey(secret: secret, scope: scope)
        let expected = Array(HMAC<SHA256>.authenticationCode(for: Data(policy.utf8), using: key.key))
        guard signature.utf8.count == 64, let provided = bytesFromHex(signature),
              ConstantTime.equals(provided, expected)
        else { throw S3Error.signatureDoesNotMatch() }
        return accessKeyId
    }

    private func verifySigV2(_ values: [String: String], policy: String) throws(S3Error) -> String {
        guard let accessKeyId = values["awsaccesskeyid"] else {
            throw S3Error.invalidArgument("Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please check the order of the fields.")
        }
        guard let signature = values["signature"] else {
            throw S3Error.invalidArgument("Bucket POST must contain a field named 'signature'.  If it is specified, please check the order of the fields.")
        }
        guard let secret = secrets.secret(forAccessKey: accessKeyId) else { throw S3Error.invalidAccessKeyId() }
        let expected = Array(HMAC<Insecure.SHA1>.authenticationCode(for: Data(policy.utf8),
                                                                    using: SymmetricKey(data: Data(secret.utf8))))
        guard let provided = Data(base64Encoded: signature), provided.count == 20,
              ConstantTime.equals(provided, expected)
        else { throw S3Error.signatureDoesNotMatch() }
        return accessKeyId
    }

    /// `AccessKeyId/YYYYMMDD/region/service/aws4_request`, the scope taken from the right.
    /// `x-amz-credential`: the grammar of every SigV4 credential (`SigV4Credential`).
    static func credential(_ text: String) throws(S3Error) -> SigV4Credential {
        try SigV4Credential(parsing: text) { S3Error.invalidArgument("The x-amz-credential field is malformed; \($0)") }
    }
}
