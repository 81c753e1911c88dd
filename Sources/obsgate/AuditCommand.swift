import ArgumentParser
import Audit
import Foundation

/// `obsgate audit verify FILE...`: checks the hash chain of audit files and reports the
/// first line where it breaks, compiler style.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Work with audit trail files.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the hash chain of audit files; exit 0 when intact, 1 at the first break.",
            discussion: """
                Give rotated files oldest first (audit.log.3 audit.log.2 audit.log.1 audit.log): \
                each must continue the one before it. For each intact file it prints the number \
                of records, the sequence range and the last hash; keep the newest last hash \
                elsewhere to detect lines removed from the end later.
                """)

        @Argument(help: "Audit files, oldest first.")
        var files: [String]

        func run() throws {
            var verifier = AuditChainVerifier()
            for file in files {
                do throws(AuditChainBreak) {
                    let summary = try verifier.verify(fileAt: file)
                    let prev = summary.anchor == .newChain ? "new chain" : "\(summary.anchor.rawValue) after \(summary.anchorPrev)"
                    print("\(file): ok, \(summary.records) records, seq \(summary.firstSeq)–\(summary.lastSeq) (\(prev)), last hash \(summary.lastHash)")
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
    }
}
