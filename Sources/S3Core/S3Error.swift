/// An S3 error as the gateway answers it: the code, the message, the HTTP status and the
/// resource, rendered as the S3/OBS XML error body
///
///     <Error><Code/><Message/><Resource/><RequestId/><HostId/></Error>
///
/// Every error the gateway returns to a client is one of these, so the code/status pairs
/// live in one place (the static constructors below). Messages never carry secrets, an
/// expected signature or a string-to-sign: a client that fails authentication learns which
/// rule failed, not what would have passed.
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The HTTP status code.
    public var status: Int
    /// The bucket or object the request addressed, e.g. `/bucket/key`.
    public var resource: String?
    /// Extra elements S3 adds for some codes (e.g. `RequestTime`, `ServerTime`,
    /// `MaxSizeAllowed`), rendered after `Message` in this order.
    public var details: [(name: String, value: String)]

    public init(code: String, message: String, status: Int, resource: String? = nil,
                details: [(name: String, value: String)] = []) {
        self.code = code
        self.message = message
        self.status = status
        self.resource = resource
        self.details = details
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func == (lhs: S3Error, rhs: S3Error) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.status == rhs.status
            && lhs.resource == rhs.resource
            && lhs.details.elementsEqual(rhs.details) { $0 == $1 }
    }

    /// The same error about a given resource.
    public func about(_ resource: String?) -> S3Error {
        var copy = self
        copy.resource = resource
        return copy
    }

    /// The XML body, `application/xml`, with every text node escaped.
    public func xmlBody(requestId: String, hostId: String? = nil) -> String {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
        xml += element("Code", code)
        xml += element("Message", message)
        for detail in details { xml += element(detail.name, detail.value) }
        if let resource { xml += element("Resource", resource) }
        xml += element("RequestId", requestId)
        if let hostId { xml += element("HostId", hostId) }
        xml += "</Error>"
        return xml
    }

    private func element(_ name: String, _ text: String) -> String {
        "<\(name)>\(XMLText.escape(text))</\(name)>"
    }
}

// MARK: - The errors the gateway answers, with the status S3 uses for each.
extension S3Error {
    // 400
    /// A client's text for an error message: at most 64 characters, control characters dropped.
    public static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(64))
    }

    /// S3's answer to an upload id it does not know.
    public static func noSuchUpload(_ uploadId: String) -> S3Error {
        S3Error(code: "NoSuchUpload",
                message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
                status: 404, details: [("UploadId", uploadId)])
    }

    public static func invalidURI(_ message: String) -> S3Error {
        S3Error(code: "InvalidURI", message: "Couldn't parse the specified URI: \(message).", status: 400)
    }
    public static func invalidBucketName(_ bucket: String) -> S3Error {
        S3Error(code: "InvalidBucketName", message: "The specified bucket is not valid.", status: 400,
                details: [("BucketName", bucket)])
    }
    public static func keyTooLong(size: Int, maxSize: Int) -> S3Error {
        S3Error(code: "KeyTooLongError", message: "Your key is too long", status: 400,
                details: [("Size", String(size)), ("MaxSizeAllowed", String(maxSize))])
    }
    public static func invalidArgument(_ message: String) -> S3Error {
        S3Error(code: "InvalidArgument", message: message, status: 400)
    }
    public static func invalidRequest(_ message: String) -> S3Error {
        S3Error(code: "InvalidRequest", message: message, status: 400)
    }
    public static func authorizationHeaderMalformed(_ message: String) -> S3Error {
        S3Error(code: "AuthorizationHeaderMalformed", message: message, status: 400)
    }
    public static func authorizationQueryParametersError(_ message: String) -> S3Error {
        S3Error(code: "AuthorizationQueryParametersError", message: message, status: 400)
    }
    public static func xAmzContentSHA256Mismatch(_ message: String) -> S3Error {
        S3Error(code: "XAmzContentSHA256Mismatch",
                message: "The provided 'x-amz-content-sha256' header does not match what was computed: \(message)",
                status: 400)
    }
    public static func badDigest(_ message: String) -> S3Error {
        S3Error(code: "BadDigest", message: message, status: 400)
    }
    public static func incompleteBody(_ message: String) -> S3Error {
        S3Error(code: "IncompleteBody", message: message, status: 400)
    }
    public static func invalidStorageClass(_ message: String) -> S3Error {
        S3Error(code: "InvalidStorageClass", message: message, status: 400)
    }
    public static func invalidRedirectLocation(_ message: String) -> S3Error {
        S3Error(code: "InvalidRedirectLocation", message: message, status: 400)
    }
    public static func invalidEncryptionAlgorithm(_ message: String) -> S3Error {
        S3Error(code: "InvalidEncryptionAlgorithmError", message: message, status: 400)
    }
    public static func metadataTooLarge(_ message: String, details: [(String, String)] = []) -> S3Error {
        S3Error(code: "MetadataTooLarge", message: message, status: 400, details: details)
    }
    public static func invalidDigest(_ message: String) -> S3Error {
        S3Error(code: "InvalidDigest", message: message, status: 400)
    }
    public static func badRequest(_ message: String) -> S3Error {
        S3Error(code: "BadRequest", message: message, status: 400)
    }
    public static func entityTooLarge(_ message: String) -> S3Error {
        S3Error(code: "EntityTooLarge", message: message, status: 400)
    }
    /// A configuration body (or CreateBucketConfiguration) that is not well-formed XML, or
    /// that the gateway refuses to read (too large, a DTD).
    public static func malformedXML() -> S3Error {
        S3Error(code: "MalformedXML",
                message: "The XML you provided was not well-formed or did not validate against our published schema",
                status: 400)
    }
    /// A bucket policy that is not a JSON object (or that the gateway refuses to read).
    public static func malformedPolicy() -> S3Error {
        S3Error(code: "MalformedPolicy", message: "Policies must be valid JSON and the first byte must be '{'", status: 400)
    }

    // 403
    public static func accessDenied(_ message: String = "Access Denied") -> S3Error {
        S3Error(code: "AccessDenied", message: message, status: 403)
    }
    /// A presigned URL past its expiry; `details` say when it expired and the server's time.
    public static func requestExpired(details: [(String, String)]) -> S3Error {
        S3Error(code: "AccessDenied", message: "Request has expired", status: 403, details: details)
    }
    public static func invalidAccessKeyId() -> S3Error {
        S3Error(code: "InvalidAccessKeyId",
                message: "The AWS Access Key Id you provided does not exist in our records.", status: 403)
    }
    public static func signatureDoesNotMatch() -> S3Error {
        S3Error(code: "SignatureDoesNotMatch",
                message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                status: 403)
    }
    public static func requestTimeTooSkewed(requestTime: String, serverTime: String, maxSkewSeconds: Int) -> S3Error {
        S3Error(code: "RequestTimeTooSkewed",
                message: "The difference between the request time and the current time is too large.",
                status: 403,
                details: [("RequestTime", requestTime), ("ServerTime", serverTime),
                          ("MaxAllowedSkewMilliseconds", String(maxSkewSeconds * 1000))])
    }

    // 404, 405, 411, 501
    public static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error(code: "NoSuchBucket", message: "The specified bucket does not exist.", status: 404,
                details: [("BucketName", bucket)])
    }
    public static func methodNotAllowed(_ message: String) -> S3Error {
        S3Error(code: "MethodNotAllowed", message: message, status: 405)
    }
    public static func missingContentLength() -> S3Error {
        S3Error(code: "MissingContentLength", message: "You must provide the Content-Length HTTP header.", status: 411)
    }
    public static func notImplemented(_ message: String) -> S3Error {
        S3Error(code: "NotImplemented", message: message, status: 501)
    }

    // 5xx: the upstream store or the gateway itself failed.
    public static func internalError(_ message: String = "We encountered an internal error. Please try again.") -> S3Error {
        S3Error(code: "InternalError", message: message, status: 500)
    }
    public static func badGateway(_ message: String) -> S3Error {
        S3Error(code: "BadGateway", message: message, status: 502)
    }
    public static func serviceUnavailable(_ message: String) -> S3Error {
        S3Error(code: "ServiceUnavailable", message: message, status: 503)
    }
    public static func gatewayTimeout(_ message: String) -> S3Error {
        S3Error(code: "GatewayTimeout", message: message, status: 504)
    }
}

/// Escaping for XML character data and attribute values (XML 1.0 §2.4): `&`, `<`, `>`,
/// and both quotes; control characters that XML 1.0 cannot carry at all are replaced by
/// U+FFFD so an attacker-chosen key cannot make the body ill-formed.
public enum XMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#xD;" // a literal CR would be normalised to LF by XML parsers
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
