import Crypto
import S3Core
import Testing
@testable import S3Signing

/// The hot path's signing helpers: the constant-time comparison of a client's signature,
/// the hex encoder it relies on, and the upstream signer's header set.
@Suite struct SignatureComparisonTests {
    static let mac = HMAC<SHA256>.authenticationCode(for: Array("string to sign".utf8), using: SymmetricKey(data: Array(repeating: 7, count: 32)))
    static let expected = hex(mac)

    @Test func theSignatureIsAcceptedInEitherCaseAndNothingElse() {
        #expect(SigV4.signatureMatches(Self.expected, Self.mac))
        #expect(SigV4.signatureMatches(Self.expected.uppercased(), Self.mac))
        #expect(!SigV4.signatureMatches(Self.expected + "0", Self.mac))
        #expect(!SigV4.signatureMatches(String(Self.expected.dropLast()), Self.mac))
        #expect(!SigV4.signatureMatches(String(Self.expected.dropLast(2)) + "é", Self.mac), "64 bytes, one of them not a digit")
        // Every position, every byte: only the right digit or its uppercase form passes.
        let digits = Array(Self.expected.utf8)
        for position in digits.indices {
            for byte in UInt8(0)...UInt8(127) {
                var provided = digits
                provided[position] = byte
                let accepted = SigV4.signatureMatches(String(decoding: provided, as: UTF8.self), Self.mac)
                let right = byte == digits[position] || (digits[position] >= UInt8(ascii: "a") && byte == digits[position] - 0x20)
                #expect(accepted == right, "position \(position), byte \(byte)")
            }
        }
    }

    /// `ConstantTime.equals` compares in place when both sides are contiguous and walks them
    /// otherwise: both ways agree, for every position of a difference.
    @Test func constantTimeEqualityInPlaceAndWalked() {
        let digits = Array(Self.expected.utf8)
        #expect(ConstantTime.equals(Self.expected.utf8, digits))
        #expect(ConstantTime.equals(digits.lazy.map { $0 }, Self.expected.utf8), "not contiguous: walked")
        #expect(!ConstantTime.equals(digits, digits.dropLast()))
        #expect(ConstantTime.equals([UInt8](), "".utf8))
        for position in digits.indices {
            var other = digits
            other[position] ^= 0x01
            #expect(!ConstantTime.equals(Self.expected.utf8, other), "in place, position \(position)")
            #expect(!ConstantTime.equals(Self.expected.utf8, other.lazy.map { $0 }), "walked, position \(position)")
        }
    }

    @Test func hexIsLowercaseAndComplete() {
        #expect(hex([UInt8]()) == "")
        #expect(hex([0x00, 0x09, 0x0a, 0xff]) == "00090aff")
        #expect(hex(Array(UInt8.min...UInt8.max)).count == 512)
        #expect(hex(Array(UInt8.min...UInt8.max)) == (0...255).map { String(format: "%02x", $0) }.joined())
    }

    @Test func repeatedAndDifferentlyCasedHeadersAreSignedOnce() throws {
        let headers = HeaderFields([("Host", "h"), ("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"), ("X-Amz-Meta-A", "3"),
                                    ("x-amz-meta-b", "4"), ("User-Agent", "u"), ("x-obs-acl", "private")])
        #expect(UpstreamSigner.headersToSign(headers) == ["host", "x-amz-meta-a", "x-amz-meta-b", "x-obs-acl"])
        #expect(SigV4.canonicalHeaders(headers, signedHeaders: ["x-amz-meta-a"]) == "x-amz-meta-a:1,2,3\n")
    }

    /// The canonical request is hashed through a 1 KiB buffer: texts shorter than it, as long
    /// as it, a piece crossing its end and a piece longer than it all hash as the text does.
    @Test(arguments: [0, 1, 900, 1023, 1024, 1025, 3000])
    func theCanonicalRequestHashesAsItsTextWhateverItsLength(_ valueLength: Int) throws {
        let value = String((0..<valueLength).map { Character(UnicodeScalar(UInt8(0x61 + $0 % 26))) })
        let headers = HeaderFields([("Host", "h"), ("x-amz-meta-long", value), ("x-amz-date", "20261204T000000Z")])
        let names = ["host", "x-amz-date", "x-amz-meta-long"]
        let text = SigV4.canonicalRequest(method: "PUT", canonicalURI: "/b/k", canonicalQuery: "",
                                          canonicalHeaders: try #require(SigV4.canonicalHeaders(headers, signedHeaders: names)),
                                          signedHeaders: names, payloadHash: SigV4.unsignedPayload)
        let streamed = try #require(try SigV4.canonicalRequestHash(method: "PUT", rawPath: "/b/k", query: [], headers: headers,
                                                                   signedHeaders: names, payloadHash: SigV4.unsignedPayload))
        #expect(hex(streamed) == hexSHA256(of: text))
    }

    @Test func theAuthorizationHeaderIsWrittenToItsExactLength() {
        let scope = SigV4Scope(date: "20261204", region: "eu-west-1")
        for names in [["host"], ["host", "x-amz-content-sha256", "x-amz-date"], []] {
            let written = UpstreamSigner.authorization(accessKeyId: "AKID/with/slashes", scope: scope, signedHeaders: names,
                                                       signature: Self.mac)
            #expect(written == "AWS4-HMAC-SHA256 Credential=AKID/with/slashes/20261204/eu-west-1/s3/aws4_request, "
                + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(Self.expected)")
        }
    }

    @Test func theSignedHeaderListKeepsEmptyNames() {
        #expect(SigV4Authorization.signedHeaderNames("host;;x-amz-date") == ["host", "", "x-amz-date"])
        #expect(SigV4Authorization.signedHeaderNames("host") == ["host"])
    }
}
