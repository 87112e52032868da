import Foundation
import MinerIndex

/// Message bodies shaped like the farm's producers: a full ASIC log (~1.2 KB) and an eight-GPU dual-mining rig
/// log (~2.3 KB), varied per miner so that no two bodies are identical.
enum SampleMessages {
    /// Written as a template rather than through JSONSerialization, which would take longer to build the
    /// hundreds of thousands of bodies the benchmark feeds than the benchmark takes to run.
    /// `report` numbers a miner's successive reports: from one to the next, the fields that `miner-load`'s simulated
    /// miners vary (hashrates, rejection rate, uptime, the first pool's shares, the other pools' states, hashboard
    /// figures, fans, power, `inserted_at`) change, and the rest (pools, worker, addresses, coin) stay, as on a farm.
    static func asicLog(id: Int, insertedAt: String = "2023-11-14T22:13:20.123Z", report: Int = 0) -> [UInt8] {
        let unit = ["TH/s", "GH/s", "th/s"][id % 3]
        let coin = ["bitcoin", "Bitcoin", "kaspa", "litecoin"][id % 4]
        var noise = SeededGenerator(
            seed: UInt64(truncatingIfNeeded: id) &* 0x9E37_79B9 &+ UInt64(truncatingIfNeeded: report))
        let accepted = 123_456 + id + report * 20
        var text = #"{"asic_miner_id":\#(id),"hashrate_5_min":\#(95.5 + Double(id % 100) / 10 + noise.tenths(60)),"#
        text += #""hashrate_30_min":\#(94.25 + noise.tenths(30)),"#
        text += #""hashrate_uom":"\#(unit)","pool_rejection_rate":\#(Double(12_000 / max(1, accepted / 1000)) / 1000),"#
        text += #""uptime":"03:11:\#(10 + report / 60 % 50):\#(10 + report % 50)","#
        text += #""lan_ip":"10.0.\#(id / 250 % 250).\#(id % 250)","wan_ip":"203.0.113.9","coin_name":"\#(coin)","#
        text +=
            #""power":\#(3200 + noise.whole(100)).5,"inserted_at":"\#(insertedAt)","api_code":"sentry-token-\#(id)-0f8e2c1d9b7a6543""#
        for pool in 1...3 {
            let state = pool == 1 ? "Alive" : (noise.whole(3) == 0 ? "Dead" : "Alive")
            text += #","pool_\#(pool)_address":"stratum+tcp://btc.pool\#(pool).example.com:3333","#
            text += #""pool_\#(pool)_user":"farmnorth.rack\#(id % 40).worker\#(id)","#
            text += #""pool_\#(pool)_state":"\#(state)","#
            text +=
                #""pool_\#(pool)_accepted_share":\#(pool == 1 ? accepted : 0),"pool_\#(pool)_rejected_share":\#(pool == 1 ? 12 : 0)"#
        }
        for board in 1...3 {
            text += #","hashboard_\#(board)_hashrate_5_min":\#(31.5 + noise.tenths(10)),"#
            text += #""hashboard_\#(board)_hashrate_30_min":\#(31.42 + noise.tenths(2)),"#
            text +=
                #""hashboard_\#(board)_temp_1":\#(58 + noise.whole(20)),"hashboard_\#(board)_temp_2":\#(62 + noise.whole(22))"#
        }
        for fan in 1...4 { text += #","fan_\#(fan)_speed":\#(3600 + noise.whole(3000))"# }
        return Array((text + "}").utf8)
    }

    static func cpuGpuLog(id: Int, insertedAt: String = "2023-11-14T22:13:20.123Z") -> [UInt8] {
        var object: [String: Any] = [
            "cpu_gpu_miner_id": id, "cpu_temp": 61.5, "cpu_hashrate": 14.2, "cpu_hashrate_uom": "KH/s",
            "cpu_algorithm": "RandomX", "cpu_coin_name": "monero", "cpu_pool_address": "pool.supportxmr.com:443",
            "cpu_wallet_address":
                "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "cpu_power": 95, "gpu_fan_uom": "%", "lan_ip": "10.0.9.\(id % 250)", "wan_ip": "198.51.100.7",
            "uptime": "00:04:12:09", "inserted_at": insertedAt, "api_code": "rig-secret-\(id)",
            "gpu_algorithm_1": "Autolykos2", "gpu_hashrate_uom_1": "MH/s", "gpu_coin_name_1": "ergo",
            "gpu_pool_address_1": "erg.2miners.com:8888",
            "gpu_wallet_address_1": "9f4QF8AD1nQ3nJahQVkMj8hFSVVzVom77b52JU7EW71Zexg6N8v",
            "gpu_algorithm_2": "KHeavyHash", "gpu_hashrate_uom_2": "GH/s", "gpu_coin_name_2": "kaspa",
            "gpu_pool_address_2": "kas.2miners.com:2020",
            "gpu_wallet_address_2": "kaspa:qz0c8gf8lm54u4m3dw6p0z23vhfmryj8x7qxmq9k5v",
        ]
        for gpu in 1...8 {
            object["gpu_\(gpu)_core_temp"] = 58 + gpu
            object["gpu_\(gpu)_mem_temp"] = 70.5
            object["gpu_\(gpu)_hashrate_1"] = 120.5 + Double(id % 7)
            object["gpu_\(gpu)_hashrate_2"] = 0.75
            object["gpu_\(gpu)_core_clock"] = 1100
            object["gpu_\(gpu)_mem_clock"] = 2100
            object["gpu_\(gpu)_power"] = 130.5
            object["gpu_\(gpu)_fan"] = 65
        }
        return serialise(object)
    }

    static func asicMiner(id: Int) -> AsicMiner {
        AsicMiner(
            id: Int64(id), name: "S19-rack\(id % 40)-\(id)", firmwareVersion: "2023.05.12",
            softwareVersion: "braiins-os 23.03", model: "Antminer S19", modelVariant: "XP", activated: true,
            asicExpectedStatus: "on", lightExpectedStatus: "off",
            insertedAt: ISO8601Timestamp.parse("2023-01-01T00:00:00Z"),
            updatedAt: ISO8601Timestamp.parse("2023-06-01T12:00:00Z"))
    }

    /// Keys in one fixed order, as a producer that serialises the same record type every time writes them.
    private static func serialise(_ object: [String: Any]) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return [] }
        return Array(data)
    }

    /// The same members in a different order for every body: the worst case for the decoder's key prediction,
    /// which learns the order producers write. `body` must be a flat JSON object.
    static func withShuffledKeys<Generator: RandomNumberGenerator>(
        _ body: [UInt8], using generator: inout Generator
    ) -> [UInt8] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [] }
        let members = object.keys.shuffled(using: &generator).compactMap { key -> String? in
            guard let keyData = try? JSONSerialization.data(withJSONObject: key, options: .fragmentsAllowed),
                let valueData = try? JSONSerialization.data(
                    withJSONObject: object[key] as Any,
                    options: .fragmentsAllowed)
            else { return nil }
            return String(decoding: keyData, as: UTF8.self) + ":" + String(decoding: valueData, as: UTF8.self)
        }
        return Array(("{" + members.joined(separator: ",") + "}").utf8)
    }
}

/// A fixed-seed generator (SplitMix64), so that every benchmark run decodes the same shuffled bodies.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

extension SeededGenerator {
    /// A whole number in 0..<bound.
    mutating func whole(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }

    /// A number of tenths in 0..<bound/10.
    mutating func tenths(_ bound: Int) -> Double { Double(whole(bound)) / 10 }
}
