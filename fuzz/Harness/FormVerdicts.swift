import Foundation
import FormUpload

/// The gateway's reading of browser form bodies generated elsewhere, for the forms
/// differential (fuzz/differential/forms.py, driven by FuzzHarnessTests'
/// FormDifferentialTests). Each input line is
///
///     {"id": ID, "content_type": the request's Content-Type, "body": base64}
///
/// and each output line what `MultipartFormParser` read from it, and — for a form that
/// also verifies (FormTarget's `sign-me` signature) — the body `PostObjectRewriter` sends
/// the store in its place, with what the gateway's parser reads from that body:
///
///     {"id": ID, "client": READING,
///      "upstream": {"content_type", "body": base64, "reading": READING} or absent}
///     READING = {"verdict": "accepted" | "refused", "code": S3 error code or absent,
///                "fields": [[name, value]...], "file": {"name", "filename", "content_type"} or absent,
///                "data": base64 of the file's bytes}
///
/// A line that is not such a case is answered with `{"unreadable": true}`. The Python side
/// parses both bodies with its reference parsers and compares.
public enum FormVerdicts {
    struct Case: Decodable {
        let id: String
        let contentType: String
        let body: Data
    }

    struct FileHeaders: Encodable {
        let name: String
        let filename: String?
        let contentType: String?
    }

    struct Reading: Encodable {
        let verdict: String
        let code: String?
        let fields: [[String]]
        let file: FileHeaders?
        let data: Data

        init(_ body: [UInt8], contentType: String) {
            self.init(ParsedForm(body, contentType: contentType, pieceSize: max(body.count, 1)))
        }

        init(_ parsed: ParsedForm) {
            verdict = parsed.failure == nil ? "accepted" : "refused"
            code = parsed.failure
            fields = parsed.fields.map { [$0.name, $0.value] }
            file = parsed.file.map { FileHeaders(name: $0.fieldName, filename: $0.filename, contentType: $0.contentType) }
            data = Data(parsed.fileData)
        }
    }

    struct Upstream: Encodable {
        let contentType: String
        let body: Data
        let reading: Reading
    }

    struct Verdict: Encodable {
        let id: String
        let client: Reading
        let upstream: Upstream?
    }

    /// The lines' keys are snake_case (`content_type`), the properties camelCase.
    public static func verdict(forJSONLine line: some DataProtocol) -> String {
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let form = try? decoder.decode(Case.self, from: Data(line)),
              let answer = try? encoder.encode(verdict(on: form)) else { return #"{"unreadable": true}"# }
        return String(decoding: answer, as: UTF8.self)
    }

    static func verdict(on form: Case) -> Verdict {
        let body = Array(form.body)
        let parsed = ParsedForm(body, contentType: form.contentType, pieceSize: max(body.count, 1))
        var upstream: Upstream?
        if parsed.failure == nil, let file = parsed.file, let verified = FormTarget.verify(parsed.fields, file: file),
           let rewritten = FormTarget.rewritten(body, contentType: form.contentType, form: verified) {
            upstream = Upstream(contentType: rewritten.contentType, body: Data(rewritten.body),
                                reading: Reading(rewritten.body, contentType: rewritten.contentType))
        }
        return Verdict(id: form.id, client: Reading(parsed), upstream: upstream)
    }
}
