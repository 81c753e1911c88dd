import S3Core
import Synchronization

/// One request as the store received it, for tests that check what a gateway forwarded.
public struct RecordedRequest: Sendable {
    public let method: String
    /// The request-target exactly as it came on the request line.
    public let target: String
    /// The header fields in arrival order, names in the case they were sent.
    public let headers: HeaderFields
    /// The number of body bytes received, as they came on the wire (an aws-chunked body
    /// is counted with its framing). A request answered before its body ended counts the
    /// bytes received until the answer.
    public let bodyLength: Int
    /// The access key whose signature checked out; nil when authentication failed.
    public let accessKeyId: String?
}

/// The log of recorded requests, shared by every connection of one server.
final class RequestRecorder: Sendable {
    private let requests = Mutex<[RecordedRequest]>([])

    func record(_ request: RecordedRequest) {
        requests.withLock { $0.append(request) }
    }

    func all() -> [RecordedRequest] {
        requests.withLock { $0 }
    }

    func clear() {
        requests.withLock { $0.removeAll() }
    }
}
