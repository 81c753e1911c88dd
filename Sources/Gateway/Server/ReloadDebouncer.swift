import Foundation

/// Decides when a change to the watched files is complete enough to load. A file caught
/// while it is being written is a prefix that may still parse (a rule cut after
/// `require:` loses its key list), so a change is acted on only once two polls in a row
/// read the same contents; a change that does not hold still is waited out. Contents, not
/// modification times, are compared: a `touch` loads nothing. Writers that replace the
/// file atomically (`mv`, a Kubernetes ConfigMap's symlink swap) are loaded one poll later.
struct ReloadDebouncer {
    /// The contents of each watched file (nil: unreadable), in a fixed order.
    typealias Snapshot = [Data?]

    private var loaded: Snapshot
    private var pending: Snapshot?

    /// `loaded`: what is in force.
    init(loaded: Snapshot) {
        self.loaded = loaded
    }

    /// One poll's reading; true when it should be loaded now.
    mutating func observe(_ snapshot: Snapshot) -> Bool {
        if snapshot == loaded {
            pending = nil
            return false
        }
        if snapshot == pending {
            loaded = snapshot
            pending = nil
            return true
        }
        pending = snapshot
        return false
    }
}
