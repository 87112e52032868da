import Synchronization

/// Matches lag probes with the snapshots that first reflect them. The sender records when each probe was
/// handed to the publisher; the snapshot listener reports the highest serial each aggregated snapshot shows.
public final class LagTracker: Sendable {
    private struct Pending {
        var serial: Int64
        var sentAt: ContinuousClock.Instant
        var failed = false
    }

    private struct State {
        var pending: [MinerKind: [Pending]] = [:]
        var resolvedUpTo: [MinerKind: Int] = [:]
        var lags: [MinerKind: [Double]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func probeSent(_ kind: MinerKind, serial: Int64, at sentAt: ContinuousClock.Instant) {
        state.withLock { $0.pending[kind, default: []].append(Pending(serial: serial, sentAt: sentAt)) }
    }

    /// A probe the broker did not confirm can never be matched; drop it so it does not skew the figures.
    public func probeFailed(_ kind: MinerKind, serial: Int64) {
        state.withLock { state in
            let start = state.resolvedUpTo[kind] ?? 0
            guard var list = state.pending[kind], let offset = list[start...].firstIndex(where: { $0.serial == serial })
            else { return }
            list[offset].failed = true
            state.pending[kind] = list
        }
    }

    /// Every probe up to `serial` not seen before has now reached a snapshot.
    public func snapshotArrived(_ kind: MinerKind, reflecting serial: Int64, at arrivedAt: ContinuousClock.Instant) {
        state.withLock { state in
            guard let list = state.pending[kind] else { return }
            var next = state.resolvedUpTo[kind] ?? 0
            while next < list.count, list[next].serial <= serial {
                if !list[next].failed { state.lags[kind, default: []].append((arrivedAt - list[next].sentAt).secondsValue) }
                next += 1
            }
            state.resolvedUpTo[kind] = next
        }
    }

    /// Both kinds together.
    public var summary: LagSummary { LagSummary(samples: state.withLock { $0.lags.values.flatMap { $0 } }) }

    /// Per kind: each kind's snapshots are built and published in turn, so their lags can differ.
    public func summary(of kind: MinerKind) -> LagSummary { LagSummary(samples: state.withLock { $0.lags[kind] ?? [] }) }
}

/// Lag percentiles in seconds, nearest-rank.
public struct LagSummary: Sendable, Hashable, Codable {
    public var samples: Int
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var max: Double?

    public init(samples values: [Double]) {
        let sorted = values.sorted()
        samples = sorted.count
        func percentile(_ fraction: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = Int((fraction * Double(sorted.count)).rounded(.up))
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
        }
        p50 = percentile(0.50)
        p95 = percentile(0.95)
        p99 = percentile(0.99)
        max = sorted.last
    }
}
