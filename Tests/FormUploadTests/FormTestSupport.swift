import Crypto
import Foundation
import TestSupport
import S3Core
import S3Signing
@testable import FormUpload

/// Runs `Generator/generate_post_forms.py`, whose forms are signed by botocore's
/// `generate_presigned_post` and encoded by urllib3, and decodes the JSON it writes.
/// botocore is installed by `scripts/install-test-deps.sh`; when it is missing the test
/// fails with the generator's own error rather than skipping.
enum BotocoreForms {
    struct Corpus: Decodable {
        let botocore: String
        let cases: [Case]
    }

    struct Case: Decodable {
        let id: String
        let signature_version: String
        let access_key: String
        let secret_key: String
        let region: String
        let bucket: String
        let fields: [[String]]
        let filename: String
        let file_base64: String
        let content_type: String
        let boundary: String
        let body_base64: String
        let policy_json: String
        let expected_key: String

        var formFields: [FormField] { fields.map { FormField(name: $0[0], value: $0[1]) } }
        var file: [UInt8] { Array(Data(base64Encoded: file_base64)!) }
        var body: [UInt8] { Array(Data(base64Encoded: body_base64)!) }
        var secrets: Secrets { Secrets([access_key: secret_key]) }
        var settings: AuthenticationSettings { AuthenticationSettings(regions: [region]) }
    }

    static let corpus: Result<Corpus, any Error> = Result {
        try runJSONGenerator(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Generator/generate_post_forms.py"), as: Corpus.self)
    }

    static func named(_ id: String) throws -> Case {
        guard let found = try corpus.get().cases.first(where: { $0.id == id }) else {
            throw CaseMissing(description: "generate_post_forms.py wrote no case \(id)")
        }
        return found
    }

    struct CaseMissing: Error, CustomStringConvertible {
        let description: String
    }
}

struct Secrets: SecretLookup {
    let table: [String: String]
    init(_ table: [String: String]) { self.table = table }
    func secret(forAccessKey accessKeyId: String) -> String? { table[accessKeyId] }
}

/// Builds multipart/form-data bodies the way urllib3 and browsers do.
struct FormBody {
    var boundary = "obsgate-test-boundary-1234"
    var fields: [FormField]
    var filename: String? = "file.bin"
    var fileContentType: String? = "application/octet-stream"
    var file: [UInt8]
    var ending = "--\r\n"

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\"\r\n\r\n\(field.value)\r\n".utf8)
        }
        out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"".utf8)
        if let filename {
            // WHATWG (urllib3, browsers): CR, LF and '"' percent-encoded.
            let escaped = filename.replacingOccurrences(of: "\"", with: "%22")
                .replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
            out += Array("; filename=\"\(escaped)\"".utf8)
        }
        out += Array("\r\n".utf8)
        if let fileContentType { out += Array("Content-Type: \(fileContentType)\r\n".utf8) }
        out += Array("\r\n".utf8) + file + Array("\r\n--\(boundary)\(ending)".utf8)
        return out
    }
}

/// Signs policy documents like an SDK would, for forms the tests vary.
enum FormSigner {
    static let accessKey = "GWSWIFTKEY0000000001"
    static let secret = "swift-side/secret+key"
    static let region = "us-east-1"

    /// The SigV4 auth fields (conditions included in the policy), the policy and signature.
    static func sigV4(conditions: [Any], fields: [FormField], expiration: Date = Date().addingTimeInterval(600),
                      now: Date = Date(), accessKey: String = accessKey, secret: String = secret,
                      region: String = region) -> [FormField] {
        let amzDate = SigningTime.amzDate(now)
        let scope = SigV4Scope(date: String(amzDate.prefix(8)), region: region)
        let auth = [
            FormField(name: "x-amz-algorithm", value: "AWS4-HMAC-SHA256"),
            FormField(name: "x-amz-credential", value: "\(accessKey)/\(scope.text)"),
            FormField(name: "x-amz-date", value: amzDate),
        ]
        let all = conditions + auth.map { [$0.name: $0.value] }
        let document: [String: Any] = ["expiration": PostPolicy.formatExpiration(expiration), "conditions": all]
        let policy = try! JSONSerialization.data(withJSONObject: document).base64EncodedString()
        let key = SigV4SigningKeyCache.derive(secret: secret, scope: scope)
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(policy.utf8), using: key.key))
        return fields + auth + [FormField(name: "policy", value: policy), FormField(name: "x-amz-signature", value: signature)]
    }

    static var secrets: Secrets { Secrets([accessKey: secret]) }
    static var settings: AuthenticationSettings { AuthenticationSettings(regions: [region]) }
}

/// What the gateway does with a form, driven the way the connection handler will: parse
/// the field section, verify it, build the rewriter, then stream the rest.
struct FormRun {
    /// A form with `fields` (each one pinned by the policy) and a five-byte file, signed
    /// with FormSigner's key, posted to the bucket `forms` with an upstream of `dialect`.
    static func signed(_ fields: [FormField], upstream dialect: HeaderDialect) -> FormRun {
        let conditions: [Any] = [["bucket": "forms"], ["starts-with", "$key", "up/"]] + fields.map { [$0.name: $0.value] }
        let body = FormBody(fields: FormSigner.sigV4(conditions: conditions, fields: [FormField(name: "key", value: "up/x")] + fields),
                            file: Array("hello".utf8))
        var driver = FormDriver(settings: FormSigner.settings, secrets: FormSigner.secrets, bucket: "forms")
        driver.dialect = dialect
        return driver.run(body: body.bytes, contentType: body.contentType)
    }

    var verified: VerifiedPostForm?
    var rewriter: PostObjectRewriter?
    var upstream: [UInt8] = []
    var error: S3Error?
    /// Where the error surfaced.
    var stage: Stage = .none

    enum Stage: Equatable { case none, fieldSection, verify, rewriterInit, stream, finish }
}

struct FormDriver {
    var verifier: PostObjectVerifier
    var signer: UpstreamSigner
    /// The upstream's dialect; by default the one its signing scheme implies.
    var dialect: HeaderDialect
    var bucket: String
    var now = Date()
    var limits = MultipartFormParser.Limits()

    static let upstreamCredentials = SigningCredentials(accessKeyId: "UPSTREAMKEY000000001", secretAccessKey: "upstream/secret")

    init(settings: AuthenticationSettings, secrets: Secrets, bucket: String,
         signer: UpstreamSigner = UpstreamSigner(scheme: .v4, credentials: FormDriver.upstreamCredentials, region: "upstream-1")) {
        verifier = PostObjectVerifier(settings: settings, secrets: secrets)
        self.signer = signer
        dialect = signer.scheme == .obs ? .obs : .s3
        self.bucket = bucket
    }

    /// Feeds `body` in pieces of `pieceSize` (0: whole), or cut at `cuts`.
    func run(body: [UInt8], contentType: String, pieceSize: Int = 0, cuts: [Int]? = nil,
             contentLength: Int? = nil) -> FormRun {
        var pieces: [ArraySlice<UInt8>] = []
        if let cuts {
            var start = 0
            for cut in cuts + [body.count] where cut >= start {
                pieces.append(body[start..<cut])
                start = cut
            }
        } else if pieceSize == 0 {
            pieces = [body[...]]
        } else {
            pieces = stride(from: 0, to: body.count, by: pieceSize).map { body[$0..<min($0 + pieceSize, body.count)] }
        }
        var run = FormRun()
        var parser: MultipartFormParser
        do {
            parser = try MultipartFormParser(contentType: contentType, limits: limits)
        } catch {
            run.error = error
            run.stage = .fieldSection
            return run
        }
        var index = 0
        var pending: ArraySlice<UInt8> = []
        // 1. The field section.
        while parser.filePart == nil {
            guard index < pieces.count else {
                do { try parser.finish() } catch { run.error = error; run.stage = .fieldSection }
                return run
            }
            let piece = pieces[index]
            index += 1
            do {
                let consumed = try parser.consume(Array(piece)).consumed
                if parser.filePart != nil { pending = piece.dropFirst(consumed) }
            } catch {
                run.error = error
                run.stage = .fieldSection
                return run
            }
        }
        // 2. Verify.
        let form: VerifiedPostForm
        do {
            form = try verifier.verify(parser, bucket: bucket, now: now)
            run.verified = form
        } catch {
            run.error = error
            run.stage = .verify
            return run
        }
        // 3. The rewriter; the upstream head could be sent now.
        var rewriter: PostObjectRewriter
        do {
            rewriter = try PostObjectRewriter(form: form, parser: parser, clientContentLength: contentLength ?? body.count,
                                              signer: signer, dialect: dialect, now: now)
        } catch {
            run.error = error
            run.stage = .rewriterInit
            return run
        }
        run.upstream = rewriter.upstreamPrefix
        // 4. Stream.
        do {
            if !pending.isEmpty { run.upstream += try rewriter.consume(Array(pending)) }
            while index < pieces.count {
                run.upstream += try rewriter.consume(Array(pieces[index]))
                index += 1
            }
        } catch {
            run.error = error
            run.stage = .stream
            run.rewriter = rewriter
            return run
        }
        do {
            run.upstream += try rewriter.finish()
        } catch {
            run.error = error
            run.stage = .finish
        }
        run.rewriter = rewriter
        return run
    }
}
