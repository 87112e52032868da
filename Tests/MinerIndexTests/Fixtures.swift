import Foundation

@testable import MinerIndex

/// Message bodies shaped like the producers' and helpers to build records without JSON.
enum Fixtures {
    static let t0 = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)

    static func seconds(_ offset: Double) -> Timestamp { t0.adding(seconds: offset) }

    /// A complete ASIC log (about 1.2 KB) as a JSON object; `overrides` replace or add members, and a value of
    /// `NSNull()` removes nothing but sets null, while `removing` drops keys.
    static func asicLogObject(id: Int64 = 1, overrides: [String: Any] = [:], removing: [String] = []) -> [String: Any] {
        var object: [String: Any] = [
            "asic_miner_id": id, "hashrate_5_min": 95.5, "hashrate_30_min": 94.25, "hashrate_uom": "TH/s",
            "pool_rejection_rate": 0.12, "uptime": "03:11:22:45", "lan_ip": "10.0.4.17", "wan_ip": "203.0.113.9",
            "coin_name": "bitcoin", "power": 3250.0, "inserted_at": "2023-11-14T22:13:20.000Z",
            "api_code": "s3cr3t-sentry-token-do-not-broadcast",
        ]
        for pool in 1...3 {
            object["pool_\(pool)_address"] = "stratum+tcp://btc.pool\(pool).example.com:3333"
            object["pool_\(pool)_user"] = "farm\(pool).worker\(id)"
            object["pool_\(pool)_state"] = pool == 1 ? "Alive" : "Dead"
            object["pool_\(pool)_accepted_share"] = 123_456 * pool
            object["pool_\(pool)_rejected_share"] = 12 * pool
        }
        for board in 1...3 {
            object["hashboard_\(board)_hashrate_5_min"] = 31.8
            object["hashboard_\(board)_hashrate_30_min"] = 31.4
            object["hashboard_\(board)_temp_1"] = 64.5
            object["hashboard_\(board)_temp_2"] = 71
        }
        for fan in 1...4 { object["fan_\(fan)_speed"] = 5400 + fan * 10 }
        for (key, value) in overrides { object[key] = value }
        for key in removing { object[key] = nil }
        return object
    }

    /// A rig with a CPU and eight GPUs dual-mining (about 2.3 KB).
    static func cpuGpuLogObject(id: Int64 = 1, overrides: [String: Any] = [:], removing: [String] = [])
        -> [String: Any]
    {
        var object: [String: Any] = [
            "cpu_gpu_miner_id": id, "cpu_temp": 61.5, "cpu_hashrate": 14.2, "cpu_hashrate_uom": "KH/s",
            "cpu_algorithm": "RandomX", "cpu_coin_name": "monero", "cpu_pool_address": "pool.supportxmr.com:443",
            "cpu_wallet_address":
                "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "cpu_power": 95, "gpu_fan_uom": "%", "lan_ip": "10.0.9.4", "wan_ip": "198.51.100.7",
            "uptime": "00:04:12:09", "inserted_at": "2023-11-14T22:13:20Z", "api_code": "rig-secret",
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
            object["gpu_\(gpu)_hashrate_1"] = 120.5
            object["gpu_\(gpu)_hashrate_2"] = 0.75
            object["gpu_\(gpu)_core_clock"] = 1100
            object["gpu_\(gpu)_mem_clock"] = 2100
            object["gpu_\(gpu)_power"] = 130.5
            object["gpu_\(gpu)_fan"] = 65
        }
        for (key, value) in overrides { object[key] = value }
        for key in removing { object[key] = nil }
        return object
    }

    static func json(_ object: Any) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            preconditionFailure("fixture is not serialisable")
        }
        return Array(data)
    }

    static func asicLog(
        id: Int64, hashrate: Double = 100, unit: HashrateUnit = .terahashesPerSecond,
        coin: String = "bitcoin", power: Double = 3000, insertedAt: Timestamp? = nil
    ) -> AsicMinerLog {
        AsicMinerLog(
            asicMinerId: id, hashrate5Min: hashrate, hashrateUnit: unit, uptime: "00:00:01:00",
            pools: [AsicMinerLog.Pool(address: "stratum+tcp://pool", user: "u", state: "Alive")],
            hashboards: [AsicMinerLog.Hashboard(temperature1: 60)], fanSpeeds: [5000],
            lanIp: "10.0.0.\(id % 250)", coinName: coin, power: power, insertedAt: insertedAt)
    }

    static func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        guard let dictionary = object as? [String: Any] else { throw FixtureError.notAnObject }
        return dictionary
    }

    enum FixtureError: Error { case notAnObject }
}

extension MinerPayloadEncoder {
    /// The aggregated object with no stamp: what the payload tests compare field by field.
    func aggregateJSON(_ aggregate: MinerAggregate) -> [UInt8] {
        var writer = JSONWriter()
        writeAggregate(aggregate, to: &writer)
        return writer.bytes
    }
}
