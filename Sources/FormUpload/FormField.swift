import Foundation
import S3Core

/// A text field of a browser form upload, in the order it arrived. Names keep the case
/// the client sent; every rule that looks a name up compares it ASCII case-insensitively.
public struct FormField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The headers of the form's `file` part.
public struct FilePart: Sendable, Equatable {
    /// The part's `name` parameter: `file`, in whatever ASCII case the client used.
    public let fieldName: String
    /// The `filename` parameter as sent (it may be a path), nil when absent.
    public let filename: String?
    /// The part's own `Content-Type`, nil when absent. S3 takes the object's type from the
    /// `Content-Type` form field, not from here.
    public let contentType: String?

    public init(fieldName: String = "file", filename: String?, contentType: String?) {
        self.fieldName = fieldName
        self.filename = filename
        self.contentType = contentType
    }

    /// What `${filename}` expands to: the text after the last `/` or `\` of the
    /// filename, or "" when there is none (AWS S3 developer guide, "HTML Form Fields").
    public var basename: String {
        guard let filename else { return "" }
        guard let last = filename.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return filename }
        return String(filename[filename.index(after: last)...])
    }
}

// MARK: - The errors S3 answers to form uploads.
extension S3Error {
    /// 400 MalformedPOSTRequest: the body is not multipart/form-data as RFC 7578 and
    /// RFC 2046 describe it.
    public static func malformedPOSTRequest(_ detail: String) -> S3Error {
        S3Error(code: "MalformedPOSTRequest",
                message: "The body of your POST request is not well-formed multipart/form-data: \(detail).",
                status: 400)
    }

    /// 400 MaxPostPreDataLengthExceededError: the form fields before the file are too large.
    public static func maxPostPreDataLengthExceeded(_ detail: String) -> S3Error {
        S3Error(code: "MaxPostPreDataLengthExceededError",
                message: "Your POST request fields preceding the upload file were too large: \(detail).",
                status: 400)
    }

    /// 400 InvalidPolicyDocument: the policy cannot be decoded or is not a policy document.
    public static func invalidPolicyDocument(_ detail: String) -> S3Error {
        S3Error(code: "InvalidPolicyDocument", message: "Invalid Policy: \(detail)", status: 400)
    }

    /// 403 AccessDenied "Invalid according to Policy: ...": the form does not satisfy its
    /// (authentic) policy.
    public static func invalidAccordingToPolicy(_ detail: String) -> S3Error {
        S3Error.accessDenied("Invalid according to Policy: \(detail)")
    }

    /// 400 EntityTooSmall: below the policy's `content-length-range`.
    public static func entityTooSmall(proposedSize: Int, minSizeAllowed: Int) -> S3Error {
        S3Error(code: "EntityTooSmall", message: "Your proposed upload is smaller than the minimum allowed size",
                status: 400, details: [("ProposedSize", String(proposedSize)), ("MinSizeAllowed", String(minSizeAllowed))])
    }

    /// 400 EntityTooLarge: above the policy's `content-length-range` or the gateway's limit.
    public static func entityTooLarge(proposedSize: Int, maxSizeAllowed: Int) -> S3Error {
        S3Error(code: "EntityTooLarge", message: "Your proposed upload exceeds the maximum allowed size",
                status: 400, details: [("ProposedSize", String(proposedSize)), ("MaxSizeAllowed", String(maxSizeAllowed))])
    }

    /// 400 KeyTooLongError: S3 keys are at most 1024 bytes of UTF-8.
}
