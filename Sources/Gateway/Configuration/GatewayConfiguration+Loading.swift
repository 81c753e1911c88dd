import Audit
import Credentials
import Foundation
import NIOCore
import Logging
import S3Core
import S3Signing
import YAMLConfig

extension GatewayConfiguration {
    /// Overrides given on the command line, applied after the file is read.
    public struct Overrides: Sendable {
        public var listen: String?
        public var upstream: String?
        public var credentials: String?
        public var policy: String?
        public var adminListen: String?

        public init(listen: String? = nil, upstream: String? = nil, credentials: String? = nil,
                    policy: String? = nil, adminListen: String? = nil) {
            self.listen = listen
            self.upstream = upstream
            self.credentials = credentials
            self.policy = policy
            self.adminListen = adminListen
        }
    }

    public static func load(path: String, overrides: Overrides = Overrides(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> GatewayConfiguration {
        let text = try ConfigFile.read(path, what: "the configuration file")
        return try parse(text, file: path, baseDirectory: (path as NSString).deletingLastPathComponent,
                         overrides: overrides, environment: environment)
    }

    /// Parses and validates a configuration document. Relative file paths in it are
    /// resolved against `baseDirectory` (the configuration file's directory).
    public static func parse(_ text: String, file: String, baseDirectory: String, overrides: Overrides = Overrides(),
                             environment: [String: String]) throws(ConfigError) -> GatewayConfiguration {
        let root = try YAMLNode.parse(text, file: file).mapping(
            allowed: ["listeners", "admin", "upstream", "regions", "virtual_host_domains", "credentials", "policy",
                      "anonymous", "clock_skew", "presigned_max_lifetime", "sse_c_requires_tls", "response_headers", "limits", "timeouts", "log_level",
                      "event_loops", "audit", "tracing", "cors", "upload_binding", "public_endpoint"],
            required: ["upstream", "credentials"])
        let resolve = { (path: String) in resolvedPath(path, relativeTo: baseDirectory) }
        let commandLine = YAMLNode.commandLine

        var listeners: [Listener] = []
        if let listen = overrides.listen {
            listeners = [try Listener.parse(address: listen, at: commandLine("--listen"))]
        } else if let node = root["listeners"] {
            for item in try node.sequence() {
                let fields = try item.mapping(allowed: ["address", "tls"], required: ["address"])
                var listener = try Listener.parse(address: try fields.required("address").nonEmptyString(), at: fields.required("address"))
                if let tls = fields["tls"] {
                    let tlsFields = try tls.mapping(allowed: ["certificate", "private_key"], required: ["certificate", "private_key"])
                    listener.tls = TLSFiles(certificateChain: resolve(try tlsFields.required("certificate").nonEmptyString()),
                                            privateKey: resolve(try tlsFields.required("private_key").nonEmptyString()))
                }
                listeners.append(listener)
            }
        } else {
            listeners = [Listener(host: "127.0.0.1", port: 9000, tls: nil)]
        }
        guard !listeners.isEmpty else { throw (try root.required("listeners")).error("at least one listener is required") }

        var adminListener: Listener?
        if let adminListen = overrides.adminListen {
            adminListener = try Listener.parse(address: adminListen, at: commandLine("--admin-listen"))
        } else if let admin = root["admin"] {
            let fields = try admin.mapping(allowed: ["address"], required: ["address"])
            adminListener = try Listener.parse(address: try fields.required("address").nonEmptyString(), at: fields.required("address"))
        }

        var upstream = try Upstream.parse(root.required("upstream"), resolve: resolve, environment: environment)
        if let endpoint = overrides.upstream {
            try upstream.setEndpoint(endpoint, at: commandLine("--upstream"))
        }

        let regions = Set(try root["regions"]?.stringList() ?? [upstream.region])
        guard !regions.isEmpty else { throw (try root.required("regions")).error("at least one region is required") }

        var anonymousReadBuckets: Set<String> = []
        if let anonymous = root["anonymous"] {
            let fields = try anonymous.mapping(allowed: ["read_buckets"], required: ["read_buckets"])
            anonymousReadBuckets = Set(try fields.required("read_buckets").stringList())
        }

        var limits = Limits()
        if let node = root["limits"] {
            let fields = try node.mapping(allowed: ["max_header_count", "max_header_bytes", "max_chunk_size",
                                                    "max_idle_upstream_connections", "max_connections",
                                                    "max_connections_per_address"])
            if let v = fields["max_header_count"] { limits.maxHeaderCount = try v.int(in: 8...10_000) }
            if let v = fields["max_header_bytes"] { limits.maxHeaderBytes = try v.int(in: 1024...1_048_576) }
            if let v = fields["max_chunk_size"] { limits.maxChunkSize = try v.int(in: 8192...268_435_456) }
            if let v = fields["max_idle_upstream_connections"] { limits.maxIdleUpstreamConnections = try v.int(in: 0...10_000) }
            if let v = fields["max_connections"] { limits.maxConnections = try v.int(in: 1...1_000_000) }
            if let v = fields["max_connections_per_address"] { limits.maxConnectionsPerAddress = try v.int(in: 1...1_000_000) }
        }

        var timeouts = Timeouts()
        if let node = root["timeouts"] {
            let fields = try node.mapping(allowed: ["request_head", "body_idle", "form_fields", "client_idle", "upstream_connect",
                                                    "upstream_first_byte", "upstream_idle", "drain", "lingering_close"])
            func seconds(_ key: String, _ target: inout TimeAmount) throws(ConfigError) {
                if let v = fields[key] { target = .seconds(Int64(try v.int(in: 1...86_400))) }
            }
            try seconds("request_head", &timeouts.requestHead)
            try seconds("body_idle", &timeouts.bodyIdle)
            try seconds("form_fields", &timeouts.formFields)
            try seconds("client_idle", &timeouts.clientIdle)
            try seconds("upstream_connect", &timeouts.upstreamConnect)
            try seconds("upstream_first_byte", &timeouts.upstreamFirstByte)
            try seconds("upstream_idle", &timeouts.upstreamIdle)
            try seconds("drain", &timeouts.drain)
            try seconds("lingering_close", &timeouts.lingeringClose)
        }

        let logLevel = try root["log_level"]?.word(Logger.Level.self) ?? .info

        var credentialsFile = overrides.credentials ?? ""
        if credentialsFile.isEmpty { credentialsFile = resolve(try root.required("credentials").nonEmptyString()) }
        var policyFile = overrides.policy
        if policyFile == nil, let node = root["policy"] { policyFile = resolve(try node.nonEmptyString()) }
        var configuration = GatewayConfiguration(
            listeners: listeners,
            adminListener: adminListener,
            upstream: upstream,
            regions: regions,
            virtualHostDomains: try root["virtual_host_domains"]?.stringList() ?? [],
            credentialsFile: credentialsFile,
            policyFile: policyFile,
            anonymousReadBuckets: anonymousReadBuckets,
            maxClockSkew: TimeInterval(try root["clock_skew"]?.int(in: 1...86_400) ?? 900),
            sseCRequiresTLS: try root["sse_c_requires_tls"]?.bool() ?? true,
            responseHeaderRules: try root["response_headers"].map { node throws(ConfigError) in try ResponseHeaderRule.parseList(node) } ?? [],
            limits: limits,
            timeouts: timeouts,
            logLevel: logLevel)
        if let node = root["presigned_max_lifetime"] {
            configuration.maxPresignedLifetime = TimeInterval(try node.int(in: 1...604_800))
        }
        configuration.audit = try root["audit"].map { node throws(ConfigError) in
            try AuditConfiguration.parse(node: node, baseDirectory: baseDirectory)
        }
        if let node = root["upload_binding"] {
            configuration.uploadBinding = try UploadBindingConfiguration.parse(node, resolve: resolve, environment: environment)
        }
        if let node = root["public_endpoint"] { configuration.publicEndpoint = try parsePublicEndpoint(node) }
        if let node = root["event_loops"] { configuration.eventLoops = try EventLoopCount.parse(node) }
        if let cors = root["cors"] { configuration.cors = GatewayCORS(rules: try CORSRule.parseList(cors)) }
        if let tracing = root["tracing"] {
            let fields = try tracing.mapping(allowed: ["request_id_header", "otlp"])
            if let header = fields["request_id_header"] { configuration.requestIdHeader = try parseRequestIdHeader(header) }
            if let otlp = fields["otlp"] { configuration.otlpTracing = try parseOTLP(otlp) }
        }
        return configuration
    }

    /// `tracing.otlp`: the collector's OTLP/HTTP endpoint (`/v1/traces` added to a bare
    /// origin), the service name spans carry, the export batch delay.
    private static func parseOTLP(_ node: YAMLNode) throws(ConfigError) -> OTLPTracing {
        let fields = try node.mapping(allowed: ["endpoint", "service_name", "export_delay_ms", "sample_ratio"],
                                      required: ["endpoint"])
        let endpointNode = try fields.required("endpoint")
        var endpoint = try endpointNode.nonEmptyString()
        guard let (authority, path) = UpstreamLocationRewriter.split(endpoint), !authority.isEmpty, !authority.contains("@") else {
            throw endpointNode.error("expected an http or https URL such as http://127.0.0.1:4318")
        }
        if path == "/" {
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            endpoint += "/v1/traces"
        }
        var settings = OTLPTracing(endpoint: endpoint)
        if let name = fields["service_name"] { settings.serviceName = try name.nonEmptyString() }
        if let delay = fields["export_delay_ms"] { settings.exportDelayMilliseconds = try delay.int(in: 10...60_000) }
        if let ratio = fields["sample_ratio"] {
            guard let value = Double(try ratio.nonEmptyString()), (0...1).contains(value) else {
                throw ratio.error("expected a number from 0 to 1")
            }
            settings.sampleRatio = value
        }
        return settings
    }

    /// `public_endpoint`: an http or https origin — scheme, host, optional port, nothing after.
    private static func parsePublicEndpoint(_ node: YAMLNode) throws(ConfigError) -> String {
        var text = try node.nonEmptyString()
        while text.hasSuffix("/") { text.removeLast() }
        guard let (authority, rest) = UpstreamLocationRewriter.split(text), !authority.isEmpty, rest == "/",
              !authority.contains("@")
        else { throw node.error("expected an origin such as https://s3.example.com or http://127.0.0.1:9000") }
        return text
    }

    /// `tracing.request_id_header`: an extension field name of the gateway's own —
    /// `x-` then RFC 9110 `token` characters, not `x-amz-` or `x-obs-` (S3 gives those a
    /// meaning, and the signatures cover them) — or `false` for none.
    private static func parseRequestIdHeader(_ node: YAMLNode) throws(ConfigError) -> String? {
        if let enabled = try? node.bool() {
            guard !enabled else { throw node.error("expected a header name or false") }
            return nil
        }
        let name = try node.nonEmptyString().asciiLowercased
        let tokenCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")
        guard name.count > 2, name.hasPrefix("x-"), name.allSatisfy(tokenCharacters.contains),
              !HeaderDialect.isDialectName(name)
        else {
            throw node.error("expected a header name of the gateway's own, starting with x- but not x-amz- or x-obs- (e.g. x-obsgate-request-id), found '\(name)'")
        }
        return name
    }
}

extension GatewayConfiguration.Listener {
    /// `host:port`, `[v6]:port` or `:port` (all interfaces).
    static func parse(address: String, at node: YAMLNode) throws(ConfigError) -> Self {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65_535).contains(port)
        else { throw node.error("expected host:port, found '\(address)'") }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return Self(host: host.isEmpty ? "0.0.0.0" : host, port: port, tls: nil)
    }
}

extension GatewayConfiguration.Upstream {
    static func parse(_ node: YAMLNode, resolve: (String) -> String,
                      environment: [String: String]) throws(ConfigError) -> Self {
        let fields = try node.mapping(
            allowed: ["endpoint", "region", "signing", "dialect", "addressing", "ca_bundle", "server_name", "profiles"],
            required: ["endpoint", "profiles"])
        var upstream = Self(scheme: .http, host: "", port: 80, region: try fields["region"]?.nonEmptyString() ?? "us-east-1",
                            signing: .v4, dialect: .s3, addressing: .path, caBundle: nil, serverName: nil, profiles: [:])
        try upstream.setEndpoint(try fields.required("endpoint").nonEmptyString(), at: fields.required("endpoint"))
        if let signing = fields["signing"] { upstream.signing = try signing.word() }
        // OBS native signatures go with the OBS dialect unless said otherwise.
        upstream.dialect = upstream.signing == .obs ? .obs : .s3
        if let dialect = fields["dialect"] { upstream.dialect = try dialect.word() }
        if let addressing = fields["addressing"] { upstream.addressing = try addressing.word() }
        if let caBundle = fields["ca_bundle"] { upstream.caBundle = resolve(try caBundle.nonEmptyString()) }
        upstream.serverName = try fields["server_name"]?.nonEmptyString()
        let profiles = try fields.required("profiles").mapping(allowed: nil)
        guard !profiles.isEmpty else { throw (try fields.required("profiles")).error("at least one profile is required") }
        for (name, profile) in profiles {
            upstream.profiles[name] = try parseProfile(profile, resolve: resolve, environment: environment)
        }
        return upstream
    }

    /// `http://host[:port]` or `https://host[:port]`, nothing after the authority.
    mutating func setEndpoint(_ endpoint: String, at node: YAMLNode) throws(ConfigError) {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme.flatMap({ Scheme(rawValue: $0.lowercased()) }),
              let host = components.host, !host.isEmpty,
              components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil
        else { throw node.error("expected an endpoint like http://host:port or https://host, found '\(endpoint)'") }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == .https ? 443 : 80)
    }

    /// A profile: `access_key` or `access_key_env`, and `secret_key`, `secret_key_env` or
    /// `secret_key_file`; optionally `session_token_env`.
    static func parseProfile(_ node: YAMLNode, resolve: (String) -> String,
                             environment: [String: String]) throws(ConfigError) -> SigningCredentials {
        let fields = try node.mapping(allowed: ["access_key", "access_key_env", "secret_key", "secret_key_env",
                                                "secret_key_file", "session_token_env"])
        // The same rules as the client credentials' secrets.
        let sources = ClientCredentials.SecretSources.environment(environment)
        let accessKey = try ClientCredentials.secretValue(["access_key", "access_key_env"], in: fields,
                                                          what: "access key", resolvePath: resolve, sources: sources)
        let secret = try ClientCredentials.secretValue(["secret_key", "secret_key_env", "secret_key_file"], in: fields,
                                                       what: "secret key", resolvePath: resolve, sources: sources)
        var token: String?
        if let tokenNode = fields["session_token_env"] {
            let name = try tokenNode.nonEmptyString()
            guard let value = environment[name] else { throw tokenNode.error("environment variable \(name) is not set") }
            token = value
        }
        return SigningCredentials(accessKeyId: accessKey, secretAccessKey: secret, sessionToken: token)
    }
}
