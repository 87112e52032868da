import MinerIndex

/// One simulated ASIC: fixed traits drawn once from the seed (model, coin spelling, reporting unit, pools,
/// addresses), and a generator of its own for the small variations of each report.
struct AsicMinerProfile: Sendable {
    let id: Int64
    let model: AsicCatalog.Model
    let coinSpelling: String
    let unit: HashrateUnit
    let decimals: Int
    let pools: [String]
    let worker: String
    let lanIp: String
    let wanIp: String?
    let firmwareVersion: String
    /// Seconds the machine had been up when the run started, so uptimes differ across the fleet.
    let uptimeAtStart: Int64
    let reportsPowerAsFloat: Bool
    let activated: Bool
    private var random: SeededGenerator
    private var acceptedShares: Int64
    private var rejectedShares: Int64

    init(id: Int64, seed: UInt64, deactivatedFraction: Double) {
        var random = SeededGenerator(seed: seed, stream: UInt64(bitPattern: id) &* 2)
        self.id = id
        model = random.pick(AsicCatalog.models)
        coinSpelling = random.pick(model.coinSpellings)
        unit = random.pick(AsicCatalog.plausibleUnits(for: model.nominalHashesPerSecond))
        let typicalValue = model.nominalHashesPerSecond / unit.factor
        decimals = typicalValue >= 1000 ? 2 : (typicalValue >= 1 ? 3 : 5)
        pools = Array(model.pools.prefix(random.integer(in: 1...model.pools.count)))
        worker = "farm\(random.integer(in: 1...9)).rack\(random.integer(in: 1...40)).\(id)"
        lanIp = "10.\(random.integer(in: 0...31)).\(random.integer(in: 0...255)).\(random.integer(in: 2...254))"
        wanIp = random.chance(0.7) ? "203.0.113.\(random.integer(in: 1...254))" : nil
        firmwareVersion = random.pick(["2023.06.05", "2024.01.11", "Braiins OS 23.12", "LuxOS 2024.3"])
        uptimeAtStart = Int64(random.integer(in: 60...(40 * 86_400)))
        reportsPowerAsFloat = random.chance(0.5)
        activated = !random.chance(deactivatedFraction)
        acceptedShares = Int64(random.integer(in: 0...500_000))
        rejectedShares = acceptedShares / Int64(random.integer(in: 200...2000))
        self.random = random
    }

    mutating func log(at now: Timestamp, elapsedSeconds: Double) -> GeneratedLog {
        let efficiency = random.double(in: 0.93...1.04)
        let hashrate5Min = FixedDecimal(model.nominalHashesPerSecond * efficiency / unit.factor, decimals: decimals)
        let hashrate30Min = FixedDecimal(
            model.nominalHashesPerSecond * random.double(in: 0.96...1.02) / unit.factor, decimals: decimals)
        let watts = model.watts * random.double(in: 0.96...1.04)
        let power = reportsPowerAsFloat ? FixedDecimal(watts, decimals: 1) : FixedDecimal(watts.rounded(), decimals: 0)
        acceptedShares += Int64(random.integer(in: 1...40))
        if random.chance(0.02) { rejectedShares += 1 }

        var json = JSONBodyWriter(reservingCapacity: 1400)
        json.integer("asic_miner_id", id)
        json.decimal("hashrate_5_min", hashrate5Min)
        json.decimal("hashrate_30_min", hashrate30Min)
        json.string("hashrate_uom", unit.symbol)
        json.decimal(
            "pool_rejection_rate",
            FixedDecimal(Double(rejectedShares) / Double(max(1, acceptedShares)) * 100, decimals: 3))
        json.string("uptime", Self.uptime(seconds: uptimeAtStart + Int64(elapsedSeconds)))
        for (index, address) in pools.enumerated() {
            let number = index + 1
            json.string("pool_\(number)_address", address)
            json.string("pool_\(number)_user", worker)
            json.string("pool_\(number)_state", index == 0 ? "Alive" : random.pick(["Alive", "Alive", "Dead"]))
            json.integer("pool_\(number)_accepted_share", index == 0 ? acceptedShares : 0)
            json.integer("pool_\(number)_rejected_share", index == 0 ? rejectedShares : 0)
        }
        let boardShare = hashrate5Min.value / 3
        var maxTemperature: Int64 = .min
        for board in 1...3 {
            json.decimal(
                "hashboard_\(board)_hashrate_5_min",
                FixedDecimal(boardShare * random.double(in: 0.97...1.03), decimals: decimals))
            json.decimal(
                "hashboard_\(board)_hashrate_30_min", FixedDecimal(hashrate30Min.value / 3, decimals: decimals))
            let temperatures = (Int64(random.integer(in: 58...78)), Int64(random.integer(in: 62...84)))
            json.integer("hashboard_\(board)_temp_1", temperatures.0)
            json.integer("hashboard_\(board)_temp_2", temperatures.1)
            maxTemperature = max(maxTemperature, temperatures.0, temperatures.1)
        }
        for fan in 1...model.fans {
            json.integer("fan_\(fan)_speed", Int64(random.integer(in: 3600...6600)))
        }
        json.string("lan_ip", lanIp)
        json.string("wan_ip", wanIp)
        json.string("coin_name", coinSpelling)
        json.decimal("power", power)
        json.string("inserted_at", ISO8601Timestamp.format(now))
        json.string("api_code", "sentry-\(id)-\(worker.utf8.count)")

        let coin = CoinName.normalized(coinSpelling)
        let contribution = MinerContribution(
            coins: [.init(coin: coin, hashesPerSecond: Hashrate(hashrate5Min.value, unit).hashesPerSecond)],
            power: power.value, maxTemperature: Double(maxTemperature), coinPower: [coin: power.value])
        return GeneratedLog(body: json.finish(), contribution: contribution)
    }

    func upsertBody(at now: Timestamp) -> [UInt8] {
        var json = JSONBodyWriter(reservingCapacity: 400)
        json.integer("id", id)
        json.string("name", "\(model.name) #\(id)")
        json.string("api_code", "sentry-\(id)-\(worker.utf8.count)")
        json.string("firmware_version", firmwareVersion)
        json.string("software_version", "cgminer 4.11.1")
        json.string("model", model.name)
        json.string("model_variant", model.variant.isEmpty ? nil : model.variant)
        json.bool("activated", activated)
        json.string("asic_expected_status", activated ? "on" : "off")
        json.string("light_expected_status", "off")
        json.string("inserted_at", "2024-03-01T08:00:00Z")
        json.string("updated_at", ISO8601Timestamp.format(now))
        return json.finish()
    }

    static func uptime(seconds: Int64) -> String {
        let days = seconds / 86_400, hours = seconds / 3600 % 24, minutes = seconds / 60 % 60, rest = seconds % 60
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(days)):\(two(hours)):\(two(minutes)):\(two(rest))"
    }
}
