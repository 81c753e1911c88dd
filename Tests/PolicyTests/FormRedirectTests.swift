import Policy
import S3Core
import Testing

/// Where a browser form sends the browser after the upload (`success_action_redirect`,
/// `redirect`) is judged by the `website_redirect` rules that match the form.
@Suite struct FormRedirectTests {
    static let policy = try! UploadPolicy.parse("""
        version: 1
        rules:
          - id: web-hosts
            match: {buckets: ["www-*"]}
            website_redirect: {allow_hosts: ["*.example.com"]}
          - id: ingest-strip
            match: {buckets: ["ingest-*"]}
            website_redirect: strip
          - id: relative-elsewhere
            match: {exclude_buckets: ["www-*", "ingest-*", "open"]}
            website_redirect: relative-only
          - id: audit-only
            mode: audit
            match: {buckets: ["open"]}
            website_redirect: forbid
        """, file: "policy.yaml")

    static func denial(_ bucket: String, _ target: String) -> String? {
        let request = PolicyRequest(operation: .postObject, bucket: bucket, key: "k", principal: "alice", headers: HeaderFields())
        return policy.formRedirectDenial(request, field: "success_action_redirect", target: target)?.rule
    }

    @Test func theTargetIsJudgedLikeAWebsiteRedirect() {
        #expect(Self.denial("docs", "/thanks.html") == nil)
        #expect(Self.denial("docs", "https://evil.example.net/") == "relative-elsewhere")
        #expect(Self.denial("docs", "//evil.example.net/") == "relative-elsewhere", "protocol-relative is another host")
        #expect(Self.denial("www-shop", "https://shop.example.com/thanks") == nil)
        #expect(Self.denial("www-shop", "https://shop.example.com@evil.example.net/") == "web-hosts")
        #expect(Self.denial("www-shop", "http://shop.example.com/") == "web-hosts", "https only")
    }

    @Test func stripRefusesAndAuditModeAndUnmatchedBucketsDoNot() {
        #expect(Self.denial("ingest-raw", "/thanks.html") == "ingest-strip", "a form's answer is the store's: nothing to strip")
        #expect(Self.denial("open", "https://anywhere.example.org/") == nil)
    }

    @Test func theDenialNamesTheFieldAndTheRule() throws {
        let request = PolicyRequest(operation: .postObject, bucket: "docs", key: "k", principal: nil, headers: HeaderFields())
        let denial = try #require(Self.policy.formRedirectDenial(request, field: "redirect", target: "https://x.org/"))
        #expect(denial.error.code == "AccessDenied" && denial.error.status == 403)
        #expect(denial.error.message.contains("the form field redirect") && denial.error.message.contains("relative-elsewhere"))
    }
}
