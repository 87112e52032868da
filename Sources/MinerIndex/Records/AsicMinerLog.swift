/// One operational report of one ASIC. Numbers the reference calls integers (power, temperatures, fan speeds,
/// shares) are `Double` because producers send them as floats as often as integers.
///
/// There is no `api_code` property: it is dropped while decoding.
public struct AsicMinerLog: Sendable, Hashable {
    public struct Pool: Sendable, Hashable {
        public var address: String?
        public var user: String?
        public var state: String?
        public var acceptedShare: Double?
        public var rejectedShare: Double?

        public init(
            address: String? = nil, user: String? = nil, state: String? = nil,
            acceptedShare: Double? = nil, rejectedShare: Double? = nil
        ) {
            self.address = address
            self.user = user
            self.state = state
            self.acceptedShare = acceptedShare
            self.rejectedShare = rejectedShare
        }
    }

    public struct Hashboard: Sendable, Hashable {
        public var hashrate5Min: Double?
        public var hashrate30Min: Double?
        public var temperature1: Double?
        public var temperature2: Double?

        public init(
            hashrate5Min: Double? = nil, hashrate30Min: Double? = nil,
            temperature1: Double? = nil, temperature2: Double? = nil
        ) {
            self.hashrate5Min = hashrate5Min
            self.hashrate30Min = hashrate30Min
            self.temperature1 = temperature1
            self.temperature2 = temperature2
        }
    }

    public static let poolCount = 3
    public static let hashboardCount = 3
    public static let fanCount = 4

    public var asicMinerId: Int64
    /// In `hashrateUnit`, as reported.
    public var hashrate5Min: Double
    public var hashrate30Min: Double?
    public var hashrateUnit: HashrateUnit
    public var poolRejectionRate: Double?
    public var uptime: String
    /// Always `poolCount` entries, pool 1 first.
    public var pools: [Pool]
    /// Always `hashboardCount` entries, board 1 first; hashrates in `hashrateUnit`.
    public var hashboards: [Hashboard]
    /// Always `fanCount` entries, in RPM.
    public var fanSpeeds: [Double?]
    public var lanIp: String
    public var wanIp: String?
    public var coinName: String
    /// In watts.
    public var power: Double
    public var insertedAt: Timestamp?

    public init(
        asicMinerId: Int64, hashrate5Min: Double, hashrate30Min: Double? = nil, hashrateUnit: HashrateUnit,
        poolRejectionRate: Double? = nil, uptime: String, pools: [Pool], hashboards: [Hashboard],
        fanSpeeds: [Double?], lanIp: String, wanIp: String? = nil, coinName: String, power: Double,
        insertedAt: Timestamp? = nil
    ) {
        self.asicMinerId = asicMinerId
        self.hashrate5Min = hashrate5Min
        self.hashrate30Min = hashrate30Min
        self.hashrateUnit = hashrateUnit
        self.poolRejectionRate = poolRejectionRate
        self.uptime = uptime
        self.pools = pools.padded(to: Self.poolCount, with: Pool())
        self.hashboards = hashboards.padded(to: Self.hashboardCount, with: Hashboard())
        self.fanSpeeds = fanSpeeds.padded(to: Self.fanCount, with: nil)
        self.lanIp = lanIp
        self.wanIp = wanIp
        self.coinName = coinName
        self.power = power
        self.insertedAt = insertedAt
    }

    /// The 5-minute hashrate in H/s, the figure the aggregated index sums.
    public var hashrate: Hashrate { Hashrate(hashrate5Min, hashrateUnit) }
}

extension AsicMinerLog: MinerLog {
    public var minerId: Int64 { asicMinerId }

    /// The 5-minute hashrate, on the log's one coin.
    public func forEachCoinHashrate(_ body: (_ rawCoinName: String, _ hashrate: Hashrate) -> Void) {
        body(coinName, hashrate)
    }

    public var aggregatedPower: Double { power }
}

extension Array {
    /// Exactly `count` elements: cut, or filled up with `filler`. The decoders always pass the right count, and
    /// then the array is kept as it is rather than copied.
    func padded(to count: Int, with filler: Element) -> [Element] {
        if self.count == count { return self }
        var result = Array(prefix(count))
        while result.count < count { result.append(filler) }
        return result
    }
}
