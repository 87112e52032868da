/// The aggregated index of one miner kind: hashrate per coin, total power and "alive n/m", over the live logs
/// of activated miners.
public struct MinerAggregate: Sendable, Hashable {
    /// Keyed by display name ("Bitcoin"); values in H/s, shown through `Hashrate.display`.
    public var coinHashrates: [String: Hashrate]
    /// Watts.
    public var totalPower: Double
    public var liveCount: Int
    public var registeredCount: Int
    /// The fleet-health figures added to the seed's three (status counts, thermal, pools, …).
    public var health: FleetHealth
    /// The latest canaries (see `Canary`): metadata of the pipeline, not of the fleet.
    public var canaries: [CanaryMark] = []

    public init(
        coinHashrates: [String: Hashrate], totalPower: Double, liveCount: Int, registeredCount: Int,
        health: FleetHealth = FleetHealth()
    ) {
        self.coinHashrates = coinHashrates
        self.totalPower = totalPower
        self.liveCount = liveCount
        self.registeredCount = registeredCount
        self.health = health
    }

    /// "live/registered", e.g. "2/3".
    public var alive: String { "\(liveCount)/\(registeredCount)" }
}

/// An aggregated index with the index version it was read at.
public struct VersionedAggregate: Sendable, Hashable {
    public let version: UInt64
    public let aggregate: MinerAggregate

    public init(version: UInt64, aggregate: MinerAggregate) {
        self.version = version
        self.aggregate = aggregate
    }
}

/// Sums hashrates under the producers' raw coin spellings first, one dictionary step per contribution, then
/// folds the handful of spellings into display names once at the end; normalising per log would cost a string
/// transformation for every miner on every tick.
struct CoinHashrateAccumulator {
    private var byRawName: [String: Double] = [:]

    mutating func add(rawCoinName: String, _ hashrate: Hashrate) {
        byRawName[rawCoinName, default: 0] += hashrate.hashesPerSecond
    }

    func totals() -> [String: Hashrate] {
        var byDisplayName: [String: Hashrate] = [:]
        for (rawName, hashesPerSecond) in byRawName {
            byDisplayName[CoinName.normalized(rawName), default: .zero] += Hashrate(hashesPerSecond: hashesPerSecond)
        }
        return byDisplayName
    }
}

extension MinerIndexSnapshot {
    /// The aggregated index summed afresh from every listed log: what `aggregate()` keeps up to date
    /// incrementally. For ASICs, per coin the sum of `hashrate_5_min`; for rigs, the CPU hashrate plus each GPU
    /// slot's sum over the GPUs (adding, when CPU and GPU mine the same coin). Tests check one against the other,
    /// and the benchmark reports what the incremental one saves.
    public func recomputedAggregate() -> MinerAggregate {
        var coins = CoinHashrateAccumulator()
        var totalPower = 0.0
        var liveCount = 0
        forEachListedLog { _, entry in
            entry.log.forEachCoinHashrate { coins.add(rawCoinName: $0, $1) }
            totalPower += entry.log.aggregatedPower
            liveCount += 1
        }
        return MinerAggregate(
            coinHashrates: coins.totals(), totalPower: totalPower, liveCount: liveCount,
            registeredCount: listedMinerCount)
    }
}
