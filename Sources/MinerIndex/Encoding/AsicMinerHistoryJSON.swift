extension AsicMinerHistoryEntry {
    private enum Keys {
        static let observedAt = JSONKey("observed_at")
        static let hashrate5Min = JSONKey("hashrate_5_min"), hashrate30Min = JSONKey("hashrate_30_min")
        static let hashrateUnit = JSONKey("hashrate_uom"), power = JSONKey("power")
        static let poolRejectionRate = JSONKey("pool_rejection_rate")
        static let temperatures = (1...3).flatMap { board in (1...2).map { JSONKey("hashboard_\(board)_temp_\($0)") } }
        static let fans = (1...4).map { JSONKey("fan_\($0)_speed") }
        static let shares = (1...3).flatMap { pool in
            [JSONKey("pool_\(pool)_accepted_share"), JSONKey("pool_\(pool)_rejected_share")]
        }
        static let asicMinerId = JSONKey("asic_miner_id"), entries = JSONKey("entries")
    }

    /// A history as JSON for the HTTP read API: `{"asic_miner_id": N, "entries": [...]}`, oldest entry first,
    /// hashrates in H/s.
    public static func historyJSON(asicMinerId: Int64, entries: [AsicMinerHistoryEntry]) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + entries.count * 420)
        writer.beginObject()
        writer.key(Keys.asicMinerId)
        writer.integer(asicMinerId)
        writer.key(Keys.entries)
        writer.beginArray()
        for entry in entries { entry.writeJSON(to: &writer) }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key(Keys.observedAt); writer.timestamp(observedAt)
        writer.key(Keys.hashrate5Min); writer.compactDecimal(hashrate5MinStorage)
        writer.key(Keys.hashrate30Min); writer.compactDecimal(hashrate30MinStorage)
        writer.key(Keys.hashrateUnit); writer.string(HashrateUnit.hashesPerSecond.symbol)
        writer.key(Keys.power)
        if power == power.rounded() { writer.wholeOrDecimal(power) } else { writer.compactDecimal(powerStorage) }
        writer.key(Keys.poolRejectionRate); writer.compactDecimal(poolRejectionRateStorage)
        for (index, key) in Keys.temperatures.enumerated() {
            writer.key(key); writer.wholeOrDecimal(temperature(board: index / 2 + 1, sensor: index % 2 + 1))
        }
        for (index, key) in Keys.fans.enumerated() {
            writer.key(key); writer.wholeOrDecimal(fanSpeed(index + 1))
        }
        for (index, key) in Keys.shares.enumerated() {
            let pool = shares(pool: index / 2 + 1)
            writer.key(key); writer.wholeOrDecimal(index % 2 == 0 ? pool.accepted : pool.rejected)
        }
        writer.endObject()
    }
}
