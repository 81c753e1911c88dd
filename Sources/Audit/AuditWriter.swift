import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes audit records to their sinks on a thread of its own, so that no event loop ever
/// waits for a disk.
///
/// `append(_:)` only puts the record in a bounded queue and returns; when the queue is
/// full the record is dropped and counted (`recordsDropped`), unless the caller says the
/// record must be kept (`keepWhenFull`: a request admitted by the fail-closed check).
/// The thread takes whatever is queued, writes it to every sink, and:
/// - with `flush: per-record`, fsyncs after each write, before it takes more records:
///   records that queued during an fsync are written and fsync'd together next (group
///   commit), so no record waits behind more than one fsync and a slow disk is not fsync'd
///   once per record;
/// - with `flush: batch`, fsyncs at most `batch_max_ms` after the first unsynced write.
///   It also lets records gather for up to `linger` (5 ms, or `batch_max_ms` if smaller)
///   before it takes them, and is woken only for the first record of a group: at
///   thousands of requests a second a wake-up and a lock round trip per record cost the
///   event loops more than the write itself.
/// `appendAndWait(_:)` returns once the record is durable in every sink.
///
/// When a sink fails (disk full, permission lost, directory gone), the writer is
/// unhealthy and keeps the unwritten records. Once per `retryInterval` it probes every
/// sink — a failing one is reopened and given its backlog, a healthy one is checked to be
/// still the file at its path and still writable — so it both notices a broken trail
/// while idle and recovers by itself once the trail can be written again.
public final class AuditWriter: @unchecked Sendable {
    // Immutable after init.
    private let sinks: [any AuditSink]
    private let flush: AuditConfiguration.Flush
    private let batchMax: Duration
    private let capacity: Int
    private let failClosed: Bool
    private let retryInterval: Duration
    /// `flush: batch`: how long the first record of a group may wait for others.
    private let linger: Duration
    /// `flush: batch`: a group this large is taken without waiting out `linger`.
    private static let lingerGroupSize = 256
    private let clock = ContinuousClock()

    // Shared with callers; guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Entry] = []
    /// When the oldest queued entry was appended (`flush: batch`).
    private var oldestQueuedAt: ContinuousClock.Instant?
    /// Entries the writer thread has taken but not yet seen durable in every sink.
    private var heldCount = 0
    private var lastOrdinal: UInt64 = 0
    private var reopenRequested = false
    private var stopping = false
    private var stopped = false
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    private let written = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let errors = Atomic<Int>(0)
    private let depth = Atomic<Int>(0)
    private let healthy = Atomic<Bool>(true)
    private let admittedUnhealthy = Atomic<Int>(0)
    private let refusedUnhealthy = Atomic<Int>(0)
    private let lastError = Mutex<AuditIOError?>(nil)

    /// Opens every sink (a path that cannot be written is an error now, not at the first
    /// request) and starts the writer thread. `now` stamps anchor lines.
    public convenience init(configuration: AuditConfiguration, now: @escaping @Sendable () -> Date = { Date() },
                            retryInterval: Duration = .seconds(1)) throws(AuditIOError) {
        var sinks: [any AuditSink] = []
        do throws(AuditIOError) {
            for sink in configuration.sinks {
                switch sink {
                case .file(let path, let maxBytes, let keep):
                    sinks.append(try AuditFileSink(.file(path: path, maxBytes: maxBytes, keep: keep), now: now))
                case .stdout:
                    sinks.append(try AuditFileSink(.stream(fd: STDOUT_FILENO, name: "<stdout>"), now: now))
                }
            }
        } catch {
            sinks.forEach { $0.close() }
            throw error
        }
        self.init(sinks: sinks, flush: configuration.flush,
                  batchMax: .milliseconds(configuration.batchMaxMilliseconds),
                  capacity: configuration.queueCapacity, failClosed: configuration.failClosed,
                  retryInterval: retryInterval)
    }

    init(sinks: [any AuditSink], flush: AuditConfiguration.Flush, batchMax: Duration, capacity: Int,
         failClosed: Bool, retryInterval: Duration) {
        self.sinks = sinks
        self.flush = flush
        self.batchMax = batchMax
        self.capacity = capacity
        self.failClosed = failClosed
        self.retryInterval = retryInterval
        linger = flush == .batch ? min(batchMax, .milliseconds(5)) : .zero
        Thread { [self] in
            // Named from inside: on Linux, Foundation gives the kernel a name set before
            // `start()` only in its own records, and `top -H` or `perf` would show the
            // thread under the name of the one that started it.
            Thread.current.name = "obsgate-audit"
            run()
        }.start()
    }

    // MARK: - Counters (for metrics)

    /// Records durable in every sink.
    public var recordsWritten: Int { written.load(ordering: .relaxed) }
    /// Records given up: the queue was full, the writer was shutting down, or a sink was
    /// still failing at shutdown.
    public var recordsDropped: Int { dropped.load(ordering: .relaxed) }
    /// Records appended and not yet durable in every sink.
    public var queueDepth: Int { depth.load(ordering: .relaxed) }
    /// Failed attempts to open, write or sync a sink.
    public var writeErrors: Int { errors.load(ordering: .relaxed) }
    /// State-changing requests let through while the trail was unhealthy (`fail_closed: false`).
    public var failOpenAdmissions: Int { admittedUnhealthy.load(ordering: .relaxed) }
    /// State-changing requests answered 503 because the trail could not take their record
    /// (`fail_closed: true`: unhealthy, or its queue full).
    public var failClosedRefusals: Int { refusedUnhealthy.load(ordering: .relaxed) }
    /// The most records the queue holds (`queue_capacity`).
    public var queueCapacity: Int { capacity }

    /// False from a failed write, open or sync until a later attempt on that sink succeeds.
    public var isHealthy: Bool { healthy.load(ordering: .relaxed) }

    /// The most recent failure, for the log line that says why the trail is unhealthy.
    public var lastWriteError: AuditIOError? { lastError.withLock { $0 } }

    /// How the fail-closed check answered a request that changes state.
    public enum Admission: Sendable, Equatable {
        /// The trail is healthy and has room: the request's record is kept even if the
        /// queue fills meanwhile (`append(_:keepWhenFull:)`).
        case recorded
        /// The trail is unhealthy or full, and `fail_closed: false` lets the request
        /// through anyway (counted in `failOpenAdmissions`); its record is queued like any
        /// other, and dropped when the queue is full, so memory stays bounded.
        case unrecorded
        /// `fail_closed: true` and the trail cannot take the record: answer 503.
        case refused
    }

    /// The fail-closed check, for a request that changes state (`S3Operation.changesState`),
    /// before it goes upstream.
    public func admitsStateChange() -> Admission {
        if isHealthy && queueDepth < capacity { return .recorded }
        if failClosed {
            refusedUnhealthy.add(1, ordering: .relaxed)
            return .refused
        }
        admittedUnhealthy.add(1, ordering: .relaxed)
        return .unrecorded
    }

    // MARK: - Appending

    /// Queues the record and returns at once. False when it was dropped: the queue was full
    /// (and `keepWhenFull` was not set) or the writer is shutting down.
    @discardableResult
    public func append(_ record: consuming AuditRecord, keepWhenFull: Bool = false) -> Bool {
        enqueue(record, keepWhenFull: keepWhenFull, waiter: nil)
    }

    /// Queues the record and returns once it is written and fsync'd in every sink (true),
    /// or false when it was dropped or a write or sync error hit it first — a record that
    /// was not written then stays queued and is written once the sink recovers.
    @discardableResult
    public func appendAndWait(_ record: AuditRecord, keepWhenFull: Bool = false) async -> Bool {
        await withCheckedContinuation { continuation in
            if !enqueue(record, keepWhenFull: keepWhenFull, waiter: continuation) {
                continuation.resume(returning: false)
            }
        }
    }

    /// Reopens file sinks by their path before the next write: call it on SIGHUP after
    /// logrotate moved the file. (Moves are also noticed without it, at the next write or
    /// probe.)
    public func reopen() {
        condition.lock()
        reopenRequested = true
        condition.signal()
        condition.unlock()
    }

    /// Writes and syncs everything queued, closes the sinks and stops the thread. Records
    /// appended afterwards are dropped.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if stopped {
                condition.unlock()
                continuation.resume()
                return
            }
            stopping = true
            stopWaiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    /// The record is consumed, not copied: it is one struct of some thirty strings.
    private func enqueue(_ record: consuming AuditRecord, keepWhenFull: Bool,
                         waiter: CheckedContinuation<Bool, Never>?) -> Bool {
        record.capValues()
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, keepWhenFull || queue.count + heldCount < capacity else {
            dropped.add(1, ordering: .relaxed)
            return false
        }
        lastOrdinal += 1
        let first = queue.isEmpty
        queue.append(Entry(ordinal: lastOrdinal, record: record, waiter: waiter))
        depth.store(queue.count + heldCount, ordering: .relaxed)
        if first { oldestQueuedAt = clock.now }
        // The writer waits out the linger on its own; it needs waking only to start one, to
        // end it early (a full group, a caller waiting), or when it does not linger at all.
        if first || linger == .zero || waiter != nil || queue.count >= Self.lingerGroupSize {
            condition.signal()
        }
        return true
    }

    // MARK: - The writer thread

    struct Entry {
        let ordinal: UInt64
        let record: AuditRecord
        var waiter: CheckedContinuation<Bool, Never>?
    }

    /// One sink's progress, by entry ordinal.
    private struct SinkProgress {
        var writtenThrough: UInt64 = 0
        var syncedThrough: UInt64 = 0
        /// When the oldest written-but-unsynced line was written (`flush: batch`).
        var unsyncedSince: ContinuousClock.Instant?
        var failing = false
    }

    /// Whether the queued records should wait for more (called with the lock held).
    private func lingering(now: ContinuousClock.Instant) -> Bool {
        guard linger > .zero, let oldest = oldestQueuedAt, queue.count < Self.lingerGroupSize,
              oldest + linger > now
        else { return false }
        return !queue.contains { $0.waiter != nil }
    }

    private func run() {
        var held: [Entry] = []
        var progress = Array(repeating: SinkProgress(), count: sinks.count)
        var nextProbe = clock.now + retryInterval
        while true {
            condition.lock()
            while !stopping && !reopenRequested && (queue.isEmpty || lingering(now: clock.now)) {
                let syncDue = flush == .batch ? progress.compactMap(\.unsyncedSince).min().map { $0 + batchMax } : nil
                let lingerEnds = queue.isEmpty ? nil : oldestQueuedAt.map { $0 + linger }
                let wake = [nextProbe, syncDue, lingerEnds].compactMap { $0 }.min()!
                let remaining = clock.now.duration(to: wake)
                if remaining <= .zero { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: remaining.seconds))
            }
            held.append(contentsOf: queue)
            queue.removeAll(keepingCapacity: true)
            oldestQueuedAt = nil
            heldCount = held.count
            let reopen = reopenRequested
            reopenRequested = false
            let stop = stopping
            condition.unlock()

            let now = clock.now
            let probe = now >= nextProbe || reopen || stop
            if probe { nextProbe = now + retryInterval }
            if reopen { sinks.forEach { $0.requestReopen() } }
            for index in sinks.indices {
                write(&held, to: index, progress: &progress[index], probe: probe, stop: stop, now: now)
            }

            let durable = progress.map(\.syncedThrough).min() ?? .max
            let done = held.prefix { $0.ordinal <= durable }.count
            for entry in held[..<done] { entry.waiter?.resume(returning: true) }
            held.removeFirst(done)
            written.add(done, ordering: .relaxed)
            healthy.store(!progress.contains { $0.failing }, ordering: .relaxed)

            if stop {
                dropped.add(held.count, ordering: .relaxed)
                for entry in held { entry.waiter?.resume(returning: false) }
                sinks.forEach { $0.close() }
                condition.lock()
                heldCount = 0
                depth.store(queue.count, ordering: .relaxed)
                stopped = true
                let waiters = stopWaiters
                stopWaiters = []
                condition.unlock()
                waiters.forEach { $0.resume() }
                return
            }
            condition.lock()
            heldCount = held.count
            depth.store(queue.count + heldCount, ordering: .relaxed)
            condition.unlock()
        }
    }

    /// Gives one sink what it has not written yet, and syncs it when due.
    private func write(_ held: inout [Entry], to index: Int, progress: inout SinkProgress, probe: Bool, stop: Bool,
                       now: ContinuousClock.Instant) {
        let first = held.firstIndex { $0.ordinal > progress.writtenThrough } ?? held.endIndex
        let pending = held[first...]
        if (!progress.failing && !pending.isEmpty) || probe {
            let result = sinks[index].write(ArraySlice(pending.map(\.record)))
            progress.writtenThrough += UInt64(result.written)
            if let error = result.error ?? (flush == .perRecord && result.written > 0 ? sinks[index].sync() : nil) {
                failed(&held, &progress, error)
                return
            }
            progress.failing = false
            if flush == .perRecord {
                progress.syncedThrough = progress.writtenThrough
            } else if progress.syncedThrough < progress.writtenThrough, progress.unsyncedSince == nil {
                progress.unsyncedSince = now
            }
        }
        guard flush == .batch, !progress.failing, let since = progress.unsyncedSince, stop || since + batchMax <= now
        else { return }
        if let error = sinks[index].sync() {
            failed(&held, &progress, error)
        } else {
            progress.syncedThrough = progress.writtenThrough
            progress.unsyncedSince = nil
        }
    }

    /// A failed attempt: waiters of every entry not yet known durable in this sink learn
    /// false now rather than wait for a recovery that may take long. Lines already
    /// written are not written again; the rest stay held for the next probe.
    private func failed(_ held: inout [Entry], _ progress: inout SinkProgress, _ error: AuditIOError) {
        errors.add(1, ordering: .relaxed)
        lastError.withLock { $0 = error }
        healthy.store(false, ordering: .relaxed)
        progress.failing = true
        for index in held.indices where held[index].ordinal > progress.syncedThrough {
            held[index].waiter?.resume(returning: false)
            held[index].waiter = nil
        }
        progress.syncedThrough = progress.writtenThrough
        progress.unsyncedSince = nil
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
