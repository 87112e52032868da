extension MinerListPage {
    private enum Keys {
        static let sequence = JSONKey("sequence"), total = JSONKey("total"), miners = JSONKey("miners")
        static let nextCursor = JSONKey("next_cursor"), id = JSONKey("id"), name = JSONKey("name")
        static let model = JSONKey("model"), status = JSONKey("status"), lanIP = JSONKey("lan_ip")
        static let temp = JSONKey("temp"), hashrate = JSONKey("hashrate"), lastSeen = JSONKey("last_seen")
    }

    /// `{"sequence": n, "total": n, "miners": [{"id", "name", "model", "status", "lan_ip", "temp", "hashrate",
    /// "last_seen"}, …], "next_cursor": "…" | null}`: `sequence` is the index version the page was read at,
    /// `hashrate` is in H/s, and `model` is absent for kinds without one (rigs).
    public func json(sequence: UInt64, hasModel: Bool) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 128 + rows.count * 160)
        writer.beginObject()
        writer.key(Keys.sequence)
        writer.integer(sequence)
        writer.key(Keys.total)
        writer.integer(Int64(total))
        writer.key(Keys.miners)
        writer.beginArray()
        for row in rows {
            writer.beginObject()
            writer.key(Keys.id)
            writer.integer(row.id)
            writer.key(Keys.name)
            writer.string(row.name)
            if hasModel {
                writer.key(Keys.model)
                writer.string(row.model)
            }
            writer.key(Keys.status)
            writer.string(row.status.rawValue)
            writer.key(Keys.lanIP)
            writer.string(row.lanAddress)
            writer.key(Keys.temp)
            writer.wholeOrDecimal(row.temperature)
            writer.key(Keys.hashrate)
            writer.decimal(row.hashesPerSecond)
            writer.key(Keys.lastSeen)
            writer.timestamp(row.lastSeen)
            writer.endObject()
        }
        writer.endArray()
        writer.key(Keys.nextCursor)
        writer.string(next?.text)
        writer.endObject()
        return writer.bytes
    }
}
