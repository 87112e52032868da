import MinerIndex

/// One simulated CPU/GPU rig: 1–8 identical cards mining a coin in GPU slot 1, sometimes a second coin in slot 2
/// (dual mining), sometimes the CPU mining monero too (and a few rigs mine monero on both, which the service must
/// add up rather than overwrite).
struct CpuGpuRigProfile: Sendable {
    struct Slot: Sendable {
        let coin: CpuGpuCatalog.GpuCoin
        let spelling: String
        let unit: HashrateUnit
        let decimals: Int
    }

    struct CpuMining: Sendable {
        let name: String
        let spelling: String
        let unit: HashrateUnit
        let hashesPerSecond: Double
        let watts: Double
    }

    let id: Int64
    let card: CpuGpuCatalog.Card
    let gpuCount: Int
    let slots: [Slot]
    let cpu: CpuMining?
    let cpuName: String
    let motherboard: String
    let fanUnit: String
    let lanIp: String
    let wanIp: String?
    let wallet: String
    let uptimeAtStart: Int64
    let activated: Bool
    private var random: SeededGenerator

    init(id: Int64, seed: UInt64, deactivatedFraction: Double) {
        var random = SeededGenerator(seed: seed, stream: UInt64(bitPattern: id) &* 2 &+ 1)
        self.id = id
        card = random.pick(CpuGpuCatalog.cards)
        gpuCount = random.integer(in: 1...8)
        let primary = random.pick(CpuGpuCatalog.primaryCoins)
        var slots = [Self.slot(for: primary, card: card, random: &random)]
        if primary.algorithm != "RandomX", random.chance(0.3) {
            slots.append(Self.slot(for: random.pick(CpuGpuCatalog.dualPartners), card: card, random: &random))
        }
        self.slots = slots
        let cpuModel = random.pick(CpuGpuCatalog.cpus)
        cpuName = cpuModel.name
        if primary.algorithm == "RandomX" || random.chance(0.35) {
            let unit: HashrateUnit = random.chance(0.5) ? .hashesPerSecond : .kilohashesPerSecond
            cpu = CpuMining(
                name: cpuModel.name, spelling: random.pick(CpuGpuCatalog.cpuCoinSpellings), unit: unit,
                hashesPerSecond: cpuModel.hashesPerSecond, watts: cpuModel.watts)
        } else {
            cpu = nil
        }
        motherboard = random.pick(CpuGpuCatalog.motherboards)
        fanUnit = random.chance(0.6) ? "%" : "RPM"
        lanIp = "10.\(random.integer(in: 32...63)).\(random.integer(in: 0...255)).\(random.integer(in: 2...254))"
        wanIp = random.chance(0.5) ? "198.51.100.\(random.integer(in: 1...254))" : nil
        wallet = "wallet\(random.integer(in: 100_000...999_999))"
        uptimeAtStart = Int64(random.integer(in: 60...(20 * 86_400)))
        activated = !random.chance(deactivatedFraction)
        self.random = random
    }

    private static func slot(for coin: CpuGpuCatalog.GpuCoin, card: CpuGpuCatalog.Card, random: inout SeededGenerator)
        -> Slot
    {
        let perCard = coin.hashesPerSecondPerCard * card.speed
        let unit = random.pick(AsicCatalog.plausibleUnits(for: perCard))
        let typical = perCard / unit.factor
        return Slot(
            coin: coin, spelling: random.pick(coin.spellings), unit: unit,
            decimals: typical >= 1000 ? 1 : (typical >= 1 ? 2 : 4))
    }

    mutating func log(at now: Timestamp, elapsedSeconds: Double) -> GeneratedLog {
        var json = JSONBodyWriter(reservingCapacity: 2600)
        json.integer("cpu_gpu_miner_id", id)
        var coins: [MinerContribution.CoinShare] = []
        var totalPower = 0.0

        var maxTemperature = Int64(random.integer(in: 48...82))
        json.integer("cpu_temp", maxTemperature)
        if let cpu {
            let hashrate = FixedDecimal(
                cpu.hashesPerSecond * random.double(in: 0.94...1.03) / cpu.unit.factor,
                decimals: cpu.unit == .hashesPerSecond ? 0 : 2)
            json.decimal("cpu_hashrate", hashrate)
            json.string("cpu_hashrate_uom", cpu.unit.symbol)
            json.string("cpu_algorithm", "RandomX")
            json.string("cpu_coin_name", cpu.spelling)
            json.string("cpu_pool_address", "stratum+tcp://xmr.2miners.com:2222")
            json.string("cpu_wallet_address", wallet)
            coins.append(
                .init(
                    coin: CoinName.normalized(cpu.spelling),
                    hashesPerSecond: Hashrate(hashrate.value, cpu.unit).hashesPerSecond))
        }
        let cpuPower = FixedDecimal(Double((cpu?.watts ?? 35) * random.double(in: 0.9...1.05)), decimals: 1)
        json.decimal("cpu_power", cpuPower)
        totalPower = cpuPower.value

        // Summed in GPU order from zero, as the service sums them, so the expected total is the same double.
        var slotSums = [Double](repeating: 0, count: slots.count)
        for gpu in 1...gpuCount {
            let coreTemperature = Int64(random.integer(in: 50...74))
            json.integer("gpu_\(gpu)_core_temp", coreTemperature)
            maxTemperature = max(maxTemperature, coreTemperature)
            json.integer("gpu_\(gpu)_mem_temp", Int64(random.integer(in: 68...98)))
            for (index, slot) in slots.enumerated() {
                let perCard = slot.coin.hashesPerSecondPerCard * card.speed * random.double(in: 0.95...1.03)
                let hashrate = FixedDecimal(perCard / slot.unit.factor, decimals: slot.decimals)
                json.decimal("gpu_\(gpu)_hashrate_\(index + 1)", hashrate)
                slotSums[index] += hashrate.value
            }
            json.integer("gpu_\(gpu)_core_clock", Int64(random.integer(in: 1350...1950)))
            json.integer("gpu_\(gpu)_mem_clock", Int64(random.integer(in: 5000...10_500)))
            let watts = FixedDecimal(card.watts * random.double(in: 0.85...1.05), decimals: random.chance(0.5) ? 0 : 1)
            json.decimal("gpu_\(gpu)_power", watts)
            totalPower += watts.value
            json.integer(
                "gpu_\(gpu)_fan",
                fanUnit == "%" ? Int64(random.integer(in: 40...95)) : Int64(random.integer(in: 1400...3200)))
        }
        json.string("gpu_fan_uom", fanUnit)
        for (index, slot) in slots.enumerated() {
            let number = index + 1
            json.string("gpu_algorithm_\(number)", slot.coin.algorithm)
            json.string("gpu_hashrate_uom_\(number)", slot.unit.symbol)
            json.string("gpu_coin_name_\(number)", slot.spelling)
            json.string("gpu_pool_address_\(number)", slot.coin.pools.first)
            json.string("gpu_wallet_address_\(number)", wallet)
            coins.append(
                .init(
                    coin: CoinName.normalized(slot.spelling),
                    hashesPerSecond: Hashrate(slotSums[index], slot.unit).hashesPerSecond))
        }
        json.string("lan_ip", lanIp)
        json.string("wan_ip", wanIp)
        json.string("uptime", AsicMinerProfile.uptime(seconds: uptimeAtStart + Int64(elapsedSeconds)))
        json.string("inserted_at", ISO8601Timestamp.format(now))
        json.string("api_code", "rig-sentry-\(id)")
        return GeneratedLog(
            body: json.finish(),
            contribution: MinerContribution(coins: coins, power: totalPower, maxTemperature: Double(maxTemperature)))
    }

    func upsertBody(at now: Timestamp) -> [UInt8] {
        var json = JSONBodyWriter(reservingCapacity: 600)
        json.integer("id", id)
        json.string("name", "rig-\(id)")
        json.string("api_code", "rig-sentry-\(id)")
        json.string("motherboard_name", motherboard)
        json.string("cpu_name", cpuName)
        json.integer("ram_size", gpuCount > 4 ? 32 : 16)
        for gpu in 1...gpuCount { json.string("gpu_\(gpu)_name", card.name) }
        json.bool("activated", activated)
        json.string("inserted_at", "2024-03-01T08:00:00Z")
        json.string("updated_at", ISO8601Timestamp.format(now))
        return json.finish()
    }
}
