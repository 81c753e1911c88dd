import Foundation
import S3Core
import Testing
@testable import S3Signing

/// aws-chunked bodies signed by aws-c-auth (through awscrt) and framed by botocore, in all
/// three streaming forms, with checksums CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.
@Suite struct DifferentialChunkedTests {
    struct Corpus: Decodable { let cases: [ChunkedCase] }

    struct ChunkedCase: Decodable {
        struct Corruption: Decodable {
            let offset: Int
            let chunk_index: Int?
            let what: String
        }
        let id: String
        let content_sha256: String
        let access_key: String
        let secret_key: String
        let region: String
        let amz_date: String
        let headers: [[String]]
        let method: String
        let target: String
        let body_base64: String
        let decoded_base64: String
        let expect: String
        let corruption: Corruption?
    }

    static let corpus: Result<Corpus, any Error> = Result {
        try ExternalGenerator.run("generate_chunked_bodies.py", as: Corpus.self)
    }

    /// Authenticates the request head, then feeds the body in pieces of `pieceSize`.
    /// Returns the released bytes and the error, if any.
    func run(_ chunked: ChunkedCase, pieceSize: Int) throws -> (released: [UInt8], error: S3Error?) {
        let headers = HeaderFields(chunked.headers.map { ($0[0], $0[1]) })
        let target = try RequestTarget(parsing: chunked.target)
        let address = try S3AddressResolver(baseDomains: []).resolve(host: headers["Host"], target: target)
        let authenticator = RequestAuthenticator(settings: AuthenticationSettings(regions: [chunked.region]),
                                                 secrets: StaticSecrets(secrets: [chunked.access_key: chunked.secret_key]))
        let request = try authenticator.authenticate(method: chunked.method, target: target, headers: headers,
                                                     address: address, now: SigningTime.parseAmzDate(chunked.amz_date)!)
        var released: [UInt8] = []
        do throws(S3Error) {
            var verifier = try PayloadVerifier(
                expectation: request.payload, trailerHeader: headers[S3HeaderName.trailer],
                decodedContentLength: headers[S3HeaderName.decodedContentLength].flatMap { Int($0) })
            let body = Array(Data(base64Encoded: chunked.body_base64)!)
            for start in stride(from: 0, to: body.count, by: pieceSize) {
                released += try verifier.consume(Array(body[start..<min(start + pieceSize, body.count)]))
            }
            _ = try verifier.finish()
            return (released, nil)
        } catch {
            return (released, error)
        }
    }

    @Test(arguments: [1, 1000, 65536])
    func everyCaseVerifiesOrIsRefusedInPiecesOf(_ pieceSize: Int) throws {
        let corpus = try Self.corpus.get()
        #expect(corpus.cases.count >= 40)
        for form in ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                     "STREAMING-UNSIGNED-PAYLOAD-TRAILER"] {
            #expect(corpus.cases.contains { $0.content_sha256 == form && $0.expect == "valid" }, "no valid \(form)")
            #expect(corpus.cases.contains { $0.content_sha256 == form && $0.expect == "invalid" }, "no invalid \(form)")
        }
        for chunked in corpus.cases {
            let (released, error) = try run(chunked, pieceSize: pieceSize)
            if chunked.expect == "valid" {
                #expect(error == nil, "\(chunked.id) was refused: \(String(describing: error))")
                #expect(released == Array(Data(base64Encoded: chunked.decoded_base64)!), "\(chunked.id)")
                continue
            }
            #expect(error != nil, "\(chunked.id) (\(chunked.corruption?.what ?? "")) was accepted")
            // With signed chunks, nothing of the corrupted chunk (or after it) is released.
            if chunked.content_sha256 != "STREAMING-UNSIGNED-PAYLOAD-TRAILER", let index = chunked.corruption?.chunk_index {
                let body = Array(Data(base64Encoded: chunked.body_base64)!)
                let firstLine = body.prefix { $0 != UInt8(ascii: ";") }
                let chunkSize = Int(String(decoding: firstLine, as: UTF8.self), radix: 16)!
                #expect(released.count <= index * chunkSize, "\(chunked.id) released part of the corrupted chunk")
            }
        }
    }
}
