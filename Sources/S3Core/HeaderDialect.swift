/// The two header dialects of object storage: S3 (`x-amz-*`) and Huawei OBS (`x-obs-*`),
/// and the one translation table between them (docs/dialects.md lists it).
///
/// OBS keeps most S3 header suffixes (`x-amz-acl` ↔ `x-obs-acl`, `x-amz-meta-*` ↔
/// `x-obs-meta-*`, SSE-C, website redirect, copy source, metadata directive, grants, date,
/// security token, request ids), and differs in a few names and values:
///
///     header                                         S3                       OBS
///     storage class values                           STANDARD / STANDARD_IA   STANDARD / WARM
///                                                    GLACIER / DEEP_ARCHIVE   COLD / DEEP_ARCHIVE
///     x-amz-server-side-encryption                   aws:kms / AES256         kms / AES256
///     x-amz-server-side-encryption-aws-kms-key-id    x-obs-server-side-encryption-kms-key-id
public enum HeaderDialect: String, Sendable, CaseIterable {
    case s3
    case obs

    public var prefix: String { self == .s3 ? S3HeaderName.prefix : OBSHeaderName.prefix }

    /// Whether a header (or header-like parameter) name is one of either dialect's:
    /// `x-amz-*` or `x-obs-*`, in any case, compared over the bytes without a copy.
    /// Inlinable, so that it is specialised where it is called: unspecialised, each call
    /// looked up generic metadata.
    @inlinable
    public static func isDialectName(_ name: some StringProtocol) -> Bool {
        name.hasASCIICaseInsensitivePrefix(S3HeaderName.prefix) || name.hasASCIICaseInsensitivePrefix(OBSHeaderName.prefix)
    }

    /// Header names whose suffix differs between the dialects (lowercase).
    static let renamedHeaders: [(s3: String, obs: String)] = [
        (S3HeaderName.sseKMSKeyId, OBSHeaderName.sseKMSKeyId),
    ]

    /// Every storage class S3 knows (case-sensitive).
    public static let s3StorageClasses: [String] = [
        "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
        "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR",
    ]

    /// Storage classes both dialects know, S3 name and OBS name.
    public static let storageClasses: [(s3: String, obs: String)] = [
        ("STANDARD", "STANDARD"), ("STANDARD_IA", "WARM"), ("GLACIER", "COLD"), ("DEEP_ARCHIVE", "DEEP_ARCHIVE"),
    ]

    /// Every server-side encryption value S3 knows (case-sensitive).
    public static let s3ServerSideEncryptions: [String] = ["AES256", "aws:kms", "aws:kms:dsse"]

    /// Server-side encryption values both dialects know.
    public static let serverSideEncryptions: [(s3: String, obs: String)] = [
        ("aws:kms", "kms"), ("AES256", "AES256"),
    ]

    /// S3 headers OBS has no counterpart for (flexible checksums, SigV4 payload framing,
    /// bucket-owner and requester-pays conditions): they stay as they are.
    static let s3Only: [String] = [
        S3HeaderName.checksumPrefix, "x-amz-sdk-checksum-algorithm", S3HeaderName.contentSHA256,
        S3HeaderName.decodedContentLength, S3HeaderName.trailer, "x-amz-expected-bucket-owner", "x-amz-request-payer",
    ]

    /// The name of a header in the other dialect, or nil when it is not a dialect header
    /// (no `x-amz-` / `x-obs-` prefix, or an S3-only header). The input may be in any case;
    /// the output is lowercase.
    public func translateName(_ name: String, to target: HeaderDialect) -> String? {
        // Over the bytes, before a lowercased copy is made (`String.hasPrefix` compares
        // grapheme clusters; a field name is ASCII).
        guard name.hasASCIICaseInsensitivePrefix(prefix), !Self.s3Only.contains(where: { name.hasASCIICaseInsensitivePrefix($0) })
        else { return nil }
        let lower = name.asciiLowercased
        if self == target { return lower }
        for pair in Self.renamedHeaders {
            if lower == (self == .s3 ? pair.s3 : pair.obs) { return target == .s3 ? pair.s3 : pair.obs }
        }
        return target.prefix + lower.dropFirst(prefix.count)
    }

    /// A header value in the other dialect; nil when the value has no equivalent there
    /// (e.g. S3's REDUCED_REDUNDANCY storage class on OBS). Values of headers that do not
    /// change between the dialects are returned as they are.
    public func translateValue(_ value: String, ofHeader lowercaseName: String, to target: HeaderDialect) -> String? {
        guard self != target else { return value }
        let suffix = lowercaseName.dropFirst(prefix.count)
        let table: [(s3: String, obs: String)]
        switch suffix {
        case "storage-class": table = Self.storageClasses
        case "server-side-encryption": table = Self.serverSideEncryptions
        default: return value
        }
        let pair = table.first { (self == .s3 ? $0.s3 : $0.obs) == value }
        return pair.map { target == .s3 ? $0.s3 : $0.obs }
    }

    /// Every dialect header of `headers` (either prefix) in the `target` dialect; other
    /// headers unchanged. For a request (`strict`), a value without an equivalent throws the
    /// S3 error S3 itself would give for an unknown value, so it is refused before it leaves
    /// the gateway; for a response such a value is passed on as it is.
    public static func translate(_ headers: HeaderFields, to target: HeaderDialect,
                                 strict: Bool = true) throws(S3Error) -> HeaderFields {
        // The usual case — client and store of one dialect, prefixed names in lowercase as
        // the SDKs send them — has nothing to change: the fields as they are.
        let changesNothing = headers.allSatisfy { field in
            allCases.allSatisfy { dialect in
                !field.name.hasASCIICaseInsensitivePrefix(dialect.prefix)
                    || (dialect == target && !field.name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
            }
        }
        if changesNothing { return headers }
        var out = HeaderFields()
        out.reserveCapacity(headers.count)
        for field in headers {
            guard let source = allCases.first(where: { field.name.hasASCIICaseInsensitivePrefix($0.prefix) }),
                  let name = source.translateName(field.name, to: target)
            else {
                out.add(field.name, field.value)
                continue
            }
            guard let value = source.translateValue(field.value, ofHeader: field.name.asciiLowercased, to: target) else {
                if !strict {
                    out.add(name, field.value)
                    continue
                }
                let what = "\(field.value) in \(field.name.asciiLowercased)"
                if name.hasSuffix("storage-class") {
                    throw S3Error.invalidStorageClass("The storage class \(what) has no \(target.rawValue.uppercased()) equivalent.")
                }
                throw S3Error.invalidArgument("The value \(what) has no \(target.rawValue.uppercased()) equivalent.")
            }
            out.add(name, value)
        }
        return out
    }
}
