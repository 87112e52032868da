import MinerIndex
import Synchronization

/// The aggregated history of one miner kind, shared by the recorder (one tick per broadcast interval), the HTTP
/// read API and the State store (through `pendingRows` and `restore`).
public final class SharedAggregatedHistory: Sendable {
    private let history: Mutex<AggregatedHistory>

    public init(_ history: AggregatedHistory = AggregatedHistory()) {
        self.history = Mutex(history)
    }

    public func record(_ figures: AggregatedHistoryFigures, at time: Timestamp) {
        history.withLock { $0.record(figures, at: time) }
    }

    public func rows(_ resolution: AggregatedHistoryResolution, since: Timestamp?) -> [AggregatedHistoryRow] {
        history.withLock { $0.rows(resolution, since: since) }
    }

    /// The rows added or changed since the last call, for the store to upsert by (resolution, bucket start).
    public func pendingRows() -> [AggregatedHistoryRow] {
        history.withLock { $0.pendingRows() }
    }

    /// Stored rows of `resolution` starting before this have aged out at `now`.
    public func retentionCutoff(_ resolution: AggregatedHistoryResolution, now: Timestamp) -> Timestamp {
        history.withLock { $0.retentionCutoff(resolution, now: now) }
    }

    /// Replaces the history by the stored rows (at start-up, before the first tick).
    public func restore(_ rows: [AggregatedHistoryRow], now: Timestamp) {
        history.withLock { $0.restore(rows, now: now) }
    }
}

/// The aggregated histories of both miner kinds.
public struct AggregatedHistories: Sendable {
    public let asic: SharedAggregatedHistory
    public let cpuGpu: SharedAggregatedHistory

    public init(asic: SharedAggregatedHistory = .init(), cpuGpu: SharedAggregatedHistory = .init()) {
        self.asic = asic
        self.cpuGpu = cpuGpu
    }
}
