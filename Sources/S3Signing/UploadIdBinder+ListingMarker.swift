import Crypto
import Foundation

/// A ListMultipartUploads page may end on an upload the principal may not see (access
/// rules hide it from the listing); the store's `NextKeyMarker` and `NextUploadIdMarker`
/// name it. The client gets them sealed instead, as one `NextKeyMarker`, and gives it back
/// as the next page's `key-marker`:
///
///     sealed-marker = "obsgate-marker." key-id "." base64url(nonce ciphertext tag)
///     plaintext     = length(key) key upload-id      ; length: 8 bytes, big-endian
///
/// AES-GCM (12-byte random nonce, 16-byte tag) under a key derived from the binding key
/// `key-id`, authenticating the bucket: only a gateway with that binding key opens it, for
/// that bucket only. The upload id is the store's (it may be empty: a page that ends on a
/// common prefix names no upload). Both go upstream: radosgw starts a page *at* a key
/// marker given without an upload-id marker, S3 after it.
extension UploadIdBinder {
    static let listingMarkerPrefix = "obsgate-marker."

    /// Where a sealed marker says a listing goes on.
    public struct ListingPosition: Equatable, Sendable {
        public var key: String
        /// The store's upload id; empty when the page ended on a key without one.
        public var uploadId: String

        public init(key: String, uploadId: String) {
            self.key = key
            self.uploadId = uploadId
        }
    }

    /// Whether `marker` has the sealed form's prefix (it may still not open).
    public func isSealedListingMarker(_ marker: String) -> Bool {
        marker.utf8.starts(with: Self.listingMarkerPrefix.utf8)
    }

    /// `position` sealed for `bucket` with the first (newest) binding key.
    public func sealListingMarker(_ position: ListingPosition, bucket: String) -> String {
        let key = keys[0]
        let plaintext = withUnsafeBytes(of: UInt64(position.key.utf8.count).bigEndian, Array.init) + Array(position.key.utf8)
            + Array(position.uploadId.utf8)
        // Sealing fails only for a nonce or key of the wrong size; both are fixed here.
        let box = try! AES.GCM.seal(plaintext, using: key.markerKey, authenticating: Self.markerContext(bucket))
        return Self.listingMarkerPrefix + key.id + "." + Self.base64URL(box.combined!)
    }

    /// The position `marker` seals for `bucket`; nil when it is not sealed by a binding key
    /// this gateway has, for this bucket, or was altered.
    public func openListingMarker(_ marker: String, bucket: String) -> ListingPosition? {
        guard isSealedListingMarker(marker) else { return nil }
        let fields = marker.dropFirst(Self.listingMarkerPrefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 2, let key = keys.first(where: { $0.id == fields[0] }),
              let sealed = Self.decode(fields[1], count: nil), sealed.count >= 12 + 16,
              let box = try? AES.GCM.SealedBox(combined: sealed),
              let opened = try? AES.GCM.open(box, using: key.markerKey, authenticating: Self.markerContext(bucket)),
              opened.count >= 8
        else { return nil }
        let length = opened.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        guard length <= opened.count - 8,
              let objectKey = String(validating: opened.dropFirst(8).prefix(Int(length)), as: UTF8.self),
              let uploadId = String(validating: opened.dropFirst(8 + Int(length)), as: UTF8.self)
        else { return nil }
        return ListingPosition(key: objectKey, uploadId: uploadId)
    }

    /// What a marker is bound to besides its key: what it is, and the bucket.
    private static func markerContext(_ bucket: String) -> [UInt8] {
        Array("obsgate-listing-marker-v1".utf8) + withUnsafeBytes(of: UInt64(bucket.utf8.count).bigEndian, Array.init)
            + Array(bucket.utf8)
    }
}
