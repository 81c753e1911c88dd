import ArgumentParser
import Credentials
import DevUpstream
import Foundation
import Gateway
import Logging
import NIOPosix
import Policy
import S3Signing

/// `obsgate demo`: the gateway on loopback, with an embedded configuration, in front of
/// the in-memory development upstream, plus the commands to try it with awscli.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the gateway on loopback in front of an in-memory development store (Ctrl-C stops both).")

    @Option(name: .long, help: "Port of the S3 endpoint (0: a free one, shown when it runs).")
    var port = 9000

    @Option(name: .customLong("admin-port"), help: "Port of the admin endpoint (/healthz, /readyz, /metrics).")
    var adminPort = 9001

    @Option(name: .customLong("audit-dir"), help: "Directory of the demo's audit file (audit.log); created when missing.")
    var auditDirectory = (NSTemporaryDirectory() as NSString).appendingPathComponent("obsgate-demo")

    static let clientAccessKey = "GWDEMOACCESSKEY00001"
    static let clientSecret = "demo-secret-not-for-production"

    func run() async throws {
        // The development upstream has credentials of its own, which only the gateway knows:
        // clients never see them.
        let upstreamCredentials = SigningCredentials(accessKeyId: "DEVUPSTREAMKEY000001",
                                                     secretAccessKey: UUID().uuidString)
        let upstream = try await DevUpstreamServer.start(
            DevUpstreamConfiguration(credentials: [upstreamCredentials]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "dev-upstream"))

        let auditPath = (auditDirectory as NSString).appendingPathComponent("audit.log")
        do {
            try FileManager.default.createDirectory(atPath: auditDirectory, withIntermediateDirectories: true)
        } catch {
            FileHandle.standardError.write(Data("obsgate demo: cannot create the audit directory \(auditDirectory): \(error.localizedDescription)\n".utf8))
            throw ExitCode(2)
        }
        let yaml = """
            listeners:
              - address: 127.0.0.1:\(port)
            admin:
              address: 127.0.0.1:\(adminPort)
            upstream:
              endpoint: http://127.0.0.1:\(upstream.port)
              region: us-east-1
              profiles:
                default:
                  access_key: \(upstreamCredentials.accessKeyId)
                  secret_key: \(upstreamCredentials.secretAccessKey)
            virtual_host_domains: [localhost]
            credentials: embedded
            timeouts:
              drain: 2
            audit:
              sinks: [{type: file, path: "\(auditPath)"}]
              fail_closed: true
            """
        let clients = """
            version: 1
            clients:
              - access_key: \(Self.clientAccessKey)
                secret: \(Self.clientSecret)
                principal: demo
                groups: [developers]
            """
        // The demo's policy: the demo key may manage buckets (denied by default under a
        // policy); every upload encrypted with SSE-KMS under an approved key
        // (demo-key-1 injected when none is asked for), no archive storage classes, and
        // website redirects only to pages of the same site.
        let policy = """
            version: 1
            access:
              - id: demo-manages-buckets
                description: The demo key creates, configures and deletes buckets (denied by default).
                principals: [demo]
                operations: [bucket-create-delete, bucket-config]
                effect: allow
            rules:
              - id: demo-encryption
                description: Every upload is SSE-KMS with an approved demo key.
                encryption:
                  require: sse-kms
                  kms_key_ids: ["demo-key-*"]
                  default_kms_key_id: demo-key-1
                  default_when_absent: sse-kms
              - id: demo-no-archive
                description: No archive storage classes in the demo.
                storage_class:
                  deny: [GLACIER, DEEP_ARCHIVE, GLACIER_IR]
              - id: demo-redirects
                description: Website redirects stay on the same site.
                website_redirect: relative-only
            """
        let loaded: GatewayLoader.Loaded
        do {
            loaded = GatewayLoader.Loaded(
                configuration: try GatewayConfiguration.parse(yaml, file: "<demo configuration>", baseDirectory: "/",
                                                              environment: [:]),
                credentials: try ClientCredentials.parse(clients, file: "<demo clients>"),
                policy: try UploadPolicy.parse(policy, file: "<demo policy>"))
        } catch {
            FileHandle.standardError.write(Data("obsgate demo: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let port = self.port
        let adminPort = self.adminPort
        try await GatewayLoader.run(loaded) { server in
            // Written unbuffered: the instructions must appear while the demo runs, also when
            // stdout is a pipe. The ports are the bound ones (`--port 0` picks a free one).
            let instructions = Self.instructions(port: server.listeningPorts.first ?? port,
                                                 adminPort: server.adminPort ?? adminPort, auditPath: auditPath)
            FileHandle.standardOutput.write(Data(instructions.utf8))
        }
        try? await upstream.shutdown()
    }

    static func instructions(port: Int, adminPort: Int, auditPath: String) -> String {
        let endpoint = "--endpoint-url http://127.0.0.1:\(port)"
        return """

            obsgate demo — the gateway is running in front of an IN-MEMORY DEVELOPMENT STORE
            (data is lost when it stops; the store is for trying obsgate, not for keeping data).
            Its upload policy: SSE-KMS with a demo-key-* key on every upload (demo-key-1 when none
            is given), no archive storage classes, website redirects only within the site.

              S3 endpoint     http://127.0.0.1:\(port)   (path-style, or virtual-hosted as <bucket>.localhost)
              admin endpoint  http://127.0.0.1:\(adminPort)/healthz  /readyz  /metrics
              access key      \(clientAccessKey)
              secret key      \(clientSecret)
              region          us-east-1
              audit trail     \(auditPath)   (one JSON line per request, hash-chained)

            Try it with awscli in another terminal:

              export AWS_ACCESS_KEY_ID=\(clientAccessKey) AWS_SECRET_ACCESS_KEY=\(clientSecret) AWS_DEFAULT_REGION=us-east-1
              aws \(endpoint) s3 mb s3://demo
              aws \(endpoint) s3 cp README.md s3://demo/docs/README.md
              aws \(endpoint) s3api head-object --bucket demo --key docs/README.md   # SSE-KMS demo-key-1, injected by the policy
              aws \(endpoint) s3 ls s3://demo --recursive
              aws \(endpoint) s3api create-multipart-upload --bucket demo --key big.bin --storage-class STANDARD_IA
              aws \(endpoint) s3 presign s3://demo/docs/README.md
              aws \(endpoint) s3api put-object --bucket demo --key cold.bin --storage-class GLACIER         # refused by rule demo-no-archive
              aws \(endpoint) s3api put-object --bucket demo --key k --ssekms-key-id other --server-side-encryption aws:kms   # refused: key not approved
              AWS_SECRET_ACCESS_KEY=wrong aws \(endpoint) s3 ls s3://demo    # refused: SignatureDoesNotMatch

            Then read what the gateway recorded, and check that nobody edited it:

              tail -n 3 \(auditPath)
              swift run obsgate audit verify \(auditPath)

            Ctrl-C stops the gateway and the store.

            """
    }
}
