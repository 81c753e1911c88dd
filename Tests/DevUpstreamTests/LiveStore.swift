import DevUpstream
import Foundation
import Logging
import NIOPosix
import S3Signing
import TestSupport

/// A DevUpstreamServer on an ephemeral port, and the real clients installed on the
/// machine (awscli, boto3, curl) pointed at it with its credentials in their environment.
final class LiveStore {
    static let credentials = SigningCredentials(accessKeyId: "AKIDEVUPSTREAMLIVE01", secretAccessKey: "live/secret+key=1")

    let server: DevUpstreamServer
    let directory: URL
    var endpoint: String { "http://127.0.0.1:\(server.port)" }

    private init(server: DevUpstreamServer, directory: URL) {
        self.server = server
        self.directory = directory
    }

    static func start() async throws -> LiveStore {
        var configuration = DevUpstreamConfiguration(credentials: [credentials])
        configuration.maxObjectSize = 64 * 1024 * 1024
        let server = try await DevUpstreamServer.start(configuration, group: MultiThreadedEventLoopGroup.singleton,
                                                       logger: Logger(label: "dev-upstream-test"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devupstream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // 5 MiB parts for uploads and ranged downloads; path-style addressing.
        try """
            [default]
            region = us-east-1
            s3 =
                addressing_style = path
                multipart_threshold = 5MB
                multipart_chunksize = 5MB
            [profile sigv4-presign]
            region = us-east-1
            s3 =
                addressing_style = path
                signature_version = s3v4
            """.write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        // A profile named with --profile takes its keys from this file, not the environment.
        try ["default", "sigv4-presign"].map {
            "[\($0)]\naws_access_key_id = \(credentials.accessKeyId)\naws_secret_access_key = \(credentials.secretAccessKey)\n"
        }.joined().write(to: directory.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        return LiveStore(server: server, directory: directory)
    }

    /// Runs `body` with a freshly started store and stops it afterwards, also on failure.
    static func with(_ body: (LiveStore) async throws -> Void) async throws {
        let store = try await start()
        do {
            try await body(store)
        } catch {
            try await store.stop()
            throw error
        }
        try await store.stop()
    }

    func stop() async throws {
        try await server.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The environment of a client: this machine's, without any AWS setting it may hold,
    /// plus the store's credentials.
    func environment(secret: String = credentials.secretAccessKey) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["AWS_ACCESS_KEY_ID"] = Self.credentials.accessKeyId
        environment["AWS_SECRET_ACCESS_KEY"] = secret
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_CONFIG_FILE"] = path("config")
        environment["AWS_SHARED_CREDENTIALS_FILE"] = path("credentials")
        environment["DEV_UPSTREAM_ENDPOINT"] = endpoint
        return environment
    }

    /// `aws <arguments> --endpoint-url <store>`.
    func aws(_ arguments: String..., secret: String = credentials.secretAccessKey) throws -> ProcessResult {
        try runProcess(["aws"] + arguments + ["--endpoint-url", endpoint], environment: environment(secret: secret))
    }

    /// A Python script; the endpoint is in `DEV_UPSTREAM_ENDPOINT`.
    func python(_ script: String) throws -> ProcessResult {
        try runProcess(["python3", "-c", script], environment: environment())
    }
}
