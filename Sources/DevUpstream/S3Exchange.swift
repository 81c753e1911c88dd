import S3Core
import S3Signing

/// A request that has been authenticated and classified, ready for its operation.
struct S3Request: Sendable {
    var method: String
    var target: RequestTarget
    var headers: HeaderFields
    var address: S3Address
    var operation: S3Operation
    var accessKeyId: String
    var payload: PayloadExpectation
    /// The dialect the request names object attributes in: OBS when it is OBS-signed or
    /// carries `x-obs-*` headers.
    var requestDialect: HeaderDialect
    /// The dialect of the answer: OBS for OBS-signed requests.
    var responseDialect: HeaderDialect

    var bucket: String { address.bucket ?? "" }
    var key: String { address.key ?? "" }
}

/// What an operation answers; the connection handler adds the request id, Date,
/// Content-Length and Connection headers and writes it.
struct S3Response: Sendable {
    var status: Int
    var headers: HeaderFields
    var body: Body

    enum Body: Sendable {
        case empty
        case xml(String)
        /// The bytes of a stored object in `range`, written in slices.
        case object(ObjectBody, Range<Int>)

        var length: Int {
            switch self {
            case .empty: 0
            case .xml(let text): text.utf8.count
            case .object(_, let range): range.count
            }
        }
    }

    init(status: Int, headers: [(String, String)] = [], body: Body = .empty) {
        self.status = status
        self.headers = HeaderFields(headers)
        self.body = body
    }

    static func xml(_ writer: XMLResponseWriter, headers: [(String, String)] = []) -> S3Response {
        S3Response(status: 200, headers: [("Content-Type", "application/xml")] + headers, body: .xml(writer.document))
    }

    /// An S3 error body: `application/xml`, naming the request id.
    static func error(_ error: S3Error, requestId: String, hostId: String) -> S3Response {
        S3Response(status: error.status, headers: [("Content-Type", "application/xml")],
                    body: .xml(error.xmlBody(requestId: requestId, hostId: hostId)))
    }
}
