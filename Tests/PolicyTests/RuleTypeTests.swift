import Policy
import S3Core
import Testing

/// Each rule type, table-driven: the request, the rule, and exactly what the decision is.
@Suite struct RuleTypeTests {
    enum Expected: Sendable {
        case allow
        case mutations([HeaderMutation])
        /// 403 AccessDenied by this rule; the message (the rule has no deny_message) contains the reason.
        case deny(rule: String, reason: String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let rules: String
        var operation: S3Operation = .createMultipartUpload
        var bucket: String? = "finance"
        var key: String? = "reports/q3.csv"
        var principal: String? = "alice"
        var groups: [String] = []
        var headers: [(String, String)] = []
        let expected: Expected
        /// Whether the rule matched (rules that select nothing are checked separately).
        var matched = true
        var testDescription: String { name }
    }

    static let storageClass = """
          - id: sc
            storage_class: {allow: [STANDARD, WARM], deny: [GLACIER], default: STANDARD}

        """
    static let denyOnly = """
          - id: sc-deny
            storage_class: {deny: [DEEP_ARCHIVE, COLD]}

        """
    static let requireKMS = """
          - id: kms
            encryption: {require: sse-kms}

        """
    static let kmsKeys = """
          - id: keys
            encryption: {kms_key_ids: [testkey-1, "arn:aws:kms:*:*:key/*"]}

        """
    static let kmsDefaults = """
          - id: kms-default
            encryption: {require: sse-kms, kms_key_ids: [testkey-1], default_kms_key_id: testkey-1, default_when_absent: sse-kms}

        """
    static let sseS3Default = """
          - id: s3-default
            encryption: {default_when_absent: sse-s3}

        """
    static let requireSSEC = """
          - id: ssec
            encryption: {require: sse-c}

        """
    static let requireAny = """
          - id: any
            encryption: {require: any}

        """
    static let forbid = """
          - id: no-s3-no-c
            encryption: {forbid: [sse-s3, sse-c]}

        """
    static let redirectForbid = "  - id: redirect\n    website_redirect: forbid\n"
    static let redirectRelative = "  - id: redirect\n    website_redirect: relative-only\n"
    static let redirectStrip = "  - id: redirect\n    website_redirect: strip\n"
    static let redirectHosts = "  - id: redirect\n    website_redirect: {allow_hosts: [example.com, \"*.example.com\"]}\n"
    static let acl = "  - id: acl\n    acl: {allow_canned: [private, bucket-owner-full-control]}\n"
    static let aclGrants = "  - id: acl\n    acl: {allow_grant_headers: true}\n"
    static let metadataRequired = "  - id: meta\n    metadata: {required_keys: [cost-centre]}\n"
    static let metadataPattern = "  - id: meta\n    metadata: {key_pattern: \"[a-z0-9-]+\"}\n"
    static let metadataSize = "  - id: meta\n    metadata: {max_total_bytes: 10}\n"

    static let kmsKeyHeader = "x-amz-server-side-encryption-aws-kms-key-id"
    static let sse = ("x-amz-server-side-encryption", "aws:kms")

    static let cases: [Case] = [
        // storage_class
        Case(name: "allowed class", rules: storageClass, headers: [("x-amz-storage-class", "STANDARD")], expected: .allow),
        Case(name: "allowed class in the OBS dialect", rules: storageClass, headers: [("x-obs-storage-class", "WARM")], expected: .allow),
        Case(name: "STANDARD_IA is OBS WARM", rules: storageClass, headers: [("x-amz-storage-class", "STANDARD_IA")], expected: .allow),
        Case(name: "class outside the allow list", rules: storageClass, headers: [("x-amz-storage-class", "ONEZONE_IA")],
             expected: .deny(rule: "sc", reason: "storage class ONEZONE_IA in x-amz-storage-class is not allowed (allowed: STANDARD, STANDARD_IA)")),
        Case(name: "denied class", rules: storageClass, headers: [("x-amz-storage-class", "GLACIER")],
             expected: .deny(rule: "sc", reason: "storage class GLACIER in x-amz-storage-class is not allowed")),
        Case(name: "denied class in the OBS dialect", rules: storageClass, headers: [("X-OBS-Storage-Class", "COLD")],
             expected: .deny(rule: "sc", reason: "storage class COLD (GLACIER) in x-obs-storage-class is not allowed")),
        Case(name: "absent class gets the default", rules: storageClass,
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD")])),
        Case(name: "deny list only: other class", rules: denyOnly, headers: [("x-amz-storage-class", "STANDARD")], expected: .allow),
        Case(name: "deny list only: OBS COLD", rules: denyOnly, headers: [("x-obs-storage-class", "COLD")],
             expected: .deny(rule: "sc-deny", reason: "COLD (GLACIER) in x-obs-storage-class is not allowed")),
        Case(name: "deny list only: S3 GLACIER is COLD", rules: denyOnly, headers: [("x-amz-storage-class", "GLACIER")],
             expected: .deny(rule: "sc-deny", reason: "storage class GLACIER in x-amz-storage-class is not allowed")),
        Case(name: "absent class, no default", rules: denyOnly, expected: .allow),
        Case(name: "PutObject gets the default", rules: storageClass, operation: .putObject,
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD")])),
        Case(name: "CopyObject gets the default", rules: storageClass, operation: .copyObject,
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD")])),
        Case(name: "PostObject gets the default", rules: storageClass, operation: .postObject, key: nil,
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD")])),
        Case(name: "AppendObject denied class", rules: storageClass, operation: .appendObject,
             headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "sc", reason: "x-obs-storage-class")),
        Case(name: "ModifyObjectMetadata: no default injected", rules: storageClass, operation: .modifyObjectMetadata,
             expected: .allow),
        Case(name: "ModifyObjectMetadata: denied class", rules: storageClass, operation: .modifyObjectMetadata,
             headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "sc", reason: "x-obs-storage-class")),
        Case(name: "UploadPart: no default, class not judged", rules: storageClass, operation: .uploadPart,
             headers: [("x-amz-storage-class", "GLACIER")], expected: .allow),

        // encryption
        Case(name: "SSE-KMS required, none given", rules: requireKMS,
             expected: .deny(rule: "kms", reason: "SSE-KMS (x-amz-server-side-encryption: aws:kms) is required; the request asks for no encryption")),
        Case(name: "SSE-KMS required, AES256 given", rules: requireKMS, headers: [("x-amz-server-side-encryption", "AES256")],
             expected: .deny(rule: "kms", reason: "the request asks for SSE-S3")),
        Case(name: "SSE-KMS required, SSE-C given", rules: requireKMS, headers: CustomerKey.s3,
             expected: .deny(rule: "kms", reason: "the request asks for SSE-C")),
        Case(name: "SSE-KMS required and given", rules: requireKMS, headers: [sse], expected: .allow),
        Case(name: "SSE-KMS given in the OBS dialect", rules: requireKMS, headers: [("x-obs-server-side-encryption", "kms")], expected: .allow),
        Case(name: "DSSE counts as SSE-KMS", rules: requireKMS, headers: [("x-amz-server-side-encryption", "aws:kms:dsse")], expected: .allow),
        Case(name: "any encryption required, none given", rules: requireAny,
             expected: .deny(rule: "any", reason: "server-side encryption is required; the request asks for none")),
        Case(name: "any encryption required, AES256 given", rules: requireAny, headers: [("x-obs-server-side-encryption", "AES256")],
             expected: .allow),
        Case(name: "SSE-C required and given", rules: requireSSEC, headers: CustomerKey.obs, expected: .allow),
        Case(name: "SSE-C required, SSE-KMS given", rules: requireSSEC, headers: [sse],
             expected: .deny(rule: "ssec", reason: "SSE-C (x-amz-server-side-encryption-customer-* headers) is required")),
        Case(name: "SSE-S3 forbidden", rules: forbid, headers: [("x-amz-server-side-encryption", "AES256")],
             expected: .deny(rule: "no-s3-no-c", reason: "SSE-S3 (x-amz-server-side-encryption: AES256) is not allowed")),
        Case(name: "SSE-S3 forbidden, OBS dialect", rules: forbid, headers: [("x-obs-server-side-encryption", "AES256")],
             expected: .deny(rule: "no-s3-no-c", reason: "SSE-S3")),
        Case(name: "SSE-C forbidden", rules: forbid, headers: CustomerKey.s3,
             expected: .deny(rule: "no-s3-no-c", reason: "SSE-C (x-amz-server-side-encryption-customer-* headers) is not allowed")),
        Case(name: "forbid list: none given", rules: forbid, expected: .allow),
        Case(name: "allowed KMS key", rules: kmsKeys, headers: [sse, (kmsKeyHeader, "testkey-1")], expected: .allow),
        Case(name: "allowed KMS key by glob", rules: kmsKeys,
             headers: [sse, (kmsKeyHeader, "arn:aws:kms:sichuan:domainiddomainiddomainiddoma0001:key/4f1cd4de-ab64-4807-920a-47fc42e7f0d0")],
             expected: .allow),
        Case(name: "KMS key outside the list", rules: kmsKeys, headers: [sse, (kmsKeyHeader, "testkey-2")],
             expected: .deny(rule: "keys", reason: "KMS key 'testkey-2' in x-amz-server-side-encryption-aws-kms-key-id is not allowed (allowed keys: testkey-1, arn:aws:kms:*:*:key/*)")),
        Case(name: "KMS key outside the list, OBS dialect", rules: kmsKeys,
             headers: [("x-obs-server-side-encryption", "kms"), ("x-obs-server-side-encryption-kms-key-id", "testkey-2")],
             expected: .deny(rule: "keys", reason: "KMS key 'testkey-2' in x-obs-server-side-encryption-kms-key-id is not allowed")),
        Case(name: "KMS key glob does not cross '/'", rules: kmsKeys,
             headers: [sse, (kmsKeyHeader, "arn:aws:kms:r:d:alias/key/x")], expected: .deny(rule: "keys", reason: "is not allowed")),
        Case(name: "SSE-KMS without a key under a key list", rules: kmsKeys, headers: [sse],
             expected: .deny(rule: "keys", reason: "SSE-KMS without a key id (x-amz-server-side-encryption-aws-kms-key-id) is not allowed")),
        Case(name: "key list: no encryption asked", rules: kmsKeys, expected: .allow),
        Case(name: "SSE-KMS without a key gets the default key", rules: kmsDefaults, headers: [sse],
             expected: .mutations([.set(name: kmsKeyHeader, value: "testkey-1")])),
        Case(name: "OBS kms without a key gets the default key", rules: kmsDefaults, headers: [("x-obs-server-side-encryption", "kms")],
             expected: .mutations([.set(name: kmsKeyHeader, value: "testkey-1")])),
        Case(name: "no encryption gets SSE-KMS and the default key", rules: kmsDefaults,
             expected: .mutations([.set(name: "x-amz-server-side-encryption", value: "aws:kms"), .set(name: kmsKeyHeader, value: "testkey-1")])),
        Case(name: "default key present already", rules: kmsDefaults, headers: [sse, (kmsKeyHeader, "testkey-1")], expected: .allow),
        Case(name: "another key is not replaced by the default", rules: kmsDefaults, headers: [sse, (kmsKeyHeader, "testkey-2")],
             expected: .deny(rule: "kms-default", reason: "KMS key 'testkey-2'")),
        Case(name: "AES256 given: no default, SSE-KMS required", rules: kmsDefaults, headers: [("x-amz-server-side-encryption", "AES256")],
             expected: .deny(rule: "kms-default", reason: "is required; the request asks for SSE-S3")),
        Case(name: "no encryption gets SSE-S3", rules: sseS3Default,
             expected: .mutations([.set(name: "x-amz-server-side-encryption", value: "AES256")])),
        Case(name: "CopyObject gets SSE-KMS and the default key", rules: kmsDefaults, operation: .copyObject,
             expected: .mutations([.set(name: "x-amz-server-side-encryption", value: "aws:kms"), .set(name: kmsKeyHeader, value: "testkey-1")])),
        Case(name: "PostObject gets SSE-KMS and the default key", rules: kmsDefaults, operation: .postObject,
             expected: .mutations([.set(name: "x-amz-server-side-encryption", value: "aws:kms"), .set(name: kmsKeyHeader, value: "testkey-1")])),
        Case(name: "AppendObject with AES256 under SSE-KMS", rules: kmsDefaults, operation: .appendObject,
             headers: [("x-obs-server-side-encryption", "AES256")], expected: .deny(rule: "kms-default", reason: "is required")),
        Case(name: "UploadPart under SSE-C without the key headers", rules: requireSSEC, operation: .uploadPart,
             expected: .deny(rule: "ssec", reason: "UploadPart must carry the SSE-C headers")),
        Case(name: "UploadPartCopy under SSE-C without the key headers", rules: requireSSEC, operation: .uploadPartCopy,
             expected: .deny(rule: "ssec", reason: "UploadPartCopy must carry the SSE-C headers")),
        Case(name: "UploadPart under SSE-C with the key headers", rules: requireSSEC, operation: .uploadPart,
             headers: CustomerKey.s3, expected: .allow),
        Case(name: "UploadPart with SSE-C where SSE-C is forbidden", rules: forbid, operation: .uploadPart,
             headers: CustomerKey.s3, expected: .deny(rule: "no-s3-no-c", reason: "SSE-C")),
        Case(name: "UploadPart under SSE-KMS: nothing to repeat", rules: kmsDefaults, operation: .uploadPart, expected: .allow),
        Case(name: "ModifyObjectMetadata keeps encryption: not required", rules: requireKMS, operation: .modifyObjectMetadata,
             expected: .allow),
        Case(name: "ModifyObjectMetadata with a forbidden kind", rules: forbid, operation: .modifyObjectMetadata,
             headers: [("x-obs-server-side-encryption", "AES256")], expected: .deny(rule: "no-s3-no-c", reason: "SSE-S3")),
        Case(name: "PutObjectAcl: encryption not judged", rules: requireKMS, operation: .putObjectConfiguration("acl"),
             headers: [("x-amz-acl", "private")], expected: .allow),

        // website_redirect
        Case(name: "redirect forbidden", rules: redirectForbid, headers: [("x-amz-website-redirect-location", "/a")],
             expected: .deny(rule: "redirect", reason: "website redirects (x-amz-website-redirect-location) are not allowed")),
        Case(name: "redirect forbidden, OBS dialect", rules: redirectForbid, headers: [("x-obs-website-redirect-location", "/a")],
             expected: .deny(rule: "redirect", reason: "website redirects (x-obs-website-redirect-location) are not allowed")),
        Case(name: "no redirect, forbidden", rules: redirectForbid, expected: .allow),
        Case(name: "ModifyObjectMetadata redirect forbidden", rules: redirectForbid, operation: .modifyObjectMetadata,
             headers: [("x-obs-website-redirect-location", "https://evil.example/")], expected: .deny(rule: "redirect", reason: "are not allowed")),
        Case(name: "relative redirect", rules: redirectRelative, headers: [("x-amz-website-redirect-location", "/docs/index.html")], expected: .allow),
        Case(name: "absolute redirect where relative only", rules: redirectRelative,
             headers: [("x-amz-website-redirect-location", "https://evil.example/")],
             expected: .deny(rule: "redirect", reason: "only relative website redirects (a path starting with a single '/') are allowed in x-amz-website-redirect-location")),
        Case(name: "protocol-relative redirect", rules: redirectRelative, headers: [("x-amz-website-redirect-location", "//evil.example/")],
             expected: .deny(rule: "redirect", reason: "only relative")),
        Case(name: "backslash redirect", rules: redirectRelative, headers: [("x-amz-website-redirect-location", "/\\evil.example/")],
             expected: .deny(rule: "redirect", reason: "only relative")),
        Case(name: "allowed host", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "https://example.com/a")], expected: .allow),
        Case(name: "allowed sub-domain, port, upper case", rules: redirectHosts,
             headers: [("x-amz-website-redirect-location", "https://WWW.Example.com:443/a?b#c")], expected: .allow),
        Case(name: "allowed hosts: relative redirect", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "/a")], expected: .allow),
        Case(name: "allowed host over http", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "http://example.com/")],
             expected: .deny(rule: "redirect", reason: "must be relative or https:// to an allowed host (example.com, *.example.com)")),
        Case(name: "other host", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "https://evil.example/")],
             expected: .deny(rule: "redirect", reason: "the website redirect host in x-amz-website-redirect-location is not allowed")),
        Case(name: "suffix trick", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "https://example.com.evil.example/")],
             expected: .deny(rule: "redirect", reason: "host")),
        Case(name: "user-info trick", rules: redirectHosts, headers: [("x-amz-website-redirect-location", "https://example.com@evil.example/")],
             expected: .deny(rule: "redirect", reason: "host")),
        Case(name: "protocol-relative with allowed hosts", rules: redirectHosts,
             headers: [("x-amz-website-redirect-location", "//example.com/")], expected: .deny(rule: "redirect", reason: "https://")),
        Case(name: "redirect stripped", rules: redirectStrip, headers: [("X-Amz-Website-Redirect-Location", "https://evil.example")],
             expected: .mutations([.remove(name: "x-amz-website-redirect-location")])),
        Case(name: "redirect stripped in both dialects", rules: redirectStrip,
             headers: [("x-amz-website-redirect-location", "/a"), ("x-obs-website-redirect-location", "/a")],
             expected: .mutations([.remove(name: "x-amz-website-redirect-location"), .remove(name: "x-obs-website-redirect-location")])),
        Case(name: "nothing to strip", rules: redirectStrip, expected: .allow),
        Case(name: "UploadPart: redirect not judged", rules: redirectForbid, operation: .uploadPart,
             headers: [("x-amz-website-redirect-location", "/a")], expected: .allow),

        // acl
        Case(name: "allowed canned ACL", rules: acl, headers: [("x-amz-acl", "private")], expected: .allow),
        Case(name: "public-read", rules: acl, headers: [("x-amz-acl", "public-read")],
             expected: .deny(rule: "acl", reason: "canned ACL 'public-read' in x-amz-acl is not allowed (allowed: private, bucket-owner-full-control)")),
        Case(name: "OBS public-read-delivered", rules: acl, headers: [("x-obs-acl", "public-read-delivered")],
             expected: .deny(rule: "acl", reason: "canned ACL 'public-read-delivered' in x-obs-acl is not allowed")),
        Case(name: "grant header", rules: acl, headers: [("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")],
             expected: .deny(rule: "acl", reason: "ACL grant headers (x-amz-grant-read) are not allowed")),
        Case(name: "OBS grant header", rules: acl, headers: [("X-Obs-Grant-Full-Control", "id=domain")],
             expected: .deny(rule: "acl", reason: "ACL grant headers (x-obs-grant-full-control) are not allowed")),
        Case(name: "grant headers allowed", rules: aclGrants, headers: [("x-amz-grant-read", "id=1"), ("x-amz-acl", "public-read")],
             expected: .allow),
        Case(name: "PutObjectAcl public-read", rules: acl, operation: .putObjectConfiguration("acl"),
             headers: [("x-amz-acl", "public-read")], expected: .deny(rule: "acl", reason: "canned ACL 'public-read'")),
        Case(name: "PutObjectAcl private", rules: acl, operation: .putObjectConfiguration("acl"),
             headers: [("x-amz-acl", "private")], expected: .allow),
        Case(name: "PutObjectAcl with an ACL body", rules: acl, operation: .putObjectConfiguration("acl"),
             expected: .deny(rule: "acl", reason: "an ACL given in the request body is not allowed")),
        Case(name: "no ACL on an upload", rules: acl, operation: .putObject, expected: .allow),
        Case(name: "UploadPart: ACL not judged", rules: acl, operation: .uploadPart, headers: [("x-amz-acl", "public-read")],
             expected: .allow),

        // metadata
        Case(name: "required key present", rules: metadataRequired, headers: [("X-Amz-Meta-Cost-Centre", "cc-42")], expected: .allow),
        Case(name: "required key present, OBS dialect", rules: metadataRequired, headers: [("x-obs-meta-cost-centre", "cc-42")],
             expected: .allow),
        Case(name: "required key missing", rules: metadataRequired, headers: [("x-amz-meta-owner", "a")],
             expected: .deny(rule: "meta", reason: "the metadata header x-amz-meta-cost-centre is required")),
        Case(name: "CopyObject without REPLACE", rules: metadataRequired, operation: .copyObject,
             headers: [("x-amz-meta-cost-centre", "cc-42")],
             expected: .deny(rule: "meta", reason: "CopyObject must carry x-amz-metadata-directive: REPLACE")),
        Case(name: "CopyObject without REPLACE under a key pattern", rules: metadataPattern, operation: .copyObject,
             expected: .deny(rule: "meta", reason: "with COPY the source object keeps its user metadata")),
        Case(name: "CopyObject with COPY under a size cap", rules: "  - id: meta\n    metadata: {max_total_bytes: 10}\n",
             operation: .copyObject, headers: [("x-amz-metadata-directive", "COPY")],
             expected: .deny(rule: "meta", reason: "CopyObject must carry x-amz-metadata-directive: REPLACE")),
        Case(name: "CopyObject with REPLACE under a key pattern", rules: metadataPattern, operation: .copyObject,
             headers: [("x-amz-metadata-directive", "REPLACE"), ("x-amz-meta-cost-centre", "x")], expected: .allow),
        Case(name: "CopyObject without REPLACE under a redirect rule", rules: redirectHosts, operation: .copyObject,
             expected: .deny(rule: "redirect", reason: "with COPY the source object keeps its website redirect")),
        Case(name: "CopyObject with REPLACE under a redirect rule", rules: redirectForbid, operation: .copyObject,
             headers: [("x-obs-metadata-directive", "REPLACE")], expected: .allow),
        Case(name: "CopyObject with REPLACE", rules: metadataRequired, operation: .copyObject,
             headers: [("x-amz-metadata-directive", "REPLACE"), ("x-amz-meta-cost-centre", "cc-42")], expected: .allow),
        Case(name: "CopyObject with OBS REPLACE", rules: metadataRequired, operation: .copyObject,
             headers: [("x-obs-metadata-directive", "REPLACE"), ("x-obs-meta-cost-centre", "cc-42")], expected: .allow),
        Case(name: "ModifyObjectMetadata missing the key", rules: metadataRequired, operation: .modifyObjectMetadata,
             expected: .deny(rule: "meta", reason: "x-amz-meta-cost-centre is required")),
        Case(name: "UploadPart: metadata not judged", rules: metadataRequired, operation: .uploadPart, expected: .allow),
        Case(name: "keys match the pattern", rules: metadataPattern, headers: [("x-amz-meta-cost-centre", "x")], expected: .allow),
        Case(name: "key outside the pattern", rules: metadataPattern, headers: [("x-amz-meta-Cost_Centre", "x")],
             expected: .deny(rule: "meta", reason: "the metadata key 'cost_centre' (x-amz-meta-cost_centre) does not match the pattern [a-z0-9-]+")),
        Case(name: "the whole key matches an alternation", rules: "  - id: meta\n    metadata: {key_pattern: \"cost|cost-centre\"}\n",
             headers: [("x-amz-meta-cost-centre", "x")], expected: .allow),
        Case(name: "a key matching only in part", rules: "  - id: meta\n    metadata: {key_pattern: \"cost\"}\n",
             headers: [("x-amz-meta-cost-centre", "x")], expected: .deny(rule: "meta", reason: "does not match the pattern cost")),
        Case(name: "metadata within the limit", rules: metadataSize, headers: [("x-amz-meta-a", "123456789")], expected: .allow),
        Case(name: "metadata over the limit", rules: metadataSize, headers: [("x-amz-meta-a", "1234567890")],
             expected: .deny(rule: "meta", reason: "the user metadata (x-amz-meta-*) is 11 bytes of keys and values; at most 10 are allowed")),

        // match criteria
        Case(name: "other literal bucket", rules: "  - id: r\n    match: {buckets: [other]}\n    storage_class: {default: COLD}\n",
             expected: .allow, matched: false),
        Case(name: "bucket glob", rules: "  - id: r\n    match: {buckets: [\"fin*\"]}\n    storage_class: {default: COLD}\n",
             expected: .mutations([.set(name: "x-amz-storage-class", value: "GLACIER")])),
        Case(name: "excluded bucket", rules: "  - id: r\n    match: {exclude_buckets: [\"fin*\"]}\n    storage_class: {default: COLD}\n",
             expected: .allow, matched: false),
        Case(name: "key prefix", rules: "  - id: r\n    match: {keys: {prefix: reports/}}\n    storage_class: {default: WARM}\n",
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD_IA")])),
        Case(name: "other key prefix", rules: "  - id: r\n    match: {keys: {prefix: logs/}}\n    storage_class: {default: WARM}\n",
             expected: .allow, matched: false),
        Case(name: "key glob", rules: "  - id: r\n    match: {keys: {glob: \"reports/*.csv\"}}\n    storage_class: {default: WARM}\n",
             expected: .mutations([.set(name: "x-amz-storage-class", value: "STANDARD_IA")])),
        Case(name: "key glob not matching", rules: "  - id: r\n    match: {keys: {glob: \"*.csv\"}}\n    storage_class: {default: WARM}\n",
             expected: .allow, matched: false),
        Case(name: "unknown key (form upload) is selected by key criteria",
             rules: "  - id: r\n    match: {keys: {prefix: logs/}}\n    storage_class: {deny: [COLD]}\n", operation: .postObject, key: nil,
             headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "r", reason: "COLD")),
        Case(name: "principal", rules: "  - id: r\n    match: {principals: [alice]}\n    storage_class: {deny: [COLD]}\n",
             headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "r", reason: "COLD")),
        Case(name: "other principal", rules: "  - id: r\n    match: {principals: [bob]}\n    storage_class: {deny: [COLD]}\n",
             headers: [("x-obs-storage-class", "COLD")], expected: .allow, matched: false),
        Case(name: "anonymous is no principal", rules: "  - id: r\n    match: {principals: [alice]}\n    storage_class: {deny: [COLD]}\n",
             principal: nil, headers: [("x-obs-storage-class", "COLD")], expected: .allow, matched: false),
        Case(name: "group", rules: "  - id: r\n    match: {groups: [web, ops]}\n    storage_class: {deny: [COLD]}\n",
             groups: ["finance", "web"], headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "r", reason: "COLD")),
        Case(name: "other group", rules: "  - id: r\n    match: {groups: [web]}\n    storage_class: {deny: [COLD]}\n",
             groups: ["finance"], headers: [("x-obs-storage-class", "COLD")], expected: .allow, matched: false),
        Case(name: "operation listed", rules: "  - id: r\n    match: {operations: [PutObject]}\n    storage_class: {deny: [COLD]}\n",
             operation: .putObject, headers: [("x-obs-storage-class", "COLD")], expected: .deny(rule: "r", reason: "COLD")),
        Case(name: "operation not listed", rules: "  - id: r\n    match: {operations: [PutObject]}\n    storage_class: {deny: [COLD]}\n",
             headers: [("x-obs-storage-class", "COLD")], expected: .allow, matched: false),
        Case(name: "operation the policy does not see", rules: "  - id: r\n    storage_class: {deny: [COLD]}\n", operation: .getObject,
             headers: [("x-obs-storage-class", "COLD")], expected: .allow, matched: false),
    ]

    @Test(arguments: cases)
    func decides(_ testCase: Case) throws {
        let loaded = try policy(rules: testCase.rules)
        let request = makeRequest(testCase.operation, bucket: testCase.bucket, key: testCase.key, principal: testCase.principal,
                                  groups: testCase.groups, headers: testCase.headers)
        let decision = loaded.evaluate(request)
        #expect(decision.policyVersion == loaded.version)
        #expect(decision.wouldHave == nil)
        if testCase.matched {
            #expect(decision.matchedRules == loaded.ruleIds)
        } else {
            #expect(decision.matchedRules.isEmpty)
        }
        switch testCase.expected {
        case .allow:
            #expect(decision.outcome == .allow, "\(decision.outcome)")
            #expect(decision.mutations.isEmpty)
        case .mutations(let mutations):
            #expect(decision.outcome == .allowWithMutations, "\(decision.outcome)")
            #expect(decision.mutations == mutations)
        case .deny(let rule, let reason):
            let error = try #require(decision.outcome.error, "\(decision.outcome)")
            #expect(error.code == "AccessDenied" && error.status == 403)
            #expect(error.message.hasPrefix("Denied by policy rule '\(rule)': "))
            #expect(error.message.contains(reason), "message: \(error.message)")
            #expect(decision.deniedBy == rule)
            #expect(decision.denyReason.map { error.message.hasSuffix($0) } == true)
            #expect(decision.mutations.isEmpty)
        }
    }
}
