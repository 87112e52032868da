/// Which fleet-health keys an aggregated object carries after the seed's three.
enum FleetHealthKeys: Sendable {
    /// ASICs: status_counts, coin_power_map, coin_efficiency_map, thermal, pools, expected_missing, model_map.
    case all
    /// Rigs: status_counts and thermal.
    case statusAndThermal
}

/// Writes the fleet-health keys of an aggregated object, in the order of the contract's table. Maps are written
/// in key order, so equal figures give equal bytes.
enum FleetHealthJSON {
    private enum Keys {
        static let statusCounts = JSONKey("status_counts"), online = JSONKey("online"), stale = JSONKey("stale")
        static let offline = JSONKey("offline"), disabled = JSONKey("disabled")
        static let coinPowerMap = JSONKey("coin_power_map"), coinEfficiencyMap = JSONKey("coin_efficiency_map")
        static let thermal = JSONKey("thermal"), maxTemp = JSONKey("max_temp"), avgTemp = JSONKey("avg_temp")
        static let hottest = JSONKey("hottest"), id = JSONKey("id"), name = JSONKey("name"), temp = JSONKey("temp")
        static let fansStopped = JSONKey("fans_stopped")
        static let pools = JSONKey("pools"), miners = JSONKey("miners"), accepted = JSONKey("accepted")
        static let rejected = JSONKey("rejected"), rejectRatio = JSONKey("reject_ratio")
        static let expectedMissing = JSONKey("expected_missing"), count = JSONKey("count"), ids = JSONKey("ids")
        static let modelMap = JSONKey("model_map"), alive = JSONKey("alive"), power = JSONKey("power")
    }

    static func write(_ aggregate: MinerAggregate, keys: FleetHealthKeys, to writer: inout JSONWriter) {
        let health = aggregate.health
        writeStatusCounts(health.statusCounts, to: &writer)
        if keys == .all {
            writer.key(Keys.coinPowerMap)
            writer.beginObject()
            for coin in health.coinPower.keys.sorted() {
                writer.key(coin)
                writeWatts(health.coinPower[coin] ?? 0, to: &writer)
            }
            writer.endObject()
            let efficiencies = aggregate.coinEfficiencies
            writer.key(Keys.coinEfficiencyMap)
            writer.beginObject()
            for coin in efficiencies.keys.sorted() {
                guard let display = efficiencies[coin]?.display else { continue }
                writer.key(coin)
                writer.beginArray()
                writer.decimal(display.value)
                writer.string(display.unit)
                writer.endArray()
            }
            writer.endObject()
        }
        writeThermal(health.thermal, to: &writer)
        if keys == .all {
            writePools(health.pools, to: &writer)
            writer.key(Keys.expectedMissing)
            writer.beginObject()
            writer.key(Keys.count)
            writer.integer(Int64(health.expectedMissing.count))
            writer.key(Keys.ids)
            writer.beginArray()
            for id in health.expectedMissing.ids { writer.integer(id) }
            writer.endArray()
            writer.endObject()
            writeModels(health.models, to: &writer)
        }
    }

    private static func writeStatusCounts(_ counts: FleetHealth.StatusCounts, to writer: inout JSONWriter) {
        writer.key(Keys.statusCounts)
        writer.beginObject()
        writer.key(Keys.online)
        writer.integer(Int64(counts.online))
        writer.key(Keys.stale)
        writer.integer(Int64(counts.stale))
        writer.key(Keys.offline)
        writer.integer(Int64(counts.offline))
        writer.key(Keys.disabled)
        writer.integer(Int64(counts.disabled))
        writer.endObject()
    }

    private static func writeThermal(_ thermal: FleetHealth.Thermal, to writer: inout JSONWriter) {
        writer.key(Keys.thermal)
        writer.beginObject()
        writer.key(Keys.maxTemp)
        writer.wholeOrDecimal(thermal.maxTemperature)
        writer.key(Keys.avgTemp)
        writer.decimal(thermal.averageTemperature)
        writer.key(Keys.hottest)
        writer.beginArray()
        for miner in thermal.hottest {
            writer.beginObject()
            writer.key(Keys.id)
            writer.integer(miner.id)
            writer.key(Keys.name)
            writer.string(miner.name)
            writer.key(Keys.temp)
            writer.wholeOrDecimal(miner.temperature)
            writer.endObject()
        }
        writer.endArray()
        writer.key(Keys.fansStopped)
        writer.integer(Int64(thermal.fansStopped))
        writer.endObject()
    }

    private static func writePools(_ pools: [String: FleetHealth.Pool], to writer: inout JSONWriter) {
        writer.key(Keys.pools)
        writer.beginObject()
        for address in pools.keys.sorted() {
            guard let pool = pools[address] else { continue }
            writer.key(address)
            writer.beginObject()
            writer.key(Keys.miners)
            writer.integer(Int64(pool.miners))
            writer.key(Keys.accepted)
            writeRounded(pool.accepted, to: &writer)
            writer.key(Keys.rejected)
            writeRounded(pool.rejected, to: &writer)
            writer.key(Keys.rejectRatio)
            writer.decimal(pool.rejectRatio)
            writer.endObject()
        }
        writer.endObject()
    }

    private static func writeModels(_ models: [String: FleetHealth.Model], to writer: inout JSONWriter) {
        writer.key(Keys.modelMap)
        writer.beginObject()
        for name in models.keys.sorted() {
            guard let model = models[name] else { continue }
            writer.key(name)
            writer.beginObject()
            writer.key(Keys.alive)
            writer.string(model.alive)
            writer.key(PayloadKeys.coinHashrateMap)
            writer.beginObject()
            for coin in model.coinHashrates.keys.sorted() {
                guard let display = model.coinHashrates[coin]?.display else { continue }
                writer.key(coin)
                writer.beginArray()
                writer.decimal(display.value)
                writer.string(display.unit.symbol)
                writer.endArray()
            }
            writer.endObject()
            writer.key(Keys.power)
            writeWatts(model.power, to: &writer)
            writer.endObject()
        }
        writer.endObject()
    }

    /// Watts to the milliwatt, as `total_power`: sums of float readings otherwise show their binary noise.
    private static func writeWatts(_ watts: Double, to writer: inout JSONWriter) {
        writeRounded(watts, to: &writer)
    }

    private static func writeRounded(_ value: Double, to writer: inout JSONWriter) {
        writer.wholeOrDecimal((value * 1000).rounded() / 1000)
    }
}
