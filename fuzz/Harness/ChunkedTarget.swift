import Crypto
import S3Core
import S3Signing

/// Fuzz target `chunked`: the aws-chunked decoder and verifier (`PayloadVerifier`) in all
/// its forms. The input is one line naming the form, then the body:
///
///     signed | signed-trailer TRAILER | unsigned-trailer TRAILER | sha256 HEX | unsigned
///     [SP DECODED-CONTENT-LENGTH] LF body
///
/// Signed chunks chain from a fixed request signature under a fixed key (`context`), the
/// one fuzz/corpus/generate_seeds.py signs its seeds with.
///
/// Invariants:
/// - the body fed whole and fed one byte at a time gives the same bytes released and the
///   same verdict;
/// - with a payload check (every form but `unsigned`), an accepted body with its first
///   payload byte changed is refused.
public enum ChunkedTarget {
    static let context = SigV4ChunkContext(
        signingKey: SigV4SigningKeyCache.derive(secret: "fuzz-chunked-secret", scope: scope),
        amzDate: "20260101T000000Z", scope: scope,
        seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    static let scope = SigV4Scope(date: "20260101", region: "us-east-1")

    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let words = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ").map(String.init)
        guard let form = Form(words) else { return }
        let body = Array(bytes[(newline + 1)...])
        let whole = form.verify(body, pieceSize: max(body.count, 1))
        let bytewise = form.verify(body, pieceSize: 1)
        Invariant.check(whole.released == bytewise.released && whole.failure?.code == bytewise.failure?.code,
                        "whole: \(whole), byte by byte: \(bytewise)")
        guard whole.failure == nil, form.checksPayload, !whole.released.isEmpty else { return }
        var changed = body
        let firstPayloadByte = form.isChunked ? (Self.endOfFirstLine(body) ?? 0) : 0
        changed[firstPayloadByte] ^= 0x01
        Invariant.check(form.verify(changed, pieceSize: changed.count).failure != nil,
                        "accepted with byte \(firstPayloadByte) of the body changed")
    }

    private static func endOfFirstLine(_ body: [UInt8]) -> Int? {
        body.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }
    }

    struct Form {
        let expectation: PayloadExpectation
        let trailer: String?
        let decodedLength: Int?

        init?(_ words: [String]) {
            guard let name = words.first else { return nil }
            var rest = words.dropFirst()
            switch name {
            case "signed": expectation = .signedChunks(ChunkedTarget.context, trailer: false)
            case "signed-trailer": expectation = .signedChunks(ChunkedTarget.context, trailer: true)
            case "unsigned-trailer": expectation = .unsignedChunksWithTrailer
            case "sha256":
                guard let hash = rest.popFirst() else { return nil }
                expectation = .sha256(hash)
            case "unsigned": expectation = .unsigned
            default: return nil
            }
            trailer = name.hasSuffix("-trailer") ? rest.popFirst() : nil
            decodedLength = rest.popFirst().flatMap { Int($0) }
        }

        var isChunked: Bool {
            switch expectation {
            case .signedChunks, .unsignedChunksWithTrailer: true
            case .sha256, .unsigned: false
            }
        }

        var checksPayload: Bool { expectation != .unsigned }

        struct Outcome: CustomStringConvertible {
            var released: [UInt8] = []
            var failure: S3Error?
            var description: String { "\(released.count) bytes released, \(failure.map { "\($0.code): \($0.message)" } ?? "accepted")" }
        }

        func verify(_ body: [UInt8], pieceSize: Int) -> Outcome {
            var outcome = Outcome()
            do throws(S3Error) {
                var verifier = try PayloadVerifier(expectation: expectation, trailerHeader: trailer,
                                                   decodedContentLength: decodedLength, maxChunkSize: 64 * 1024)
                for start in stride(from: 0, to: body.count, by: pieceSize) {
                    // The callback form: what a piece released before a refusal counts too.
                    var refusal: S3Error?
                    Array(body[start..<min(start + pieceSize, body.count)]).withUnsafeBytes { piece in
                        do throws(S3Error) { try verifier.consume(piece) { outcome.released += $0 } } catch { refusal = error }
                    }
                    if let refusal { throw refusal }
                }
                let summary = try verifier.finish()
                Invariant.check(summary.decodedLength == outcome.released.count,
                                "decoded length \(summary.decodedLength), \(outcome.released.count) bytes released")
            } catch {
                outcome.failure = error
            }
            return outcome
        }
    }
}
