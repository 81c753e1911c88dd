import Foundation
import Testing
import YAMLConfig
@testable import Credentials

// Every secret any test in this file uses. No error message and no description may ever
// contain one of them.
private let inlineSecret = "wJalrXUtnFEMI-K7MDENG-INLINE-a1b2c3"
private let envSecret = "ENVSECRET-9f8e7d6c5b4a-bravo"
private let fileSecret = "FILESECRET-charlie-55d0e1f2"
private let absoluteFileSecret = "ABSFILESECRET-delta-0042"
private let otherInlineSecret = "OTHER-INLINE-SECRET-echo-777"
private let secretInReadError = "READ-ERROR-SECRET-foxtrot"
private let allSecrets = [inlineSecret, envSecret, fileSecret, absoluteFileSecret, otherInlineSecret, secretInReadError]

/// Fragments of the secrets too (a message quoting part of a line still leaks).
private let secretFragments = allSecrets + ["INLINE-a1b2c3", "9f8e7d6c5b4a", "charlie-55d0", "delta-0042", "echo-777", "foxtrot"]

private let baseDirectory = "/etc/obsgate"
private let file = "/etc/obsgate/clients.yaml"

/// The error a failing file read throws; its text carries a secret, so the loader must
/// not pass it on.
struct FakeReadError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot open \(path): permission denied (content starts with \(secretInReadError))" }
}

private func fakeSources(environment: [String: String] = ["OBSGATE_BOB_SECRET": envSecret, "EMPTY_VAR": ""],
                         files: [String: String] = [
                             "/etc/obsgate/secrets/carol.txt": fileSecret + "\n",
                             "/abs/dave.txt": absoluteFileSecret + "\r\n",
                             "/etc/obsgate/empty.txt": "\n",
                             "/etc/obsgate/blank.txt": "",
                         ]) -> ClientCredentials.SecretSources {
    ClientCredentials.SecretSources(
        environment: { environment[$0] },
        readFile: { path in
            guard let text = files[path] else { throw FakeReadError(path: path) }
            return text
        })
}

private func parse(_ yaml: String, baseDirectory: String = baseDirectory,
                   sources: ClientCredentials.SecretSources = fakeSources()) throws(ConfigError) -> ClientCredentials {
    try ClientCredentials.parse(yaml, file: file, baseDirectory: baseDirectory, sources: sources)
}

/// Checks that nothing derived from an error quotes a secret.
private func expectNoSecret(in error: ConfigError, sourceLocation: SourceLocation = #_sourceLocation) {
    for secret in secretFragments {
        #expect(!error.message.contains(secret), "error message leaks a secret: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.description.contains(secret), "error description leaks a secret", sourceLocation: sourceLocation)
        #expect(!String(reflecting: error).contains(secret), "error reflection leaks a secret", sourceLocation: sourceLocation)
    }
}

struct CredentialsErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let line: Int
    let column: Int
    let message: String

    init(_ name: String, line: Int, column: Int, _ message: String, _ yaml: String) {
        self.name = name
        self.yaml = yaml
        self.line = line
        self.column = column
        self.message = message
    }

    var testDescription: String { name }
}

private let clientKeys = "access_key, groups, principal, secret, secret_env, secret_file, upstream_profile"

@Suite("ClientCredentials")
struct ClientCredentialsTests {
    // MARK: - a valid file

    static let validFile = """
        version: 1
        clients:
          - access_key: GWALICE000000000001
            secret: "\(inlineSecret)"
            principal: alice
            groups: [finance, admins]
            upstream_profile: production
          - access_key: GWBOB
            secret_env: OBSGATE_BOB_SECRET
            principal: bob
          - access_key: GWCAROL
            secret_file: secrets/carol.txt
            principal: carol
            groups: []
          - access_key: GWDAVE
            secret_file: /abs/dave.txt
            principal: dave
            groups:
              - ops
            upstream_profile: default
        """

    @Test func validFileWithEverySecretSource() throws {
        let credentials = try parse(Self.validFile)
        #expect(credentials.accessKeyIds == ["GWALICE000000000001", "GWBOB", "GWCAROL", "GWDAVE"])
        #expect(credentials.secret(forAccessKey: "GWALICE000000000001") == inlineSecret)
        #expect(credentials.secret(forAccessKey: "GWBOB") == envSecret)
        #expect(credentials.secret(forAccessKey: "GWCAROL") == fileSecret)        // relative, trailing \n trimmed
        #expect(credentials.secret(forAccessKey: "GWDAVE") == absoluteFileSecret) // absolute, trailing \r\n trimmed
        #expect(credentials.secret(forAccessKey: "GWNOBODY") == nil)
        #expect(credentials.secret(forAccessKey: "gwbob") == nil)                 // access keys are case-sensitive
        #expect(credentials.secret(forAccessKey: "") == nil)

        #expect(credentials.identity(forAccessKey: "GWALICE000000000001") == ClientIdentity(
            accessKeyId: "GWALICE000000000001", principal: "alice", groups: ["finance", "admins"], upstreamProfile: "production"))
        #expect(credentials.identity(forAccessKey: "GWBOB") == ClientIdentity(
            accessKeyId: "GWBOB", principal: "bob", groups: [], upstreamProfile: "default", namesUpstreamProfile: false))
        #expect(credentials.identity(forAccessKey: "GWCAROL") == ClientIdentity(
            accessKeyId: "GWCAROL", principal: "carol", groups: [], upstreamProfile: "default", namesUpstreamProfile: false))
        #expect(credentials.identity(forAccessKey: "GWDAVE") == ClientIdentity(
            accessKeyId: "GWDAVE", principal: "dave", groups: ["ops"], upstreamProfile: "default"))
        #expect(credentials.identity(forAccessKey: "GWNOBODY") == nil)
        #expect(credentials.upstreamProfiles == ["production", "default"])
        #expect(credentials.principalsWithoutProfile == ["bob", "carol"])
    }

    @Test func descriptionIsRedacted() throws {
        let credentials = try parse(Self.validFile)
        #expect(credentials.description == "ClientCredentials(4 clients, secrets redacted)")
        #expect("\(credentials)" == "ClientCredentials(4 clients, secrets redacted)")
        for secret in allSecrets {
            #expect(!credentials.description.contains(secret))
            #expect(!String(describing: credentials).contains(secret))
        }
        for key in credentials.accessKeyIds {
            let identity = try #require(credentials.identity(forAccessKey: key))
            for secret in allSecrets { #expect(!String(describing: identity).contains(secret)) }
        }
    }

    @Test func emptyClientList() throws {
        let credentials = try parse("version: 1\nclients: []\n")
        #expect(credentials.accessKeyIds.isEmpty)
        #expect(credentials.upstreamProfiles.isEmpty)
        #expect(credentials.description == "ClientCredentials(0 clients, secrets redacted)")
    }

    @Test func secretsAreTakenAsWritten() throws {
        let yaml = """
            version: 1
            clients:
              - access_key: K1
                secret: 12345
                principal: p1
              - access_key: K2
                secret: "  spaces kept  "
                principal: p2
              - access_key: K3
                secret: 'true'
                principal: p3
              - access_key: K4
                secret: "a/b+c=d"
                principal: p4
              - access_key: "12345"
                secret: x
                principal: "007"
            """
        let credentials = try parse(yaml)
        #expect(credentials.secret(forAccessKey: "K1") == "12345")
        #expect(credentials.secret(forAccessKey: "K2") == "  spaces kept  ")
        #expect(credentials.secret(forAccessKey: "K3") == "true")
        #expect(credentials.secret(forAccessKey: "K4") == "a/b+c=d")
        #expect(credentials.identity(forAccessKey: "12345")?.principal == "007")
    }

    @Test("secret files: trailing newlines are trimmed, nothing else", arguments: [
        ("secret\n", "secret"),
        ("secret\r\n", "secret"),
        ("secret\n\n\n", "secret"),
        ("\nsecret\n", "\nsecret"),
        ("secret", "secret"),
        ("secret \n", "secret "),
        ("\tsecret\t\n", "\tsecret\t"),
        ("line1\nline2\n", "line1\nline2"),
    ])
    func secretFileTrimming(_ content: String, _ expected: String) throws {
        let yaml = "version: 1\nclients:\n  - access_key: K\n    secret_file: s.txt\n    principal: p\n"
        let credentials = try parse(yaml, sources: fakeSources(files: ["/etc/obsgate/s.txt": content]))
        #expect(credentials.secret(forAccessKey: "K") == expected)
    }

    @Test("relative secret files resolve against the base directory", arguments: [
        ("/etc/obsgate", "s.txt", "/etc/obsgate/s.txt"),
        ("/etc/obsgate/", "s.txt", "/etc/obsgate/s.txt"),
        ("/etc/obsgate", "sub/dir/s.txt", "/etc/obsgate/sub/dir/s.txt"),
        ("/etc/obsgate", "/run/secrets/s.txt", "/run/secrets/s.txt"),
        (".", "s.txt", "./s.txt"),
        ("relative/dir", "s.txt", "relative/dir/s.txt"),
    ])
    func relativeSecretFile(_ base: String, _ path: String, _ resolved: String) throws {
        let yaml = "version: 1\nclients:\n  - access_key: K\n    secret_file: \(path)\n    principal: p\n"
        let credentials = try parse(yaml, baseDirectory: base, sources: fakeSources(files: [resolved: "S"]))
        #expect(credentials.secret(forAccessKey: "K") == "S")
    }

    @Test func defaultBaseDirectoryIsTheCurrentDirectory() throws {
        let yaml = "version: 1\nclients:\n  - access_key: K\n    secret_file: s.txt\n    principal: p\n"
        let credentials = try ClientCredentials.parse(yaml, file: "c.yaml", sources: fakeSources(files: ["./s.txt": "S"]))
        #expect(credentials.secret(forAccessKey: "K") == "S")
    }

    @Test func secretEnvironmentIsLookedUpByName() throws {
        let yaml = "version: 1\nclients:\n  - access_key: K\n    secret_env: MY_VAR\n    principal: p\n"
        let credentials = try parse(yaml, sources: fakeSources(environment: ["MY_VAR": " value with spaces \n"]))
        // Environment values are taken as they are (only files lose their final newline).
        #expect(credentials.secret(forAccessKey: "K") == " value with spaces \n")
    }

    // MARK: - errors

    static let errorCases: [CredentialsErrorCase] = [
        CredentialsErrorCase("empty file", line: 1, column: 1, "the document is empty", ""),
        CredentialsErrorCase("not a mapping", line: 1, column: 1, "expected a mapping (key: value), found a list", "- a\n"),
        CredentialsErrorCase("version missing", line: 1, column: 1, "missing required key 'version'", "clients: []\n"),
        CredentialsErrorCase("clients missing", line: 1, column: 1, "missing required key 'clients'", "version: 1\n"),
        CredentialsErrorCase("version 2", line: 1, column: 10, "version: only version 1 is supported", "version: 2\nclients: []\n"),
        CredentialsErrorCase("version 0", line: 2, column: 10, "version: only version 1 is supported", "clients: []\nversion: 0\n"),
        CredentialsErrorCase("version quoted", line: 1, column: 10, "version: expected an integer", "version: \"1\"\nclients: []\n"),
        CredentialsErrorCase("version 1.0", line: 1, column: 10, "version: expected an integer", "version: 1.0\nclients: []\n"),
        CredentialsErrorCase("version empty", line: 1, column: 9, "version: expected an integer", "version:\nclients: []\n"),
        CredentialsErrorCase("unknown top-level key", line: 3, column: 1,
                             "unknown key 'client' (expected one of: clients, version)", "version: 1\nclients: []\nclient: []\n"),
        CredentialsErrorCase("clients is a mapping", line: 2, column: 10, "clients: expected a list, found a mapping", "version: 1\nclients: {}\n"),
        CredentialsErrorCase("clients is null", line: 2, column: 9, "clients: expected a list, found a scalar", "version: 1\nclients:\n"),
        CredentialsErrorCase("client is a scalar", line: 3, column: 5, "clients[0]: expected a mapping (key: value), found a scalar",
                             "version: 1\nclients:\n  - GWALICE\n"),
        CredentialsErrorCase("unknown client key", line: 6, column: 5, "clients[0]: unknown key 'secrte' (expected one of: \(clientKeys))", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
                secrte: \(otherInlineSecret)
            """),
        CredentialsErrorCase("access_key missing", line: 3, column: 5, "clients[0]: missing required key 'access_key'", """
            version: 1
            clients:
              - secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("principal missing", line: 3, column: 5, "clients[0]: missing required key 'principal'", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
            """),
        CredentialsErrorCase("access key given twice", line: 6, column: 17, "clients[1].access_key: access key 'GWALICE' is already defined", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
              - access_key: GWALICE
                secret: \(otherInlineSecret)
                principal: bob
            """),
        CredentialsErrorCase("principal given twice", line: 8, column: 16,
                             "clients[1].principal: principal 'alice' already has an access key; give each principal one entry", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
              - access_key: GWALICE2
                secret: \(otherInlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("no secret at all", line: 3, column: 5,
                             "clients[0]: give exactly one of secret, secret_env or secret_file (found none)", """
            version: 1
            clients:
              - access_key: GWALICE
                principal: alice
            """),
        CredentialsErrorCase("secret and secret_env", line: 3, column: 5,
                             "clients[0]: give exactly one of secret, secret_env or secret_file (found secret, secret_env)", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                secret_env: OBSGATE_BOB_SECRET
                principal: alice
            """),
        CredentialsErrorCase("secret_env and secret_file", line: 3, column: 5,
                             "clients[0]: give exactly one of secret, secret_env or secret_file (found secret_env, secret_file)", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: secrets/carol.txt
                secret_env: OBSGATE_BOB_SECRET
                principal: alice
            """),
        CredentialsErrorCase("all three secret sources", line: 3, column: 5,
                             "clients[0]: give exactly one of secret, secret_env or secret_file (found secret, secret_env, secret_file)", """
            version: 1
            clients:
              - principal: alice
                secret_file: secrets/carol.txt
                secret: \(inlineSecret)
                access_key: GWALICE
                secret_env: OBSGATE_BOB_SECRET
            """),
        CredentialsErrorCase("unset environment variable", line: 4, column: 17,
                             "clients[0].secret_env: environment variable ALICE_SECRET is not set", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_env: ALICE_SECRET
                principal: alice
            """),
        CredentialsErrorCase("empty environment variable", line: 4, column: 17, "clients[0].secret_env: the secret is empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_env: EMPTY_VAR
                principal: alice
            """),
        CredentialsErrorCase("empty environment variable name", line: 4, column: 17, "clients[0].secret_env: must not be empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_env: ""
                principal: alice
            """),
        CredentialsErrorCase("unreadable secret file", line: 4, column: 18,
                             "clients[0].secret_file: cannot read secret file /etc/obsgate/missing.txt", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: missing.txt
                principal: alice
            """),
        CredentialsErrorCase("unreadable absolute secret file", line: 4, column: 18,
                             "clients[0].secret_file: cannot read secret file /nonexistent/s.txt", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: /nonexistent/s.txt
                principal: alice
            """),
        CredentialsErrorCase("secret file with only a newline", line: 4, column: 18, "clients[0].secret_file: the secret is empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: empty.txt
                principal: alice
            """),
        CredentialsErrorCase("empty secret file", line: 4, column: 18, "clients[0].secret_file: the secret is empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: blank.txt
                principal: alice
            """),
        CredentialsErrorCase("empty secret_file path", line: 4, column: 18, "clients[0].secret_file: must not be empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret_file: ''
                principal: alice
            """),
        CredentialsErrorCase("empty inline secret", line: 4, column: 13, "clients[0].secret: the secret is empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: ""
                principal: alice
            """),
        CredentialsErrorCase("null inline secret", line: 4, column: 12, "clients[0].secret: the secret is empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret:
                principal: alice
            """),
        CredentialsErrorCase("secret is a list", line: 4, column: 13, "clients[0].secret: expected a string, found a list", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: [\(inlineSecret)]
                principal: alice
            """),
        CredentialsErrorCase("secret is a mapping", line: 5, column: 7, "clients[0].secret: expected a string, found a mapping", """
            version: 1
            clients:
              - access_key: GWALICE
                secret:
                  value: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key with a space", line: 3, column: 17,
                             "clients[0].access_key: an access key is printable ASCII without spaces or '/'", """
            version: 1
            clients:
              - access_key: "GW ALICE"
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key with a slash", line: 3, column: 17,
                             "clients[0].access_key: an access key is printable ASCII without spaces or '/'", """
            version: 1
            clients:
              - access_key: GW/ALICE
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key with non-ASCII", line: 3, column: 17,
                             "clients[0].access_key: an access key is printable ASCII without spaces or '/'", """
            version: 1
            clients:
              - access_key: GWÄLICE
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key with a tab", line: 3, column: 17,
                             "clients[0].access_key: an access key is printable ASCII without spaces or '/'", """
            version: 1
            clients:
              - access_key: "GW\\tALICE"
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key with DEL", line: 3, column: 17,
                             "clients[0].access_key: an access key is printable ASCII without spaces or '/'", """
            version: 1
            clients:
              - access_key: "GW\\x7FALICE"
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("empty access key", line: 3, column: 17, "clients[0].access_key: must not be empty", """
            version: 1
            clients:
              - access_key: ""
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("access key is a list", line: 3, column: 17, "clients[0].access_key: expected a string, found a list", """
            version: 1
            clients:
              - access_key: [GWALICE]
                secret: \(inlineSecret)
                principal: alice
            """),
        CredentialsErrorCase("empty principal", line: 5, column: 16, "clients[0].principal: must not be empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: ''
            """),
        CredentialsErrorCase("groups is a scalar", line: 6, column: 13, "clients[0].groups: expected a list, found a scalar", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
                groups: finance
            """),
        CredentialsErrorCase("group is empty", line: 6, column: 23, "clients[0].groups[1]: must not be empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
                groups: [finance, "", ops]
            """),
        CredentialsErrorCase("empty upstream profile", line: 6, column: 23, "clients[0].upstream_profile: must not be empty", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
                upstream_profile: ""
            """),
        CredentialsErrorCase("error in the fourth client", line: 13, column: 17,
                             "clients[3].secret_env: environment variable NOT_SET is not set", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
                principal: alice
              - access_key: GWBOB
                secret_env: OBSGATE_BOB_SECRET
                principal: bob
              - access_key: GWCAROL
                secret_file: secrets/carol.txt
                principal: carol
              - access_key: GWEVE
                secret_env: NOT_SET
                principal: eve
            """),
        CredentialsErrorCase("invalid YAML", line: 5, column: 4,
                             "invalid YAML: while parsing a block collection: did not find expected '-' indicator", """
            version: 1
            clients:
              - access_key: GWALICE
                secret: \(inlineSecret)
               principal: alice
            """),
    ]

    @Test("errors carry file:line:column and the key path", arguments: errorCases)
    func error(_ testCase: CredentialsErrorCase) throws {
        let error = try #require(throws: ConfigError.self) { try parse(testCase.yaml) }
        #expect(error.file == file)
        #expect(error.line == testCase.line)
        #expect(error.column == testCase.column)
        #expect(error.message == testCase.message)
        #expect(error.description == "\(file):\(testCase.line):\(testCase.column): error: \(testCase.message)")
        expectNoSecret(in: error)
    }

    /// Every error a file that holds secrets can produce, with valid clients around the bad
    /// entry: no message, description or reflection may quote any secret.
    static let secretHeavyPreamble = """
        version: 1
        clients:
          - access_key: GWALICE
            secret: "\(inlineSecret)"
            principal: alice
          - access_key: GWBOB
            secret_env: OBSGATE_BOB_SECRET
            principal: bob
          - access_key: GWCAROL
            secret_file: secrets/carol.txt
            principal: carol
          - access_key: GWDAVE
            secret_file: /abs/dave.txt
            principal: dave

        """

    static let badEntries: [String] = [
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: x\n    bogus: \(otherInlineSecret)\n",
        "  - access_key: GWALICE\n    secret: \(otherInlineSecret)\n    principal: x\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: alice\n",
        "  - access_key: GWX\n    principal: x\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    secret_env: OBSGATE_BOB_SECRET\n    principal: x\n",
        "  - access_key: GWX\n    secret_env: UNSET\n    principal: x\n",
        "  - access_key: GWX\n    secret_env: EMPTY_VAR\n    principal: x\n",
        "  - access_key: GWX\n    secret_file: nope.txt\n    principal: x\n",
        "  - access_key: GWX\n    secret_file: empty.txt\n    principal: x\n",
        "  - access_key: \"GW X\"\n    secret: \(otherInlineSecret)\n    principal: x\n",
        "  - access_key: GWX\n    secret: [\(otherInlineSecret)]\n    principal: x\n",
        "  - access_key: GWX\n    secret:\n      nested: \(otherInlineSecret)\n    principal: x\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: x\n    groups: \(otherInlineSecret)\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: [x]\n",
        "  - access_key: GWX\n    secret: \"\(otherInlineSecret)\n",                                  // unterminated quote
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n   principal: x\n",                   // bad indentation
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: x\n\tgroups: []\n",   // tab
        "  - access_key: GWX\n    secret: '\(otherInlineSecret)' extra\n    principal: x\n",
        "  - \(otherInlineSecret)\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: x\nversion: 2\n",     // duplicate top-level key
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    principal: x\n    principal: y\n", // duplicate client key
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\n    secret: \(otherInlineSecret)\n    principal: x\n",
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\u{7}\n    principal: x\n",           // control character
        "  - access_key: GWX\n    secret: \(otherInlineSecret)\u{0}\n    principal: x\n",
        "  - access_key: GWX\n    secret: \"\(otherInlineSecret)\\q\"\n    principal: x\n",          // bad escape
    ]

    @Test("no error ever quotes a secret", arguments: badEntries)
    func noErrorLeaksASecret(_ badEntry: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(Self.secretHeavyPreamble + badEntry) }
        expectNoSecret(in: error)
        // Secrets in the environment and in files that were read before the failure do not
        // leak either, and the file name is always the credentials file.
        #expect(error.file == file)
    }

    @Test func readErrorTextIsNotPassedOn() throws {
        let yaml = "version: 1\nclients:\n  - access_key: K\n    secret_file: locked.txt\n    principal: p\n"
        let error = try #require(throws: ConfigError.self) { try parse(yaml) }
        #expect(error.message == "clients[0].secret_file: cannot read secret file /etc/obsgate/locked.txt")
        expectNoSecret(in: error)
    }

    /// A key given twice inside a client entry is caught while the YAML is composed; the
    /// error must still point into the entry, not at 1:1.
    @Test func duplicateKeyInsideAClientIsLocated() throws {
        let yaml = """
            version: 1
            clients:
              - access_key: GWALICE
                secret: "\(inlineSecret)"
                principal: alice
                principal: mallory
            """
        let error = try #require(throws: ConfigError.self) { try parse(yaml) }
        #expect([(5, 5), (6, 5)].contains { $0 == (error.line, error.column) }, "reported at \(error.line):\(error.column)")
        #expect(error.message.contains("'principal'"))
        expectNoSecret(in: error)
    }

    // MARK: - load(path:)

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("obsgate-credentials-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func loadReadsARealFileAndResolvesSecretFilesBesideIt() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("secrets"), withIntermediateDirectories: true)
        try (fileSecret + "\n").write(to: directory.appendingPathComponent("secrets/carol.txt"), atomically: true, encoding: .utf8)
        let yaml = """
            version: 1
            clients:
              - access_key: GWALICE
                secret: "\(inlineSecret)"
                principal: alice
                groups: [finance]
              - access_key: GWCAROL
                secret_file: secrets/carol.txt
                principal: carol
            """
        let path = directory.appendingPathComponent("clients.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)

        let credentials = try ClientCredentials.load(path: path)
        #expect(credentials.accessKeyIds == ["GWALICE", "GWCAROL"])
        #expect(credentials.secret(forAccessKey: "GWALICE") == inlineSecret)
        #expect(credentials.secret(forAccessKey: "GWCAROL") == fileSecret)
        #expect(credentials.identity(forAccessKey: "GWALICE")?.groups == ["finance"])
        #expect(credentials.identity(forAccessKey: "GWCAROL")?.upstreamProfile == "default")
    }

    @Test func loadUsesTheGivenSources() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("clients.yaml").path
        try "version: 1\nclients:\n  - access_key: GWBOB\n    secret_env: OBSGATE_BOB_SECRET\n    principal: bob\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let credentials = try ClientCredentials.load(path: path, sources: fakeSources())
        #expect(credentials.secret(forAccessKey: "GWBOB") == envSecret)
    }

    @Test func loadErrorsNameTheFileAndItsPlace() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("clients.yaml").path
        try "version: 1\nclients:\n  - access_key: GWALICE\n    secret_file: missing.txt\n    principal: alice\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try ClientCredentials.load(path: path) }
        #expect(error.file == path)
        #expect(error.line == 4)
        #expect(error.column == 18)
        #expect(error.message == "clients[0].secret_file: cannot read secret file \(directory.path)/missing.txt")
        #expect(error.description.hasPrefix("\(path):4:18: error: clients[0].secret_file: "))
    }

    @Test func loadOfAMissingFile() throws {
        let path = "/nonexistent-\(UUID().uuidString)/clients.yaml"
        let error = try #require(throws: ConfigError.self) { try ClientCredentials.load(path: path) }
        #expect(error.file == path)
        #expect(error.line == 1)
        #expect(error.column == 1)
        #expect(error.message.hasPrefix("cannot read the client credentials file: "))
    }

    @Test func loadOfADirectory() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(throws: ConfigError.self) { try ClientCredentials.load(path: directory.path) }
        #expect(error.file == directory.path)
        #expect(error.message.hasPrefix("cannot read the client credentials file: "))
    }

    @Test func loadOfAnEmptyFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("clients.yaml").path
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try ClientCredentials.load(path: path) }
        #expect(error == ConfigError(file: path, line: 1, column: 1, message: "the document is empty"))
    }
}
