import MinerIndex

/// Lag probes: one extra miner per kind (id = fleet size + 1) whose hashrate, on a coin of its own, is the
/// probe's serial number in H/s. The aggregated snapshot therefore says which probe it reflects, and since the
/// queue is FIFO and probes travel with the fleet's logs, the time from publishing probe k to the first snapshot
/// showing k or more is the end-to-end lag of every log published with it.
public enum LagProbe {
    /// Grouped by the service as "Miner-load-probe".
    public static let coinName = "miner-load-probe"
    public static var displayCoinName: String { CoinName.normalized(coinName) }

    public static func slot(of kind: MinerKind, fleetCount: Int) -> MinerSlot {
        MinerSlot(kind: kind, index: fleetCount)
    }

    public static func log(kind: MinerKind, id: Int64, serial: Int64, at time: Timestamp) -> GeneratedLog {
        var json = JSONBodyWriter(reservingCapacity: 400)
        switch kind {
        case .asic:
            json.integer("asic_miner_id", id)
            json.integer("hashrate_5_min", serial)
            json.string("hashrate_uom", "H/s")
            json.string("uptime", "00:00:00:01")
            json.string("pool_1_address", "stratum+tcp://probe.invalid:3333")
            json.string("pool_1_user", "miner-load")
            json.string("pool_1_state", "Alive")
            json.integer("hashboard_1_temp_1", 0)
            json.integer("fan_1_speed", 0)
            json.string("lan_ip", "127.0.0.1")
            json.string("coin_name", coinName)
            json.integer("power", 0)
        case .cpuGpu:
            json.integer("cpu_gpu_miner_id", id)
            json.string("cpu_coin_name", coinName)
            json.string("cpu_algorithm", "probe")
            json.integer("cpu_hashrate", serial)
            json.string("cpu_hashrate_uom", "H/s")
            json.integer("cpu_power", 0)
        }
        json.string("inserted_at", ISO8601Timestamp.format(time))
        return GeneratedLog(
            body: json.finish(),
            contribution: MinerContribution(
                coins: [.init(coin: displayCoinName, hashesPerSecond: Double(serial))], power: 0,
                // The ASIC probe reports one board at 0 °C and its power, 0 W, on its own coin.
                maxTemperature: kind == .asic ? 0 : nil, coinPower: kind == .asic ? [displayCoinName: 0] : [:]))
    }

    /// The serial a snapshot reflects, from its `[value, unit]` entry for the probe coin.
    public static func serial(fromHashesPerSecond hashesPerSecond: Double) -> Int64 {
        Int64(hashesPerSecond.rounded())
    }
}
