import BrokerTestSupport
import Foundation
import MinerIndex

/// Records with every field drawn at random, absent values and awkward numbers included, from a seeded generator so
/// that a failure can be replayed.
struct RandomRecords {
    var generator: SplitMix
    /// Only values a producer sends (non-negative decimals), so that sums stay finite and comparable.
    let realistic: Bool

    init(seed: UInt64, realistic: Bool = false) {
        generator = SplitMix(state: seed)
        self.realistic = realistic
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }

    /// Decimals as producers write them, integers, and now and then any finite double at all.
    mutating func number() -> Double {
        if realistic { return Double(Int.random(in: 0...99_999_999, using: &generator)) / 1000 }
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: return Double(Int.random(in: -1000...100_000, using: &generator))
        case 1: return Double(Int.random(in: 0...99_999_999, using: &generator)) / 1000
        case 2: return Double(Int.random(in: 0...9_999_999, using: &generator)) / 100_000
        case 3: return Double.random(in: -1e6...1e6, using: &generator)
        case 4:
            var bits = UInt64.random(in: .min ... .max, using: &generator)
            while !Double(bitPattern: bits).isFinite { bits = UInt64.random(in: .min ... .max, using: &generator) }
            return Double(bitPattern: bits)
        default: return [0, 1e300, 5e-324, 0.1, 123456789012345.6][Int.random(in: 0..<5, using: &generator)]
        }
    }

    mutating func optionalNumber() -> Double? { chance(0.2) ? nil : number() }

    mutating func text(_ pool: [String]) -> String {
        chance(0.3)
            ? "ünïcode-\(UInt32.random(in: 0 ... .max, using: &generator))"
            : pool[Int.random(in: 0..<pool.count, using: &generator)]
    }

    mutating func optionalText(_ pool: [String]) -> String? { chance(0.2) ? nil : text(pool) }

    mutating func unit() -> HashrateUnit { HashrateUnit.acceptedInput[Int.random(in: 0..<6, using: &generator)] }

    mutating func timestamp() -> Timestamp {
        Timestamp(
            microsecondsSinceEpoch: Int64.random(in: 1_600_000_000_000_000...1_900_000_000_000_000, using: &generator))
    }

    mutating func asicLog(id: Int64) -> AsicMinerLog {
        let pools = (0..<3).map { _ in
            AsicMinerLog.Pool(
                address: optionalText(["stratum+tcp://a:3333", "stratum+tcp://b:443"]),
                user: optionalText(["farm1.rack2.7", "w"]), state: optionalText(["Alive", "Dead"]),
                acceptedShare: optionalNumber(), rejectedShare: optionalNumber())
        }
        let boards = (0..<3).map { _ in
            AsicMinerLog.Hashboard(
                hashrate5Min: optionalNumber(), hashrate30Min: optionalNumber(),
                temperature1: optionalNumber(), temperature2: optionalNumber())
        }
        return AsicMinerLog(
            asicMinerId: id, hashrate5Min: number(), hashrate30Min: optionalNumber(), hashrateUnit: unit(),
            poolRejectionRate: optionalNumber(), uptime: text(["01:02:03:04"]), pools: pools, hashboards: boards,
            fanSpeeds: (0..<4).map { _ in optionalNumber() }, lanIp: text(["10.0.0.1"]),
            wanIp: optionalText(["203.0.113.9"]), coinName: text(["bitcoin", "Kaspa", " litecoin "]),
            power: number(), insertedAt: chance(0.2) ? nil : timestamp())
    }

    mutating func cpuGpuLog(id: Int64) -> CpuGpuMinerLog {
        func mining(_ records: inout RandomRecords) -> CpuGpuMinerLog.CoinMining? {
            records.chance(0.3)
                ? nil
                : .init(
                    coinName: records.text(["monero", "ergo"]),
                    algorithm: records.text(["RandomX", "Autolykos2"]),
                    hashrateUnit: records.unit())
        }
        let cpuMining = mining(&self)
        return CpuGpuMinerLog(
            cpuGpuMinerId: id, cpuTemperature: optionalNumber(), cpuHashrate: cpuMining == nil ? nil : number(),
            cpuMining: cpuMining, cpuPoolAddress: optionalText(["pool:443"]), cpuWalletAddress: optionalText(["44AF"]),
            cpuPower: optionalNumber(),
            gpus: (0..<8).map { _ in
                CpuGpuMinerLog.Gpu(
                    coreTemperature: optionalNumber(), memoryTemperature: optionalNumber(),
                    hashrate1: optionalNumber(), hashrate2: optionalNumber(), coreClock: optionalNumber(),
                    memoryClock: optionalNumber(), power: optionalNumber(), fan: optionalNumber())
            },
            gpuFanUnit: chance(0.3) ? nil : (chance(0.5) ? .percent : .rpm),
            gpuSlots: (0..<2).map { _ in
                CpuGpuMinerLog.GpuSlot(
                    mining: mining(&self), poolAddress: optionalText(["erg:8888"]),
                    walletAddress: optionalText(["9f4Q"]))
            },
            lanIp: optionalText(["10.0.9.4"]), wanIp: optionalText(["198.51.100.7"]),
            uptime: optionalText(["00:04:12:09"]),
            insertedAt: chance(0.2) ? nil : timestamp())
    }

    mutating func asicMiner(id: Int64) -> AsicMiner {
        AsicMiner(
            id: id, name: optionalText(["S19-rack7-slot3"]), firmwareVersion: optionalText(["2024.01"]),
            softwareVersion: optionalText(["cgminer"]), model: optionalText(["Antminer S19"]),
            modelVariant: optionalText(["XP"]), activated: chance(0.8),
            asicExpectedStatus: optionalText(["on", "off"]),
            lightExpectedStatus: optionalText(["off"]), insertedAt: chance(0.5) ? nil : timestamp(),
            updatedAt: chance(0.5) ? nil : timestamp())
    }

    mutating func cpuGpuMiner(id: Int64) -> CpuGpuMiner {
        CpuGpuMiner(
            id: id, name: optionalText(["rig-1"]), motherboardName: optionalText(["B450"]),
            cpuName: optionalText(["Ryzen"]), ramSize: chance(0.5) ? .number(32) : .text("32 GB"),
            gpuNames: (0..<8).map { _ in optionalText(["RTX 3070"]) }, activated: chance(0.8),
            insertedAt: chance(0.5) ? nil : timestamp(), updatedAt: nil)
    }
}
