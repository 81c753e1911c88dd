import Foundation
import S3Core

/// A policy-relevant request header that exists in both dialects: `x-amz-…` (S3) and
/// `x-obs-…` (Huawei OBS native). The policy reads the two as one logical header.
public enum UploadHeader: String, CaseIterable, Sendable, Hashable {
    case storageClass
    case serverSideEncryption
    case kmsKeyId
    case websiteRedirectLocation
    case sseCustomerAlgorithm
    case sseCustomerKey
    case sseCustomerKeyMD5
    case copySourceSSECustomerAlgorithm
    case copySourceSSECustomerKey
    case copySourceSSECustomerKeyMD5
    case acl
    case metadataDirective

    /// The S3 name, lowercase.
    public var s3Name: String {
        switch self {
        case .storageClass: S3HeaderName.storageClass
        case .serverSideEncryption: S3HeaderName.serverSideEncryption
        case .kmsKeyId: S3HeaderName.sseKMSKeyId
        case .websiteRedirectLocation: S3HeaderName.websiteRedirectLocation
        case .sseCustomerAlgorithm: S3HeaderName.sseCustomerAlgorithm
        case .sseCustomerKey: S3HeaderName.sseCustomerKey
        case .sseCustomerKeyMD5: S3HeaderName.sseCustomerKeyMD5
        case .copySourceSSECustomerAlgorithm: S3HeaderName.copySourceSSECustomerAlgorithm
        case .copySourceSSECustomerKey: S3HeaderName.copySourceSSECustomerKey
        case .copySourceSSECustomerKeyMD5: S3HeaderName.copySourceSSECustomerKeyMD5
        case .acl: S3HeaderName.acl
        case .metadataDirective: S3HeaderName.metadataDirective
        }
    }

    /// The OBS name, lowercase.
    public var obsName: String {
        switch self {
        case .storageClass: OBSHeaderName.storageClass
        case .serverSideEncryption: OBSHeaderName.serverSideEncryption
        case .kmsKeyId: OBSHeaderName.sseKMSKeyId
        case .websiteRedirectLocation: OBSHeaderName.websiteRedirectLocation
        case .sseCustomerAlgorithm: OBSHeaderName.sseCustomerAlgorithm
        case .sseCustomerKey: OBSHeaderName.sseCustomerKey
        case .sseCustomerKeyMD5: OBSHeaderName.sseCustomerKeyMD5
        case .copySourceSSECustomerAlgorithm: OBSHeaderName.copySourceSSECustomerAlgorithm
        case .copySourceSSECustomerKey: OBSHeaderName.copySourceSSECustomerKey
        case .copySourceSSECustomerKeyMD5: OBSHeaderName.copySourceSSECustomerKeyMD5
        case .acl: OBSHeaderName.acl
        case .metadataDirective: OBSHeaderName.metadataDirective
        }
    }

    /// Values that must never appear in a message or a log line.
    var isSecret: Bool { self == .sseCustomerKey || self == .copySourceSSECustomerKey }

    /// An OBS value in S3 terms, so the two dialects compare: storage classes
    /// `WARM` → `STANDARD_IA`, `COLD` → `GLACIER`; encryption `kms` → `aws:kms`.
    func s3Value(ofOBSValue value: String) -> String {
        switch self {
        case .storageClass: StorageClass.s3Name(ofOBSName: value) ?? value
        case .serverSideEncryption: HeaderDialect.serverSideEncryptions.first { $0.obs == value }?.s3 ?? value
        default: value
        }
    }

    /// Lowercase header name → (logical header, whether it is the OBS form).
    static let byName: [String: (header: UploadHeader, isOBS: Bool)] = {
        var names: [String: (header: UploadHeader, isOBS: Bool)] = [:]
        for header in allCases {
            names[header.s3Name] = (header, false)
            names[header.obsName] = (header, true)
        }
        return names
    }()
}

/// One logical header as the request carried it.
public struct DialectField: Sendable, Equatable {
    /// The value in S3 terms (from the `x-amz-` form, or the `x-obs-` form mapped).
    public var value: String
    /// The value of the `x-amz-` form, when present.
    public var s3Value: String?
    /// The value of the `x-obs-` form, when present.
    public var obsValue: String?
    /// The names present, lowercase, `x-amz-` first: what a mutation must remove.
    public var names: [String]
    /// The name to quote in a message: the one the client used (the S3 one when both).
    public var name: String { names[0] }
}

/// One `x-amz-meta-*` / `x-obs-meta-*` entry.
public struct MetadataEntry: Sendable, Equatable {
    /// The key after the prefix, lowercase (header names are case-insensitive).
    public var key: String
    public var value: String
    /// The header names present, lowercase.
    public var names: [String]
}

/// A header given as is (ACL grants), lowercase name.
public struct HeaderEntry: Sendable, Equatable {
    public var name: String
    public var value: String
}

/// The request's policy-relevant headers, read in both dialects and any casing, as one
/// unambiguous view. Reading refuses ambiguity with 400 InvalidArgument naming the header:
/// a header given twice with different values, or an `x-amz-` and an `x-obs-` form that
/// disagree once OBS values are mapped to S3 terms (WARM ↔ STANDARD_IA, COLD ↔ GLACIER,
/// kms ↔ aws:kms). Identical repeats are one value. Values are trimmed of spaces and tabs.
public struct UploadHeaders: Sendable, Equatable {
    public private(set) var fields: UploadHeaderTable<DialectField>
    /// User metadata in first-seen order.
    public private(set) var metadata: [MetadataEntry]
    /// `x-amz-grant-*` / `x-obs-grant-*` fields, in arrival order.
    public private(set) var grants: [HeaderEntry]

    public subscript(_ header: UploadHeader) -> DialectField? { fields[header] }

    public init(reading headers: HeaderFields) throws(S3Error) {
        try self.init(RawUploadHeaders(headers))
    }

    /// Checks that the dialects agree and builds the view.
    init(_ raw: RawUploadHeaders) throws(S3Error) {
        var fields = UploadHeaderTable<DialectField>()
        for (header, pair) in raw.fields.entries {
            var names: [String] = []
            if pair.s3 != nil { names.append(header.s3Name) }
            if pair.obs != nil { names.append(header.obsName) }
            let fromOBS = pair.obs.map(header.s3Value(ofOBSValue:))
            if let s3 = pair.s3, let fromOBS, s3 != fromOBS {
                let detail = header.isSecret ? "" : " ('\(s3)' and '\(pair.obs!)')"
                throw SeedValidation.argumentError(
                    "The headers \(header.s3Name) and \(header.obsName) disagree\(detail); give one of them, or the same value in both",
                    header: header.obsName)
            }
            fields[header] = DialectField(value: pair.s3 ?? fromOBS!, s3Value: pair.s3, obsValue: pair.obs, names: names)
        }
        var metadata: [MetadataEntry] = []
        var index: [String: Int] = [:]
        for entry in raw.metadata {
            if let at = index[entry.key] {
                guard metadata[at].value == entry.value else {
                    throw SeedValidation.argumentError(
                        "The headers \(metadata[at].names[0]) and \(entry.name) disagree; give one of them, or the same value in both",
                        header: entry.name)
                }
                if !metadata[at].names.contains(entry.name) { metadata[at].names.append(entry.name) }
            } else {
                index[entry.key] = metadata.count
                metadata.append(MetadataEntry(key: entry.key, value: entry.value, names: [entry.name]))
            }
        }
        self.fields = fields
        self.metadata = metadata
        self.grants = raw.grants
    }

    /// The encryption the request asks for.
    public var encryption: EncryptionKind {
        if fields[.sseCustomerAlgorithm] != nil || fields[.sseCustomerKey] != nil || fields[.sseCustomerKeyMD5] != nil {
            return .sseC
        }
        guard let value = fields[.serverSideEncryption]?.value else { return .none }
        return EncryptionKind(headerValue: value) ?? .unrecognized
    }

    /// Total size of the user metadata as S3 measures it: the UTF-8 bytes of every key
    /// (after the `x-amz-meta-` / `x-obs-meta-` prefix) and every value.
    public var metadataSize: Int { metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count } }

    /// The view with a header set to a value (as a mutation would), in the S3 dialect.
    mutating func set(_ header: UploadHeader, to value: String) {
        fields[header] = DialectField(value: value, s3Value: value, obsValue: nil, names: [header.s3Name])
    }

    mutating func remove(_ header: UploadHeader) { fields[header] = nil }
}

/// The first pass over the header block: each logical header per dialect, with repeats of
/// one name refused when their values differ. No cross-dialect check yet, so that the seed
/// rules can judge each dialect's value by its own vocabulary first.
struct RawUploadHeaders {
    var fields = UploadHeaderTable<(s3: String?, obs: String?)>()
    var metadata: [(name: String, key: String, value: String)] = []
    var grants: [HeaderEntry] = []

    init(_ headers: HeaderFields) throws(S3Error) {
        var metadataIndex: [String: Int] = [:]
        for field in headers {
            // Host, Authorization, Content-Length… are passed by before a lowercased copy is made.
            guard HeaderDialect.isDialectName(field.name) else { continue }
            let name = field.name.asciiLowercased
            if let control = Self.controlCharacter(in: field.value) {
                throw SeedValidation.argumentError(
                    "The header \(name) contains the control character \(control); obsgate does not accept control characters in the headers its rules read",
                    header: name)
            }
            let value = Self.trimmed(field.value)
            if let (header, isOBS) = UploadHeader.byName[name] {
                var pair = fields[header] ?? (nil, nil)
                let existing = isOBS ? pair.obs : pair.s3
                if let existing, existing != value {
                    throw SeedValidation.argumentError(
                        "The header \(name) is given more than once with different values", header: name)
                }
                if isOBS { pair.obs = value } else { pair.s3 = value }
                fields[header] = pair
            } else if name.hasPrefix(S3HeaderName.metaPrefix) || name.hasPrefix(OBSHeaderName.metaPrefix) {
                let key = String(name.dropFirst(S3HeaderName.metaPrefix.count))  // both prefixes are 11 bytes
                if let at = metadataIndex[name] {
                    guard metadata[at].value == value else {
                        throw SeedValidation.argumentError(
                            "The header \(name) is given more than once with different values", header: name)
                    }
                } else {
                    metadataIndex[name] = metadata.count
                    metadata.append((name, key, value))
                }
            } else if name.hasPrefix(S3HeaderName.grantPrefix) || name.hasPrefix(OBSHeaderName.grantPrefix) {
                if let earlier = grants.first(where: { $0.name == name }) {
                    guard earlier.value == value else {
                        throw SeedValidation.argumentError(
                            "The header \(name) is given more than once with different values", header: name)
                    }
                } else {
                    grants.append(HeaderEntry(name: name, value: value))
                }
            }
        }
    }

    /// The first control character of a value, as `U+XXXX`: C0 (HT, CR, LF and NUL among
    /// them), DEL and C1. Browsers drop TAB/CR/LF from URLs, so `/\t/evil.example` would be
    /// read as `//evil.example` — a value the rules judged differently from how it is used.
    static func controlCharacter(in value: String) -> String? {
        // Printable ASCII throughout, as nearly every value is: no scalar to decode.
        if value.withUTF8Bytes({ $0.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }) { return nil }
        return value.unicodeScalars.first { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
            .map { String(format: "U+%04X", $0.value) }
    }

    /// The value without leading and trailing spaces and tabs; the string itself, not a
    /// copy, when it has none (nearly every value).
    static func trimmed(_ value: String) -> String {
        let kept = value.trimmingOWS
        return kept.utf8.count == value.utf8.count ? value : String(kept)
    }
}
