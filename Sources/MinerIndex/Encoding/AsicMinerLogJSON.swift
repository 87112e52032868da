extension AsicMinerLog: JSONRecord {
    private enum Keys {
        static let asicMinerId = JSONKey("asic_miner_id")
        static let hashrate5Min = JSONKey("hashrate_5_min"), hashrate30Min = JSONKey("hashrate_30_min")
        static let hashrateUnit = JSONKey("hashrate_uom"), poolRejectionRate = JSONKey("pool_rejection_rate")
        static let uptime = JSONKey("uptime"), lanIp = JSONKey("lan_ip"), wanIp = JSONKey("wan_ip")
        static let coinName = JSONKey("coin_name"), power = JSONKey("power"), insertedAt = JSONKey("inserted_at")
        static let pools = (1...AsicMinerLog.poolCount).map { pool in
            ["address", "user", "state", "accepted_share", "rejected_share"].map { JSONKey("pool_\(pool)_\($0)") }
        }
        static let hashboards = (1...AsicMinerLog.hashboardCount).map { board in
            ["hashrate_5_min", "hashrate_30_min", "temp_1", "temp_2"].map { JSONKey("hashboard_\(board)_\($0)") }
        }
        static let fans = (1...AsicMinerLog.fanCount).map { JSONKey("fan_\($0)_speed") }
    }

    /// Every reference field, absent ones as null so dashboards see the original shape; never `api_code`.
    public func writeJSON(to writer: inout JSONWriter) {
        var fields = RecordFields.plain
        write(&fields, to: &writer)
    }

    public func writeJSON(to writer: inout JSONWriter, fingerprint: inout [UInt64], onlyChanged: Bool) {
        var fields = RecordFields(onlyChanged: onlyChanged)
        swap(&fields.fingerprint, &fingerprint)
        write(&fields, to: &writer)
        swap(&fields.fingerprint, &fingerprint)
    }

    private func write(_ fields: inout RecordFields, to writer: inout JSONWriter) {
        writer.beginObject()
        fields.integer(Keys.asicMinerId, asicMinerId, to: &writer)
        fields.decimal(Keys.hashrate5Min, hashrate5Min, to: &writer)
        fields.decimal(Keys.hashrate30Min, hashrate30Min, to: &writer)
        fields.string(Keys.hashrateUnit, hashrateUnit.symbol, to: &writer)
        fields.decimal(Keys.poolRejectionRate, poolRejectionRate, to: &writer)
        fields.string(Keys.uptime, uptime, to: &writer)
        // Indexed rather than zipped: zipping would copy each pool and board out, retaining every string in it.
        for index in 0..<Self.poolCount {
            let keys = Keys.pools[index]
            fields.string(keys[0], pools[index].address, to: &writer)
            fields.string(keys[1], pools[index].user, to: &writer)
            fields.string(keys[2], pools[index].state, to: &writer)
            fields.wholeOrDecimal(keys[3], pools[index].acceptedShare, to: &writer)
            fields.wholeOrDecimal(keys[4], pools[index].rejectedShare, to: &writer)
        }
        for index in 0..<Self.hashboardCount {
            let keys = Keys.hashboards[index]
            fields.decimal(keys[0], hashboards[index].hashrate5Min, to: &writer)
            fields.decimal(keys[1], hashboards[index].hashrate30Min, to: &writer)
            fields.wholeOrDecimal(keys[2], hashboards[index].temperature1, to: &writer)
            fields.wholeOrDecimal(keys[3], hashboards[index].temperature2, to: &writer)
        }
        for index in 0..<Self.fanCount {
            fields.wholeOrDecimal(Keys.fans[index], fanSpeeds[index], to: &writer)
        }
        fields.string(Keys.lanIp, lanIp, to: &writer)
        fields.string(Keys.wanIp, wanIp, to: &writer)
        fields.string(Keys.coinName, coinName, to: &writer)
        fields.wholeOrDecimal(Keys.power, power, to: &writer)
        fields.timestamp(Keys.insertedAt, insertedAt, to: &writer)
        writer.endObject()
    }
}
