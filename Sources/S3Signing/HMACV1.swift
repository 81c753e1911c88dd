import Crypto
import Foundation
import S3Core

/// The two HMAC-SHA1 signature dialects: AWS Signature Version 2 and Huawei OBS's native
/// signature. Both sign (AWS S3 developer guide, "Authenticating requests"; OBS API
/// reference, "Authentication of Signature in a Header"):
///
///     StringToSign = HTTP-Verb + "\n" +
///                    Content-MD5 + "\n" +
///                    Content-Type + "\n" +
///                    Date + "\n" +                  ; empty when x-amz-date / x-obs-date is sent;
///                                                   ; the Expires value in the query form
///                    CanonicalizedHeaders +         ; lowercase(name):values\n for x-amz-* / x-obs-*, sorted
///                    CanonicalizedResource          ; "/" bucket "/" key-as-sent [ "?" sub-resources ]
///     Signature    = Base64(HMAC-SHA1(secret, UTF-8(StringToSign)))
///
/// and differ in the header prefix, the Authorization keyword and the list of
/// sub-resources that belong to the resource.
public enum HMACV1Dialect: String, Sendable {
    case aws
    case obs

    /// `AWS` or `OBS`, the keyword of `Authorization: AWS AK:sig`.
    public var authorizationKeyword: String { self == .aws ? "AWS" : "OBS" }
    public var headerPrefix: String { self == .aws ? S3HeaderName.prefix : OBSHeaderName.prefix }
    public var dateHeader: String { self == .aws ? S3HeaderName.amzDate : OBSHeaderName.date }
    /// The access-key parameter of the query form: `AWSAccessKeyId` or `AccessKeyId`.
    public var accessKeyParameter: String { self == .aws ? "AWSAccessKeyId" : "AccessKeyId" }
    /// How error messages name the signature: `SigV2` or `OBS`.
    public var signatureName: String { self == .aws ? "SigV2" : "OBS" }

    /// Whether a query parameter is part of the CanonicalizedResource. AWS: botocore's
    /// `HmacV1Auth.QSAOfInterest`, matched exactly. OBS: the SDK's
    /// `ALLOWED_RESOURCE_PARAMTER_NAMES`, matched case-insensitively, plus `x-obs-*`.
    func isSubresource(_ name: String) -> Bool {
        switch self {
        case .aws:
            return HMACV1.awsSubresources.contains(name)
        case .obs:
            let lower = name.asciiLowercased
            return HMACV1.obsSubresources.contains(lower) || lower.hasPrefix(OBSHeaderName.prefix)
        }
    }
}

public enum HMACV1 {
    /// Parameters outside the sub-resource lists that only page or filter what a listing
    /// returns (S3 leaves them unsigned under SigV2 too); `x-id` is botocore's operation
    /// hint. Any other parameter must be covered by the signature.
    static let unsignedReadParameters: Set<String> = [
        "prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type", "continuation-token",
        "start-after", "fetch-owner", "max-uploads", "key-marker", "upload-id-marker", "version-id-marker",
        "max-parts", "part-number-marker", "x-id",
    ]

    public static func stringToSign(dialect: HMACV1Dialect, method: String, headers: HeaderFields,
                                    dateLine: String, canonicalResource: String) -> String {
        var text = method + "\n"
        text += (headers[S3HeaderName.contentMD5].map(trimmed) ?? "") + "\n"
        text += (headers[S3HeaderName.contentType].map(trimmed) ?? "") + "\n"
        text += dateLine + "\n"
        text += canonicalHeaders(headers, prefix: dialect.headerPrefix)
        text += canonicalResource
        return text
    }

    /// The Date line of a header-signed request: empty when the dialect's date header is
    /// present (it is then signed among the canonical headers), the Date header otherwise.
    public static func headerDateLine(dialect: HMACV1Dialect, headers: HeaderFields) -> String {
        headers.contains(dialect.dateHeader) ? "" : (headers[S3HeaderName.date].map(trimmed) ?? "")
    }

    /// CanonicalizedHeaders: every header with the prefix, name lowercased, repeated values
    /// trimmed and joined with ",", sorted by name, each line ending in "\n".
    static func canonicalHeaders(_ headers: HeaderFields, prefix: String) -> String {
        var byName: [String: [String]] = [:]
        for field in headers where field.name.hasASCIICaseInsensitivePrefix(prefix) {
            byName[field.name.asciiLowercased, default: []].append(trimmed(field.value))
        }
        return byName.keys.sorted { $0.utf8Precedes($1) }
            .map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }
            .joined()
    }

    /// The CanonicalizedResource candidates of a request. The path is used as sent (SigV2
    /// signs `%C3%A7` and `%c3%a7` differently); virtual-hosted requests put `/bucket` in
    /// front. A path-style bucket request `/bucket` is also tried as `/bucket/`, because
    /// botocore signs the latter while sending the former.
    public static func canonicalResources(dialect: HMACV1Dialect, address: S3Address,
                                          target: RequestTarget) -> [String] {
        var paths: [String]
        switch address.style {
        case .virtualHosted:
            paths = ["/" + (address.bucket ?? "") + target.rawPath]
        case .path:
            paths = [target.rawPath]
            if address.bucket != nil, address.key == nil, !target.rawPath.hasSuffix("/") {
                paths.append(target.rawPath + "/")
            }
        }
        let subresources = subresourceString(dialect: dialect, query: target.query)
        return paths.map { $0 + subresources }
    }

    /// `?name&name=value` of the sub-resources, sorted by name; values are decoded, a
    /// parameter sent without `=` is signed without `=`.
    static func subresourceString(dialect: HMACV1Dialect, query: [QueryParameter]) -> String {
        let selected = query.filter { dialect.isSubresource($0.name) }
        guard !selected.isEmpty else { return "" }
        let sorted = selected.enumerated().sorted {
            $0.element.name == $1.element.name ? $0.offset < $1.offset
                : $0.element.name.utf8Precedes($1.element.name)
        }.map(\.element)
        return "?" + sorted.map { $0.rawValue == nil ? $0.name : "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Base64(HMAC-SHA1(secret, stringToSign)).
    public static func signature(secret: String, stringToSign: String) -> String {
        Data(macBytes(secret: secret, stringToSign: stringToSign)).base64EncodedString()
    }

    static func macBytes(secret: String, stringToSign: String) -> [UInt8] {
        Array(HMAC<Insecure.SHA1>.authenticationCode(for: Data(stringToSign.utf8),
                                                     using: SymmetricKey(data: Data(secret.utf8))))
    }

    static func trimmed(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespaces)
    }

    static let awsSubresources: Set<String> = [
        "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber",
        "policy", "requestPayment", "torrent", "versioning", "versionId", "versions", "website",
        "uploads", "uploadId", "response-content-type", "response-content-language",
        "response-expires", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "delete", "lifecycle", "tagging", "restore",
        "storageClass", "notification", "replication", "analytics", "metrics", "inventory",
        "select", "select-type", "object-lock",
    ]

    static let obsSubresources: Set<String> = [
        "acl", "backtosource", "policy", "torrent", "logging", "location", "storageinfo",
        "quota", "storageclass", "storagepolicy", "requestpayment", "versions", "versioning",
        "versionid", "uploads", "uploadid", "partnumber", "website", "notification",
        "dispolicy", "lifecycle", "deletebucket", "delete", "cors", "restore", "tagging",
        "replication", "metadata", "encryption", "publicaccessblock", "bucketstatus",
        "policystatus", "inventory", "obscompresspolicy", "object-lock",
        "retention", "directcoldaccess", "append", "position", "truncate", "modify", "rename",
        "length", "name", "fileinterface", "response-content-type", "response-content-language",
        "response-expires", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "x-image-save-bucket", "x-image-save-object",
        "x-image-process", "x-oss-process", "x-workflow-prefix", "x-workflow-start",
        "x-workflow-limit", "x-workflow-template-name", "x-workflow-graph-name",
        "x-workflow-execution-state", "x-workflow-execution-type", "x-workflow-next-marker",
        "obsworkflowtriggerpolicy", "obsbucketalias", "obsalias",
    ]
}
