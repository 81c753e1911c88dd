import Policy
import S3Core
import Testing

/// The same violation, attempted every way a client can create an object or spell a header,
/// is refused every time (seed rules first, then the policy, as the gateway runs them).
@Suite struct NoBypassTests {
    static let rules = """
          - id: no-glacier
            storage_class: {deny: [GLACIER]}
          - id: own-keys
            encryption: {kms_key_ids: [testkey-1]}
          - id: no-public
            acl: {allow_canned: [private]}
          - id: redirects
            website_redirect: {allow_hosts: [example.com]}

        """

    struct Attempt: Sendable, CustomTestStringConvertible {
        let name: String
        let line: String
        var headers: [(String, String)] = []
        /// The rule that must refuse it, or nil when the seed rules refuse it first.
        let rule: String?
        var testDescription: String { name }
    }

    static let attempts: [Attempt] = {
        var attempts: [Attempt] = []
        let shapes: [(String, String, [(String, String)])] = [
            ("CreateMultipartUpload", "POST /finance/k?uploads", []),
            ("PutObject", "PUT /finance/k", []),
            ("CopyObject (COPY directive)", "PUT /finance/k", [("x-amz-copy-source", "/other/src")]),
            ("CopyObject (REPLACE directive)", "PUT /finance/k", [("x-amz-copy-source", "/other/src"), ("x-amz-metadata-directive", "REPLACE")]),
            ("PostObject", "POST /finance", [("Content-Type", "multipart/form-data; boundary=x")]),
            ("AppendObject", "POST /finance/k?append&position=0", []),
        ]
        let violations: [(String, [(String, String)], String?)] = [
            ("GLACIER", [("x-amz-storage-class", "GLACIER")], "no-glacier"),
            ("OBS COLD", [("x-obs-storage-class", "COLD")], "no-glacier"),
            ("odd casing", [("X-aMz-StOrAgE-cLaSs", "GLACIER")], "no-glacier"),
            ("duplicated header", [("x-amz-storage-class", "STANDARD"), ("x-amz-storage-class", "GLACIER")], nil),
            ("dialects disagreeing", [("x-amz-storage-class", "STANDARD"), ("x-obs-storage-class", "COLD")], nil),
            ("another KMS key", [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")], "own-keys"),
            ("another KMS key, OBS", [("x-obs-server-side-encryption", "kms"), ("x-obs-server-side-encryption-kms-key-id", "testkey-2")], "own-keys"),
            ("public-read", [("x-amz-acl", "public-read")], "no-public"),
            ("OBS public-read-delivered", [("x-obs-acl", "public-read-delivered")], "no-public"),
            ("redirect elsewhere", [("x-amz-website-redirect-location", "https://evil.example")], "redirects"),
            ("redirect elsewhere, OBS", [("x-obs-website-redirect-location", "https://evil.example")], "redirects"),
        ]
        for (shape, line, base) in shapes {
            for (violation, headers, rule) in violations {
                attempts.append(Attempt(name: "\(shape), \(violation)", line: line, headers: base + headers, rule: rule))
            }
        }
        attempts += [
            Attempt(name: "presigned PUT with x-amz-storage-class in the query",
                    line: "PUT /finance/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0&x-amz-storage-class=GLACIER", rule: "no-glacier"),
            Attempt(name: "presigned PUT with x-obs-acl in the query", line: "PUT /finance/k?x-obs-acl=public-read", rule: "no-public"),
            Attempt(name: "PutObjectAcl after the upload", line: "PUT /finance/k?acl", headers: [("x-amz-acl", "public-read")], rule: "no-public"),
            Attempt(name: "OBS metadata change to COLD", line: "PUT /finance/k?metadata", headers: [("x-obs-storage-class", "COLD")],
                    rule: "no-glacier"),
        ]
        return attempts
    }()

    @Test(arguments: attempts)
    func refused(_ attempt: Attempt) throws {
        let loaded = try policy(rules: Self.rules)
        let request = try PolicyRequest(requestLine: attempt.line, headers: HeaderFields(attempt.headers), principal: "alice",
                                        isTLS: true)
        do {
            try SeedValidation.validate(request, requireTLSForSSEC: true)
        } catch {
            #expect(attempt.rule == nil, "seed refused: \(error)")
            #expect(error.code == "InvalidArgument")
            return
        }
        let decision = loaded.evaluate(request)
        #expect(decision.deniedBy == attempt.rule, "\(request.operation.name): \(decision.outcome)")
        #expect(decision.outcome.error?.status == 403)
    }
}
