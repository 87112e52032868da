import Foundation
import Synchronization

/// Matches lag probes with the snapshots that first reflect them. The sender records when each probe was
/// handed to the publisher; the snapshot listener reports the highest serial each aggregated snapshot shows.
public final class LagTracker: Sendable {
    private struct Pending {
        var serial: Int64
        var sentAt: ContinuousClock.Instant
        /// Seconds since 1970 at `sentAt`, so that other processes (a chaos suite) can line probes up with events.
        var sentAtWallClock: Double
        var failed = false
        var reflectedAt: ContinuousClock.Instant?
    }

    private struct State {
        var pending: [MinerKind: [Pending]] = [:]
        var resolvedUpTo: [MinerKind: Int] = [:]
        var lags: [MinerKind: [Double]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func probeSent(
        _ kind: MinerKind, serial: Int64, at sentAt: ContinuousClock.Instant, wallClock: Date = Date()
    ) {
        state.withLock { state in
            state.pending[kind, default: []].append(
                Pending(serial: serial, sentAt: sentAt, sentAtWallClock: wallClock.timeIntervalSince1970))
        }
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
            guard var list = state.pending[kind] else { return }
            var next = state.resolvedUpTo[kind] ?? 0
            while next < list.count, list[next].serial <= serial {
                if !list[next].failed { state.lags[kind, default: []].append((arrivedAt - list[next].sentAt).secondsValue) }
                list[next].reflectedAt = arrivedAt
                next += 1
            }
            state.pending[kind] = list
            state.resolvedUpTo[kind] = next
        }
    }

    /// Both kinds together.
    public var summary: LagSummary { LagSummary(samples: state.withLock { $0.lags.values.flatMap { $0 } }) }

    /// Per kind: each kind's snapshots are built and published in turn, so their lags can differ.
    public func summary(of kind: MinerKind) -> LagSummary { LagSummary(samples: state.withLock { $0.lags[kind] ?? [] }) }

    /// Every probe the broker confirmed, in order, with when the first snapshot reflecting it arrived.
    public func timeline(of kind: MinerKind) -> [ProbeTiming] {
        state.withLock { state in
            (state.pending[kind] ?? []).filter { !$0.failed }.map { probe in
                ProbeTiming(
                    serial: probe.serial, sentAt: probe.sentAtWallClock,
                    reflectedAt: probe.reflectedAt.map { probe.sentAtWallClock + ($0 - probe.sentAt).secondsValue })
            }
        }
    }
}

/// One lag probe on the wall clock (seconds since 1970): when it was handed to the publisher, and when the first
/// aggregated snapshot reflecting it arrived (nil if none did before the run ended). Since the queue is FIFO, that
/// snapshot holds everything the broker confirmed before the probe was sent, which is how `bench/chaos.py` times
/// the recovery from a fault.
public struct ProbeTiming: Sendable, Hashable, Codable {
    public var serial: Int64
    public var sentAt: Double
    public var reflectedAt: Double?

    enum CodingKeys: String, CodingKey {
        case serial
        case sentAt = "sent_at"
        case reflectedAt = "reflected_at"
    }
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
