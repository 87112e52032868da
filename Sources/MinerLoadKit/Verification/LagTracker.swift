import Foundation
import MinerIndex
import Synchronization

/// Matches lag probes with the snapshots that first reflect them. The sender records when each probe was handed
/// to the publisher and when the broker confirmed it; the snapshot listener reports, from the thread that read the
/// snapshot off the socket, the highest sequence each aggregated snapshot shows.
///
/// A probe's lag runs from the broker's confirm to the arrival of that snapshot: the part of the journey that
/// belongs to the broker and the service. How long the generator itself took to send (the probe's schedule to its
/// hand-over) is `ScheduleDelays`' figure, reported beside it.
public final class LagTracker: Sendable {
    private struct Probe {
        var serial: Int64
        var sentAt: ContinuousClock.Instant
        /// Seconds since 1970 at `sentAt`, so that other processes (a chaos suite) can line probes up with events.
        var sentAtWallClock: Double
        var confirmedAt: ContinuousClock.Instant?
        var failed = false
        var reflectedAt: ContinuousClock.Instant?

        /// Nil until both ends are known. A snapshot can arrive before miner-load has handled the confirm (the
        /// service read the probe first): that probe's lag is zero, not negative.
        var lag: Double? {
            guard !failed, let confirmedAt, let reflectedAt else { return nil }
            return max(0, (reflectedAt - confirmedAt).secondsValue)
        }
    }

    private struct State {
        /// Per kind, in the order sent, which is serial order.
        var probes: [MinerKind: [Probe]] = [:]
        var resolvedUpTo: [MinerKind: Int] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func probeSent(
        _ kind: MinerKind, serial: Int64, at sentAt: ContinuousClock.Instant, wallClock: Date = Date()
    ) {
        state.withLock { state in
            state.probes[kind, default: []].append(
                Probe(serial: serial, sentAt: sentAt, sentAtWallClock: wallClock.timeIntervalSince1970))
        }
    }

    public func probeConfirmed(_ kind: MinerKind, serial: Int64, at confirmedAt: ContinuousClock.Instant) {
        update(kind, serial) { probe in
            if probe.confirmedAt == nil { probe.confirmedAt = confirmedAt }
        }
    }

    /// A probe the broker did not confirm, or whose connection dropped, is left out of the figures: its lag would
    /// measure the outage, or nothing.
    public func probeFailed(_ kind: MinerKind, serial: Int64) {
        update(kind, serial) { $0.failed = true }
    }

    private func update(_ kind: MinerKind, _ serial: Int64, _ change: (inout Probe) -> Void) {
        state.withLock { state in
            guard var list = state.probes.removeValue(forKey: kind) else { return }
            // Binary search: serials increase along the list.
            var low = 0, high = list.count
            while low < high {
                let middle = (low + high) / 2
                if list[middle].serial < serial { low = middle + 1 } else { high = middle }
            }
            if low < list.count, list[low].serial == serial { change(&list[low]) }
            state.probes[kind] = list
        }
    }

    /// Every probe up to `serial` not seen before has now reached a snapshot.
    public func snapshotArrived(_ kind: MinerKind, reflecting serial: Int64, at arrivedAt: ContinuousClock.Instant) {
        state.withLock { state in
            guard var list = state.probes.removeValue(forKey: kind) else { return }
            var next = state.resolvedUpTo[kind] ?? 0
            while next < list.count, list[next].serial <= serial {
                list[next].reflectedAt = arrivedAt
                next += 1
            }
            state.probes[kind] = list
            state.resolvedUpTo[kind] = next
        }
    }

    /// Both kinds together.
    public var summary: LagSummary {
        LagSummary(samples: state.withLock { $0.probes.values.flatMap { $0.compactMap(\.lag) } })
    }

    /// Per kind: each kind's snapshots are built and published in turn, so their lags can differ.
    public func summary(of kind: MinerKind) -> LagSummary {
        LagSummary(samples: state.withLock { ($0.probes[kind] ?? []).compactMap(\.lag) })
    }

    /// Every probe that did not fail, in order, with when the broker confirmed it and when the first snapshot
    /// reflecting it arrived.
    public func timeline(of kind: MinerKind) -> [ProbeTiming] {
        state.withLock { state in
            (state.probes[kind] ?? []).filter { !$0.failed }.map { probe in
                func wallClock(_ instant: ContinuousClock.Instant?) -> Double? {
                    instant.map { probe.sentAtWallClock + ($0 - probe.sentAt).secondsValue }
                }
                return ProbeTiming(
                    serial: probe.serial, sentAt: probe.sentAtWallClock, confirmedAt: wallClock(probe.confirmedAt),
                    reflectedAt: wallClock(probe.reflectedAt))
            }
        }
    }
}

/// How late the generator handed its messages to the publisher against the pace it was asked for: per batch, the
/// time from when its oldest message was due to its hand-over. Near zero while miner-load keeps up; a starved
/// generator (its CPU taken, or its window full) shows here rather than in the lag.
public final class ScheduleDelays: Sendable {
    private let samples = Mutex<[Double]>([])

    public init() {}

    func record(_ delay: Duration) {
        let seconds = max(0, delay.secondsValue)
        samples.withLock { $0.append(seconds) }
    }

    public var summary: LagSummary { LagSummary(samples: samples.withLock { $0 }) }
}

/// One lag probe on the wall clock (seconds since 1970): when it was handed to the publisher, when the broker
/// confirmed it, and when the first aggregated snapshot reflecting it arrived (nil if none did before the run
/// ended). Since the queue is FIFO, that snapshot holds everything the broker confirmed before the probe was sent,
/// which is how `bench/chaos.py` times the recovery from a fault.
public struct ProbeTiming: Sendable, Hashable, Codable {
    public var serial: Int64
    public var sentAt: Double
    public var confirmedAt: Double?
    public var reflectedAt: Double?

    enum CodingKeys: String, CodingKey {
        case serial
        case sentAt = "sent_at"
        case confirmedAt = "confirmed_at"
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
