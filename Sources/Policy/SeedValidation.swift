import Crypto
import Foundation
import S3Core

/// The header rules of the OBS Initiate Multipart Upload reference, checked on every
/// request before any policy rule: they hold whatever the policy says, and they are what
/// the upstream itself would refuse, answered here with the same S3 error codes so a
/// refused request never reaches the store.
///
/// Applies to CreateMultipartUpload and every object-creating operation
/// (`S3Operation.createsObject`); for UploadPart and UploadPartCopy only the SSE-C rules
/// apply (the headers, when present, must be complete and valid). Other operations pass.
///
/// Checks run in this order, and the first violation is the answer:
///
/// 1. each logical header (either dialect) given twice with different values → InvalidArgument
/// 2. storage class known and spelled exactly (`x-amz-`: STANDARD, REDUCED_REDUNDANCY,
///    STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, GLACIER_IR;
///    `x-obs-`: STANDARD, WARM, COLD, DEEP_ARCHIVE) → InvalidStorageClass
/// 3. encryption value known (`x-amz-`: AES256, aws:kms, aws:kms:dsse; `x-obs-`: kms,
///    AES256) → InvalidArgument
/// 4. `x-amz-` and `x-obs-` forms agree → InvalidArgument
/// 5. redirect starts with `/`, `http://` or `https://` and is at most 2048 bytes →
///    InvalidRedirectLocation
/// 6. a KMS key id only with SSE-KMS → InvalidArgument
/// 7. SSE-C: the three headers together → InvalidArgument; algorithm AES256 →
///    InvalidEncryptionAlgorithmError; key the base64 of 32 (or 64) bytes, key-MD5 the
///    base64 MD5 of the decoded key → InvalidArgument (the same for the copy-source
///    triple of CopyObject and UploadPartCopy)
/// 8. SSE-C not with `x-amz-server-side-encryption` → InvalidArgument
/// 9. SSE-C only over TLS (unless TLS ends in front of the gateway) → InvalidRequest
/// 10. user metadata at most 8 KB → MetadataTooLarge
///
/// Every message names the header; no message contains a customer key.
public enum SeedValidation {
    public static let maxRedirectLength = 2048
    public static let maxMetadataSize = 8192
    public static let s3EncryptionValues: [String] = HeaderDialect.s3ServerSideEncryptions
    public static let obsEncryptionValues: [String] = HeaderDialect.serverSideEncryptions.map(\.obs)

    /// The seed rules, then the upload policy (when there is one) on the headers the rules
    /// read: the order the gateway and `obsgate policy explain` follow. Throws the seed
    /// rules' error; a policy denial comes back as the decision's outcome.
    public static func police(_ request: PolicyRequest, policy: UploadPolicy?,
                              requireTLSForSSEC: Bool) throws(S3Error) -> PolicyDecision? {
        let headers = try validate(request, requireTLSForSSEC: requireTLSForSSEC)
        return policy?.evaluate(request, headers: headers)
    }

    /// Checks the seed rules; returns the upload headers it read (nil for an operation
    /// the rules do not look at), so the policy need not read them again.
    @discardableResult
    public static func validate(_ request: PolicyRequest, requireTLSForSSEC: Bool) throws(S3Error) -> UploadHeaders? {
        let operation = request.operation
        let full = operation.createsObject
        let partUpload = operation == .uploadPart || operation == .uploadPartCopy
        guard full || partUpload else { return nil }

        let raw = try RawUploadHeaders(request.headers)
        if full {
            if let pair = raw.fields[.storageClass] {
                if let value = pair.s3, !StorageClass.s3NameSet.contains(value) {
                    throw storageClassError(value, header: S3HeaderName.storageClass, known: StorageClass.s3Names)
                }
                if let value = pair.obs, !StorageClass.obsNameSet.contains(value) {
                    throw storageClassError(value, header: OBSHeaderName.storageClass, known: StorageClass.obsNames)
                }
            }
            if let pair = raw.fields[.serverSideEncryption] {
                if let value = pair.s3, !s3EncryptionValues.contains(value) {
                    throw encryptionValueError(value, header: S3HeaderName.serverSideEncryption, known: s3EncryptionValues)
                }
                if let value = pair.obs, !obsEncryptionValues.contains(value) {
                    throw encryptionValueError(value, header: OBSHeaderName.serverSideEncryption, known: obsEncryptionValues)
                }
            }
        }
        let headers = try UploadHeaders(raw)

        if full {
            if let redirect = headers[.websiteRedirectLocation] {
                let value = redirect.value
                guard value.hasPrefix("/") || value.hasPrefix("http://") || value.hasPrefix("https://") else {
                    throw S3Error.invalidRedirectLocation(
                        "The website redirect location in \(redirect.name) must start with '/', 'http://' or 'https://'")
                        .naming(redirect.name)
                }
                guard value.utf8.count <= maxRedirectLength else {
                    throw S3Error.invalidRedirectLocation(
                        "The website redirect location in \(redirect.name) is \(value.utf8.count) bytes long; at most \(maxRedirectLength) are allowed")
                        .naming(redirect.name)
                }
            }
            if let keyId = headers[.kmsKeyId], headers.encryption != .sseKMS {
                throw argumentError(
                    "The header \(keyId.name) is only valid with SSE-KMS (x-amz-server-side-encryption: aws:kms or x-obs-server-side-encryption: kms)",
                    header: keyId.name)
            }
        }

        let customerKey = try customerKeyTriple(headers, algorithm: .sseCustomerAlgorithm, key: .sseCustomerKey,
                                                md5: .sseCustomerKeyMD5)
        var copySourceKey: String?
        if operation == .copyObject || operation == .uploadPartCopy {
            copySourceKey = try customerKeyTriple(headers, algorithm: .copySourceSSECustomerAlgorithm,
                                                  key: .copySourceSSECustomerKey, md5: .copySourceSSECustomerKeyMD5)
        }
        if customerKey != nil, let sse = headers[.serverSideEncryption] {
            throw argumentError(
                "Server-side encryption with customer-provided keys (\(customerKey!)) cannot be combined with \(sse.name)",
                header: sse.name)
        }
        if requireTLSForSSEC && !request.isTLS, let name = customerKey ?? copySourceKey {
            throw S3Error.invalidRequest(
                "Requests with customer-provided encryption keys (\(name)) must be made over a secure connection (TLS)")
                .naming(name)
        }

        if full {
            let size = headers.metadataSize
            if size > maxMetadataSize {
                let name = headers.metadata.first?.names.first.map { $0.hasPrefix(OBSHeaderName.prefix) ? "x-obs-meta-*" : "x-amz-meta-*" } ?? "x-amz-meta-*"
                throw S3Error.metadataTooLarge(
                    "Your metadata headers (\(name)) exceed the maximum allowed metadata size: \(size) bytes of keys and values, at most \(maxMetadataSize)",
                    details: [("Size", String(size)), ("MaxSizeAllowed", String(maxMetadataSize))])
            }
        }
        return headers
    }

    /// Validates one SSE-C triple; returns the name of the algorithm header used when the
    /// triple is present, nil when none of the three is.
    private static func customerKeyTriple(_ headers: UploadHeaders, algorithm: UploadHeader, key: UploadHeader,
                                          md5: UploadHeader) throws(S3Error) -> String? {
        guard headers[algorithm] != nil || headers[key] != nil || headers[md5] != nil else { return nil }
        let present = [algorithm, key, md5].compactMap { headers[$0] }
        let givenName = present[0].name
        let dialectIsOBS = givenName.hasPrefix(OBSHeaderName.prefix)
        for header in [algorithm, key, md5] where headers[header] == nil {
            let missing = dialectIsOBS ? header.obsName : header.s3Name
            throw argumentError(
                "Requests with customer-provided encryption keys must carry \(missing) together with \(givenName)",
                header: missing)
        }
        let algorithmField = headers[algorithm]!
        guard algorithmField.value == "AES256" else {
            throw S3Error.invalidEncryptionAlgorithm(
                "The encryption algorithm in \(algorithmField.name) is not valid; the only supported value is AES256")
                .naming(algorithmField.name)
        }
        let keyField = headers[key]!
        guard let keyBytes = Data(base64Encoded: keyField.value), keyBytes.count == 32 || keyBytes.count == 64 else {
            throw argumentError(
                "The secret key in \(keyField.name) is not valid for AES256: it must be the base64 encoding of a 256-bit (or 512-bit) key",
                header: keyField.name)
        }
        let md5Field = headers[md5]!
        let digest = Data(Insecure.MD5.hash(data: keyBytes))
        guard let given = Data(base64Encoded: md5Field.value), given == digest else {
            throw argumentError(
                "The MD5 in \(md5Field.name) does not match the calculated MD5 of the key in \(keyField.name) (it must be the base64 of the 128-bit MD5 of the decoded key)",
                header: md5Field.name)
        }
        return algorithmField.name
    }

    private static func storageClassError(_ value: String, header: String, known: [String]) -> S3Error {
        S3Error.invalidStorageClass(
            "The storage class '\(value)' in \(header) is not valid; storage classes are case-sensitive: \(known.joined(separator: ", "))")
            .naming(header)
    }

    private static func encryptionValueError(_ value: String, header: String, known: [String]) -> S3Error {
        argumentError("The encryption method '\(value)' in \(header) is not supported; use one of: \(known.joined(separator: ", "))",
                      header: header)
    }

    /// 400 InvalidArgument with S3's `ArgumentName` element.
    static func argumentError(_ message: String, header: String) -> S3Error {
        S3Error.invalidArgument(message).naming(header)
    }
}

extension S3Error {
    /// The error with S3's `ArgumentName` detail element naming the offending header.
    public func naming(_ header: String) -> S3Error {
        var copy = self
        copy.details.append(("ArgumentName", header))
        return copy
    }
}
