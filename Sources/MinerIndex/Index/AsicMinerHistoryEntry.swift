/// One ASIC log reduced to its numbers, 72 bytes, so that 100k miners x 60 entries stay near 430 MB.
///
/// Compaction trades exactness for size where charts do not need it: hashrates (H/s), power and rejection rate
/// are `Float`; temperatures are kept in tenths of a degree (Int16); fan speeds and shares are clamped to 16 and
/// 32 bits. Absent values use the type's largest value (NaN for floats) as the marker.
public struct AsicMinerHistoryEntry: Sendable, Hashable {
    public let observedAt: Timestamp
    let hashrate5MinStorage: Float
    let hashrate30MinStorage: Float
    let powerStorage: Float
    let poolRejectionRateStorage: Float
    private let temperatures: (Int16, Int16, Int16, Int16, Int16, Int16)
    private let fans: (UInt16, UInt16, UInt16, UInt16)
    private let shares: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    public init(log: AsicMinerLog, observedAt: Timestamp) {
        self.observedAt = observedAt
        hashrate5MinStorage = Float(log.hashrate.hashesPerSecond)
        hashrate30MinStorage = log.hashrate30Min.map { Float(Hashrate($0, log.hashrateUnit).hashesPerSecond) } ?? .nan
        powerStorage = Float(log.power)
        poolRejectionRateStorage = log.poolRejectionRate.map(Float.init) ?? .nan
        let boards = log.hashboards
        temperatures = (
            Self.tenths(boards[0].temperature1), Self.tenths(boards[0].temperature2),
            Self.tenths(boards[1].temperature1), Self.tenths(boards[1].temperature2),
            Self.tenths(boards[2].temperature1), Self.tenths(boards[2].temperature2)
        )
        let fanSpeeds = log.fanSpeeds
        fans = (
            Self.clamped16(fanSpeeds[0]), Self.clamped16(fanSpeeds[1]),
            Self.clamped16(fanSpeeds[2]), Self.clamped16(fanSpeeds[3])
        )
        let pools = log.pools
        shares = (
            Self.clamped32(pools[0].acceptedShare), Self.clamped32(pools[0].rejectedShare),
            Self.clamped32(pools[1].acceptedShare), Self.clamped32(pools[1].rejectedShare),
            Self.clamped32(pools[2].acceptedShare), Self.clamped32(pools[2].rejectedShare)
        )
    }

    /// The entry's stored numbers exactly as kept, so a store can write and read it back without rounding twice.
    public struct Compact: Sendable, Hashable {
        public var hashrate5Min: Float
        public var hashrate30Min: Float
        public var power: Float
        public var poolRejectionRate: Float
        /// Tenths of a degree, board 1 sensor 1 first; `Int16.max` when absent.
        public var temperatures: [Int16]
        /// RPM; `UInt16.max` when absent.
        public var fans: [UInt16]
        /// Accepted then rejected shares of pools 1 to 3; `UInt32.max` when absent.
        public var shares: [UInt32]

        public init(
            hashrate5Min: Float, hashrate30Min: Float, power: Float, poolRejectionRate: Float,
            temperatures: [Int16], fans: [UInt16], shares: [UInt32]
        ) {
            self.hashrate5Min = hashrate5Min
            self.hashrate30Min = hashrate30Min
            self.power = power
            self.poolRejectionRate = poolRejectionRate
            self.temperatures = temperatures
            self.fans = fans
            self.shares = shares
        }

        public static let temperatureCount = 6, fanCount = 4, shareCount = 6
    }

    public var compact: Compact {
        Compact(
            hashrate5Min: hashrate5MinStorage, hashrate30Min: hashrate30MinStorage, power: powerStorage,
            poolRejectionRate: poolRejectionRateStorage,
            temperatures: [
                temperatures.0, temperatures.1, temperatures.2, temperatures.3, temperatures.4,
                temperatures.5,
            ],
            fans: [fans.0, fans.1, fans.2, fans.3],
            shares: [shares.0, shares.1, shares.2, shares.3, shares.4, shares.5])
    }

    /// Rebuilds an entry from `compact`; missing array elements count as absent values.
    public init(observedAt: Timestamp, compact: Compact) {
        self.observedAt = observedAt
        hashrate5MinStorage = compact.hashrate5Min
        hashrate30MinStorage = compact.hashrate30Min
        powerStorage = compact.power
        poolRejectionRateStorage = compact.poolRejectionRate
        func at<T: FixedWidthInteger>(_ values: [T], _ index: Int) -> T {
            values.indices.contains(index) ? values[index] : .max
        }
        let t = compact.temperatures, f = compact.fans, s = compact.shares
        temperatures = (at(t, 0), at(t, 1), at(t, 2), at(t, 3), at(t, 4), at(t, 5))
        fans = (at(f, 0), at(f, 1), at(f, 2), at(f, 3))
        shares = (at(s, 0), at(s, 1), at(s, 2), at(s, 3), at(s, 4), at(s, 5))
    }

    public var hashrate5Min: Hashrate { Hashrate(hashesPerSecond: Double(hashrate5MinStorage)) }
    public var hashrate30Min: Hashrate? {
        hashrate30MinStorage.isNaN ? nil : Hashrate(hashesPerSecond: Double(hashrate30MinStorage))
    }
    public var power: Double { Double(powerStorage) }
    public var poolRejectionRate: Double? {
        poolRejectionRateStorage.isNaN ? nil : Double(poolRejectionRateStorage)
    }

    /// Degrees Celsius of `board` (1...3), `sensor` (1...2), to a tenth of a degree.
    public func temperature(board: Int, sensor: Int) -> Double? {
        let all = [temperatures.0, temperatures.1, temperatures.2, temperatures.3, temperatures.4, temperatures.5]
        let index = (board - 1) * 2 + (sensor - 1)
        guard all.indices.contains(index), all[index] != .max else { return nil }
        return Double(all[index]) / 10
    }

    /// RPM of `fan` (1...4).
    public func fanSpeed(_ fan: Int) -> Double? {
        let all = [fans.0, fans.1, fans.2, fans.3]
        guard all.indices.contains(fan - 1), all[fan - 1] != .max else { return nil }
        return Double(all[fan - 1])
    }

    /// Accepted and rejected shares of `pool` (1...3).
    public func shares(pool: Int) -> (accepted: Double?, rejected: Double?) {
        let all = [shares.0, shares.1, shares.2, shares.3, shares.4, shares.5]
        let index = (pool - 1) * 2
        guard all.indices.contains(index + 1) else { return (nil, nil) }
        return (all[index] == .max ? nil : Double(all[index]), all[index + 1] == .max ? nil : Double(all[index + 1]))
    }

    public static func == (lhs: AsicMinerHistoryEntry, rhs: AsicMinerHistoryEntry) -> Bool {
        lhs.observedAt == rhs.observedAt && lhs.hashrate5Min == rhs.hashrate5Min
            && lhs.hashrate30Min == rhs.hashrate30Min && lhs.power == rhs.power
            && lhs.poolRejectionRate == rhs.poolRejectionRate
            && (1...3).allSatisfy { board in
                (1...2).allSatisfy {
                    lhs.temperature(board: board, sensor: $0) == rhs.temperature(board: board, sensor: $0)
                }
            }
            && (1...4).allSatisfy { lhs.fanSpeed($0) == rhs.fanSpeed($0) }
            && (1...3).allSatisfy { lhs.shares(pool: $0) == rhs.shares(pool: $0) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(observedAt)
        hasher.combine(hashrate5MinStorage)
        hasher.combine(powerStorage)
    }

    // The decoder only lets finite, non-negative numbers through, but a record can be built by other code too:
    // each conversion clamps into range (the largest value stays the absent marker) instead of trapping.
    private static func tenths(_ value: Double?) -> Int16 { clamped(value.map { $0 * 10 }) }

    private static func clamped16(_ value: Double?) -> UInt16 { clamped(value) }

    private static func clamped32(_ value: Double?) -> UInt32 { clamped(value) }

    private static func clamped<Stored: FixedWidthInteger>(_ value: Double?) -> Stored {
        guard let value, !value.isNaN else { return .max }
        let inRange = min(max(value.rounded(), Double(Stored.min)), Double(Stored.max - 1))
        // Through Int64, which every stored type fits in: the generic Double-to-integer conversion is a slow,
        // bit-by-bit path, run nine times per log.
        return Stored(truncatingIfNeeded: Int64(inRange))
    }
}
