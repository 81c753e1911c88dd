import ArgumentParser
import Credentials
import Foundation

/// `obsgate credentials check FILE...`: validates client credentials files the way the
/// gateway loads them (including `secret_env` and `secret_file` references) and prints
/// compiler-style errors. Secrets are never printed.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Work with client credentials files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate client credentials files; exit 0 when all are valid, 1 otherwise.")

        @Argument(help: "Client credentials YAML files.")
        var files: [String]

        func run() throws {
            var failed = false
            for file in files {
                do {
                    let credentials = try ClientCredentials.load(path: file)
                    print("\(file): ok, \(credentials.accessKeyIds.count) clients, upstream profiles: \(credentials.upstreamProfiles.sorted().joined(separator: ", "))")
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
