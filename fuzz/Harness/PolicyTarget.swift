import Policy
import S3Core

/// Fuzz target `policy`: the policy loader (YAML → `UploadPolicy`, with every check it
/// makes of a policy file) and, for a policy that loads, its evaluation of a fixed set of
/// requests that create objects, change ACLs or only read, from three principals. The
/// input is the YAML text; the seeds are the policies of policies/ and their variants.
///
/// Invariants:
/// - evaluating the same request twice gives the same decision;
/// - a policy's own changes satisfy it: a request with the mutations of an
///   allow-with-mutations decision applied is allowed as it is (no further mutation, no
///   denial). Otherwise the gateway would forward headers the policy refuses.
public enum PolicyTarget {
    public static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let text = String(validating: bytes, as: UTF8.self),
              let policy = try? UploadPolicy.parse(text, file: "fuzz.yaml")
        else { return }
        for request in probes {
            let decision = policy.evaluate(request)
            Invariant.check(policy.evaluate(request) == decision, "two decisions on \(request.operation.name)")
            guard decision.outcome == .allowWithMutations else { continue }
            var changed = request
            changed.headers = decision.applying(to: request.headers)
            let again = policy.evaluate(changed)
            Invariant.check((again.outcome == .allow || again.outcome == .auditOnly) && again.mutations.isEmpty,
                            "\(request.operation.name) \(request.headers) became \(changed.headers) (\(decision.mutations)), "
                                + "which the policy answers \(again.outcome) \(again.mutations)")
        }
    }

    /// Requests that exercise every kind of rule: encryption, storage class, ACLs and
    /// grants, website redirects, metadata, copies, bucket settings by header, and reads.
    static let probes: [PolicyRequest] = {
        let requests: [(String, [(String, String)])] = [
            ("PUT /bucket/key", []),
            ("PUT /bucket/key", [("x-amz-server-side-encryption", "AES256")]),
            ("PUT /bucket/key", [("x-amz-server-side-encryption", "aws:kms"),
                                 ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-2")]),
            ("POST /bucket/dir/key?uploads", [("x-amz-storage-class", "GLACIER"), ("x-amz-acl", "public-read")]),
            ("PUT /bucket/key", [("x-amz-copy-source", "/source/key"), ("x-amz-metadata-directive", "REPLACE"),
                                 ("x-amz-meta-owner", "team")]),
            ("PUT /public-assets/key", [("x-obs-acl", "public-read"), ("x-obs-storage-class", "WARM")]),
            ("PUT /bucket/key", [("x-amz-website-redirect-location", "https://elsewhere.example/")]),
            ("PUT /bucket/key", [("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")]),
            ("PUT /bucket?acl", [("x-amz-acl", "public-read-write")]),
            ("POST /bucket/key?append&position=0", [("x-obs-server-side-encryption", "kms")]),
            ("GET /bucket/key", []),
        ]
        let principals: [(String?, [String])] = [("tester", ["qa"]), ("platform", ["platform-admins"]), (nil, [])]
        return requests.flatMap { line, fields in
            principals.map { principal, groups in
                try! PolicyRequest(requestLine: line, headers: HeaderFields([("Host", "127.0.0.1:9000")] + fields),
                                   principal: principal, groups: groups)
            }
        }
    }()
}
