import MinerIndex

/// The outcome of `--verify`: per miner kind, whether the latest aggregated snapshot matched the totals of what
/// was sent, with the differences when it did not; how long it took; and the end-to-end lag.
public struct VerificationReport: Sendable, Codable {
    public struct Totals: Sendable, Codable, Hashable {
        public var live: String
        public var registered: String
        public var totalPower: String
        public var coins: [String: String]
        /// "offline/disabled" from `status_counts` (online and stale add up to `live`).
        public var offlineAndDisabled: String
        /// Watts per coin (ASICs).
        public var coinPower: [String: String]
        public var maxTemperature: String

        enum CodingKeys: String, CodingKey {
            case live, registered, coins
            case totalPower = "total_power"
            case offlineAndDisabled = "offline_disabled"
            case coinPower = "coin_power"
            case maxTemperature = "max_temp"
        }
    }

    /// The reference subscriber's index, rebuilt from keyframes and deltas, against a fresh keyframe.
    public struct RebuiltIndex: Sendable, Codable, Hashable {
        public var matched: Bool
        /// The keyframe compared with; nil when none followed the last applied message within the timeout.
        public var keyframeSequence: UInt64?
        public var difference: String?
        public var keyframes: Int
        public var deltas: Int
        public var gaps: Int
        public var splitMessages: Int
        public var keyframeRequests: Int

        enum CodingKeys: String, CodingKey {
            case matched, difference, keyframes, deltas, gaps
            case keyframeSequence = "keyframe_sequence"
            case splitMessages = "split_messages"
            case keyframeRequests = "keyframe_requests"
        }
    }

    public struct KindResult: Sendable, Codable {
        public var kind: MinerKind
        public var exchange: String
        public var matched: Bool
        public var differences: [String]
        public var snapshotsReceived: Int
        public var indexExchange: String
        public var indexSnapshotsReceived: Int
        public var indexSnapshotBytes: Int
        public var minersInDoubt: Int
        public var lag: LagSummary
        public var expected: Totals?
        public var observed: Totals?
        /// nil when not checked (`checksRebuiltIndex` off).
        public var rebuiltIndex: RebuiltIndex?
        /// With `--probe-timeline`.
        public var probeTimeline: [ProbeTiming]? = nil

        enum CodingKeys: String, CodingKey {
            case kind, exchange, matched, differences, expected, observed, lag
            case rebuiltIndex = "rebuilt_index"
            case probeTimeline = "probe_timeline"
            case snapshotsReceived = "snapshots_received"
            case indexExchange = "index_exchange"
            case indexSnapshotsReceived = "index_snapshots_received"
            case indexSnapshotBytes = "index_snapshot_bytes"
            case minersInDoubt = "miners_in_doubt"
        }
    }

    public var passed: Bool
    /// Why the run failed apart from the snapshots' totals: messages no queue took, nothing confirmed.
    public var failures: [String] = []
    /// From the last confirm of the run to the arrival of the first snapshots that matched; zero if the latest
    /// snapshots already matched by then.
    public var convergedAfterSeconds: Double?
    public var kinds: [KindResult]
    public var lag: LagSummary
    public var unreadableSnapshots: Int
    public var lastUnreadableSnapshot: String?

    enum CodingKeys: String, CodingKey {
        case passed, kinds, lag, failures
        case convergedAfterSeconds = "converged_after_seconds"
        case unreadableSnapshots = "unreadable_snapshots"
        case lastUnreadableSnapshot = "last_unreadable_snapshot"
    }
}

extension VerificationReport {
    /// A verification that the snapshots' totals cannot catch: the ledger counts only what the broker confirmed
    /// into a queue, so snapshots can match a ledger of nothing.
    mutating func checkDelivery(of counts: LoadCounts, exchange: String) {
        if counts.unroutable > 0 {
            failures.append(
                "\(counts.unroutable) of \(counts.sent) messages were unroutable: no queue is bound to "
                    + "'\(exchange)' for their routing keys (is miner-index running, consuming from that exchange?)")
        }
        if counts.confirmed == 0 { failures.append("the broker confirmed none of the \(counts.sent) messages") }
        if !failures.isEmpty { passed = false }
    }
}

extension VerificationReport.Totals {
    init(_ expected: ExpectedTotals) {
        live = expected.live.description
        registered = expected.registered.description
        totalPower = expected.power.description
        coins = expected.coins.filter { $0.value.high > 0 }.mapValues { TotalsComparison.display($0) }
        offlineAndDisabled = "\(expected.offline)/\(expected.disabled)"
        coinPower = expected.coinPower.mapValues(\.description)
        maxTemperature = TotalsComparison.display(temperature: expected.maxTemperature)
    }

    init(_ observed: AggregatedSnapshot) {
        live = "\(observed.live)"
        registered = "\(observed.registered)"
        totalPower = ExpectedTotals.Bounds.format(observed.totalPower)
        coins = observed.coins.mapValues { TotalsComparison.display(.init(low: $0, high: $0)) }
        offlineAndDisabled = "\(observed.statusCounts.offline)/\(observed.statusCounts.disabled)"
        coinPower = observed.coinPower.mapValues { ExpectedTotals.Bounds.format($0) }
        maxTemperature = observed.maxTemperature.map { ExpectedTotals.Bounds.format($0) } ?? "null"
    }
}
