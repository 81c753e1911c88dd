import Foundation
import S3Core
import S3Signing
@testable import DevUpstream

/// The store without sockets: a request is signed with the project's own UpstreamSigner,
/// admitted, its body fed through a RequestBodySink and its operation executed, in the
/// order the connection handler does it.
struct InProcessStore {
    static let credentials = SigningCredentials(accessKeyId: "AKIDEVUPSTREAMTEST01", secretAccessKey: "dev-upstream-secret")

    let admission = RequestAdmission(credentials: [credentials], regions: ["us-east-1"])
    let store = ObjectStore()
    let executor: OperationExecutor

    init(minimumPartSize: Int = 5) {
        executor = OperationExecutor(store: store, minimumPartSize: minimumPartSize, region: "us-east-1")
    }

    struct Answer {
        var status: Int
        var headers: HeaderFields
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
        /// The `<Code>` of an error body.
        var errorCode: String? {
            guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>") else { return nil }
            return String(text[start.upperBound..<end.lowerBound])
        }
    }

    /// Sends one request. `payloadHash` overrides SigV4's `x-amz-content-sha256` (the
    /// body's SHA-256 by default); `secret` signs with another secret.
    @discardableResult
    func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [],
              scheme: UpstreamSigner.Scheme = .v4, payloadHash: String? = nil,
              secret: String = credentials.secretAccessKey, host: String = "127.0.0.1:9000") throws -> Answer {
        var fields = HeaderFields([("Host", host)] + headers)
        if !body.isEmpty { fields.add("Content-Length", String(body.count)) }
        let requestTarget = try RequestTarget(parsing: target)
        let address = try S3AddressResolver(baseDomains: ["localhost"]).resolve(host: host, target: requestTarget)
        let signer = UpstreamSigner(scheme: scheme, credentials: SigningCredentials(
            accessKeyId: Self.credentials.accessKeyId, secretAccessKey: secret), region: "us-east-1")
        try signer.sign(method: method, target: requestTarget, address: address, headers: &fields,
                        payloadHash: payloadHash ?? hexSHA256(Data(body)), now: Date())
        return receive(method, target, headers: fields, body: body)
    }

    /// Runs an already-signed (or unsigned) request.
    func receive(_ method: String, _ target: String, headers: HeaderFields, body: [UInt8] = []) -> Answer {
        do throws(RequestAdmission.Refusal) {
            let request = try admission.admit(method: method, uri: target, headers: headers, now: Date())
            do throws(S3Error) {
                var sink = try RequestBodySink(expectation: request.payload, headers: headers,
                                               verifyChecksumHeaders: OperationExecutor.checksumHeadersDescribeBody(request.operation),
                                               limit: 1 << 30)
                var failure: S3Error?
                body.withUnsafeBytes { bytes in
                    do throws(S3Error) { try sink.consume(bytes) } catch { failure = error }
                }
                if let failure { throw failure }
                let response = try executor.execute(request, body: try sink.finish(), now: Date())
                var bytes: [UInt8] = []
                switch response.body {
                case .empty: break
                case .xml(let text): bytes = Array(text.utf8)
                case .object(let object, let range): bytes = method == "HEAD" ? [] : object.slice(range).bytes
                }
                return Answer(status: response.status, headers: response.headers, body: bytes)
            } catch {
                throw RequestAdmission.Refusal(error: error, accessKeyId: request.accessKeyId)
            }
        } catch {
            let response = S3Response.error(error.error, requestId: "TEST", hostId: "TEST")
            guard case .xml(let text) = response.body else { return Answer(status: response.status, headers: response.headers, body: []) }
            return Answer(status: response.status, headers: response.headers, body: Array(text.utf8))
        }
    }
}
