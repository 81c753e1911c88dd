import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends sealed lines to a file by path (append-only, reopened when its path no longer
/// names it, rotated by size) or to an inherited descriptor (standard output).
///
/// The chain advances only past lines written whole. After any failure the descriptor is
/// closed; the next write reopens, and a line cut off by the failure (or by a crash) is
/// cut from the end of the file first — it was never acknowledged — so the file's last
/// line is again the chain's last line.
final class AuditFileSink: AuditSink {
    enum Target {
        case file(path: String, maxBytes: Int64?, keep: Int)
        /// Written through a duplicate of the descriptor; its chain starts once per process.
        case stream(fd: Int32, name: String)
    }

    /// Lines are written in chunks of about this many bytes.
    static let chunkBytes = 1 << 20
    /// A last line longer than this is not one the writer wrote.
    static let maxLineBytes: Int64 = 16 << 20

    private let target: Target
    private let now: @Sendable () -> Date
    private var fd: Int32 = -1
    private var size: Int64 = 0
    private var syncs = true
    private var chain: AuditChain?
    private var reopenRequested = false
    /// The anchor of the next file created at the path.
    private var nextAnchor = AuditAnchor.Reason.reopen
    /// Set while the file's directory is read-only: the lines still go to the open file,
    /// but the trail cannot create its next file (rotation, reopen), so every write
    /// reports it and the writer stays unhealthy — fail-closed protects before records
    /// are lost rather than at the next rotation.
    private var directoryError: AuditIOError?

    /// Opens the sink now, so that a path that cannot be written is a start-up error.
    init(_ target: Target, now: @escaping @Sendable () -> Date) throws(AuditIOError) {
        self.target = target
        self.now = now
        if case .stream = target { _ = signal(SIGPIPE, SIG_IGN) }
        try ensureOpen()
    }

    private var name: String {
        switch target {
        case .file(let path, _, _): path
        case .stream(_, let name): name
        }
    }

    func requestReopen() {
        if case .file = target { reopenRequested = true }
    }

    func close() {
        if fd >= 0 { POSIXFile.closeQuietly(fd) }
        fd = -1
    }

    func sync() -> AuditIOError? {
        guard fd >= 0, syncs else { return nil }
        do {
            try POSIXFile.sync(fd, path: name)
            return nil
        } catch {
            close()
            return error
        }
    }

    func write(_ records: ArraySlice<AuditRecord>) -> (written: Int, error: AuditIOError?) {
        do throws(AuditIOError) { try ensureOpen() } catch { return (0, error) }
        var batch = Batch()
        var written = 0
        for record in records {
            var next = batch.chain ?? chain!
            let line: [UInt8]
            do {
                line = try next.seal(record)
            } catch {
                // Not reachable with the record's types; the record is given up, not retried.
                if let failure = flush(&batch, written: &written) { return (written, failure) }
                return (written + 1, AuditIOError(path: name, message: "cannot encode a record: \(error)"))
            }
            batch.add(line, chain: next)
            if batch.bytes.count >= Self.chunkBytes || rotationDue(after: batch.bytes.count) {
                if let failure = flush(&batch, written: &written) { return (written, failure) }
            }
        }
        let failure = flush(&batch, written: &written)
        return (written, failure ?? directoryError)
    }

    /// Lines sealed but not yet written, with the chain after each.
    private struct Batch {
        var bytes: [UInt8] = []
        var ends: [(end: Int, chain: AuditChain)] = []
        var chain: AuditChain? { ends.last?.chain }

        mutating func add(_ line: [UInt8], chain: AuditChain) {
            bytes += line
            bytes.append(UInt8(ascii: "\n"))
            ends.append((bytes.count, chain))
        }
    }

    /// Writes the batch; counts and commits the lines that made it whole.
    private func flush(_ batch: inout Batch, written: inout Int) -> AuditIOError? {
        guard !batch.bytes.isEmpty else { return nil }
        defer { batch = Batch() }
        let (count, error) = POSIXFile.writeAll(fd, batch.bytes, path: name)
        size += Int64(count)
        for end in batch.ends where end.end <= count {
            chain = end.chain
            written += 1
        }
        if let error {
            close()
            return error
        }
        if rotationDue(after: 0) {
            do throws(AuditIOError) { try rotate() } catch { return error }
        }
        return nil
    }

    private func rotationDue(after pending: Int) -> Bool {
        guard case .file(_, let maxBytes?, _) = target else { return false }
        return size + Int64(pending) >= maxBytes
    }

    /// `path.(keep-1)` → `path.keep`, …, `path` → `path.1`, then a new `path` whose anchor
    /// names the last line of the old one. The old file is made durable before it is renamed.
    private func rotate() throws(AuditIOError) {
        guard case .file(let path, _, let keep) = target else { return }
        if let error = sync() { throw error }
        close()
        for index in stride(from: keep - 1, through: 1, by: -1) {
            try POSIXFile.renameIfPresent("\(path).\(index)", to: "\(path).\(index + 1)")
        }
        try POSIXFile.renameIfPresent(path, to: "\(path).1")
        nextAnchor = .rotation
        try ensureOpen()
    }

    private func ensureOpen() throws(AuditIOError) {
        switch target {
        case .file(let path, _, _):
            // Reopened by path when asked, when the path names another file (moved away,
            // removed, replaced) or when the file is not as this sink left it (truncated by
            // logrotate's copytruncate, appended to by someone else).
            if fd >= 0, reopenRequested || !POSIXFile.names(path, fileOpenAs: fd)
                || (try? POSIXFile.size(fd, path: path)) != size {
                // What went to the old file is made durable before it is let go.
                if let error = sync() { throw error }
                close()
            }
            reopenRequested = false
            if fd < 0 { try openFile(path) }
            guard POSIXFile.isWritable(path) else {
                close()
                throw .last("write", path)
            }
            let directory = POSIXFile.directory(of: path)
            directoryError = POSIXFile.isWritable(directory) ? nil : .last("create files", directory)
        case .stream(let original, let name):
            guard fd < 0 else { return }
            fd = try POSIXFile.duplicate(original, name: name)
            syncs = POSIXFile.isRegularFile(fd)
            if chain == nil {
                chain = AuditChain()
                try writeAnchor(.newChain)
            }
        }
    }

    /// Opens the file for appending. A file with content continues its own chain (after its
    /// cut-off tail, if any, is removed); an empty or new one gets an anchor first.
    private func openFile(_ path: String) throws(AuditIOError) {
        let descriptor = try POSIXFile.openForAppending(path)
        do throws(AuditIOError) {
            var length = try POSIXFile.size(descriptor, path: path)
            if length > 0 {
                let tail = try Self.lastCompleteLine(path, size: length)
                if tail.end < length {
                    try POSIXFile.truncate(descriptor, to: tail.end, path: path)
                    length = tail.end
                }
                if let line = tail.line {
                    guard let continued = AuditChain(continuingAfter: line) else {
                        throw AuditIOError(path: path, message: "the file does not end with an audit record; move it away or choose another path")
                    }
                    chain = continued
                }
            }
            fd = descriptor
            size = length
            syncs = true
            if length == 0 {
                let reason = chain == nil ? AuditAnchor.Reason.newChain : nextAnchor
                if chain == nil { chain = AuditChain() }
                try writeAnchor(reason)
                try POSIXFile.syncDirectory(of: path)
            }
            nextAnchor = .reopen
        } catch {
            POSIXFile.closeQuietly(descriptor)
            fd = -1
            throw error
        }
    }

    private func writeAnchor(_ reason: AuditAnchor.Reason) throws(AuditIOError) {
        var next = chain!
        let line: [UInt8]
        do {
            line = try next.seal(AuditAnchor(reason, time: AuditTimestamp(now())))
        } catch {
            throw AuditIOError(path: name, message: "cannot encode the anchor: \(error)")
        }
        let (count, error) = POSIXFile.writeAll(fd, line + [UInt8(ascii: "\n")], path: name)
        size += Int64(count)
        if let error { throw error }
        chain = next
        if syncs { try POSIXFile.sync(fd, path: name) }
    }

    /// The last newline-terminated line of a file, and the offset after it (where a
    /// cut-off line, if any, starts).
    static func lastCompleteLine(_ path: String, size: Int64) throws(AuditIOError) -> (line: [UInt8]?, end: Int64) {
        let fd = try POSIXFile.openForReading(path)
        defer { POSIXFile.closeQuietly(fd) }
        let newline = UInt8(ascii: "\n")
        var start = size
        var tail: [UInt8] = []
        while start > 0 {
            let from = max(0, start - 65536)
            tail = try POSIXFile.readExactly(fd, count: Int(start - from), at: from, path: path) + tail
            start = from
            if let last = tail.lastIndex(of: newline), tail[..<last].contains(newline) { break }
            guard size - start <= maxLineBytes else {
                throw AuditIOError(path: path, message: "the file does not end with an audit record; move it away or choose another path")
            }
        }
        guard let last = tail.lastIndex(of: newline) else { return (nil, 0) }
        let first = tail[..<last].lastIndex(of: newline).map { $0 + 1 } ?? 0
        return (Array(tail[first..<last]), start + Int64(last) + 1)
    }
}
