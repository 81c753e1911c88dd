import Testing
@testable import FormUpload

/// What the rewriter refuses to write into the upstream's field section.
@Suite struct PostObjectRewriterTests {
    /// The upstream part header quotes each name; RFC 2045 parsers read a backslash in it as
    /// an escape (`a\b` as `ab`), so the store would check a field its policy does not pin.
    @Test func aFieldNameWithABackslashIsNotForwarded() {
        let run = FormRun.signed([FormField(name: "x-amz-meta-a\\b", value: "v")], upstream: .s3)
        #expect(run.error?.code == "InvalidArgument")
        #expect(run.error?.message.contains("cannot be forwarded") == true)
        #expect(run.stage == .rewriterInit)
    }

    /// The file part's Content-Type header carries the field's value without surrounding
    /// whitespace, as every parser then reads it (the forms differential found a trailing
    /// HTAB that the gateway trimmed and Python's parsers kept).
    @Test func theFilePartContentTypeIsWrittenTrimmed() throws {
        let run = FormRun.signed([FormField(name: "Content-Type", value: "text/plain\t")], upstream: .s3)
        let upstream = String(decoding: run.upstream, as: UTF8.self)
        #expect(upstream.contains("Content-Type: text/plain\r\n\r\nhello"), "\(upstream)")
    }
}
