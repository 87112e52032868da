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
        writer.beginObject()
        writer.key(Keys.asicMinerId); writer.integer(asicMinerId)
        writer.key(Keys.hashrate5Min); writer.decimal(hashrate5Min)
        writer.key(Keys.hashrate30Min); writer.decimal(hashrate30Min)
        writer.key(Keys.hashrateUnit); writer.string(hashrateUnit.symbol)
        writer.key(Keys.poolRejectionRate); writer.decimal(poolRejectionRate)
        writer.key(Keys.uptime); writer.string(uptime)
        // Indexed rather than zipped: zipping would copy each pool and board out, retaining every string in it.
        for index in 0..<Self.poolCount {
            let keys = Keys.pools[index]
            writer.key(keys[0]); writer.string(pools[index].address)
            writer.key(keys[1]); writer.string(pools[index].user)
            writer.key(keys[2]); writer.string(pools[index].state)
            writer.key(keys[3]); writer.wholeOrDecimal(pools[index].acceptedShare)
            writer.key(keys[4]); writer.wholeOrDecimal(pools[index].rejectedShare)
        }
        for index in 0..<Self.hashboardCount {
            let keys = Keys.hashboards[index]
            writer.key(keys[0]); writer.decimal(hashboards[index].hashrate5Min)
            writer.key(keys[1]); writer.decimal(hashboards[index].hashrate30Min)
            writer.key(keys[2]); writer.wholeOrDecimal(hashboards[index].temperature1)
            writer.key(keys[3]); writer.wholeOrDecimal(hashboards[index].temperature2)
        }
        for index in 0..<Self.fanCount {
            writer.key(Keys.fans[index]); writer.wholeOrDecimal(fanSpeeds[index])
        }
        writer.key(Keys.lanIp); writer.string(lanIp)
        writer.key(Keys.wanIp); writer.string(wanIp)
        writer.key(Keys.coinName); writer.string(coinName)
        writer.key(Keys.power); writer.wholeOrDecimal(power)
        writer.key(Keys.insertedAt); writer.timestamp(insertedAt)
        writer.endObject()
    }
}
