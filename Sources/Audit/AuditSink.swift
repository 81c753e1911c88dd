/// Where `AuditWriter` puts sealed lines. Only the writer's thread calls a sink after it
/// was created, so sinks keep plain mutable state.
protocol AuditSink: AnyObject {
    /// Seals and appends the records in order (not synced: see `sync()`). Returns how many
    /// leading records are now in the sink (they are never written again) and the error
    /// that stopped the rest. An empty call still (re)opens a closed sink: that is how a
    /// failed sink is retried.
    func write(_ records: ArraySlice<AuditRecord>) -> (written: Int, error: AuditIOError?)
    /// Makes everything written so far durable.
    func sync() -> AuditIOError?
    /// Reopens the file by its path before the next write (logrotate's SIGHUP).
    func requestReopen()
    func close()
}
