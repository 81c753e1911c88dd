import Foundation
import S3Signing
import YAMLConfig

/// Who a gateway-issued access key belongs to.
public struct ClientIdentity: Sendable, Equatable {
    public let accessKeyId: String
    /// The principal name policies and audit records use, e.g. `alice` or `ci-uploader`.
    public let principal: String
    public let groups: [String]
    /// The upstream credential profile this principal's requests are re-signed with.
    public let upstreamProfile: String
    /// The entry named its profile (`upstream_profile`) rather than taking `default`.
    public var namesUpstreamProfile = true
}

/// The client credentials file: gateway-issued access keys and their secrets, mapped to
/// principals. It answers the verifier's secret look-ups and says who a key belongs to.
///
///     version: 1
///     clients:
///       - access_key: GWALICE000000000001
///         secret_env: OBSGATE_ALICE_SECRET   # or secret: "...", or secret_file: path
///         principal: alice
///         groups: [finance]
///         upstream_profile: default          # optional, "default" when absent
///
/// The whole file is validated at load; a relative `secret_file` is resolved against the
/// credentials file's directory. No secret is ever part of an error or a description.
public struct ClientCredentials: SecretLookup, Sendable, CustomStringConvertible {
    private let identities: [String: ClientIdentity]
    private let secrets: [String: String]

    public func secret(forAccessKey accessKeyId: String) -> String? { secrets[accessKeyId] }

    public func identity(forAccessKey accessKeyId: String) -> ClientIdentity? { identities[accessKeyId] }

    public var accessKeyIds: [String] { identities.keys.sorted() }

    /// The upstream profiles the file names, so the gateway config can check each exists.
    public var upstreamProfiles: Set<String> { Set(identities.values.map(\.upstreamProfile)) }

    /// The principals whose entry names no `upstream_profile` (they get `default`).
    public var principalsWithoutProfile: [String] {
        identities.values.filter { !$0.namesUpstreamProfile }.map(\.principal).sorted()
    }

    public var description: String { "ClientCredentials(\(identities.count) clients, secrets redacted)" }

    /// Where secrets referenced by `secret_env` and `secret_file` come from; injectable so
    /// tests do not depend on the process environment or the file system.
    public struct SecretSources: Sendable {
        public var environment: @Sendable (String) -> String?
        public var readFile: @Sendable (String) throws -> String

        public init(environment: @escaping @Sendable (String) -> String?,
                    readFile: @escaping @Sendable (String) throws -> String) {
            self.environment = environment
            self.readFile = readFile
        }

        /// The gateway configuration's sources: its (injectable) environment, and files.
        public static func environment(_ environment: [String: String]) -> SecretSources {
            SecretSources(environment: { environment[$0] }, readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
        }

        public static let process = SecretSources(
            environment: { ProcessInfo.processInfo.environment[$0] },
            readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
    }

    public static func load(path: String, sources: SecretSources = .process) throws(ConfigError) -> ClientCredentials {
        let text = try ConfigFile.read(path, what: "the client credentials file")
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, file: path, baseDirectory: directory, sources: sources)
    }

    public static func parse(_ text: String, file: String, baseDirectory: String = ".",
                             sources: SecretSources = .process) throws(ConfigError) -> ClientCredentials {
        let root = try YAMLNode.parse(text, file: file).mapping(allowed: ["version", "clients"], required: ["version", "clients"])
        try root.requireVersion(1)
        var identities: [String: ClientIdentity] = [:]
        var secrets: [String: String] = [:]
        var principals: Set<String> = []
        for entry in try root.required("clients").sequence() {
            let fields = try entry.mapping(
                allowed: ["access_key", "secret", "secret_env", "secret_file", "principal", "groups", "upstream_profile"],
                required: ["access_key", "principal"])
            let accessKey = try fields.required("access_key").nonEmptyString()
            guard accessKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
                throw (try fields.required("access_key")).error("an access key is printable ASCII without spaces or '/'")
            }
            guard identities[accessKey] == nil else {
                throw (try fields.required("access_key")).error("access key '\(accessKey)' is already defined")
            }
            let principal = try fields.required("principal").nonEmptyString()
            guard !principals.contains(principal) else {
                throw (try fields.required("principal")).error("principal '\(principal)' already has an access key; give each principal one entry")
            }
            principals.insert(principal)
            secrets[accessKey] = try secretValue(
                ["secret", "secret_env", "secret_file"], in: fields,
                resolvePath: { resolvedPath($0, relativeTo: baseDirectory) },
                sources: sources)
            identities[accessKey] = ClientIdentity(
                accessKeyId: accessKey, principal: principal,
                groups: try fields["groups"]?.stringList() ?? [],
                upstreamProfile: try fields["upstream_profile"]?.nonEmptyString() ?? "default",
                namesUpstreamProfile: fields["upstream_profile"] != nil)
        }
        return ClientCredentials(identities: identities, secrets: secrets)
    }

    /// A value given by exactly one of `names`: inline (`x`), from an environment variable
    /// (`x_env`) or from a file (`x_file`; a trailing newline, which editors and `echo`
    /// add, is not part of it). The rule every secret of the configuration follows: client
    /// secrets here, upstream keys in the gateway configuration. `what` names the value in
    /// the messages; `resolvePath` makes a relative file path absolute.
    public static func secretValue(_ names: [String], in fields: YAMLFields,
                                   what: String = "secret", resolvePath: (String) -> String,
                                   sources: SecretSources) throws(ConfigError) -> String {
        let given = names.filter { fields[$0] != nil }
        guard given.count == 1, let key = given.first, let valueNode = fields[key] else {
            let list = names.dropLast().joined(separator: ", ") + " or " + names.last!
            throw fields.node.error("give exactly one of \(list)\(what == "secret" ? "" : " for the \(what)") (found \(given.isEmpty ? "none" : given.joined(separator: ", ")))")
        }
        let value: String
        if key.hasSuffix("_env") {
            let name = try valueNode.nonEmptyString()
            guard let fromEnvironment = sources.environment(name) else {
                throw valueNode.error("environment variable \(name) is not set")
            }
            value = fromEnvironment
        } else if key.hasSuffix("_file") {
            let resolved = resolvePath(try valueNode.nonEmptyString())
            do {
                var text = try sources.readFile(resolved)
                while let last = text.last, last.isNewline { text.removeLast() }
                value = text
            } catch {
                throw valueNode.error("cannot read secret file \(resolved)")
            }
        } else {
            value = try valueNode.string()
        }
        guard !value.isEmpty else { throw valueNode.error("the \(what) is empty") }
        return value
    }
}
