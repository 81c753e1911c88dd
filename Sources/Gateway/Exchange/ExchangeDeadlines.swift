import NIOCore

/// The deadlines of one exchange, on a clock the caller passes in (the event loop's, which
/// a test's `EmbeddedEventLoop` advances by hand): the connection handler keeps one timer
/// for the earliest of them and asks, when it fires, which one expired.
///
/// Idle deadlines move with activity (`touch`) without the timer being rescheduled: when
/// the timer fires before the moved deadline, `expired(at:)` finds nothing and the handler
/// sets the timer again for the new earliest. (Cancelling a scheduled task searches the
/// event loop's timers: once per body part would cost more than the part.)
struct ExchangeDeadlines {
    enum Kind: CaseIterable, Sendable {
        /// The longest pause in the client's body (`timeouts.body_idle`), from the head on.
        case bodyIdle
        /// A browser form's whole field section (`timeouts.form_fields`), from the head.
        case formFields
        /// From the end of the request to the upstream's response head (`timeouts.upstream_first_byte`).
        case upstreamFirstByte
        /// The longest pause in the upstream's response (`timeouts.upstream_idle`).
        case upstreamIdle
    }

    private struct Deadline {
        var at: NIODeadline
        /// For idle deadlines, how far activity pushes them; nil for fixed ones.
        let idle: TimeAmount?
    }

    // One slot per kind, in the value itself: an exchange arms and moves these several
    // times, and a dictionary allocated for each.
    private var bodyIdle: Deadline?
    private var formFields: Deadline?
    private var upstreamFirstByte: Deadline?
    private var upstreamIdle: Deadline?

    private subscript(_ kind: Kind) -> Deadline? {
        get {
            switch kind {
            case .bodyIdle: bodyIdle
            case .formFields: formFields
            case .upstreamFirstByte: upstreamFirstByte
            case .upstreamIdle: upstreamIdle
            }
        }
        set {
            switch kind {
            case .bodyIdle: bodyIdle = newValue
            case .formFields: formFields = newValue
            case .upstreamFirstByte: upstreamFirstByte = newValue
            case .upstreamIdle: upstreamIdle = newValue
            }
        }
    }

    /// A fixed deadline `after` from `now`.
    mutating func arm(_ kind: Kind, after amount: TimeAmount, now: NIODeadline) {
        self[kind] = Deadline(at: now + amount, idle: nil)
    }

    /// An idle deadline: `idle` from the last `touch`, which `now` is the first of.
    mutating func armIdle(_ kind: Kind, idle: TimeAmount, now: NIODeadline) {
        if let existing = self[kind], existing.idle != nil {
            touch(kind, now: now)
            return
        }
        self[kind] = Deadline(at: now + idle, idle: idle)
    }

    /// Activity: an idle deadline moves to `idle` from now.
    mutating func touch(_ kind: Kind, now: NIODeadline) {
        guard let idle = self[kind]?.idle else { return }
        self[kind]?.at = now + idle
    }

    mutating func disarm(_ kind: Kind) {
        self[kind] = nil
    }

    mutating func disarmAll() {
        self = ExchangeDeadlines()
    }

    /// When the timer should fire next; nil when nothing is armed.
    var earliest: NIODeadline? {
        var earliest: NIODeadline?
        for kind in Kind.allCases {
            if let at = self[kind]?.at, earliest.map({ at < $0 }) ?? true { earliest = at }
        }
        return earliest
    }

    /// The deadline that has passed at `now` (it is disarmed), if any; the earliest first.
    mutating func expired(at now: NIODeadline) -> Kind? {
        var expired: (kind: Kind, at: NIODeadline)?
        for kind in Kind.allCases {
            guard let at = self[kind]?.at, at <= now else { continue }
            if expired.map({ at < $0.at }) ?? true { expired = (kind, at) }
        }
        guard let expired else { return nil }
        self[expired.kind] = nil
        return expired.kind
    }
}
