/// The aggregated history as JSON for the HTTP read API:
/// `{"resolution": "1m", "since": "…"|null, "entries": [{"bucket_start": "…", "samples": 60,
///   "coin_hashrate_map": {"Bitcoin": 3.3e+14}, "total_power": 9750, "alive": 3, "registered": 3,
///   "status_counts": {"online": 3, "stale": 0, "offline": 0, "disabled": 1}}, …]}`, oldest first, hashrates in
/// H/s. Minute and hour entries hold means, so their counts may have fractions.
public enum AggregatedHistoryJSON {
    private enum Keys {
        static let resolution = JSONKey("resolution"), since = JSONKey("since"), entries = JSONKey("entries")
        static let bucketStart = JSONKey("bucket_start"), samples = JSONKey("samples")
        static let coinHashrateMap = JSONKey("coin_hashrate_map"), totalPower = JSONKey("total_power")
        static let alive = JSONKey("alive"), registered = JSONKey("registered")
        static let statusCounts = JSONKey("status_counts"), online = JSONKey("online"), stale = JSONKey("stale")
        static let offline = JSONKey("offline"), disabled = JSONKey("disabled")
    }

    public static func encode(
        resolution: AggregatedHistoryResolution, since: Timestamp?, rows: [AggregatedHistoryRow]
    ) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + rows.count * 300)
        writer.beginObject()
        writer.key(Keys.resolution)
        writer.string(resolution.rawValue)
        writer.key(Keys.since)
        writer.timestamp(since)
        writer.key(Keys.entries)
        writer.beginArray()
        for row in rows { write(row, to: &writer) }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    private static func write(_ row: AggregatedHistoryRow, to writer: inout JSONWriter) {
        let figures = row.figures
        writer.beginObject()
        writer.key(Keys.bucketStart)
        writer.timestamp(row.bucketStart)
        writer.key(Keys.samples)
        writer.integer(Int64(row.samples))
        writer.key(Keys.coinHashrateMap)
        writer.beginObject()
        for coin in figures.coinHashesPerSecond.keys.sorted() {
            writer.key(coin)
            writer.decimal(figures.coinHashesPerSecond[coin])
        }
        writer.endObject()
        writer.key(Keys.totalPower)
        writeRounded(figures.totalPower, to: &writer)
        writer.key(Keys.alive)
        writeRounded(figures.alive, to: &writer)
        writer.key(Keys.registered)
        writeRounded(figures.registered, to: &writer)
        writer.key(Keys.statusCounts)
        writer.beginObject()
        writer.key(Keys.online)
        writeRounded(figures.online, to: &writer)
        writer.key(Keys.stale)
        writeRounded(figures.stale, to: &writer)
        writer.key(Keys.offline)
        writeRounded(figures.offline, to: &writer)
        writer.key(Keys.disabled)
        writeRounded(figures.disabled, to: &writer)
        writer.endObject()
        writer.endObject()
    }

    /// Watts and (mean) counts to a thousandth: means of whole counts otherwise print as 2.3333333333333335.
    private static func writeRounded(_ value: Double, to writer: inout JSONWriter) {
        writer.wholeOrDecimal((value * 1000).rounded() / 1000)
    }
}
