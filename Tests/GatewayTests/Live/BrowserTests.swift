import Foundation
import Policy
import Testing
@testable import Gateway

/// Issue 18: a web page on another origin uploads through the gateway in a real browser.
/// Headless Chromium (Debian's `chromium`) loads a test page served on loopback that PUTs a
/// file to a presigned URL (CORS preflight answered by radosgw from the bucket's CORS
/// configuration, set through the gateway) and submits a form whose success redirect comes
/// back to the page; both uploads must land in radosgw with the policy's default
/// encryption, read back with radosgw's own key. See Clients/browser_scenarios.py.
@Suite(.serialized) struct BrowserTests {
    /// PolicyEnforcementTests's policy with two differences for the page's bucket
    /// (`finance-browser-*`): PutBucketCors is allowed there (otherwise denied by default,
    /// and the page's origin must be in the bucket's CORS configuration), and
    /// `safe-redirects` (relative redirects only) does not match it: the form's
    /// `success_action_redirect` is the page's own origin, an absolute http://127.0.0.1 URL
    /// (a relative redirect would send the browser to the gateway, which answers the store's
    /// `?bucket=&key=&etag=` on a GET with 501). `finance-kms` applies unchanged.
    static let policyText = """
        version: 1
        rules:
          - id: finance-kms
            match: {buckets: ["finance-*"]}
            encryption:
              require: sse-kms
              kms_key_ids: [testkey-1]
              default_kms_key_id: testkey-1
              default_when_absent: sse-kms
          - id: no-glacier
            storage_class: {deny: [GLACIER, DEEP_ARCHIVE]}
          - id: safe-redirects
            match: {exclude_buckets: ["finance-browser-*"]}
            website_redirect: relative-only
          - id: public-acl-ban
            acl: {allow_canned: [private, bucket-owner-full-control]}
          - id: web-audit
            mode: audit
            match: {buckets: ["web-*"]}
            website_redirect: forbid
        access:
          - id: everyone-manages-buckets
            operations: [bucket-create-delete]
            effect: allow
          - id: browser-pages-set-cors
            operations: [PutBucketCors]
            buckets: ["finance-browser-*"]
            effect: allow
        """

    static func policy() throws -> UploadPolicy { try UploadPolicy.parse(policyText, file: "browser-policy.yaml") }

    @Test func aPageOnAnotherOriginUploadsThroughTheGatewayWithThePolicysDefaults() async throws {
        let rgw = try Peers.radosgw()
        let gateway = try await LiveGateway.start(upstream: rgw.endpoint, upstreamKey: rgw.accessKey,
                                                  upstreamSecret: rgw.secretKey, watchingForLeaks: true, policy: try Self.policy())
        try Peers.expectScenariosPass("browser_scenarios.py", [
            "--endpoint", gateway.endpoint, "--access-key", TestSetup.clientKey, "--secret", TestSetup.clientSecret,
            "--upstream-endpoint", rgw.endpoint, "--upstream-access-key", rgw.accessKey, "--upstream-secret", rgw.secretKey,
            "--bucket-prefix", "finance-browser-", "--default-kms-key", "testkey-1",
        ], count: 6, timeout: 120)
        await gateway.stop()
    }
}
