import MinerIndex

/// The messages miner-load sends for a kind, and how its snapshots name it.
extension MinerKind {
    public var logRoutingKey: String { messagePrefix + ".log" }
    public var upsertRoutingKey: String { messagePrefix + ".upsert" }
    public var deleteRoutingKey: String { messagePrefix + ".delete" }
    public var canaryRoutingKey: String { messagePrefix + ".canary" }
    /// Routed to the service's queue by its `asic_miner.*` / `cpu_gpu_miner.*` bindings, then dead-lettered.
    public var unknownRoutingKey: String { messagePrefix + ".reboot" }
    /// The key of "live/registered" in the aggregated payload.
    public var aliveKey: String { messagePrefix + "_alive" }
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
