import S3Core

/// What kind of thing an operation does, for access rules that name operations by class
/// (docs/policy.md, "Access rules"). Every operation of the closed table is in exactly one.
public enum OperationClass: String, CaseIterable, Sendable, Hashable {
    /// Reading an object: GetObject, HeadObject, GetObjectAttributes, SelectObjectContent,
    /// GetObjectTorrent.
    case read
    /// Listing buckets, objects, versions, uploads and parts; HeadBucket.
    case list
    /// Creating or replacing an object in one request: PutObject, CopyObject, PostObject,
    /// OBS AppendObject and ModifyObjectMetadata.
    case write
    /// The steps of a multipart upload (ListParts is `list`).
    case multipart
    /// DeleteObject, DeleteObjects.
    case delete
    /// An object's ACL, tags, retention and legal hold (read or written), RestoreObject.
    case objectConfig = "object-config"
    /// A bucket's configuration (read or written): ACL, policy, lifecycle, encryption, ...
    case bucketConfig = "bucket-config"
    /// CreateBucket, DeleteBucket.
    case bucketCreateDelete = "bucket-create-delete"
    /// Not an operation's class: using a multipart upload another principal initiated
    /// (UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts
    /// with its id), which only an `allow` rule naming this class permits.
    case othersUploads = "others-uploads"

    public init(_ operation: S3Operation) {
        switch operation {
        case .getObject, .headObject, .getObjectAttributes, .selectObjectContent, .getObjectConfiguration("torrent"):
            self = .read
        case .listBuckets, .listObjects, .listObjectsV2, .listObjectVersions, .listMultipartUploads, .listParts,
             .headBucket:
            self = .list
        case .preflightBucket, .preflightObject:
            // A class for the vocabulary only: access rules never judge a preflight (it is
            // unsigned and changes nothing; the request it announces is judged).
            self = .list
        case .putObject, .copyObject, .postObject, .appendObject, .modifyObjectMetadata:
            self = .write
        case .createMultipartUpload, .uploadPart, .uploadPartCopy, .completeMultipartUpload, .abortMultipartUpload:
            self = .multipart
        case .deleteObject, .deleteObjects:
            self = .delete
        case .getObjectConfiguration, .putObjectConfiguration, .deleteObjectConfiguration, .restoreObject:
            self = .objectConfig
        case .getBucketConfiguration, .putBucketConfiguration, .deleteBucketConfiguration:
            self = .bucketConfig
        case .createBucket, .deleteBucket:
            self = .bucketCreateDelete
        case .unknown:
            // Never authorised: an unknown shape is refused before access rules run.
            self = .bucketCreateDelete
        }
    }

    /// Whether an operation is denied when no access rule selects it: bucket creation and
    /// deletion, and every write of a bucket's configuration, can undo the upload rules
    /// for every object after them; everything else is allowed unless a rule denies it.
    static func deniedByDefault(_ operation: S3Operation) -> Bool {
        switch operation {
        case .createBucket, .deleteBucket, .putBucketConfiguration, .deleteBucketConfiguration: true
        default: false
        }
    }
}

/// One entry of the policy file's `access:` list: who may (or may not) perform which
/// operations on which buckets and keys.
struct AccessRule: Sendable {
    enum Effect: String, Sendable, CaseIterable { case allow, deny }

    let id: String
    let index: Int
    let mode: PolicyRule.Mode
    let effect: Effect
    let principals: Set<String>?
    let groups: Set<String>?
    /// The operations named, resolved to the table's operations, and the classes named.
    let operations: Set<S3Operation>
    let classes: Set<OperationClass>
    let bucketLiterals: Set<String>
    let bucketGlobs: [Glob]
    let keyPrefix: [UInt8]?
    let keyGlob: Glob?
    let denyMessage: String?

    /// Whether the rule selects the request. Principal and group criteria together select
    /// a request that either names (an anonymous request has neither); a key criterion
    /// selects every request without a key (bucket-level ones), so that it narrows object
    /// operations only.
    func selects(_ request: PolicyRequest, operationClass: OperationClass) -> Bool {
        guard operations.contains(request.operation) || classes.contains(operationClass) else { return false }
        return selectsScope(request)
    }

    /// Whether the request's principal, bucket and key are the rule's.
    func selectsScope(_ request: PolicyRequest) -> Bool {
        if principals != nil || groups != nil {
            let byPrincipal = request.principal.map { principals?.contains($0) ?? false } ?? false
            let byGroup = groups.map { wanted in request.groups.contains(where: wanted.contains) } ?? false
            guard byPrincipal || byGroup else { return false }
        }
        if !bucketLiterals.isEmpty || !bucketGlobs.isEmpty {
            guard let bucket = request.bucket else { return false }
            guard bucketLiterals.contains(bucket) || bucketGlobs.contains(where: { $0.matches(bucket) }) else { return false }
        }
        if let key = request.key {
            if let keyPrefix, !key.withUTF8Bytes({ $0.starts(with: keyPrefix) }) { return false }
            if let keyGlob, !keyGlob.matches(key) { return false }
        }
        return true
    }

    /// 403 AccessDenied naming the rule; `deny_message` replaces the reason.
    func denial(operationName: String) -> S3Error {
        if let denyMessage { return S3Error.accessDenied("\(denyMessage) (access rule '\(id)')") }
        return S3Error.accessDenied("Denied by access rule '\(id)': \(operationName) is not allowed")
    }
}

/// What the access rules decided for a request.
struct AccessDecision {
    /// The enforce-mode rule that decided, nil when no rule selected the request (the
    /// default decided).
    var rule: String?
    /// Why the request is refused, nil when it is allowed.
    var denial: S3Error?
    var denyReason: String?
    /// Every access rule that selected the request (enforce and audit), in file order.
    var matched: [String]
    /// Set when audit-mode rules selected the request and would have decided otherwise.
    var wouldHaveDeniedBy: String?
    var wouldHaveDenial: S3Error?
}

extension [AccessRule] {
    /// Whether the principal of `request` may use an upload another principal initiated:
    /// an enforce-mode rule naming `others-uploads` allows it and none denies it. The rule
    /// that allowed, or nil.
    func allowingOthersUpload(_ request: PolicyRequest) -> String? {
        let selecting = filter { $0.mode == .enforce && $0.classes.contains(.othersUploads) && $0.selectsScope(request) }
        guard !selecting.contains(where: { $0.effect == .deny }) else { return nil }
        return selecting.first { $0.effect == .allow }?.id
    }

    /// IAM's evaluation: an explicit deny wins over any allow; an allow admits; with
    /// neither, the default of the operation's class (`OperationClass.deniedByDefault`).
    /// Audit-mode rules are evaluated the same way, taken as enforced, only to say what
    /// they would have done.
    func evaluate(_ request: PolicyRequest) -> AccessDecision {
        // The common case costs nothing: no access rules, an operation allowed by default.
        if isEmpty && !OperationClass.deniedByDefault(request.operation) { return AccessDecision(matched: []) }
        let operationClass = OperationClass(request.operation)
        let selecting = filter { $0.selects(request, operationClass: operationClass) }
        let operationName = S3OperationTable.apiName(of: request.operation)
        func decide(_ rules: [AccessRule]) -> (rule: String?, denial: S3Error?, reason: String?) {
            if let deny = rules.first(where: { $0.effect == .deny }) {
                return (deny.id, deny.denial(operationName: operationName), "\(operationName) is denied by access rule '\(deny.id)'")
            }
            if let allow = rules.first(where: { $0.effect == .allow }) { return (allow.id, nil, nil) }
            guard OperationClass.deniedByDefault(request.operation) else { return (nil, nil, nil) }
            let reason = "no access rule allows \(operationName) (\(operationClass.rawValue)), which is denied by default"
            return (nil, S3Error.accessDenied("Denied: \(reason)"), reason)
        }
        let actual = decide(selecting.filter { $0.mode == .enforce })
        var decision = AccessDecision(rule: actual.rule, denial: actual.denial, denyReason: actual.reason,
                                      matched: selecting.map(\.id))
        if selecting.contains(where: { $0.mode == .audit }) {
            let hypothetical = decide(selecting)
            if hypothetical.denial != nil, actual.denial == nil {
                decision.wouldHaveDeniedBy = hypothetical.rule
                decision.wouldHaveDenial = hypothetical.denial
            }
        }
        return decision
    }
}
