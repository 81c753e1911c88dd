import Credentials
import Foundation
import Gateway
import Policy
import S3Core
import S3Signing

/// The gateway the classifier and pipeline targets drive: one client key in front of a
/// SigV4 upstream, virtual-hosted requests under `s3.gateway.test`, a fixed upload binding
/// key (a corpus file means the same thing in every run) and the shipped encryption policy
/// (policies/encryption.yaml), so that the defaults injected and the refusals reached are
/// the real ones.
enum FuzzGateway {
    static let clientKey = "FUZZCLIENT0000000001"
    static let clientSecret = "fuzz-client-secret/with+symbols="
    static let upstreamKey = "FUZZUPSTREAM00000001"
    static let upstreamSecret = "fuzz-upstream-secret-0123456789"
    static let virtualHostDomain = "s3.gateway.test"
    static let region = "us-east-1"

    static let configurationYAML = """
        listeners: [{address: 127.0.0.1:0}]
        upstream:
          endpoint: http://127.0.0.1:8000
          region: \(region)
          signing: v4
          profiles: {default: {access_key: \(upstreamKey), secret_key: \(upstreamSecret)}}
        virtual_host_domains: [\(virtualHostDomain)]
        upload_binding:
          keys: [{id: f1, secret: fuzz-upload-binding-key-0123456789abcdef}]
        credentials: clients.yaml
        """
    static let clientsYAML = """
        version: 1
        clients:
          - {access_key: \(clientKey), secret: "\(clientSecret)", principal: tester, groups: [qa]}
        """

    static let configuration = try! GatewayConfiguration.parse(configurationYAML, file: "obsgate.yaml",
                                                               baseDirectory: "/etc/obsgate", environment: [:])
    static let credentials = try! ClientCredentials.parse(clientsYAML, file: "clients.yaml")
    static let policy = try! UploadPolicy.load(path: Repository.path("policies/encryption.yaml"))
    static let preparer = try! RequestPreparer(configuration: configuration, credentials: credentials, policy: policy)
}

/// Files of this repository, found from this source file's place in it.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // fuzz/Harness
        .deletingLastPathComponent()  // fuzz
        .deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
