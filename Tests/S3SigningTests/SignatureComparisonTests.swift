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

    @Test func theSignedHeaderListKeepsEmptyNames() {
        #expect(SigV4Authorization.signedHeaderNames("host;;x-amz-date") == ["host", "", "x-amz-date"])
        #expect(SigV4Authorization.signedHeaderNames("host") == ["host"])
    }
}
