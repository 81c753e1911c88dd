import Foundation
import Testing
@testable import Audit

private func fileWriter(_ path: String, maxBytes: Int64? = nil, keep: Int = 5,
                        flush: AuditConfiguration.Flush = .perRecord) throws -> AuditWriter {
    try AuditWriter(configuration: AuditConfiguration(sinks: [.file(path: path, maxBytes: maxBytes, keep: keep)], flush: flush,
                                                      batchMaxMilliseconds: 10),
                    retryInterval: .milliseconds(50))
}

/// Verifies files as one sequence, oldest first.
private func verifySequence(_ paths: [String]) throws -> [AuditChainVerifier.Summary] {
    var verifier = AuditChainVerifier()
    var summaries: [AuditChainVerifier.Summary] = []
    for path in paths { summaries.append(try verifier.verify(fileAt: path)) }
    return summaries
}

/// The request ids of the records in a file, in order.
private func requestIds(in path: String) -> [String] {
    lines(of: contents(path)).compactMap { try? JSONDecoder().decode(AuditRecord.self, from: Data($0)).requestId }
}

@Suite("AuditWriter file sink")
struct AuditFileSinkTests {
    @Test(arguments: [AuditConfiguration.Flush.perRecord, .batch])
    func rotationKeepsTheChainAcrossFilesAndKeepsKeepFiles(flush: AuditConfiguration.Flush) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let writer = try fileWriter(path, maxBytes: 4096, keep: 2, flush: flush)
        for number in 1...40 { writer.append(sampleRecord(number)) }
        await writer.shutdown()
        #expect(writer.recordsWritten == 40 && writer.recordsDropped == 0)

        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["audit.log", "audit.log.1", "audit.log.2"])
        let files = [path + ".2", path + ".1", path]
        let summaries = try verifySequence(files)
        #expect(summaries.map(\.anchor) == [.rotation, .rotation, .rotation])
        // The newest records, none missing, the last one last.
        let ids = files.flatMap(requestIds(in:))
        let oldest = try #require(ids.first)
        let first = try #require(Int(oldest.dropFirst(3)))
        #expect(ids == (first...40).map { "REQ\($0)" })
        for name in names {
            let size = contents(directory.file(name)).count
            #expect(size < 4096 + 1024, "\(name) has \(size) bytes")
        }
    }

    /// logrotate's `create` mode: the file is renamed, then the gateway gets SIGHUP (or
    /// not: the writer notices the path names another file at its next write).
    @Test(arguments: [true, false])
    func aMovedFileIsReopenedAndTheNewOneContinuesTheChain(signalled: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let writer = try fileWriter(path)
        #expect(await writer.appendAndWait(sampleRecord(1)))
        #expect(await writer.appendAndWait(sampleRecord(2)))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        if signalled { writer.reopen() }
        #expect(await writer.appendAndWait(sampleRecord(3)))
        await writer.shutdown()

        let summaries = try verifySequence([path + ".1", path])
        #expect(summaries.map(\.anchor) == [.newChain, .reopen])
        #expect(requestIds(in: path + ".1") == ["REQ1", "REQ2"])
        #expect(requestIds(in: path) == ["REQ3"])
        #expect(writer.isHealthy && writer.writeErrors == 0)
    }

    /// logrotate's `copytruncate`: the file is emptied in place; the next line written
    /// after it is an anchor, not a record without one.
    @Test func aTruncatedFileStartsWithAnAnchorAgain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let writer = try fileWriter(path)
        #expect(await writer.appendAndWait(sampleRecord(1)))
        let copy = contents(path)
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(await writer.appendAndWait(sampleRecord(2)))
        await writer.shutdown()
        var verifier = AuditChainVerifier()
        _ = try verifier.verify(copy, file: "copy")
        #expect(try verifier.verify(fileAt: path).anchor == .reopen)
    }

    @Test func aRestartContinuesTheFilesChain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        for round in 0..<2 {
            let writer = try fileWriter(path)
            #expect(await writer.appendAndWait(sampleRecord(2 * round + 1)))
            #expect(await writer.appendAndWait(sampleRecord(2 * round + 2)))
            await writer.shutdown()
        }
        let summary = try verifySequence([path])[0]
        #expect(summary.records == 4 && summary.lastSeq == 4)
        #expect(anchors(in: path) == ["new-chain"])
    }

    /// A crash in the middle of a write leaves part of a line; it was never acknowledged,
    /// and the next start cuts it off so the chain goes on from the last whole line.
    @Test func aCutOffLineIsRemovedAtTheNextStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        var writer = try fileWriter(path)
        #expect(await writer.appendAndWait(sampleRecord(1)))
        await writer.shutdown()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"access_key_id":"GWALICE","bucket":"pho"#.utf8))
        handle.closeFile()

        writer = try fileWriter(path)
        #expect(await writer.appendAndWait(sampleRecord(2)))
        await writer.shutdown()
        #expect(try verifySequence([path])[0].records == 2)
        #expect(requestIds(in: path) == ["REQ1", "REQ2"])
    }

    @Test func aFileThatIsNotAnAuditFileIsRefusedAtStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.log")
        try Data("127.0.0.1 - - [01/Jun/2025] GET /\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: AuditIOError.self) { try fileWriter(path) }
        #expect(error.description == "\(path): the file does not end with an audit record; move it away or choose another path")
    }

    @Test func aPathThatCannotBeCreatedIsRefusedAtStart() throws {
        let error = try #require(throws: AuditIOError.self) { try fileWriter("/nonexistent-obsgate-dir/audit.log") }
        #expect(error.description == "/nonexistent-obsgate-dir/audit.log: cannot open: No such file or directory")
    }

    /// Standard output is a descriptor, not a path: its chain starts with the process, it
    /// is never rotated or reopened, and it is fsync'd only when it is a regular file.
    @Test func aStreamGetsANewChainAndEveryRecord() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("stdout.log")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        let sink = try AuditFileSink(.stream(fd: fd, name: "<stdout>"), now: { Date() })
        let writer = AuditWriter(sinks: [sink], flush: .batch, batchMax: .milliseconds(10), capacity: 10,
                                 failClosed: false, retryInterval: .seconds(60))
        for number in 1...3 { #expect(await writer.appendAndWait(sampleRecord(number))) }
        writer.reopen()
        #expect(await writer.appendAndWait(sampleRecord(4)))
        await writer.shutdown()
        close(fd)
        let summary = try verifySequence([path])[0]
        #expect(summary.anchor == .newChain && summary.records == 4)
    }
}
