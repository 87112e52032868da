import Foundation
import Testing

@testable import MinerIndex

@Suite struct PayloadTests {
    let now = Fixtures.seconds(0)
    /// The fleet-health keys that follow the seed's three in an ASIC aggregated object.
    static let asicHealthKeys = [
        "status_counts", "coin_power_map", "coin_efficiency_map", "thermal", "pools", "expected_missing", "model_map",
    ]
    /// Metadata after the figures: the canaries the index applied (see `Canary`), `{}` without any.
    static let metadataKeys = ["canaries"]

    func populatedAsicIndex() async throws -> AsicMinerOperationalIndex {
        let index = AsicMinerOperationalIndex()
        await index.upsert(
            try AsicMiner.decode(
                json: Fixtures.json([
                    "id": 1, "name": "Rack \"A\" \\ slot\n1\u{01}", "api_code": "s3cr3t", "activated": true,
                    "model": "Antminer S19",
                    "inserted_at": "2023-01-01T00:00:00Z",
                ])))
        await index.upsert(AsicMiner(id: 2, name: "off", activated: false))
        await index.upsert(AsicMiner(id: 3, name: "silent", activated: true))
        await index.put(try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(id: 1))), receivedAt: now)
        await index.put(Fixtures.asicLog(id: 2), receivedAt: now)
        await index.put(
            Fixtures.asicLog(id: 4, hashrate: 1500, unit: .gigahashesPerSecond, coin: "KASPA", power: 500),
            receivedAt: now)
        return index
    }

    @Test func asicIndexPayloadHasTheDesignNoteShape() async throws {
        let snapshot = try await populatedAsicIndex().snapshot()
        var encoder = AsicMinerPayloadEncoder()
        let bytes = encoder.indexPayload(snapshot, aggregate: snapshot.aggregate(), sequence: 17, generatedAt: now)
        let payload = try Fixtures.parse(bytes)

        #expect(
            Set(payload.keys) == [
                "asic_miner_map", "asic_miner_operational_map", "asic_miner_aggregated_index",
                "sequence", "generated_at",
            ])
        #expect(payload["sequence"] as? Int == 17)
        #expect(payload["generated_at"] as? String == "2023-11-14T22:13:20Z")

        let miners = try #require(payload["asic_miner_map"] as? [String: Any])
        #expect(Set(miners.keys) == ["1", "3", "4"])  // 2 is deactivated; 4 registered from its log
        let miner = try #require(miners["1"] as? [String: Any])
        #expect(
            Set(miner.keys) == [
                "id", "name", "firmware_version", "software_version", "model", "model_variant",
                "activated", "asic_expected_status", "light_expected_status", "inserted_at", "updated_at",
            ])
        #expect(miner["name"] as? String == "Rack \"A\" \\ slot\n1\u{01}")  // escaping survives a real parser
        #expect(miner["model"] as? String == "Antminer S19")
        #expect(miner["activated"] as? Bool == true)
        #expect(miner["inserted_at"] as? String == "2023-01-01T00:00:00Z")
        #expect(miner["firmware_version"] is NSNull)

        let logs = try #require(payload["asic_miner_operational_map"] as? [String: Any])
        #expect(Set(logs.keys) == ["1", "4"])
        let log = try #require(logs["1"] as? [String: Any])
        let expectedLogKeys: Set<String> = Set(Fixtures.asicLogObject().keys).subtracting(["api_code"])
        #expect(Set(log.keys) == expectedLogKeys)
        #expect(log["hashrate_5_min"] as? Double == 95.5)
        #expect(log["hashrate_uom"] as? String == "TH/s")
        #expect(log["power"] as? Int == 3250)
        #expect(log["hashboard_1_temp_1"] as? Double == 64.5)
        #expect(log["pool_2_accepted_share"] as? Int == 246_912)
        #expect(log["inserted_at"] as? String == "2023-11-14T22:13:20Z")

        let aggregated = try #require(payload["asic_miner_aggregated_index"] as? [String: Any])
        #expect(
            Set(aggregated.keys)
                == Set(
                    ["coin_hashrate_map", "total_power", "asic_miner_alive"] + Self.asicHealthKeys + Self.metadataKeys))
        #expect(aggregated["asic_miner_alive"] as? String == "2/3")
        #expect(aggregated["total_power"] as? Int == 3750)
        let coins = try #require(aggregated["coin_hashrate_map"] as? [String: [Any]])
        #expect(Set(coins.keys) == ["Bitcoin", "Kaspa"])
        #expect(coins["Bitcoin"]?[0] as? Double == 95.5)
        #expect(coins["Bitcoin"]?[1] as? String == "TH/s")
        #expect(coins["Kaspa"]?[0] as? Double == 1.5)
        #expect(coins["Kaspa"]?[1] as? String == "TH/s")

        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("api_code"))
        #expect(!text.contains("s3cr3t"))
    }

    @Test func aggregatedPayloadIsTheObjectAloneWithStamp() async throws {
        let snapshot = try await populatedAsicIndex().snapshot()
        let encoder = AsicMinerPayloadEncoder()
        let payload = try Fixtures.parse(encoder.aggregatedPayload(snapshot.aggregate(), sequence: 3, generatedAt: now))
        #expect(
            Set(payload.keys)
                == Set(
                    ["coin_hashrate_map", "total_power", "asic_miner_alive", "sequence", "generated_at"]
                        + Self.asicHealthKeys + Self.metadataKeys))
        #expect(payload["sequence"] as? Int == 3)
        let plain = try Fixtures.parse(encoder.aggregateJSON(snapshot.aggregate()))
        #expect(
            Set(plain.keys)
                == Set(
                    ["coin_hashrate_map", "total_power", "asic_miner_alive"] + Self.asicHealthKeys + Self.metadataKeys))
    }

    @Test func cachedAndUncachedEncodingsAgreeAcrossTicks() async throws {
        let index = try await populatedAsicIndex()
        var cached = AsicMinerPayloadEncoder()
        let uncached = AsicMinerPayloadEncoder(cachesRecords: false)
        for tick in 0..<4 {
            await index.put(
                Fixtures.asicLog(id: 4, hashrate: Double(tick)), receivedAt: now.adding(seconds: Double(tick)))
            if tick == 2 { await index.upsert(AsicMiner(id: 3, name: "renamed")) }
            let snapshot = await index.snapshot()
            var fresh = uncached
            let a = cached.indexPayload(
                snapshot, aggregate: snapshot.aggregate(), sequence: UInt64(tick), generatedAt: now)
            let b = fresh.indexPayload(
                snapshot, aggregate: snapshot.aggregate(), sequence: UInt64(tick), generatedAt: now)
            #expect(a == b)
        }
        let last = await index.snapshot()
        let final = try Fixtures.parse(
            cached.indexPayload(last, aggregate: last.aggregate(), sequence: 9, generatedAt: now))
        let logs = try #require(final["asic_miner_map"] as? [String: Any])
        #expect((logs["3"] as? [String: Any])?["name"] as? String == "renamed")
    }

    @Test func cpuGpuPayloadHasTheDesignNoteShape() async throws {
        let index = CpuGpuMinerOperationalIndex()
        await index.upsert(
            try CpuGpuMiner.decode(
                json: Fixtures.json([
                    "id": 1, "name": "rig-1", "api_code": "rig-secret", "activated": true, "ram_size": 32,
                    "gpu_1_name": "RTX 3080",
                ])))
        await index.put(
            try CpuGpuMinerLog.decode(json: Fixtures.json(Fixtures.cpuGpuLogObject(id: 1))), receivedAt: now)
        let snapshot = await index.snapshot()
        var encoder = CpuGpuMinerPayloadEncoder()
        let bytes = encoder.indexPayload(snapshot, aggregate: snapshot.aggregate(), sequence: 1, generatedAt: now)
        let payload = try Fixtures.parse(bytes)
        #expect(
            Set(payload.keys) == [
                "cpu_gpu_miner_map", "cpu_gpu_miner_operational_map", "aggregated_index",
                "sequence", "generated_at",
            ])
        let rig = try #require((payload["cpu_gpu_miner_map"] as? [String: Any])?["1"] as? [String: Any])
        #expect(rig["ram_size"] as? Int == 32)
        #expect(rig["gpu_1_name"] as? String == "RTX 3080")
        #expect(rig["gpu_8_name"] is NSNull)
        #expect(rig["api_code"] == nil)
        let log = try #require((payload["cpu_gpu_miner_operational_map"] as? [String: Any])?["1"] as? [String: Any])
        #expect(Set(log.keys) == Set(Fixtures.cpuGpuLogObject().keys).subtracting(["api_code"]))
        #expect(log["gpu_hashrate_uom_2"] as? String == "GH/s")
        let aggregated = try #require(payload["aggregated_index"] as? [String: Any])
        #expect(
            Set(aggregated.keys) == [
                "total_power", "cpu_gpu_miner_alive", "coin_hashrate_map", "status_counts", "thermal", "canaries",
            ])
        #expect(aggregated["cpu_gpu_miner_alive"] as? String == "1/1")
        #expect(aggregated["total_power"] as? Int == 1139)  // 95 + 8 x 130.5
        let coins = try #require(aggregated["coin_hashrate_map"] as? [String: [Any]])
        #expect(coins["Monero"]?[0] as? Double == 14.2)
        #expect(coins["Monero"]?[1] as? String == "KH/s")
        #expect(coins["Ergo"]?[0] as? Double == 964)  // 8 x 120.5 MH/s
        #expect(coins["Kaspa"]?[0] as? Double == 6)  // 8 x 0.75 GH/s
        #expect(!String(decoding: bytes, as: UTF8.self).contains("rig-secret"))
    }

    @Test func minerDetailAndHistoryJSON() async throws {
        let index = try await populatedAsicIndex()
        let encoder = AsicMinerPayloadEncoder()
        let detail = try Fixtures.parse(
            encoder.minerDetailJSON(miner: await index.miner(4), latest: await index.entry(4)))
        #expect(Set(detail.keys) == ["miner", "latest_log", "observed_at"])
        #expect((detail["latest_log"] as? [String: Any])?["coin_name"] as? String == "KASPA")
        #expect(detail["observed_at"] as? String == "2023-11-14T22:13:20Z")
        let missing = try Fixtures.parse(encoder.minerDetailJSON(miner: nil, latest: nil))
        #expect(missing["miner"] is NSNull)

        let history = try Fixtures.parse(
            AsicMinerHistoryEntry.historyJSON(asicMinerId: 4, entries: await index.history(4, now: now)))
        #expect(history["asic_miner_id"] as? Int == 4)
        let entries = try #require(history["entries"] as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries[0]["hashrate_5_min"] as? Double == 1.5e12)
        #expect(entries[0]["hashrate_uom"] as? String == "H/s")
        #expect(entries[0]["power"] as? Int == 500)
        #expect(entries[0]["fan_1_speed"] as? Int == 5000)
        #expect(entries[0]["fan_2_speed"] is NSNull)
    }

    @Test func writerEscapesEveryControlCharacter() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\/é😀".utf8), as: UTF8.self)
        var writer = JSONWriter()
        writer.beginArray()
        writer.string(text)
        writer.decimal(0.1)
        writer.decimal(120)
        writer.wholeOrDecimal(7000)
        writer.wholeOrDecimal(12.25)
        writer.decimal(.infinity)
        writer.endArray()
        #expect(String(decoding: writer.bytes, as: UTF8.self).hasSuffix(#",0.1,120.0,7000,12.25,null]"#))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [Any])
        #expect(parsed[0] as? String == text)
    }
}
