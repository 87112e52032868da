import AMQP
import BrokerTestSupport
import Foundation
import MinerIndex
import MinerIndexService
import Testing

@Suite(.serialized) struct AggregationEndToEndTests {
    let asicHealthKeys = [
        "status_counts", "coin_power_map", "coin_efficiency_map", "thermal", "pools", "expected_missing",
        "model_map",
    ]

    @Test func snapshotsCarryExactAggregatesInTheDesignNotesShape() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 1))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 2))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 3, activated: false))
        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 4))
        // Mixed units and coin spellings for one coin; an unknown miner; a deactivated one; a deleted one.
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 1, hashrate: 100, unit: "TH/s", coin: "bitcoin", power: 3000))
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 2, hashrate: 500_000, unit: "gh/s", coin: " BitCoin ", power: 3200))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 3, hashrate: 90, coin: "bitcoin", power: 3100))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 4, hashrate: 80, coin: "bitcoin", power: 2900))
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 5, hashrate: 20_000, unit: "GH/s", coin: "KASPA", power: 1500))
        try await harness.publish("asic_miner.delete", ["id": 4])

        try await harness.publish("cpu_gpu_miner.upsert", Messages.cpuGpuMiner(id: 10))
        try await harness.publish("cpu_gpu_miner.upsert", Messages.cpuGpuMiner(id: 11))
        try await harness.publish(
            "cpu_gpu_miner.log",
            Messages.cpuGpuLog(
                id: 10,
                overrides: [
                    "cpu_coin_name": "monero", "cpu_algorithm": "RandomX", "cpu_hashrate": 14,
                    "cpu_hashrate_uom": "KH/s",
                    "cpu_power": 100,
                    "gpu_coin_name_1": "Monero", "gpu_algorithm_1": "RandomX", "gpu_hashrate_uom_1": "KH/s",
                    "gpu_1_hashrate_1": 3, "gpu_2_hashrate_1": 3,
                    "gpu_coin_name_2": "ergo", "gpu_algorithm_2": "Autolykos2", "gpu_hashrate_uom_2": "MH/s",
                    "gpu_1_hashrate_2": 100, "gpu_2_hashrate_2": 50,
                    "gpu_1_power": 200, "gpu_2_power": 250.5,
                ]))

        let asicAggregate = try #require(
            await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) {
                $0["asic_miner_alive"] as? String == "3/3"
            })
        #expect(
            Set(asicAggregate.keys)
                == Set(
                    [
                        "coin_hashrate_map", "total_power", "asic_miner_alive", "sequence", "leader_epoch",
                        "generated_at",
                    ]
                        + asicHealthKeys + ["canaries"]))
        #expect((asicAggregate["canaries"] as? [String: Any])?.isEmpty == true, "no canary was sent")
        let asicCoins = try #require(asicAggregate["coin_hashrate_map"] as? [String: [Any]])
        #expect(Set(asicCoins.keys) == ["Bitcoin", "Kaspa"])
        #expect(asicCoins["Bitcoin"]?.first as? Double == 600)
        #expect(asicCoins["Bitcoin"]?.last as? String == "TH/s")
        #expect(asicCoins["Kaspa"]?.first as? Double == 20)
        #expect(asicCoins["Kaspa"]?.last as? String == "TH/s")
        #expect(asicAggregate["total_power"] as? Double == 7700)
        // The fleet-health keys: 1, 2 and 5 live and just reported, 3 deactivated, 4 deleted.
        #expect(
            asicAggregate["status_counts"] as? [String: Int] == ["online": 3, "stale": 0, "offline": 0, "disabled": 1])
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
        let pool = try #require(
            (asicAggregate["pools"] as? [String: [String: Any]])?["stratum+tcp://pool.example:3333"])
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
        #expect(
            Set(asicIndex.keys)
                == Set(["asic_miner_map", "asic_miner_operational_map", "asic_miner_aggregated_index"])
                .union(keyframeStreamFields(asicIndex)))
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
        #expect(
            Set(nested.keys)
                == Set(["coin_hashrate_map", "total_power", "asic_miner_alive"] + asicHealthKeys + ["canaries"]))

        let cpuAggregate = try #require(
            await harness.waitForSnapshot(on: exchanges.cpuGpuAggregatedIndex) {
                $0["cpu_gpu_miner_alive"] as? String == "1/2"
            })
        #expect(
            Set(cpuAggregate.keys) == [
                "coin_hashrate_map", "total_power", "cpu_gpu_miner_alive", "sequence", "leader_epoch", "generated_at",
                "status_counts", "thermal", "canaries",
            ])
        let cpuCoins = try #require(cpuAggregate["coin_hashrate_map"] as? [String: [Any]])
        #expect(Set(cpuCoins.keys) == ["Monero", "Ergo"])
        // CPU 14 KH/s plus GPU slot 1 (3 + 3 KH/s) on the same coin add up.
        #expect(cpuCoins["Monero"]?.first as? Double == 20)
        #expect(cpuCoins["Monero"]?.last as? String == "KH/s")
        #expect(cpuCoins["Ergo"]?.first as? Double == 150)
        #expect(cpuCoins["Ergo"]?.last as? String == "MH/s")
        #expect(cpuAggregate["total_power"] as? Double == 550.5)
        #expect(
            cpuAggregate["status_counts"] as? [String: Int] == ["online": 1, "stale": 0, "offline": 1, "disabled": 0])
        #expect((cpuAggregate["thermal"] as? [String: Any])?["max_temp"] is NSNull)

        let cpuIndex = try #require(
            await harness.waitForSnapshot(on: exchanges.cpuGpuIndex) {
                ($0["aggregated_index"] as? [String: Any])?["cpu_gpu_miner_alive"] as? String == "1/2"
            })
        #expect(
            Set(cpuIndex.keys)
                == Set(["cpu_gpu_miner_map", "cpu_gpu_miner_operational_map", "aggregated_index"])
                .union(keyframeStreamFields(cpuIndex)))
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
        let removedAt = harness.snapshots(on: exchange).first { $0.json["asic_miner_alive"] as? String == "1/2" }?
            .receivedAt
        let bound = offlineAfter + .seconds(1) + harness.configuration.broadcastInterval
        // The contract's bound, plus slack for a shared machine.
        #expect(try #require(removedAt) - lastReport <= bound + .seconds(1))
        await harness.tearDown()
    }

    /// The README promises at most one snapshot per exchange per broadcast interval. Each exchange's broadcaster
    /// ticks on a fixed-rate grid and publishes at most once per tick, stamping `generated_at` after the tick
    /// fires and before the next grid point it will wait for; so some phase of the grid must separate every two
    /// consecutive snapshots of an exchange. The check finds such a phase from the snapshots' own `generated_at`
    /// stamps, which need no wall-clock bound on how late a tick ran: a correct service never fails it, and two
    /// snapshots within one grid interval always do.
    @Test func aBurstOfLogsGivesAtMostOneSnapshotPerExchangePerInterval() async throws {
        let interval: Duration = .milliseconds(250)
        let harness = try ServiceHarness {
            $0.broadcastInterval = interval; $0.idleBroadcastInterval = .seconds(30)
        }
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        // Bodies are built before the burst. It goes out in bursts of 250, each one as fast as the broker takes it,
        // and the next only once a snapshot shows the last: so the index changes many times within single ticks,
        // and across at least twenty of them.
        let bodies = try (1...5000).map {
            Array(try JSONSerialization.data(withJSONObject: Messages.asicLog(id: $0, hashrate: 1)))
        }
        for chunk in stride(from: 0, to: bodies.count, by: 250) {
            try await harness.publishAll(bodies[chunk..<chunk + 250].map { (routingKey: "asic_miner.log", body: $0) })
            let alive = "\(chunk + 250)/\(chunk + 250)"
            #expect(
                await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) {
                    $0["asic_miner_alive"] as? String == alive
                } != nil)
        }

        let last = await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) {
            $0["asic_miner_alive"] as? String == "5000/5000"
        }
        #expect(last != nil, "the last snapshot does not reflect all 5,000 logs")
        #expect(
            await harness.waitForSnapshot(on: exchanges.asicIndex) {
                ($0["asic_miner_operational_map"] as? [String: Any])?.count == 5000
            } != nil)

        for exchange in exchanges.all {
            // Keyframes keep coming every second: one read of what arrived, for both counts.
            let received = harness.snapshots(on: exchange)
            let stamps = received.compactMap { snapshot -> (sequence: Int, generatedAt: Int64)? in
                guard let sequence = snapshot.json["sequence"] as? Int,
                    let text = snapshot.json["generated_at"] as? String,
                    let generatedAt = ISO8601Timestamp.parse(text)
                else { return nil }
                return (sequence, generatedAt.microsecondsSinceEpoch)
            }.sorted { $0.sequence < $1.sequence }
            #expect(stamps.count == received.count, "\(exchange): a snapshot without its stamp")
            #expect(
                zip(stamps, stamps.dropFirst()).allSatisfy { $0.generatedAt < $1.generatedAt },
                "\(exchange): generated_at does not increase with sequence")
            let times = stamps.map(\.generatedAt)
            #expect(
                FixedRateGrid.phase(separating: times, interval: interval) != nil,
                "\(exchange): no \(interval) grid puts these snapshots in separate intervals: \(times)")
        }
        #expect(harness.snapshots(on: exchanges.asicAggregatedIndex).count >= 20)
        await harness.tearDown()
    }
}

/// The schedule `runFixedRate` keeps: grid points `phase + k·interval`. Snapshots of one exchange come from
/// distinct ticks, and each is stamped after its tick's grid point and before the next tick's, so a grid point
/// lies in every gap (a, b] between consecutive stamps.
///
/// Stamps have whole microseconds; no tolerance is needed for that, because both margins are far wider: a stamp
/// is taken at least a wake-up and an actor hop after its grid point, and the next grid point comes after the
/// whole snapshot has been built and published.
enum FixedRateGrid {
    /// A phase (microseconds, modulo the interval) with a grid point in every gap between consecutive `times`,
    /// or nil if none exists, which means two of them fell within one interval.
    static func phase(separating times: [Int64], interval: Duration) -> Int64? {
        let period = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
        // A gap of a whole period or more holds a grid point whatever the phase; a shorter gap (a, b] allows only
        // the phases in its arc.
        let arcs = zip(times, times.dropFirst()).filter { $1 - $0 < period }
        func modulo(_ value: Int64) -> Int64 { (value % period + period) % period }
        func allows(_ phase: Int64, _ arc: (Int64, Int64)) -> Bool {
            let offset = modulo(phase - arc.0)
            return offset >= 1 && offset <= arc.1 - arc.0
        }
        guard !arcs.isEmpty else { return 0 }
        // If the arcs share a point, moving it forward to the first arc end it meets keeps it in every arc, so
        // the arcs' ends are the only candidates.
        return arcs.lazy.map { modulo($0.1) }.first { candidate in arcs.allSatisfy { allows(candidate, $0) } }
    }
}

@Suite struct FixedRateGridTests {
    private let interval: Duration = .milliseconds(100)

    @Test func stampsFromDistinctTicksAlwaysFitAGridHoweverLateTheTicksRan() {
        // Grid at 1_000_000 + k·100 ms; ticks late by anything from 0 to 99 ms, some ticks skipped.
        let grid: [Int64] = [0, 1, 2, 4, 5, 9, 10, 11].map { 1_000_000 + $0 * 100_000 }
        let lateness: [Int64] = [0, 99_000, 1, 50_000, 98_999, 0, 99_999, 3]
        let stamps = zip(grid, lateness).map { $0 + $1 }
        #expect(FixedRateGrid.phase(separating: stamps, interval: interval) != nil)
    }

    @Test func twoStampsWithinOneIntervalFitNoGrid() {
        // Gaps of 60 ms twice still fit (grid points 10 and 110 ms); a third 60 ms gap puts two of four stamps
        // in one interval whatever the phase.
        #expect(FixedRateGrid.phase(separating: [0, 60_000, 120_000], interval: interval) != nil)
        #expect(FixedRateGrid.phase(separating: [0, 60_000, 120_000, 180_000], interval: interval) == nil)
        #expect(FixedRateGrid.phase(separating: [0, 50_000, 100_000, 150_000, 200_000], interval: interval) == nil)
        // Twice per interval, as a broadcaster ticking at half the interval would publish, with some jitter.
        let doubled = (0..<10).map { Int64($0) * 50_000 + [7, 420, 33, 1_200, 5][$0 % 5] }
        #expect(FixedRateGrid.phase(separating: doubled, interval: interval) == nil)
    }
}

/// The stream fields a keyframe carries (see the README): `previous_delta_sequence` only on one that continues
/// its chain, that is, one whose `previous_sequence` is not null.
private func keyframeStreamFields(_ keyframe: [String: Any]) -> Set<String> {
    let fields: Set<String> = [
        "sequence", "leader_epoch", "generated_at", "previous_sequence", "chain", "part", "parts",
    ]
    let continues = keyframe["previous_sequence"].map { !($0 is NSNull) } ?? false
    return continues ? fields.union(["previous_delta_sequence"]) : fields
}
