import Testing
@testable import Gateway

/// What an upstream's error body may not show the client: the upstream's key and what it
/// signed. Both spellings the fuzzer found (fuzz/corpus/xml/error-hidden-element-*) included.
@Suite struct UpstreamErrorSanitizerTests {
    @Test func theHiddenElementsAreCutAndTheRestKept() {
        let body = "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>UPKEY</AWSAccessKeyId>"
            + "<StringToSign>AWS4 UPKEY</StringToSign><HostId/><Message>m</Message></Error>"
        #expect(UpstreamErrorSanitizer.sanitize(body) == "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>")
    }

    @Test(arguments: [
        "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId >UPKEY</AWSAccessKeyId ></Error>",
        "<Error xmlns:s=\"u\"><Code>SignatureDoesNotMatch</Code><s:StringToSign>AWS4 UPKEY</s:StringToSign></Error>",
    ])
    func anUnusualSpellingWithholdsTheBodyButKeepsTheCode(_ body: String) {
        let sanitized = UpstreamErrorSanitizer.sanitize(body)
        #expect(!sanitized.contains("UPKEY"), "\(sanitized)")
        #expect(UpstreamErrorSanitizer.code(of: sanitized) == "SignatureDoesNotMatch")
        #expect(!UpstreamErrorSanitizer.hiddenElements.contains(where: sanitized.contains))
    }
}
