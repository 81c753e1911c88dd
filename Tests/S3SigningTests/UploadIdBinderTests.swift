import Foundation
import Testing
@testable import S3Signing

/// Upload ids bound to their initiation: what binds them, what breaks the binding, and how
/// keys rotate.
@Suite struct UploadIdBinderTests {
    static let k1 = UploadIdBinder.Key(id: "k1", secret: "first-binding-key-0123456789abcdef")
    static let k2 = UploadIdBinder.Key(id: "k2", secret: "second-binding-key-0123456789abcdef")
    static let binder = UploadIdBinder(keys: [k1])
    static let binding = UploadIdBinder.Binding(upstreamId: "2~abc.def_GH", bucket: "b", key: "a/k.txt", initiator: "alice")

    static func bound(_ verdict: UploadIdBinder.Verdict) -> UploadIdBinder.BoundUpload? {
        if case .bound(let upload) = verdict { return upload }
        return nil
    }

    @Test func aBoundIdVerifiesForItsBucketAndKeyAndNamesItsInitiator() throws {
        let id = Self.binder.bind(Self.binding)
        #expect(id.hasPrefix("2~abc.def_GH.k1.YWxpY2U.n."), "\(id)")
        #expect(id.utf8.allSatisfy { UploadIdBinder.Key.isIdByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "~") })
        let upload = try #require(Self.bound(Self.binder.verify(id, bucket: "b", key: "a/k.txt")))
        #expect(upload.upstreamId == "2~abc.def_GH" && upload.initiator == "alice" && !upload.usesSSEC)
    }

    /// The id's form is a contract between replicas and releases: an id handed out before
    /// an upgrade must verify after it. The expected id was computed independently
    /// (Python's hmac and base64 modules) from the grammar at the top of UploadIdBinder.
    @Test func theIdIsTheGrammarsKnownAnswer() {
        let sseBinding = UploadIdBinder.Binding(upstreamId: "2~abc.def_GH", bucket: "b", key: "a/k.txt", initiator: "alice",
                                                sseCustomerKeyMD5: "Q2hlY2sgQXV0b21hdGlvbg==")
        #expect(Self.binder.bind(sseBinding) == "2~abc.def_GH.k1.YWxpY2U.wyie789y9DrG5cGbkxoPHA.tELsu5Dh5tymFIU9O1CoPg")
        let listed = UploadIdBinder.Binding(upstreamId: "2~abc.def_GH", bucket: "b", key: "a/k.txt", initiator: nil)
        #expect(Self.binder.bind(listed) == "2~abc.def_GH.k1.~.n.8PRNx1sfvo4d76lq43NFVg")
        let longInitiator = UploadIdBinder.Binding(upstreamId: "2~abc.def_GH", bucket: "b", key: "a/k.txt",
                                                   initiator: "a-longer-principal-name")
        #expect(Self.binder.bind(longInitiator) == "2~abc.def_GH.k1.YS1sb25nZXItcHJpbmNpcGFsLW5hbWU.n.uBjtg6Z14Cb40UqC7E26tQ")
    }

    @Test func base64URLIsRFC4648WithoutPadding() {
        for count in 0..<40 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 251) }
            let expected = Data(bytes).base64EncodedString().filter { $0 != "=" }
                .map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }
            #expect(UploadIdBinder.base64URL(bytes) == String(expected), "\(count) bytes")
            #expect(UploadIdBinder.decode(Substring(UploadIdBinder.base64URL(bytes)), count: count) == (count == 0 ? nil : bytes))
        }
    }

    @Test func anythingChangedIsForged() {
        let id = Self.binder.bind(Self.binding)
        #expect(Self.binder.verify(id, bucket: "other", key: "a/k.txt") == .forged)
        #expect(Self.binder.verify(id, bucket: "b", key: "a/k.tx") == .forged)
        let fields = id.split(separator: ".").map(String.init)
        let mallory = (fields.dropLast(3) + ["bWFsbG9yeQ"] + fields.suffix(2)).joined(separator: ".")
        #expect(Self.binder.verify(mallory, bucket: "b", key: "a/k.txt") == .forged, "another initiator")
        let otherUpstream = "2~abc.deF_GH" + id.dropFirst("2~abc.def_GH".count)
        #expect(Self.binder.verify(otherUpstream, bucket: "b", key: "a/k.txt") == .forged, "another upstream id")
        var tag = Array(id.utf8)
        tag[tag.count - 2] = tag[tag.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(Self.binder.verify(String(decoding: tag, as: UTF8.self), bucket: "b", key: "a/k.txt") == .forged)
        let unknownKey = id.replacingOccurrences(of: ".k1.", with: ".k9.")
        #expect(Self.binder.verify(unknownKey, bucket: "b", key: "a/k.txt") == .forged)
    }

    @Test(arguments: ["2~plain-rgw-id", "", "a.b.c.d", "x.k1.YWxpY2U.n.short", "x.k1.YWxpY2U=.n.Ie28H9bDVqgSJdzHq8BCPw",
                      "x.k 1.YWxpY2U.n.Ie28H9bDVqgSJdzHq8BCPw", ".k1.YWxpY2U.n.Ie28H9bDVqgSJdzHq8BCPw"])
    func anIdNotInTheBoundFormIsUnbound(_ id: String) {
        #expect(Self.binder.verify(id, bucket: "b", key: "a/k.txt") == .unbound)
    }

    @Test func theSSECKeyOfTheInitiationIsBound() throws {
        var binding = Self.binding
        binding.sseCustomerKeyMD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
        let upload = try #require(Self.bound(Self.binder.verify(Self.binder.bind(binding), bucket: "b", key: "a/k.txt")))
        #expect(upload.usesSSEC)
        #expect(Self.binder.sseCustomerKeyMatches(upload, md5: "1B2M2Y8AsgTpgAmY7PhCfg=="))
        #expect(!Self.binder.sseCustomerKeyMatches(upload, md5: "XrY7u+Ae7tCTyyK7j1rNww=="))
        #expect(!Self.binder.sseCustomerKeyMatches(upload, md5: nil))
        let plain = try #require(Self.bound(Self.binder.verify(Self.binder.bind(Self.binding), bucket: "b", key: "a/k.txt")))
        #expect(Self.binder.sseCustomerKeyMatches(plain, md5: nil))
        #expect(!Self.binder.sseCustomerKeyMatches(plain, md5: "1B2M2Y8AsgTpgAmY7PhCfg=="))
    }

    @Test func aListedIdHasNoInitiator() throws {
        var binding = Self.binding
        binding.initiator = nil
        let id = Self.binder.bind(binding)
        #expect(id.contains(".k1.~.n."))
        let upload = try #require(Self.bound(Self.binder.verify(id, bucket: "b", key: "a/k.txt")))
        #expect(upload.initiator == nil)
    }

    @Test func theNewestKeyBindsAndEveryKeyVerifies() throws {
        let rotated = UploadIdBinder(keys: [Self.k2, Self.k1])
        let old = Self.binder.bind(Self.binding)
        #expect(Self.bound(rotated.verify(old, bucket: "b", key: "a/k.txt"))?.upstreamId == "2~abc.def_GH")
        let new = rotated.bind(Self.binding)
        #expect(new.contains(".k2."))
        #expect(Self.binder.verify(new, bucket: "b", key: "a/k.txt") == .forged, "a gateway without k2")
        // The same key id with another secret is another key.
        let impostor = UploadIdBinder(keys: [UploadIdBinder.Key(id: "k1", secret: "not-the-first-key-0123456789abcdef")])
        #expect(impostor.verify(old, bucket: "b", key: "a/k.txt") == .forged)
    }

    @Test func aSealedListingMarkerOpensOnlyForItsBucketUnaltered() throws {
        let position = UploadIdBinder.ListingPosition(key: "hidden/a k", uploadId: "2~up.id")
        let marker = Self.binder.sealListingMarker(position, bucket: "b")
        #expect(marker.hasPrefix("obsgate-marker.k1.") && !marker.contains("hidden") && !marker.contains("2~up"))
        #expect(marker.utf8.allSatisfy { UploadIdBinder.Key.isIdByte($0) || $0 == UInt8(ascii: ".") }, "URL-safe as it is")
        #expect(Self.binder.isSealedListingMarker(marker) && !Self.binder.isSealedListingMarker("hidden/a k"))
        #expect(Self.binder.openListingMarker(marker, bucket: "b") == position)
        #expect(Self.binder.sealListingMarker(position, bucket: "b") != marker, "a fresh nonce each time")
        #expect(Self.binder.openListingMarker(marker, bucket: "c") == nil, "another bucket")
        for other in [UploadIdBinder.ListingPosition(key: "", uploadId: ""), .init(key: "k", uploadId: ""), .init(key: "", uploadId: "k")] {
            #expect(Self.binder.openListingMarker(Self.binder.sealListingMarker(other, bucket: "b"), bucket: "b") == other,
                    "the key's length keeps \(other) apart")
        }
        let sealed = String(marker.dropFirst("obsgate-marker.k1.".count))
        var bytes = try #require(UploadIdBinder.decode(sealed[...], count: nil))
        for index in [0, 12, bytes.count - 1] {  // the nonce, the ciphertext, the tag
            bytes[index] ^= 1
            #expect(Self.binder.openListingMarker("obsgate-marker.k1." + UploadIdBinder.base64URL(bytes), bucket: "b") == nil)
            bytes[index] ^= 1
        }
        for malformed in ["obsgate-marker.", "obsgate-marker.k1", "obsgate-marker.k1.", "obsgate-marker.k1.AAAA",
                          "obsgate-marker.k9.\(sealed)", "obsgate-marker.k1.\(sealed).x", "obsgate-marker.k1.\(sealed)="] {
            #expect(Self.binder.openListingMarker(malformed, bucket: "b") == nil, "\(malformed)")
        }
    }

    @Test func aListingMarkerSurvivesARotation() {
        let rotated = UploadIdBinder(keys: [Self.k2, Self.k1])
        let position = UploadIdBinder.ListingPosition(key: "k", uploadId: "2~u")
        let old = Self.binder.sealListingMarker(position, bucket: "b")
        #expect(rotated.openListingMarker(old, bucket: "b") == position, "sealed before the rotation")
        let new = rotated.sealListingMarker(position, bucket: "b")
        #expect(new.hasPrefix("obsgate-marker.k2.") && Self.binder.openListingMarker(new, bucket: "b") == nil)
    }
}
