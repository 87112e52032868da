/// The two kinds of miner, each with its own routing keys, index actor and snapshot exchanges.
public enum MinerKind: String, Sendable, Hashable, CaseIterable, Codable {
    case asic
    case cpuGpu = "cpu_gpu"

    public var logRoutingKey: String { self == .asic ? "asic_miner.log" : "cpu_gpu_miner.log" }
    public var upsertRoutingKey: String { self == .asic ? "asic_miner.upsert" : "cpu_gpu_miner.upsert" }
    public var deleteRoutingKey: String { self == .asic ? "asic_miner.delete" : "cpu_gpu_miner.delete" }
    public var canaryRoutingKey: String { self == .asic ? "asic_miner.canary" : "cpu_gpu_miner.canary" }
    /// Routed to the service's queue by its `asic_miner.*` / `cpu_gpu_miner.*` bindings, then dead-lettered.
    public var unknownRoutingKey: String { self == .asic ? "asic_miner.reboot" : "cpu_gpu_miner.reboot" }
    /// The key of "live/registered" in the aggregated payload.
    public var aliveKey: String { self == .asic ? "asic_miner_alive" : "cpu_gpu_miner_alive" }
    public var label: String { self == .asic ? "ASIC" : "CPU/GPU" }
}

/// What one log adds to its kind's aggregated index while it is the miner's latest and live.
public struct MinerContribution: Sendable, Hashable {
    public struct CoinShare: Sendable, Hashable {
        /// Display name, as the service groups coins (`CoinName.normalized`).
        public var coin: String
        public var hashesPerSecond: Double

        public init(coin: String, hashesPerSecond: Double) {
            self.coin = coin
            self.hashesPerSecond = hashesPerSecond
        }
    }

    public var coins: [CoinShare]
    /// Watts.
    public var power: Double
    /// The miner's temperature as the service reads it (its hottest sensor); nil when the log reports none.
    public var maxTemperature: Double?
    /// Watts per display coin name, for `coin_power_map` (ASICs: the log's power on its coin; rigs: none).
    public var coinPower: [String: Double]

    public init(coins: [CoinShare], power: Double, maxTemperature: Double? = nil, coinPower: [String: Double] = [:]) {
        self.coins = coins
        self.power = power
        self.maxTemperature = maxTemperature
        self.coinPower = coinPower
    }
}

/// One generated log: the body to publish and what it should do to the aggregate.
public struct GeneratedLog: Sendable {
    public var body: [UInt8]
    public var contribution: MinerContribution
}
