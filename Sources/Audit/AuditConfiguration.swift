import Foundation
import YAMLConfig

/// The `audit:` section of the gateway configuration (docs/audit.md lists every key):
///
///     audit:
///       sinks:
///         - {type: file, path: /var/log/obsgate/audit.log, max_bytes: 104857600, keep: 10}
///         - {type: stdout}
///       flush: batch            # per-record | batch
///       batch_max_ms: 100
///       queue_capacity: 10000
///       fail_closed: true
///       unauthenticated_refusals: {per_second: 10, burst: 100}
public struct AuditConfiguration: Sendable, Equatable {
    public enum Sink: Sendable, Equatable {
        /// An append-only file; rotated to `path.1` … `path.keep` once it reaches
        /// `maxBytes` (`defaultMaxBytes` unless configured; nil with `max_bytes: 0`).
        case file(path: String, maxBytes: Int64?, keep: Int)
        /// The process's standard output, for container log pipelines.
        case stdout
    }

    public enum Flush: String, Sendable, Equatable, CaseIterable {
        /// Every write is fsync'd before more records are taken (records that queued meanwhile
        /// share the next fsync).
        case perRecord = "per-record"
        /// Records are written as they come and fsync'd together, at most `batch_max_ms` later.
        case batch
    }

    public static let defaultKeep = 5
    public static let defaultBatchMaxMilliseconds = 100
    public static let defaultQueueCapacity = 10_000
    /// A file sink rotates at 256 MiB unless told otherwise: with `keep` 5 the trail takes
    /// at most 1.5 GiB of disk, however it is flooded.
    public static let defaultMaxBytes: Int64 = 256 * 1024 * 1024
    public static let defaultRefusalLimit = AuditRefusalThrottle.Limit(perSecond: 10, burst: 100)

    public var sinks: [Sink]
    public var flush: Flush
    public var batchMaxMilliseconds: Int
    public var queueCapacity: Int
    /// Refuse requests that change stored data with 503 while the audit trail cannot be
    /// written.
    public var failClosed: Bool
    /// How many records of unauthenticated refusals one client address may cause.
    public var refusalLimit: AuditRefusalThrottle.Limit

    public init(sinks: [Sink], flush: Flush = .batch, batchMaxMilliseconds: Int = defaultBatchMaxMilliseconds,
                queueCapacity: Int = defaultQueueCapacity, failClosed: Bool = false,
                refusalLimit: AuditRefusalThrottle.Limit = defaultRefusalLimit) {
        self.sinks = sinks
        self.flush = flush
        self.batchMaxMilliseconds = batchMaxMilliseconds
        self.queueCapacity = queueCapacity
        self.failClosed = failClosed
        self.refusalLimit = refusalLimit
    }

    /// Reads the section. Relative file paths are resolved against `baseDirectory` (the
    /// configuration file's directory) when it is given.
    public static func parse(node: YAMLNode, baseDirectory: String? = nil) throws(ConfigError) -> AuditConfiguration {
        let fields = try node.mapping(allowed: ["sinks", "flush", "batch_max_ms", "queue_capacity", "fail_closed",
                                                "unauthenticated_refusals"],
                                      required: ["sinks"])
        var sinks: [Sink] = []
        for item in try fields.required("sinks").sequence() {
            let sink = try parseSink(item, baseDirectory: baseDirectory)
            let listed = sinks.contains { existing in
                switch (existing, sink) {
                case (.stdout, .stdout): true
                case (.file(let earlier, _, _), .file(let path, _, _)): earlier == path
                default: false
                }
            }
            if listed { throw item.error("this sink is listed twice") }
            sinks.append(sink)
        }
        guard !sinks.isEmpty else { throw (try fields.required("sinks")).error("at least one sink is required") }

        var configuration = AuditConfiguration(sinks: sinks)
        if let flush = fields["flush"] { configuration.flush = try flush.word() }
        if let batch = fields["batch_max_ms"] {
            guard configuration.flush == .batch else { throw batch.error("applies only to flush: batch") }
            configuration.batchMaxMilliseconds = try batch.int(in: 1...60_000)
        }
        if let capacity = fields["queue_capacity"] {
            configuration.queueCapacity = try capacity.int(in: 1...10_000_000)
        }
        if let failClosed = fields["fail_closed"] {
            configuration.failClosed = try failClosed.bool()
        }
        if let limit = fields["unauthenticated_refusals"] {
            let limitFields = try limit.mapping(allowed: ["per_second", "burst"])
            if let perSecond = limitFields["per_second"] {
                configuration.refusalLimit.perSecond = Double(try perSecond.int(in: 1...1_000_000))
            }
            if let burst = limitFields["burst"] { configuration.refusalLimit.burst = Double(try burst.int(in: 1...1_000_000)) }
        }
        return configuration
    }

    private static func parseSink(_ node: YAMLNode, baseDirectory: String?) throws(ConfigError) -> Sink {
        let fields = try node.mapping(allowed: ["type", "path", "max_bytes", "keep"], required: ["type"])
        let typeNode = (try fields.required("type"))
        switch try typeNode.string() {
        case "file":
            guard let pathNode = fields["path"] else { throw node.error("missing required key 'path' for a file sink") }
            var path = try pathNode.nonEmptyString()
            if let baseDirectory { path = resolvedPath(path, relativeTo: baseDirectory) }
            var maxBytes: Int64? = defaultMaxBytes
            if let node = fields["max_bytes"] {
                // 0: never rotate (logrotate or the operator keeps the disk from filling).
                let value = try node.int(in: 0...Int.max)
                guard value == 0 || value >= 4096 else { throw node.error("expected 0 (no rotation) or at least 4096") }
                maxBytes = value == 0 ? nil : Int64(value)
            }
            if let keep = fields["keep"], maxBytes == nil { throw keep.error("applies only with rotation (max_bytes above 0)") }
            let keep = try fields["keep"]?.int(in: 1...1000) ?? defaultKeep
            return .file(path: path, maxBytes: maxBytes, keep: keep)
        case "stdout":
            for key in ["path", "max_bytes", "keep"] {
                if let extra = fields[key] { throw extra.error("applies only to a file sink") }
            }
            return .stdout
        case let other:
            throw typeNode.error("expected file or stdout, found '\(other)'")
        }
    }
}
