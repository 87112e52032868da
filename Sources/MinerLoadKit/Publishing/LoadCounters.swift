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
    /// Not answered by the broker: blocked too long, or the broker did not come back within the reconnect timeout.
    public var failed = 0
    /// Messages whose connection dropped before the broker confirmed them, published again after the reconnect
    /// (each counted once). Each may have arrived twice; the malformed ones among them may be dead-lettered twice.
    public var republished = 0
    public var republishedMalformed = 0
    public var lastFailure: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sent, logs, upserts, malformed, probes, confirmed, unroutable, nacked, failed, republished
        case republishedMalformed = "republished_malformed"
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
