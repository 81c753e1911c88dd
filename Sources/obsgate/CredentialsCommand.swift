import ArgumentParser
struct CredentialsCommand: ParsableCommand {}
