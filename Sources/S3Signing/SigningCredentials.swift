import S3Core

/// An access key and its secret. The secret never appears in `description`, so a
/// credential that ends up in a log line or an error shows only its access key id.
public struct SigningCredentials: Sendable, Equatable, CustomStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: String
    /// A session token sent as `x-amz-security-token` (or `x-obs-security-token`).
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "SigningCredentials(\(accessKeyId), secret: <redacted>)" }
}

/// Finds the secret of a client's access key; the gateway's client credentials file
/// implements it. Returning nil answers 403 InvalidAccessKeyId.
public protocol SecretLookup: Sendable {
    func secret(forAccessKey accessKeyId: String) -> String?
}

/// Byte comparison whose time depends only on the lengths, so a signature check does not
/// reveal how many leading bytes of a forged signature were right.
public enum ConstantTime {
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        // In place when both are contiguous (arrays, a native string's UTF-8): zipping two
        // `String.UTF8View`s walks their indices, several times slower for a 64-digit hash.
        if case .some(.some(let equal)) = a.withContiguousStorageIfAvailable({ a in
            b.withContiguousStorageIfAvailable { b in equals(contiguous: a, b) }
        }) {
            return equal
        }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    private static func equals(contiguous a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
