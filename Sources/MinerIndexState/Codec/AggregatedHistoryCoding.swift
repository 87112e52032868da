import MinerIndex

/// One aggregated-history row (a tick, or a minute's or an hour's means) in the store's binary form.
public enum AggregatedHistoryCoding {
    static let formatVersion: UInt8 = 1

    public static func encode(_ row: AggregatedHistoryRow) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 96)
        writer.byte(formatVersion)
        writer.signed(row.bucketStart.microsecondsSinceEpoch)
        writer.varint(UInt64(max(0, row.samples)))
        let figures = row.figures
        for value in [
            figures.totalPower, figures.alive, figures.registered, figures.online, figures.stale,
            figures.offline, figures.disabled,
        ] {
            writer.number(value)
        }
        writer.varint(UInt64(figures.coinHashesPerSecond.count))
        for (coin, hashesPerSecond) in figures.coinHashesPerSecond.sorted(by: { $0.key < $1.key }) {
            writer.string(coin)
            writer.number(hashesPerSecond)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8], resolution: AggregatedHistoryResolution) throws(StateDecodingError)
        -> AggregatedHistoryRow
    {
        var reader = BinaryReader(bytes)
        let version = try reader.byte()
        guard version == formatVersion else { throw StateDecodingError("unknown history row format \(version)") }
        let bucketStart = Timestamp(microsecondsSinceEpoch: try reader.signed())
        let samples = try reader.count(limit: Int(Int32.max))
        var values: [Double] = []
        for field in ["total_power", "alive", "registered", "online", "stale", "offline", "disabled"] {
            values.append(try reader.requiredNumber(field))
        }
        var coins: [String: Double] = [:]
        for _ in 0..<(try reader.count(limit: 100_000)) {
            let coin = try reader.string()
            coins[coin] = try reader.requiredNumber("coin hashrate")
        }
        guard reader.isAtEnd else { throw StateDecodingError("history row has extra bytes") }
        return AggregatedHistoryRow(
            resolution: resolution, bucketStart: bucketStart, samples: samples,
            figures: AggregatedHistoryFigures(
                coinHashesPerSecond: coins, totalPower: values[0], alive: values[1], registered: values[2],
                online: values[3], stale: values[4], offline: values[5], disabled: values[6]))
    }
}
