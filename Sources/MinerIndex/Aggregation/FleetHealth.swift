/// The fleet-health figures of one miner kind, added to its aggregated index: liveness states, per-coin power,
/// temperatures and fans, pools, expected miners that are missing, and the per-model breakdown. Over activated
/// miners and their live logs, except `disabled`. Rigs have no per-coin power, pools, expected status or model,
/// so those stay empty for them.
public struct FleetHealth: Sendable, Hashable {
    public struct StatusCounts: Sendable, Hashable {
        /// Live log younger than `--stale-after`.
        public var online = 0
        /// Live log at least `--stale-after` old, still within `--offline-after`.
        public var stale = 0
        /// Activated, no live log.
        public var offline = 0
        /// Registered with `activated: false`, whatever it reports.
        public var disabled = 0

        public init(online: Int = 0, stale: Int = 0, offline: Int = 0, disabled: Int = 0) {
            self.online = online
            self.stale = stale
            self.offline = offline
            self.disabled = disabled
        }
    }

    public struct HotMiner: Sendable, Hashable {
        public var id: Int64
        public var name: String?
        public var temperature: Double

        public init(id: Int64, name: String?, temperature: Double) {
            self.id = id
            self.name = name
            self.temperature = temperature
        }
    }

    public struct Thermal: Sendable, Hashable {
        public static let hottestCount = 5

        /// The highest miner temperature; nil when no live miner reports one.
        public var maxTemperature: Double?
        /// The mean of the miners' temperatures, rounded to 2 decimals; nil when no live miner reports one.
        public var averageTemperature: Double?
        /// The hottest miners, hottest first, ties by ascending id.
        public var hottest: [HotMiner] = []
        /// Live miners with a fan speed of exactly 0.
        public var fansStopped = 0

        public init(
            maxTemperature: Double? = nil, averageTemperature: Double? = nil, hottest: [HotMiner] = [],
            fansStopped: Int = 0
        ) {
            self.maxTemperature = maxTemperature
            self.averageTemperature = averageTemperature
            self.hottest = hottest
            self.fansStopped = fansStopped
        }
    }

    public struct Pool: Sendable, Hashable {
        /// Live miners with this address in at least one pool slot.
        public var miners: Int
        public var accepted: Double
        public var rejected: Double

        public init(miners: Int, accepted: Double, rejected: Double) {
            self.miners = miners
            self.accepted = accepted
            self.rejected = rejected
        }

        /// rejected / (accepted + rejected), rounded to 4 decimals; 0 when both are 0.
        public var rejectRatio: Double {
            let total = accepted + rejected
            guard total > 0 else { return 0 }
            return (rejected / total * 10_000).rounded() / 10_000
        }
    }

    public struct ExpectedMissing: Sendable, Hashable {
        public static let listedIds = 20

        public var count = 0
        /// The smallest `listedIds` ids, ascending.
        public var ids: [Int64] = []

        public init(count: Int = 0, ids: [Int64] = []) {
            self.count = count
            self.ids = ids
        }
    }

    public struct Model: Sendable, Hashable {
        public var liveCount: Int
        public var registeredCount: Int
        /// Keyed by display name, as `MinerAggregate.coinHashrates`.
        public var coinHashrates: [String: Hashrate]
        /// Watts.
        public var power: Double

        public init(liveCount: Int, registeredCount: Int, coinHashrates: [String: Hashrate], power: Double) {
            self.liveCount = liveCount
            self.registeredCount = registeredCount
            self.coinHashrates = coinHashrates
            self.power = power
        }

        /// "live/registered".
        public var alive: String { "\(liveCount)/\(registeredCount)" }
    }

    public var statusCounts = StatusCounts()
    /// Watts per display coin name (ASICs).
    public var coinPower: [String: Double] = [:]
    public var thermal = Thermal()
    /// Keyed by pool address (ASICs).
    public var pools: [String: Pool] = [:]
    /// ASICs only.
    public var expectedMissing = ExpectedMissing()
    /// Keyed by registry model (ASICs).
    public var models: [String: Model] = [:]

    public init(
        statusCounts: StatusCounts = .init(), coinPower: [String: Double] = [:], thermal: Thermal = .init(),
        pools: [String: Pool] = [:], expectedMissing: ExpectedMissing = .init(), models: [String: Model] = [:]
    ) {
        self.statusCounts = statusCounts
        self.coinPower = coinPower
        self.thermal = thermal
        self.pools = pools
        self.expectedMissing = expectedMissing
        self.models = models
    }
}

/// Joules per hash, shown like hashrates in the smallest unit (J/H … J/PH) in which the value is at least 1.
public struct Efficiency: Sendable, Hashable {
    public var joulesPerHash: Double

    public init(joulesPerHash: Double) {
        self.joulesPerHash = joulesPerHash
    }

    public struct Display: Sendable, Hashable {
        public var value: Double
        /// "J/H", "J/KH", "J/MH", "J/GH", "J/TH" or "J/PH".
        public var unit: String
    }

    private static let units: [(symbol: String, hashes: Double)] = [
        ("J/H", 1), ("J/KH", 1e3), ("J/MH", 1e6), ("J/GH", 1e9), ("J/TH", 1e12), ("J/PH", 1e15),
    ]

    /// Rounded to a billionth of the unit, as `Hashrate.display`. A value under 1 J/PH (no power reported) is
    /// shown in J/PH, the last unit.
    public var display: Display {
        var chosen = Self.units[Self.units.count - 1]
        for unit in Self.units where joulesPerHash * unit.hashes >= 1 {
            chosen = unit
            break
        }
        let value = joulesPerHash * chosen.hashes
        return Display(value: (value * 1e9).rounded() / 1e9, unit: chosen.symbol)
    }
}

extension MinerAggregate {
    /// Per coin, its power over its hashrate; coins whose hashrate shows as 0 are left out.
    public var coinEfficiencies: [String: Efficiency] {
        var result: [String: Efficiency] = [:]
        for (coin, watts) in health.coinPower {
            guard let hashrate = coinHashrates[coin], hashrate.display.value != 0 else { continue }
            result[coin] = Efficiency(joulesPerHash: watts / hashrate.hashesPerSecond)
        }
        return result
    }
}
