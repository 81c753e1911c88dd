import S3Core

/// Judges writes of a bucket's configuration against the upload rules. A bucket setting
/// applies to every object after it — a lifecycle transition moves objects to a storage
/// class no upload could name, a default encryption or a public ACL covers objects the
/// rules never saw — so a principal allowed to write bucket configuration must still keep
/// within the rules for the bucket. The body is read whole (at most `maxBodyBytes`) with a
/// real parser, XML or JSON: what cannot be read is refused, never forwarded unread.
///
/// The rules that judge a write are the enforce-mode rules whose bucket criteria
/// (`buckets`, `exclude_buckets`) select the bucket; their key, principal, group and
/// operation criteria are ignored, since a bucket setting reaches every key, principal and
/// operation. The first rule in file order with a violation denies (docs/policy.md,
/// "Bucket configuration").
public enum BucketConfigurationJudge {
    /// The sub-resources whose PUT is judged (S3 names, OBS `storageClass` and `storagePolicy`).
    static let judgedSubresources: Set<String> = [
        "lifecycle", "intelligent-tiering", "replication", "encryption", "acl", "policy", "publicAccessBlock",
        "website", "storageClass", "storagePolicy",
    ]

    /// The operations whose request body the gateway must read (whole, bounded) and judge
    /// before anything goes upstream. The two deletions that weaken a bucket
    /// (`DELETE ?encryption`, `DELETE ?publicAccessBlock`) are among them: they carry no
    /// body, and are judged on their empty one.
    public static func judgesBody(_ operation: S3Operation) -> Bool {
        switch operation {
        case .createBucket: true
        case .putBucketConfiguration(let subresource): judgedSubresources.contains(subresource)
        case .deleteBucketConfiguration(let subresource): judgedDeletions.contains(subresource)
        default: false
        }
    }

    /// The sub-resources whose DELETE is judged.
    static let judgedDeletions: Set<String> = ["encryption", "publicAccessBlock"]

    /// Largest body read for judging (bytes); larger → 400 (S3Error code "MalformedXML" for
    /// XML bodies, "MalformedPolicy" for the bucket policy JSON).
    public static let maxBodyBytes = 1_048_576

    /// nil when the configuration is acceptable under every enforce-mode rule of `policy`
    /// whose bucket criteria select `bucket` (keys, principals, groups and operations
    /// criteria ignored: a bucket setting applies to every future object); otherwise the
    /// denial. Malformed or oversize bodies throw the S3Error (400 MalformedXML /
    /// MalformedPolicy). `headers` are the request headers (either dialect, any case).
    ///
    /// Operations `judgesBody` does not name are nil.
    public static func judge(operation: S3Operation, bucket: String, headers: HeaderFields, body: [UInt8],
                             policy: UploadPolicy) throws(S3Error) -> BucketConfigurationDenial? {
        guard let written = try settings(of: operation, headers: headers, body: body) else { return nil }
        for rule in policy.bucketRules(for: bucket) {
            for setting in written {
                if let reason = setting.violation(of: rule) {
                    return BucketConfigurationDenial(ruleId: rule.id, reason: reason, error: rule.denial(reason))
                }
            }
        }
        return nil
    }

    /// What the write sets, read from its body and headers whatever the rules are (so a
    /// body no rule looks at is still refused when unreadable); nil for an operation the
    /// judge does not look at.
    static func settings(of operation: S3Operation, headers: HeaderFields,
                         body: [UInt8]) throws(S3Error) -> [BucketSetting]? {
        switch operation {
        case .createBucket:
            // The body is the optional CreateBucketConfiguration (a location): read, not judged.
            _ = try optionalDocument(body)
            let upload = try UploadHeaders(reading: headers)
            return [.acl(canned: upload[.acl], publicGrants: publicGrantHeaders(upload)),
                    .storageClasses(createBucketClasses(upload, headers))]
        case .putBucketConfiguration("policy"):
            guard body.count <= maxBodyBytes else { throw S3Error.malformedPolicy() }
            return [.publicPolicy(try BucketPolicyDocument(json: body).publicStatements)]
        case .putBucketConfiguration("acl"):
            // The ACL is a canned or grant header, or an AccessControlPolicy body.
            let upload = try UploadHeaders(reading: headers)
            let grants = try optionalDocument(body).map(publicGrants(in:)) ?? []
            return [.acl(canned: upload[.acl], publicGrants: publicGrantHeaders(upload) + grants)]
        case .putBucketConfiguration(let subresource) where judgedSubresources.contains(subresource):
            guard body.count <= maxBodyBytes else { throw S3Error.malformedXML() }
            let root = try XMLTreeElement.parse(body)
            return [setting(subresource, root)]
        case .deleteBucketConfiguration("encryption"):
            return [.encryptionRemoved]
        case .deleteBucketConfiguration("publicAccessBlock"):
            return [.publicAccessBlockRemoved]
        default:
            return nil
        }
    }

    /// An XML body that may be absent (empty or blank): nil then, the document otherwise.
    private static func optionalDocument(_ body: [UInt8]) throws(S3Error) -> XMLTreeElement? {
        guard body.count <= maxBodyBytes else { throw S3Error.malformedXML() }
        return try XMLTreeElement.parseOptional(body)
    }

    /// The setting of one sub-resource's document (not `acl`, not `policy`).
    private static func setting(_ subresource: String, _ root: XMLTreeElement) -> BucketSetting {
        switch subresource {
        case "lifecycle":
            let transitions = root.descendants("Transition") + root.descendants("NoncurrentVersionTransition")
            return .storageClasses(transitions.flatMap { storageClasses(in: $0, "StorageClass") })
        case "intelligent-tiering":
            return .storageClasses(root.descendants("Tiering").flatMap { tiering in
                tiering.children("AccessTier").map { tier in
                    NamedStorageClass(name: tier.value, value: accessTierClasses[tier.value], place: "Tiering/AccessTier")
                }
            })
        case "replication":
            return .storageClasses(root.descendants("Destination").flatMap { storageClasses(in: $0, "StorageClass") })
        case "encryption":
            return .defaultEncryption(root.descendants("ApplyServerSideEncryptionByDefault").flatMap(defaultEncryptions))
        case "publicAccessBlock":
            return .publicAccessBlock(unblocked: publicAccessBlockSettings.filter { name in
                let values = root.descendants(name).map(\.value)
                return values.isEmpty || values.contains { $0 != "true" }
            })
        case "website":
            return .websiteRedirects(websiteRedirects(root))
        default:  // OBS storageClass (`<StorageClass>`, v2 `DefaultStorageClass`) and storagePolicy
            let named = root.descendants("StorageClass").filter { $0.children.isEmpty } + root.descendants("DefaultStorageClass")
            return .storageClasses(named.map {
                NamedStorageClass(name: $0.value, value: StorageClass.canonical($0.value), place: $0.name)
            })
        }
    }

    /// The `child` storage classes of `element` (`Transition/StorageClass`).
    private static func storageClasses(in element: XMLTreeElement, _ child: String) -> [NamedStorageClass] {
        element.children(child).map {
            NamedStorageClass(name: $0.value, value: StorageClass.canonical($0.value), place: "\(element.name)/\(child)")
        }
    }

    /// Intelligent-Tiering's archive tiers are the archive classes under another name.
    static let accessTierClasses: [String: String] = ["ARCHIVE_ACCESS": "GLACIER", "DEEP_ARCHIVE_ACCESS": "DEEP_ARCHIVE"]

    static let publicAccessBlockSettings = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]

    /// Each algorithm with each key id of one `ApplyServerSideEncryptionByDefault`.
    private static func defaultEncryptions(_ element: XMLTreeElement) -> [DefaultEncryption] {
        let given = element.children("KMSMasterKeyID").map(\.value).filter { !$0.isEmpty }
        let keys: [String?] = given.isEmpty ? [nil] : given
        let named = element.children("SSEAlgorithm").map(\.value)
        let algorithms = named.isEmpty ? [""] : named
        var entries: [DefaultEncryption] = []
        for algorithm in algorithms {
            for key in keys {
                entries.append(DefaultEncryption(algorithm: algorithm, kind: encryptionKind(ofAlgorithm: algorithm), keyId: key))
            }
        }
        return entries
    }

    /// `AES256` → SSE-S3; `aws:kms`, `aws:kms:dsse` and OBS `kms` → SSE-KMS; nil otherwise.
    static func encryptionKind(ofAlgorithm algorithm: String) -> EncryptionKind? {
        let s3 = HeaderDialect.serverSideEncryptions.first { $0.obs == algorithm }?.s3 ?? algorithm
        return EncryptionKind(headerValue: s3)
    }

    /// `RedirectAllRequestsTo` and each routing rule's `Redirect`, one entry per host name.
    private static func websiteRedirects(_ root: XMLTreeElement) -> [WebsiteRedirect] {
        var redirects: [WebsiteRedirect] = []
        func add(_ element: XMLTreeElement, place: String) {
            let schemes = element.children("Protocol").map(\.value)
            let named = element.children("HostName").map(\.value)
            let hosts: [String?] = named.isEmpty ? [nil] : named
            for host in hosts {
                redirects.append(WebsiteRedirect(place: place, host: host, schemes: schemes))
            }
        }
        for element in root.descendants("RedirectAllRequestsTo") { add(element, place: "RedirectAllRequestsTo") }
        for (number, rule) in root.descendants("RoutingRule").enumerated() {
            for redirect in rule.children("Redirect") { add(redirect, place: "RoutingRule \(number + 1) Redirect") }
        }
        return redirects
    }

    /// Grant headers (either dialect) that name a public group.
    private static func publicGrantHeaders(_ upload: UploadHeaders) -> [String] {
        upload.grants.compactMap { grant in
            ACLRule.publicGroup(in: grant.value).map { "the ACL grant header \(grant.name) naming \($0)" }
        }
    }

    /// Grants of an AccessControlPolicy body to a public group: S3 `Grantee/URI` (AllUsers,
    /// AuthenticatedUsers), OBS `Grantee/Canned` (Everyone).
    private static func publicGrants(in root: XMLTreeElement) -> [String] {
        var found: [String] = []
        for grant in root.descendants("Grant") {
            let permission = grant.children("Permission").first?.value ?? "a permission"
            for grantee in grant.children("Grantee") {
                for field in grantee.children where field.name == "URI" || field.name == "Canned" {
                    if let group = ACLRule.publicGroup(in: field.value) {
                        found.append("the ACL grant of \(permission) to \(group) (Grant/Grantee/\(field.name))")
                    }
                }
            }
        }
        return found
    }

    /// A CreateBucket's default storage class: `x-obs-storage-class` (or `x-amz-`), and the
    /// OBS S3-compatible `x-default-storage-class`.
    private static func createBucketClasses(_ upload: UploadHeaders, _ headers: HeaderFields) -> [NamedStorageClass] {
        var classes: [NamedStorageClass] = []
        if let field = upload[.storageClass] {
            let name = field.obsValue ?? field.value
            classes.append(NamedStorageClass(name: name, value: StorageClass.canonical(name), place: field.name))
        }
        for value in headers.values("x-default-storage-class") {
            let name = RawUploadHeaders.trimmed(value)
            classes.append(NamedStorageClass(name: name, value: StorageClass.canonical(name), place: "x-default-storage-class"))
        }
        return classes
    }
}

/// A refused bucket-configuration write.
public struct BucketConfigurationDenial: Sendable, Equatable {
    public let ruleId: String
    public let reason: String
    /// 403 AccessDenied naming the rule (use the rule's `denial(_:)`, which honours deny_message).
    public let error: S3Error
}

extension UploadPolicy {
    /// The enforce-mode rules whose bucket criteria select `bucket`, in file order.
    func bucketRules(for bucket: String) -> [PolicyRule] {
        candidates(for: bucket).map { rules[$0] }.filter { $0.mode == .enforce && $0.match.selects(bucket: bucket) }
    }
}

extension RuleMatch {
    /// `buckets` and `exclude_buckets` alone.
    func selects(bucket: String) -> Bool {
        if !anyBucket, !bucketLiterals.contains(bucket), !bucketGlobs.contains(where: { $0.matches(bucket) }) {
            return false
        }
        return !excludedBucketLiterals.contains(bucket) && !excludedBucketGlobs.contains { $0.matches(bucket) }
    }
}
