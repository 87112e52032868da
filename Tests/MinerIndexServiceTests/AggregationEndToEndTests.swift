import AMQP
import BrokerTestSupport
import Foundation
import MinerIndexService
import Testing

@Suite(.serialized) struct AggregationEndToEndTests {
    let asicHealthKeys = ["status_counts", "coin_power_map", "coin_efficiency_map", "thermal", "pools", "expected_missing",
                          "model_map"]

    @Test func snapshotsCarryExactAggregatesInTheDesignNotesShape() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 1))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 2))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 3, activated: false))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 4))
        // Mixed units and coin spellings for one coin; an unknown miner; a deactivated one; a deleted one.
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 100, unit: "TH/s", coin: "bitcoin", power: 3000))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 500_000, unit: "gh/s", coin: " BitCoin ", power: 3200))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 3, hashrate: 90, coin: "bitcoin", power: 3100))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 4, hashrate: 80, coin: "bitcoin", power: 2900))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 5, hashrate: 20_000, unit: "GH/s", coin: "KASPA", power: 1500))
        try await harness.publish("asic_miner.delete", ["id": 4])

        try await harness.publish("cpu_gpu_miner.upsert", Messages.cpuGpuMiner(id: 10))
        try await harness.publish("cpu_gpu_miner.upsert", Messages.cpuGpuMiner(id: 11))
        try await harness.publish(
            "cpu_gpu_miner.log",
            Messages.cpuGpuLog(
                id: 10,
                overrides: [
                    "cpu_coin_name": "monero", "cpu_algorithm": "RandomX", "cpu_hashrate": 14, "cpu_hashrate_uom": "KH/s",
                    "cpu_power": 100,
                    "gpu_coin_name_1": "Monero", "gpu_algorithm_1": "RandomX", "gpu_hashrate_uom_1": "KH/s",
                    "gpu_1_hashrate_1": 3, "gpu_2_hashrate_1": 3,
                    "gpu_coin_name_2": "ergo", "gpu_algorithm_2": "Autolykos2", "gpu_hashrate_uom_2": "MH/s",
                    "gpu_1_hashrate_2": 100, "gpu_2_hashrate_2": 50,
                    "gpu_1_power": 200, "gpu_2_power": 250.5,
                ]))

        let asicAggregate = try #require(
            await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) { $0["asic_miner_alive"] as? String == "3/3" })
        #expect(Set(asicAggregate.keys) == Set(["coin_hashrate_map", "total_power", "asic_miner_alive", "sequence", "generated_at"]
                                             + asicHealthKeys))
        let asicCoins = try #require(asicAggregate["coin_hashrate_map"] as? [String: [Any]])
        #expect(Set(asicCoins.keys) == ["Bitcoin", "Kaspa"])
        #expect(asicCoins["Bitcoin"]?.first as? Double == 600)
        #expect(asicCoins["Bitcoin"]?.last as? String == "TH/s")
        #expect(asicCoins["Kaspa"]?.first as? Double == 20)
        #expect(asicCoins["Kaspa"]?.last as? String == "TH/s")
        #expect(asicAggregate["total_power"] as? Double == 7700)
        // The fleet-health keys: 1, 2 and 5 live and just reported, 3 deactivated, 4 deleted.
        #expect(asicAggregate["status_counts"] as? [String: Int] == ["online": 3, "stale": 0, "offline": 0, "disabled": 1])
        #expect(asicAggregate["coin_power_map"] as? [String: Double] == ["Bitcoin": 6200, "Kaspa": 1500])
        let efficiency = try #require(asicAggregate["coin_efficiency_map"] as? [String: [Any]])
        #expect(efficiency["Bitcoin"]?.first as? Double == 10.333333333)  // 6200 W / 600 TH/s
        #expect(efficiency["Kaspa"]?.first as? Double == 75)
        #expect(efficiency["Kaspa"]?.last as? String == "J/TH")
        let thermal = try #require(asicAggregate["thermal"] as? [String: Any])
        #expect(thermal["max_temp"] as? Int == 65)
        #expect(thermal["avg_temp"] as? Double == 65)
        #expect((thermal["hottest"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [1, 2, 5])
        #expect(thermal["fans_stopped"] as? Int == 0)
        let pool = try #require((asicAggregate["pools"] as? [String: [String: Any]])?["stratum+tcp://pool.example:3333"])
        #expect(pool["miners"] as? Int == 3)
        #expect(pool["reject_ratio"] as? Double == 0)
        #expect((asicAggregate["expected_missing"] as? [String: Any])?["count"] as? Int == 0)
        let models = try #require(asicAggregate["model_map"] as? [String: [String: Any]])
        #expect(models["Antminer S19"]?["alive"] as? String == "2/2")
        #expect(models["Antminer S19"]?["power"] as? Int == 6200)
        #expect(models["unknown"]?["alive"] as? String == "1/1")
        #expect((models["unknown"]?["coin_hashrate_map"] as? [String: [Any]])?["Kaspa"]?.first as? Double == 20)

        let asicIndex = try #require(
            await harness.waitForSnapshot(on: exchanges.asicIndex) {
                ($0["asic_miner_aggregated_index"] as? [String: Any])?["asic_miner_alive"] as? String == "3/3"
            })
        #expect(Set(asicIndex.keys) == ["asic_miner_map", "asic_miner_operational_map", "asic_miner_aggregated_index", "sequence", "generated_at"])
        let minerMap = try #require(asicIndex["asic_miner_map"] as? [String: [String: Any]])
        #expect(Set(minerMap.keys) == ["1", "2", "5"])
        #expect(minerMap["1"]?["name"] as? String == "S19-1")
        #expect(minerMap["1"]?["model"] as? String == "Antminer S19")
        let operationalMap = try #require(asicIndex["asic_miner_operational_map"] as? [String: [String: Any]])
        #expect(Set(operationalMap.keys) == ["1", "2", "5"])
        #expect(operationalMap["2"]?["hashrate_5_min"] as? Double == 500_000)
        #expect(operationalMap["2"]?["asic_miner_id"] as? Int == 2)
        #expect(operationalMap["1"]?["api_code"] == nil)
        let nested = try #require(asicIndex["asic_miner_aggregated_index"] as? [String: Any])
        #expect(Set(nested.keys) == Set(["coin_hashrate_map", "total_power", "asic_miner_alive"] + asicHealthKeys))

        let cpuAggregate = try #require(
            await harness.waitForSnapshot(on: exchanges.cpuGpuAggregatedIndex) { $0["cpu_gpu_miner_alive"] as? String == "1/2" })
        #expect(Set(cpuAggregate.keys) == ["coin_hashrate_map", "total_power", "cpu_gpu_miner_alive", "sequence", "generated_at",
                                          "status_counts", "thermal"])
        let cpuCoins = try #require(cpuAggregate["coin_hashrate_map"] as? [String: [Any]])
        #expect(Set(cpuCoins.keys) == ["Monero", "Ergo"])
        // CPU 14 KH/s plus GPU slot 1 (3 + 3 KH/s) on the same coin add up.
        #expect(cpuCoins["Monero"]?.first as? Double == 20)
        #expect(cpuCoins["Monero"]?.last as? String == "KH/s")
        #expect(cpuCoins["Ergo"]?.first as? Double == 150)
        #expect(cpuCoins["Ergo"]?.last as? String == "MH/s")
        #expect(cpuAggregate["total_power"] as? Double == 550.5)
        #expect(cpuAggregate["status_counts"] as? [String: Int] == ["online": 1, "stale": 0, "offline": 1, "disabled": 0])
        #expect((cpuAggregate["thermal"] as? [String: Any])?["max_temp"] is NSNull)

        let cpuIndex = try #require(
            await harness.waitForSnapshot(on: exchanges.cpuGpuIndex) {
                ($0["aggregated_index"] as? [String: Any])?["cpu_gpu_miner_alive"] as? String == "1/2"
            })
        #expect(Set(cpuIndex.keys) == ["cpu_gpu_miner_map", "cpu_gpu_miner_operational_map", "aggregated_index", "sequence", "generated_at"])
        #expect(Set((cpuIndex["cpu_gpu_miner_map"] as? [String: Any])?.keys ?? [:].keys) == ["10", "11"])
        #expect(Set((cpuIndex["cpu_gpu_miner_operational_map"] as? [String: Any])?.keys ?? [:].keys) == ["10"])

        // Message properties and the secret.
        for exchange in exchanges.all {
            let snapshot = try #require(harness.latest(on: exchange))
            #expect(snapshot.properties.contentType == "application/json")
            #expect(snapshot.properties.type == exchange)
            #expect(snapshot.properties.deliveryMode == .transient)
            #expect(snapshot.properties.timestamp != nil)
            #expect(snapshot.headers["sequence"]?.intValue == (snapshot.json["sequence"] as? Int).map(Int64.init))
            #expect(!String(decoding: snapshot.body, as: UTF8.self).contains("secret"))
        }
        let sequences = harness.snapshots(on: exchanges.asicIndex).compactMap { $0.json["sequence"] as? Int }
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)

        await harness.tearDown()
    }

    @Test func aSilentMinerLeavesTheSnapshotsWithinTheBound() async throws {
        let offlineAfter: Duration = .seconds(2)
        let harness = try ServiceHarness { $0.offlineAfter = offlineAfter }
        try await harness.start()
        let exchange = harness.configuration.outputExchanges.asicAggregatedIndex

        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 10))
        let lastReport = ContinuousClock.now
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 20))
        #expect(await harness.waitForSnapshot(on: exchange) { $0["asic_miner_alive"] as? String == "2/2" } != nil)

        // Miner 2 keeps reporting; miner 1 has gone silent.
        let keepAlive = Task {
            while !Task.isCancelled {
                try? await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 20))
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        defer { keepAlive.cancel() }

        try await Task.sleep(until: lastReport + offlineAfter - .milliseconds(600))
        #expect(harness.latest(on: exchange)?.json["asic_miner_alive"] as? String == "2/2", "expired too early")

        let gone = await harness.waitForSnapshot(on: exchange, timeout: .seconds(10)) {
            $0["asic_miner_alive"] as? String == "1/2"
        }
        #expect(gone != nil)
        let removedAt = harness.snapshots(on: exchange).first { $0.json["asic_miner_alive"] as? String == "1/2" }?.receivedAt
        let bound = offlineAfter + .seconds(1) + harness.configuration.broadcastInterval
        // The contract's bound, plus slack for a shared machine.
        #expect(try #require(removedAt) - lastReport <= bound + .seconds(1))
        await harness.tearDown()
    }

    @Test func fiveThousandLogsInASecondGiveAtMostTwoSnapshotsPerExchange() async throws {
        let harness = try ServiceHarness { $0.broadcastInterval = .seconds(1); $0.idleBroadcastInterval = .seconds(30) }
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        // Bodies are built before the burst so that the burst itself is as short as the broker allows.
        let bodies = try (1...5000).map { Array(try JSONSerialization.data(withJSONObject: Messages.asicLog(id: $0, hashrate: 1))) }
        let started = ContinuousClock.now
        try await harness.publishAll(bodies.map { (routingKey: "asic_miner.log", body: $0) })

        let last = await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) {
            $0["asic_miner_alive"] as? String == "5000/5000"
        }
        #expect(last != nil, "the last snapshot does not reflect all 5,000 logs")
        #expect(await harness.waitForSnapshot(on: exchanges.asicIndex) {
            ($0["asic_miner_operational_map"] as? [String: Any])?.count == 5000
        } != nil)

        for exchange in exchanges.all {
            let times = harness.snapshots(on: exchange).map(\.receivedAt)
            let inFirstSecond = times.filter { $0 >= started && $0 < started + .seconds(1) }
            #expect(inFirstSecond.count <= 2, "\(exchange): \(inFirstSecond.count) snapshots in the first second")
            // No window of one interval ever holds more than two (one tick plus network jitter at its edge).
            for (index, time) in times.enumerated() {
                let window = times[index...].prefix { $0 < time + .seconds(1) }
                #expect(window.count <= 2, "\(exchange): \(window.count) snapshots within one second")
            }
        }
        await harness.tearDown()
    }
}
