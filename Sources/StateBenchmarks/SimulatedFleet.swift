import MinerIndex

/// A fleet whose logs look like the producers': per miner, fixed pools, worker, addresses and coin, and readings
/// that move a little on every report (decimals as firmware writes them).
struct SimulatedFleet {
    let asicCount: Int
    let cpuGpuCount: Int
    private var random = SplitMix(state: 42)
    private static let pools = [
        "stratum+tcp://btc.f2pool.com:3333", "stratum+tcp://ss.antpool.com:3333",
        "stratum+tcp://kas.2miners.com:2020", "stratum+tcp://ltc.viabtc.io:3333",
    ]
    private static let coins = ["bitcoin", "Bitcoin", "kaspa", "litecoin"]

    init(asicCount: Int, cpuGpuCount: Int) {
        self.asicCount = asicCount
        self.cpuGpuCount = cpuGpuCount
    }

    private mutating func integer(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    private mutating func decimal(_ range: ClosedRange<Int>, scale: Double) -> Double {
        Double(integer(range)) / scale
    }

    mutating func asicLog(id: Int64, at time: Timestamp) -> AsicMinerLog {
        let worker = "farm\(id % 9).rack\(id % 40).\(id)"
        let poolCount = Int(id % 3) + 1
        let pools = (0..<3).map { index in
            index < poolCount
                ? AsicMinerLog.Pool(
                    address: Self.pools[(Int(id) + index) % Self.pools.count], user: worker,
                    state: index == 0 ? "Alive" : "Dead", acceptedShare: Double(integer(0...900_000)),
                    rejectedShare: Double(integer(0...900)))
                : AsicMinerLog.Pool()
        }
        let boards = (0..<3).map { _ in
            AsicMinerLog.Hashboard(
                hashrate5Min: decimal(30_000...38_000, scale: 1000),
                hashrate30Min: decimal(30_000...38_000, scale: 1000),
                temperature1: Double(integer(58...78)), temperature2: Double(integer(62...84)))
        }
        return AsicMinerLog(
            asicMinerId: id, hashrate5Min: decimal(95_000...112_000, scale: 1000),
            hashrate30Min: decimal(95_000...112_000, scale: 1000), hashrateUnit: .terahashesPerSecond,
            poolRejectionRate: decimal(0...500, scale: 1000),
            uptime: "0\(id % 9):1\(id % 9):2\(id % 9):3\(integer(0...9))",
            pools: pools, hashboards: boards, fanSpeeds: (0..<4).map { _ in Double(integer(3600...6600)) },
            lanIp: "10.\(id % 32).\(id % 251).\(id % 253 + 2)", wanIp: id % 10 < 7 ? "203.0.113.\(id % 254 + 1)" : nil,
            coinName: Self.coins[Int(id) % Self.coins.count], power: decimal(32_000...34_000, scale: 10),
            insertedAt: time)
    }

    mutating func cpuGpuLog(id: Int64, at time: Timestamp) -> CpuGpuMinerLog {
        let gpus = (0..<8).map { _ in
            CpuGpuMinerLog.Gpu(
                coreTemperature: Double(integer(55...75)), memoryTemperature: Double(integer(60...90)),
                hashrate1: decimal(100_000...130_000, scale: 1000), hashrate2: decimal(500...900, scale: 1000),
                coreClock: Double(integer(1000...1200)), memoryClock: Double(integer(2000...2200)),
                power: decimal(1200...1400, scale: 10), fan: Double(integer(40...90)))
        }
        return CpuGpuMinerLog(
            cpuGpuMinerId: id, cpuTemperature: Double(integer(50...70)),
            cpuHashrate: decimal(12_000...15_000, scale: 1000),
            cpuMining: .init(coinName: "monero", algorithm: "RandomX", hashrateUnit: .kilohashesPerSecond),
            cpuPoolAddress: "pool.supportxmr.com:443", cpuWalletAddress: "44AFFq5kSiGBoZ4NMDwYtN18obc8Ae\(id)",
            cpuPower: Double(integer(80...110)), gpus: gpus, gpuFanUnit: .percent,
            gpuSlots: [
                .init(
                    mining: .init(coinName: "ergo", algorithm: "Autolykos2", hashrateUnit: .megahashesPerSecond),
                    poolAddress: "erg.2miners.com:8888", walletAddress: "9f4QF8AD1nQ3nJahQVkMj8h\(id)"),
                .init(
                    mining: .init(coinName: "kaspa", algorithm: "KHeavyHash", hashrateUnit: .gigahashesPerSecond),
                    poolAddress: "kas.2miners.com:2020", walletAddress: "kaspa:qz0c8gf8lm54u4m3\(id)"),
            ],
            lanIp: "10.9.\(id % 251).\(id % 253 + 2)", wanIp: "198.51.100.\(id % 254 + 1)",
            uptime: "00:04:12:0\(id % 10)",
            insertedAt: time)
    }

    func asicMiner(id: Int64) -> AsicMiner {
        AsicMiner(
            id: id, name: "Antminer S19 #\(id)", firmwareVersion: "2024.01.11", softwareVersion: "cgminer 4.11.1",
            model: "Antminer S19", modelVariant: "XP", activated: id % 50 != 0, asicExpectedStatus: "on",
            lightExpectedStatus: "off")
    }
}

/// SplitMix64: a seeded generator, so runs are repeatable.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
