import Testing

@testable import MinerIndex

/// The fleet-health figures the index keeps up to date must always equal the ones computed from scratch, the
/// plain way, from a snapshot: through thousands of random logs, re-registrations, model and activation changes,
/// deletions, removals, expiries and clock moves, and back to nothing when every miner has gone.
@Suite struct FleetHealthRecomputationTests {
    static let staleAfter = 10.0, offlineAfter = 30.0
    let configuration = IndexConfiguration(offlineAfterSeconds: offlineAfter, staleAfterSeconds: staleAfter)

    @Test func incrementalFiguresMatchARecomputationThroughRandomChanges() async {
        var generator = SystemRandomNumberGenerator()
        let asic = AsicMinerOperationalIndex(configuration: configuration)
        let rigs = CpuGpuMinerOperationalIndex(configuration: configuration)
        let coins = ["bitcoin", "Bitcoin", " KASPA", "litecoin"]
        let units: [HashrateUnit] = [.megahashesPerSecond, .gigahashesPerSecond, .terahashesPerSecond]
        let pools: [String?] = ["stratum+tcp://a:1", "stratum+tcp://b:2", "stratum+tcp://c:3", nil, ""]
        let models: [String?] = ["S19", "S21", "KS3", nil, ""]
        let statuses: [String?] = ["on", "ON", "off", nil]
        // Values that sums hold exactly (halves, eighths, whole shares, whole units), so that any order of
        // adding and subtracting gives the same double and the comparison can be exact.
        func temperature() -> Double? {
            Int.random(in: 0..<6, using: &generator) == 0
                ? nil : Double(Int.random(in: 80...200, using: &generator)) / 2
        }
        func fan() -> Double? {
            switch Int.random(in: 0..<8, using: &generator) {
            case 0: nil
            case 1: 0
            default: Double(Int.random(in: 3000...6000, using: &generator))
            }
        }
        func shares() -> Double? {
            Bool.random(using: &generator) ? Double(Int.random(in: 0...50, using: &generator)) : nil
        }

        var clock = 0.0
        var sweptAt: Timestamp?
        var seen = Coverage()
        for step in 0..<4_000 {
            clock += Double.random(in: 0...0.5, using: &generator)
            let time = Fixtures.seconds(clock)
            let id = Int64.random(in: 1...40, using: &generator)
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<55:
                let insertedAt = Fixtures.seconds(clock - Double.random(in: 0...35, using: &generator))
                let log = AsicMinerLog(
                    asicMinerId: id, hashrate5Min: Double(Int.random(in: 0...500, using: &generator)),
                    hashrateUnit: units.randomElement(using: &generator) ?? .terahashesPerSecond, uptime: "00:00:00:01",
                    pools: (0..<3).map { _ in
                        .init(
                            address: pools.randomElement(using: &generator) ?? nil, acceptedShare: shares(),
                            rejectedShare: shares())
                    },
                    hashboards: (0..<3).map { _ in .init(temperature1: temperature(), temperature2: temperature()) },
                    fanSpeeds: (0..<4).map { _ in fan() }, lanIp: "10.0.0.1",
                    coinName: coins.randomElement(using: &generator) ?? "bitcoin",
                    power: Double(Int.random(in: 0...32_000, using: &generator)) / 8, insertedAt: insertedAt)
                await asic.put(log, receivedAt: time)
                let rig = CpuGpuMinerLog(
                    cpuGpuMinerId: id, cpuTemperature: temperature(), cpuPower: 100,
                    gpus: (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                        .init(coreTemperature: temperature(), power: 150, fan: fan())
                    },
                    insertedAt: insertedAt)
                await rigs.put(rig, receivedAt: time)
            case 55..<70:
                let activated = Int.random(in: 0..<4, using: &generator) > 0
                await asic.upsert(
                    AsicMiner(
                        id: id, name: Bool.random(using: &generator) ? "miner-\(id)" : nil,
                        model: models.randomElement(using: &generator) ?? nil, activated: activated,
                        asicExpectedStatus: statuses.randomElement(using: &generator) ?? nil))
                await rigs.upsert(CpuGpuMiner(id: id, name: "rig-\(id)", activated: activated))
            case 70..<76:
                await asic.delete(id: id)
                await rigs.delete(id: id)
            case 76..<82:
                await asic.remove(id)
                await rigs.remove(id)
            default:
                // Now and then the sweep runs late, or the clock it is given steps back.
                let sweep = Fixtures.seconds(clock + Double.random(in: -1...2, using: &generator))
                await asic.expire(now: sweep)
                await rigs.expire(now: sweep)
                sweptAt = max(sweptAt ?? sweep, sweep)
            }
            if step % 20 == 0 {
                let snapshot = await asic.snapshot()
                expectEqual(snapshot, sweptAt: sweptAt, step: step)
                expectEqual(await rigs.snapshot(), sweptAt: sweptAt, step: step)
                seen.note(snapshot.aggregate().health)
            }
        }
        // The run went through the states worth checking, not only the easy ones.
        #expect(seen.stale > 0 && seen.online > 0 && seen.disabled > 0 && seen.missing > 0)
        #expect(seen.fansStopped > 0 && seen.sharedPools > 0 && seen.models > 0)
        for id in Int64(1)...40 {
            await asic.delete(id: id)
            await rigs.delete(id: id)
        }
        #expect(await asic.snapshot().aggregate().health == FleetHealth())
        #expect(await rigs.snapshot().aggregate().health == FleetHealth())
    }

    private struct Coverage {
        var stale = 0, online = 0, disabled = 0, missing = 0, fansStopped = 0, sharedPools = 0, models = 0

        mutating func note(_ health: FleetHealth) {
            if health.statusCounts.stale > 0 { stale += 1 }
            if health.statusCounts.online > 0 { online += 1 }
            if health.statusCounts.disabled > 0 { disabled += 1 }
            if health.expectedMissing.count > 0 { missing += 1 }
            if health.thermal.fansStopped > 0 { fansStopped += 1 }
            if health.pools.values.contains(where: { $0.miners > 1 }) { sharedPools += 1 }
            if health.models.count > 2 { models += 1 }
        }
    }

    private func expectEqual<Miner: FleetHealthMiner, Log: FleetHealthLog>(
        _ snapshot: MinerIndexSnapshot<Miner, Log>, sweptAt: Timestamp?, step: Int
    ) {
        let staleBefore = sweptAt.map { $0.adding(seconds: -Self.staleAfter).microsecondsSinceEpoch + 1 } ?? .min
        let recomputed = FleetHealthRecomputation.of(snapshot, staleBefore: staleBefore)
        let running = snapshot.aggregate().health
        #expect(running.statusCounts == recomputed.statusCounts, "step \(step)")
        #expect(running.coinPower == recomputed.coinPower, "step \(step)")
        #expect(running.thermal == recomputed.thermal, "step \(step)")
        #expect(running.pools == recomputed.pools, "step \(step)")
        #expect(running.expectedMissing == recomputed.expectedMissing, "step \(step)")
        #expect(running.models == recomputed.models, "step \(step)")
    }
}

/// The fleet-health figures from scratch, by the definitions, scanning every miner: what the index must keep.
enum FleetHealthRecomputation {
    static func of<Miner: FleetHealthMiner, Log: FleetHealthLog>(
        _ snapshot: MinerIndexSnapshot<Miner, Log>, staleBefore: Int64
    ) -> FleetHealth {
        var health = FleetHealth()
        var listed: [(id: Int64, entry: OperationalMap<Log>.Entry)] = []
        snapshot.forEachListedLog { listed.append(($0, $1)) }
        let registry = snapshot.registry
        let activated = registry.entries.values.filter(\.activated).count

        let stale = listed.filter { $0.entry.observedAt.microsecondsSinceEpoch < staleBefore }.count
        health.statusCounts = .init(
            online: listed.count - stale, stale: stale, offline: activated - listed.count,
            disabled: registry.entries.count - activated)

        for (_, entry) in listed {
            guard let (coin, _) = entry.log.singleCoin else { continue }
            health.coinPower[CoinName.normalized(coin), default: 0] += entry.log.aggregatedPower
        }

        var temperatures: [FleetHealth.HotMiner] = []
        for (id, entry) in listed {
            guard let value = entry.log.peakTemperature else { continue }
            temperatures.append(FleetHealth.HotMiner(id: id, name: registry[id]?.name, temperature: value))
        }
        temperatures.sort { $0.temperature != $1.temperature ? $0.temperature > $1.temperature : $0.id < $1.id }
        if let hottest = temperatures.first {
            let mean = temperatures.map(\.temperature).reduce(0, +) / Double(temperatures.count)
            health.thermal.maxTemperature = hottest.temperature
            health.thermal.averageTemperature = (mean * 100).rounded() / 100
            health.thermal.hottest = Array(temperatures.prefix(5))
        }
        health.thermal.fansStopped = listed.filter { $0.entry.log.hasStoppedFan }.count

        for (_, entry) in listed {
            var seen = Set<String>()
            for slot in 0..<Log.poolSlotCount {
                guard let pool = entry.log.poolShares(slot: slot) else { continue }
                var total = health.pools[pool.address] ?? .init(miners: 0, accepted: 0, rejected: 0)
                if seen.insert(pool.address).inserted { total.miners += 1 }
                total.accepted += pool.accepted
                total.rejected += pool.rejected
                health.pools[pool.address] = total
            }
        }

        let missing = registry.entries.values
            .filter { $0.activated && $0.miner.isExpectedToRun && snapshot.operational[$0.miner.id] == nil }
            .map(\.miner.id).sorted()
        health.expectedMissing = .init(count: missing.count, ids: Array(missing.prefix(20)))

        if Miner.hasModelBreakdown {
            var coins: [String: [String: Double]] = [:]
            for registration in registry.entries.values where registration.activated {
                let model = registration.miner.breakdownModel
                var figures =
                    health.models[model] ?? .init(liveCount: 0, registeredCount: 0, coinHashrates: [:], power: 0)
                figures.registeredCount += 1
                if let entry = snapshot.operational[registration.miner.id] {
                    figures.liveCount += 1
                    figures.power += entry.log.aggregatedPower
                    entry.log.forEachCoinHashrate { coin, hashrate in
                        coins[model, default: [:]][CoinName.normalized(coin), default: 0] += hashrate.hashesPerSecond
                    }
                }
                health.models[model] = figures
            }
            for (model, byCoin) in coins {
                health.models[model]?.coinHashrates = byCoin.mapValues { Hashrate(hashesPerSecond: $0) }
            }
        }
        return health
    }
}
