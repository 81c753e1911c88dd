import Credentials
import S3Signing
import YAMLConfig

/// How multipart upload ids are bound to their initiation (docs/configuration.md,
/// "Multipart uploads"):
///
///     upload_binding:
///       keys:                         # the first binds new ids; all verify
///         - id: k2
///           secret_env: OBSGATE_UPLOAD_KEY_2     # or secret / secret_file; 32+ bytes
///         - id: k1
///           secret_file: /etc/obsgate/upload-k1.key
///       legacy_ids: refuse            # refuse (default) | allow: ids the gateway never bound
///
/// Without the section a random key is made at start: ids then last as long as the
/// process, and replicas do not accept each other's.
public struct UploadBindingConfiguration: Sendable {
    public enum LegacyIds: String, Sendable, CaseIterable {
        /// 404 NoSuchUpload, as for an id the store does not know.
        case refuse
        /// Forwarded as they are, to their initiator's successors as to anyone the access
        /// rules let use multipart operations: for migrating uploads begun before the gateway.
        case allow
    }

    public var binder: UploadIdBinder
    public var legacyIds = LegacyIds.refuse
    /// false: the key was made at start (no `upload_binding.keys`).
    public var keysConfigured: Bool

    public static let minimumSecretBytes = 32

    /// A random key of this process's own.
    public static func processKey() -> UploadBindingConfiguration {
        UploadBindingConfiguration(binder: UploadIdBinder(keys: [.random(id: "p")]), keysConfigured: false)
    }

    static func parse(_ node: YAMLNode, resolve: (String) -> String,
                      environment: [String: String]) throws(ConfigError) -> UploadBindingConfiguration {
        let fields = try node.mapping(allowed: ["keys", "legacy_ids"], required: ["keys"])
        let sources = ClientCredentials.SecretSources.environment(environment)
        var keys: [UploadIdBinder.Key] = []
        for item in try fields.required("keys").sequence() {
            let keyFields = try item.mapping(allowed: ["id", "secret", "secret_env", "secret_file"], required: ["id"])
            let idNode = try keyFields.required("id")
            let id = try idNode.nonEmptyString()
            guard UploadIdBinder.Key.isValidId(id) else { throw idNode.error("a key id is 1–16 letters, digits, '-' or '_'") }
            guard !keys.contains(where: { $0.id == id }) else { throw idNode.error("key id '\(id)' is given twice") }
            let secret = try ClientCredentials.secretValue(["secret", "secret_env", "secret_file"], in: keyFields,
                                                           what: "binding key", resolvePath: resolve, sources: sources)
            guard secret.utf8.count >= minimumSecretBytes else {
                throw item.error("a binding key needs at least \(minimumSecretBytes) bytes of secret")
            }
            keys.append(UploadIdBinder.Key(id: id, secret: secret))
        }
        guard !keys.isEmpty else { throw (try fields.required("keys")).error("at least one key is required") }
        var configuration = UploadBindingConfiguration(binder: UploadIdBinder(keys: keys), keysConfigured: true)
        if let legacy = fields["legacy_ids"] { configuration.legacyIds = try legacy.word() }
        return configuration
    }
}
