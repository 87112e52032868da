import Synchronization

/// Running totals of a run, read once a second for the progress line and at the end for the summary.
public struct LoadCounts: Sendable, Hashable, Codable {
    public var sent = 0
    public var logs = 0
    public var upserts = 0
    public var malformed = 0
    public var probes = 0
    public var confirmed = 0
    /// Published with `mandatory` and returned: no queue is bound for that routing key.
    public var unroutable = 0
    public var nacked = 0
    /// Not answered by the broker: connection lost, not connected, blocked too long.
    public var failed = 0
    public var lastFailure: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sent, logs, upserts, malformed, probes, confirmed, unroutable, nacked, failed
        case lastFailure = "last_failure"
    }
}

public final class LoadCounters: Sendable {
    private let counts = Mutex(LoadCounts())

    public init() {}

    public func update(_ change: (inout LoadCounts) -> Void) {
        counts.withLock { change(&$0) }
    }

    public var snapshot: LoadCounts { counts.withLock { $0 } }
}
