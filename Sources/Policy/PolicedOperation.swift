import S3Core

/// The operations the upload policy sees: every way to create or replace object content,
/// its storage class, its encryption or its ACL, plus the part uploads of a multipart
/// upload (which must repeat SSE-C keys). Every other operation passes the policy
/// untouched. The vocabulary is closed: a policy file naming any other operation is
/// refused at load, so a typo cannot silently select nothing.
public enum PolicedOperation: String, CaseIterable, Sendable, Hashable {
    case createMultipartUpload = "CreateMultipartUpload"
    case putObject = "PutObject"
    case copyObject = "CopyObject"
    /// Browser form upload; the gateway presents the form fields as headers.
    case postObject = "PostObject"
    /// OBS `POST /bucket/key?append&position=N`.
    case appendObject = "AppendObject"
    /// OBS `PUT /bucket/key?metadata`.
    case modifyObjectMetadata = "ModifyObjectMetadata"
    case uploadPart = "UploadPart"
    case uploadPartCopy = "UploadPartCopy"
    /// `PUT /bucket/key?acl`: can make an existing object public.
    case putObjectAcl = "PutObjectAcl"

    public init?(_ operation: S3Operation) {
        switch operation {
        case .createMultipartUpload: self = .createMultipartUpload
        case .putObject: self = .putObject
        case .copyObject: self = .copyObject
        case .postObject: self = .postObject
        case .appendObject: self = .appendObject
        case .modifyObjectMetadata: self = .modifyObjectMetadata
        case .uploadPart: self = .uploadPart
        case .uploadPartCopy: self = .uploadPartCopy
        case .putObjectConfiguration("acl"): self = .putObjectAcl
        default: return nil
        }
    }

    /// Operations that create an object whose headers decide its storage class and
    /// encryption: defaults are injected only here (never into a metadata change or a part).
    var receivesDefaults: Bool {
        switch self {
        case .createMultipartUpload, .putObject, .copyObject, .postObject, .appendObject: true
        default: false
        }
    }

    /// Operations whose storage class, website redirect and user metadata headers take effect.
    var carriesObjectHeaders: Bool { receivesDefaults || self == .modifyObjectMetadata }

    /// Operations whose ACL headers (or body) take effect.
    var carriesACL: Bool { receivesDefaults || self == .putObjectAcl }

    /// Part uploads: only the SSE-C requirement applies to them.
    var isPartUpload: Bool { self == .uploadPart || self == .uploadPartCopy }
}
