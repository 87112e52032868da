/// How finely the aggregated history is kept: every broadcast tick, or the means of the ticks of each minute or
/// each hour (UTC-aligned buckets).
public enum AggregatedHistoryResolution: String, Sendable, Hashable, CaseIterable {
    case tick
    case minute = "1m"
    case hour = "1h"

    /// The bucket width; nil for ticks, each of which is its own row.
    var bucketMicroseconds: Int64? {
        switch self {
        case .tick: nil
        case .minute: 60_000_000
        case .hour: 3_600_000_000
        }
    }
}

/// The figures the aggregated history keeps of one tick, or their means over one bucket.
public struct AggregatedHistoryFigures: Sendable, Hashable {
    /// H/s per display coin name; a coin absent from a tick counts as 0 in the means.
    public var coinHashesPerSecond: [String: Double]
    /// Watts.
    public var totalPower: Double
    /// Live activated miners (the numerator of "alive n/m").
    public var alive: Double
    /// Activated miners (its denominator).
    public var registered: Double
    public var online: Double
    public var stale: Double
    public var offline: Double
    public var disabled: Double

    public init(
        coinHashesPerSecond: [String: Double] = [:], totalPower: Double = 0, alive: Double = 0,
        registered: Double = 0, online: Double = 0, stale: Double = 0, offline: Double = 0,
        disabled: Double = 0
    ) {
        self.coinHashesPerSecond = coinHashesPerSecond
        self.totalPower = totalPower
        self.alive = alive
        self.registered = registered
        self.online = online
        self.stale = stale
        self.offline = offline
        self.disabled = disabled
    }

    /// The figures of one aggregated index.
    public init(_ aggregate: MinerAggregate) {
        let counts = aggregate.health.statusCounts
        self.init(
            coinHashesPerSecond: aggregate.coinHashrates.mapValues(\.hashesPerSecond), totalPower: aggregate.totalPower,
            alive: Double(aggregate.liveCount), registered: Double(aggregate.registeredCount),
            online: Double(counts.online), stale: Double(counts.stale), offline: Double(counts.offline),
            disabled: Double(counts.disabled))
    }

    mutating func add(_ other: AggregatedHistoryFigures) {
        for (coin, hashesPerSecond) in other.coinHashesPerSecond {
            coinHashesPerSecond[coin, default: 0] += hashesPerSecond
        }
        totalPower += other.totalPower
        alive += other.alive
        registered += other.registered
        online += other.online
        stale += other.stale
        offline += other.offline
        disabled += other.disabled
    }

    /// Each figure combined with `factor` by `operation`: sums from means (×) and means from sums (÷).
    func scaled(by factor: Double, _ operation: (Double, Double) -> Double) -> AggregatedHistoryFigures {
        AggregatedHistoryFigures(
            coinHashesPerSecond: coinHashesPerSecond.mapValues { operation($0, factor) },
            totalPower: operation(totalPower, factor), alive: operation(alive, factor),
            registered: operation(registered, factor), online: operation(online, factor),
            stale: operation(stale, factor), offline: operation(offline, factor), disabled: operation(disabled, factor))
    }
}

/// One row of the aggregated history, as the State store keeps it: unique per resolution and bucket start. For a
/// tick the figures are that tick's and `samples` is 1; for a minute or an hour they are the means of its
/// `samples` ticks so far (the latest bucket is still filling), which is what lets a restored bucket go on
/// filling with the right weights.
public struct AggregatedHistoryRow: Sendable, Hashable {
    public var resolution: AggregatedHistoryResolution
    /// The tick's time, or the start of its minute or hour.
    public var bucketStart: Timestamp
    public var samples: Int
    public var figures: AggregatedHistoryFigures

    public init(
        resolution: AggregatedHistoryResolution, bucketStart: Timestamp, samples: Int,
        figures: AggregatedHistoryFigures
    ) {
        self.resolution = resolution
        self.bucketStart = bucketStart
        self.samples = samples
        self.figures = figures
    }
}
