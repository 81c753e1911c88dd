import S3Signing

/// Settings of a ``DevUpstreamServer``.
///
/// The development upstream is an in-memory S3 store for `obsgate demo`, for tests that
/// need an upstream which records what it received, and as the baseline of benchmarks. It
/// keeps every object in memory and forgets everything when it stops: it is not a product.
public struct DevUpstreamConfiguration: Sendable {
    /// The address to listen on.
    public var host: String = "127.0.0.1"
    /// The port to listen on; 0 picks an ephemeral port (read it back from
    /// ``DevUpstreamServer/port``).
    public var port: Int = 0
    /// The keys the store accepts, in every scheme it verifies: SigV4 (header and
    /// presigned), SigV2 (header and query) and OBS native (header and query).
    public var credentials: [SigningCredentials]
    /// Regions a SigV4 credential scope may name.
    public var regions: Set<String> = ["us-east-1"]
    /// The largest object (and the largest single request body) the store accepts. Objects
    /// are held in memory, so tests set this small.
    public var maxObjectSize: Int = 64 * 1024 * 1024 * 1024
    /// The smallest size of every part of a multipart upload except the last, checked by
    /// CompleteMultipartUpload (S3's rule: 5 MiB). Tests that upload small parts lower it.
    public var minimumPartSize: Int = 5 * 1024 * 1024

    public init(credentials: [SigningCredentials], regions: Set<String> = ["us-east-1"], port: Int = 0) {
        self.credentials = credentials
        self.regions = regions
        self.port = port
    }
}
