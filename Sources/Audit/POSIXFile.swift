#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an audit file could not be read or written: the path and the system's reason (or
/// why its content is not what the writer can append to).
public struct AuditIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// The error of the system call that just failed.
    static func last(_ operation: String, _ path: String) -> AuditIOError {
        AuditIOError(path: path, message: "cannot \(operation): \(String(cString: strerror(errno)))")
    }
}

/// Thin wrappers over the system calls the audit files need. Foundation's FileHandle hides
/// `O_APPEND`, `fsync` results and short writes, which are exactly what matters here.
public enum POSIXFile {
    static func openForReading(_ path: String) throws(AuditIOError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open", path) }
        return fd
    }

    /// Opens for appending, creating the file (mode 0640) when missing. With `O_APPEND`
    /// every write lands at the end, whatever else has the file open.
    static func openForAppending(_ path: String) throws(AuditIOError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .last("open", path) }
        return fd
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    static func readChunk(_ fd: Int32, into buffer: inout [UInt8], path: String) throws(AuditIOError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
            if errno != EINTR { throw .last("read", path) }
        }
    }

    static func readExactly(_ fd: Int32, count: Int, at offset: Int64, path: String) throws(AuditIOError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw .last("read", path) }
            filled += got
        }
        return buffer
    }

    /// Writes as much of `bytes` as the system takes; returns how many bytes were written
    /// before an error, and the error (nil when everything was written). The gateway's log
    /// lines are written with it too.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) -> (written: Int, error: AuditIOError?) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                return (written, .last("write", path))
            }
            written += count
        }
        return (written, nil)
    }

    static func sync(_ fd: Int32, path: String) throws(AuditIOError) {
        guard fsync(fd) == 0 else { throw .last("fsync", path) }
    }

    static func size(_ fd: Int32, path: String) throws(AuditIOError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .last("stat", path) }
        return Int64(info.st_size)
    }

    static func truncate(_ fd: Int32, to size: Int64, path: String) throws(AuditIOError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw .last("truncate", path) }
    }

    /// Renames; a missing source is not an error (rotation shifts files that may not exist yet).
    static func renameIfPresent(_ from: String, to: String) throws(AuditIOError) {
        guard rename(from, to) == 0 || errno == ENOENT else { throw .last("rename", from) }
    }

    static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    }

    /// Makes a created or renamed directory entry durable (POSIX: fsync of the file alone
    /// does not cover its name).
    static func syncDirectory(of path: String) throws(AuditIOError) {
        let directory = directory(of: path)
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .last("fsync", directory) }
    }

    /// Whether `path` still names the file open as `fd`: logrotate (or an operator) may
    /// have moved it away, removed it or put another file in its place.
    static func names(_ path: String, fileOpenAs fd: Int32) -> Bool {
        var byPath = stat()
        var byDescriptor = stat()
        guard stat(path, &byPath) == 0, fstat(fd, &byDescriptor) == 0 else { return false }
        return byPath.st_dev == byDescriptor.st_dev && byPath.st_ino == byDescriptor.st_ino
    }

    /// Whether this process may still write to `path` (its permission can be revoked while
    /// the file is open, and the writer treats that as a failure, not as a loophole).
    static func isWritable(_ path: String) -> Bool {
        access(path, W_OK) == 0
    }

    static func isRegularFile(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// A descriptor of its own for an inherited one (standard output), so the writer can
    /// close and replace it without touching the original.
    static func duplicate(_ fd: Int32, name: String) throws(AuditIOError) -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw .last("duplicate", name) }
        return copy
    }

    /// Closing a file only written with fsync'd writes loses nothing; its result is moot.
    static func closeQuietly(_ fd: Int32) {
        _ = close(fd)
    }
}
