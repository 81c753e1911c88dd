import Crypto
import Foundation
import S3Core
import S3Signing

/// What S3 keeps beside an object's bytes and returns on GET and HEAD: the representation
/// headers, user metadata and the "policy-relevant" attributes (storage class,
/// server-side encryption, SSE-C key digest, website redirect, flexible checksums).
///
/// Values are kept in their S3 form whatever dialect the request used, so an object
/// written with `x-obs-storage-class: WARM` reads back as `STANDARD_IA` over S3 and as
/// `WARM` over OBS, as it would on a store that speaks both.
struct ObjectAttributes: Sendable, Equatable {
    var contentType: String?
    /// Content-Encoding, Content-Disposition, Content-Language, Cache-Control and Expires,
    /// keyed by their canonical names.
    var representationHeaders: [String: String] = [:]
    /// User metadata, names lowercased and without the `x-amz-meta-`/`x-obs-meta-` prefix.
    var metadata: [String: String] = [:]
    /// The S3 storage class; STANDARD is the default and is never echoed.
    var storageClass = "STANDARD"
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    var serverSideEncryption: String?
    var kmsKeyId: String?
    /// SSE-C: the algorithm and the base64 MD5 of the customer's key (never the key).
    var customerKey: CustomerKey?
    var websiteRedirectLocation: String?
    /// Flexible checksums of the whole object, base64, as the client declared and the
    /// store verified them.
    var checksums: [ChecksumAlgorithm: String] = [:]

    struct CustomerKey: Sendable, Equatable {
        var algorithm: String
        var keyMD5: String
    }

    static let representationHeaderNames = [
        "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires",
    ]
    /// S3: "The user-defined metadata is limited to 2 KB", counted as the UTF-8 bytes of
    /// every name and value.
    static let maxMetadataSize = 2048
    static let maxRedirectLength = 2048

    init() {}

    /// The attributes a PutObject, CreateMultipartUpload or CopyObject (REPLACE) request
    /// sets, validated as S3 validates them.
    init(requestHeaders headers: HeaderFields, dialect: HeaderDialect) throws(S3Error) {
        contentType = headers[S3HeaderName.contentType]
        for name in Self.representationHeaderNames {
            guard var value = headers[name] else { continue }
            if name == "Content-Encoding" {
                // aws-chunked describes the transfer, not the object (S3 strips it).
                value = value.split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.asciiCaseInsensitiveEquals("aws-chunked") }
                    .joined(separator: ",")
                if value.isEmpty { continue }
            }
            representationHeaders[name] = value
        }
        try readMetadata(headers, dialect: dialect)
        try readPolicyHeaders(headers, dialect: dialect)
    }

    /// Metadata, content type and representation headers of `source`: what CopyObject's
    /// `COPY` directive carries over.
    mutating func copyContentDescription(from source: ObjectAttributes) {
        contentType = source.contentType
        representationHeaders = source.representationHeaders
        metadata = source.metadata
    }

    private mutating func readMetadata(_ headers: HeaderFields, dialect: HeaderDialect) throws(S3Error) {
        var size = 0
        for field in headers where field.name.hasASCIICaseInsensitivePrefix(dialect.metadataPrefix) {
            let name = String(field.name.asciiLowercased.dropFirst(dialect.metadataPrefix.count))
            guard metadata[name] == nil else { continue }
            let value = headers[field.name] ?? field.value
            metadata[name] = value
            size += name.utf8.count + value.utf8.count
        }
        guard size <= Self.maxMetadataSize else {
            throw S3Error.metadataTooLarge("Your metadata headers exceed the maximum allowed metadata size.")
        }
    }

    private mutating func readPolicyHeaders(_ headers: HeaderFields, dialect: HeaderDialect) throws(S3Error) {
        if let value = headers[dialect.header("storage-class")] {
            guard let storageClass = dialect.storageClass(fromWire: value) else {
                throw S3Error.invalidStorageClass("The storage class you specified is not valid")
            }
            self.storageClass = storageClass
        }
        if let value = headers[dialect.header("server-side-encryption")] {
            guard let algorithm = dialect.serverSideEncryption(fromWire: value) else {
                throw S3Error.invalidArgument("The encryption method specified is not supported")
            }
            serverSideEncryption = algorithm
        }
        kmsKeyId = headers[dialect.kmsKeyIdHeader]
        if kmsKeyId != nil, serverSideEncryption?.hasPrefix("aws:kms") != true {
            throw S3Error.invalidArgument("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
        }
        customerKey = try Self.customerKey(in: headers, dialect: dialect)
        if customerKey != nil, serverSideEncryption != nil {
            throw S3Error.invalidArgument("Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
        }
        if let location = headers[dialect.header("website-redirect-location")] {
            let validPrefix = location.hasPrefix("/") || location.hasPrefix("http://") || location.hasPrefix("https://")
            guard validPrefix, location.utf8.count <= Self.maxRedirectLength else {
                throw S3Error.invalidRedirectLocation("The website redirect location must have a prefix of 'http://' or 'https://' or '/'.")
            }
            websiteRedirectLocation = location
        }
    }

    /// The SSE-C headers of a request (with `prefix` `copy-source-` those naming the key of
    /// a copy source), checked as S3 checks them: all three together, AES256, a 256-bit
    /// base64 key whose MD5 is the given key-MD5.
    static func customerKey(in headers: HeaderFields, dialect: HeaderDialect,
                            prefix: String = "") throws(S3Error) -> CustomerKey? {
        let base = dialect.header(prefix + "server-side-encryption-customer-")
        let algorithm = headers[base + "algorithm"], key = headers[base + "key"], keyMD5 = headers[base + "key-MD5"]
        if algorithm == nil, key == nil, keyMD5 == nil { return nil }
        guard let algorithm, let key, let keyMD5 else {
            throw S3Error.invalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide the encryption algorithm, the key and the key MD5.")
        }
        guard algorithm == "AES256" else {
            throw S3Error.invalidEncryptionAlgorithm("The encryption request you specified is not valid. Supported value: AES256.")
        }
        guard let keyBytes = Data(base64Encoded: key), keyBytes.count == 32 else {
            throw S3Error.invalidArgument("The secret key was invalid for the specified algorithm.")
        }
        guard Data(Insecure.MD5.hash(data: keyBytes)).base64EncodedString() == keyMD5 else {
            throw S3Error.invalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.")
        }
        return CustomerKey(algorithm: algorithm, keyMD5: keyMD5)
    }

    /// Reading an SSE-C object takes the key it was written with; any other object must
    /// not be read with one.
    func checkCustomerKey(in headers: HeaderFields, dialect: HeaderDialect, prefix: String = "") throws(S3Error) {
        let provided = try Self.customerKey(in: headers, dialect: dialect, prefix: prefix)
        switch (customerKey, provided) {
        case (nil, nil):
            return
        case (nil, .some):
            throw S3Error.invalidRequest("The encryption parameters are not applicable to this object.")
        case (.some, nil):
            throw S3Error.invalidRequest("The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
        case (.some(let stored), .some(let given)):
            guard stored.keyMD5 == given.keyMD5 else { throw S3Error.accessDenied() }
        }
    }

    /// The encryption headers S3 echoes on every response about an object (PUT, UploadPart,
    /// Complete, Copy, GET, HEAD).
    func encryptionHeaders(_ dialect: HeaderDialect) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let serverSideEncryption {
            headers.append((dialect.header("server-side-encryption"), dialect.wireServerSideEncryption(serverSideEncryption)))
        }
        if let kmsKeyId { headers.append((dialect.kmsKeyIdHeader, kmsKeyId)) }
        if let customerKey {
            headers.append((dialect.header("server-side-encryption-customer-algorithm"), customerKey.algorithm))
            headers.append((dialect.header("server-side-encryption-customer-key-MD5"), customerKey.keyMD5))
        }
        return headers
    }

    /// Every header GET and HEAD return about the object besides its length, ETag and
    /// dates. Checksums are S3-only and S3 returns them only when asked
    /// (`x-amz-checksum-mode: ENABLED`) for a whole object.
    func objectHeaders(_ dialect: HeaderDialect, includeChecksums: Bool) -> [(String, String)] {
        var headers: [(String, String)] = [("Content-Type", contentType ?? "binary/octet-stream")]
        for name in Self.representationHeaderNames {
            if let value = representationHeaders[name] { headers.append((name, value)) }
        }
        if storageClass != "STANDARD" {
            headers.append((dialect.header("storage-class"), dialect.wireStorageClass(storageClass)))
        }
        headers += encryptionHeaders(dialect)
        if let websiteRedirectLocation {
            headers.append((dialect.header("website-redirect-location"), websiteRedirectLocation))
        }
        for name in metadata.keys.sorted() {
            headers.append((dialect.metadataPrefix + name, metadata[name]!))
        }
        if includeChecksums, dialect == .s3 {
            for algorithm in ChecksumAlgorithm.allCases {
                if let value = checksums[algorithm] { headers.append((algorithm.headerName, value)) }
            }
        }
        return headers
    }
}
