import S3Core

/// A request head written as text, the form the seed corpora use:
///
///     METHOD SP request-target [SP HTTP-version] LF
///     *( field-name ":" field-value LF )
///     LF
///     [ body ]
///
/// where LF may also be CRLF. Field values are taken without their surrounding spaces, as
/// an HTTP parser hands them to the gateway. Lenient by design: a fuzzed head that is not
/// quite HTTP still reaches the parsers under test.
struct RawRequestHead {
    var method: String
    var target: String
    var headers: HeaderFields
    /// What follows the blank line after the fields (empty when there is none).
    var body: Substring

    init?(_ text: Substring) {
        var (requestLine, rest) = Self.firstLine(of: text)
        let words = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 2 || words.count == 3 else { return nil }
        method = String(words[0])
        target = String(words[1])
        headers = HeaderFields()
        body = ""
        while !rest.isEmpty {
            let line: Substring
            (line, rest) = Self.firstLine(of: rest)
            if line.isEmpty {
                body = rest
                break
            }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...].trimmingOWS))
        }
    }

    init(method: String, target: String, headers: HeaderFields, body: Substring = "") {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// The head as an HTTP/1.1 client sends it, CRLF line ends, ending with the blank line.
    var http: String {
        "\(method) \(target) HTTP/1.1\r\n" + headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
    }

    /// The text before the first LF (without a CR in front of it), and the text after it.
    /// Split on scalars: a CRLF is one Character in Swift, so splitting on "\n" would miss it.
    private static func firstLine(of text: Substring) -> (line: Substring, rest: Substring) {
        let scalars = text.unicodeScalars
        guard let newline = scalars.firstIndex(of: "\n") else { return (text, "") }
        var end = newline
        if end > scalars.startIndex, scalars[scalars.index(before: end)] == "\r" { end = scalars.index(before: end) }
        return (Substring(scalars[..<end]), Substring(scalars[scalars.index(after: newline)...]))
    }
}
