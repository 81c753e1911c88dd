import Foundation

/// The verifier's verdicts on requests signed elsewhere, for fuzz/differential/sigv4.py:
/// each input line is a JSON `SignatureCase` with an `id`; each output line is
///
///     {"id": ID, "verdict": "accepted" | "refused", "code": S3 error code or null}
///
/// A line that is not such a case is answered with the verdict `unreadable`.
public enum SignatureVerdicts {
    struct IdentifiedCase: Decodable {
        let id: String
        let request: SignatureCase

        init(from decoder: any Decoder) throws {
            id = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .id)
            request = try SignatureCase(from: decoder)
        }

        private enum CodingKeys: String, CodingKey { case id }
    }

    struct Verdict: Encodable {
        let id: String?
        let verdict: String
        let code: String?
    }

    public static func verdict(forJSONLine line: some DataProtocol) -> String {
        let answer: Verdict
        if let signed = try? JSONDecoder().decode(IdentifiedCase.self, from: Data(line)) {
            switch signed.request.verdict() {
            case .success: answer = Verdict(id: signed.id, verdict: "accepted", code: nil)
            case .failure(let error): answer = Verdict(id: signed.id, verdict: "refused", code: error.code)
            }
        } else {
            answer = Verdict(id: nil, verdict: "unreadable", code: nil)
        }
        return String(decoding: (try? JSONEncoder().encode(answer)) ?? Data(), as: UTF8.self)
    }

    /// Answers every line of standard input on standard output.
    public static func serveStandardInput() {
        while let line = readLine(strippingNewline: true) {
            print(verdict(forJSONLine: Array(line.utf8)))
        }
    }
}
