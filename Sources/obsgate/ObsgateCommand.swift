import ArgumentParser

/// The `obsgate` command line: one subcommand per job the gateway does.
@main
struct ObsgateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obsgate",
        abstract: "A policy gateway for S3-compatible object storage (Huawei OBS, Ceph, ...).",
        discussion: """
            obsgate verifies each client's signature against gateway-issued keys, enforces \
            the organisation's upload policy, re-signs the request with upstream credentials \
            and streams it to the store.
            """,
        version: ObsgateVersion.current,
        subcommands: [ServeCommand.self, DemoCommand.self, PolicyCommand.self, CredentialsCommand.self,
                      DevUpstreamCommand.self, AuditCommand.self]
    )
}

enum ObsgateVersion {
    static let current = "0.1.0"
}
