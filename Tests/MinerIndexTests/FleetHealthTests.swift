import Foundation
import Testing

@testable import MinerIndex

@Suite struct FleetHealthTests {
    let now = Fixtures.seconds(0)

    static let poolA = "stratum+tcp://a.example:3333", poolB = "stratum+tcp://b.example:3333"
    static let poolC = "stratum+tcp://c.example:3333", poolD = "stratum+tcp://d.example:3333"

    func log(
        _ id: Int64, _ hashrate: Double, _ unit: HashrateUnit = .terahashesPerSecond, coin: String = "bitcoin",
        power: Double, temperatures: [Double?] = [], fans: [Double?] = [5000],
        pools: [(String?, Double?, Double?)] = [], insertedAt: Timestamp? = nil
    ) -> AsicMinerLog {
        var boards: [AsicMinerLog.Hashboard] = []
        for pair in stride(from: 0, to: temperatures.count, by: 2) {
            boards.append(
                .init(
                    temperature1: temperatures[pair],
                    temperature2: pair + 1 < temperatures.count ? temperatures[pair + 1] : nil))
        }
        return AsicMinerLog(
            asicMinerId: id, hashrate5Min: hashrate, hashrateUnit: unit, uptime: "00:00:01:00",
            pools: pools.map {
                .init(address: $0.0, user: "u", state: "Alive", acceptedShare: $0.1, rejectedShare: $0.2)
            },
            hashboards: boards, fanSpeeds: fans, lanIp: "10.0.0.\(id)", coinName: coin, power: power,
            insertedAt: insertedAt)
    }

    /// Ten ASICs covering every rule: ties in the hottest, a coin at 0 hashrate, a pool with 0 shares, a
    /// deactivated miner that keeps reporting (4), an expected miner with no log (3), a deleted one (6), and
    /// miners known only from their logs (5, 8, 9, 10).
    func craftedFleet() async -> AsicMinerOperationalIndex {
        let index = AsicMinerOperationalIndex()
        await index.upsert(AsicMiner(id: 1, name: "S19-1", model: "Antminer S19", asicExpectedStatus: "on"))
        await index.upsert(AsicMiner(id: 2, name: "S19-2", model: "Antminer S19", asicExpectedStatus: "ON"))
        await index.upsert(AsicMiner(id: 3, name: "KS3-3", model: "Antminer KS3", asicExpectedStatus: "on"))
        await index.upsert(
            AsicMiner(id: 4, name: "L7-4", model: "Antminer L7", activated: false, asicExpectedStatus: "on"))
        await index.upsert(AsicMiner(id: 6, name: "S21-6", asicExpectedStatus: "on"))
        let logs = [
            log(
                1, 100, power: 3000, temperatures: [60, 84], fans: [5000, 0],
                pools: [(Self.poolA, 900, 100), (Self.poolB, 0, 0)]),
            log(2, 200, power: 3500, temperatures: [84], pools: [(Self.poolA, 100, nil)]),
            log(4, 90, power: 9999, temperatures: [99], fans: [0], pools: [(Self.poolC, 5, 5)]),
            log(5, 0, .hashesPerSecond, coin: "KASPA", power: 500, temperatures: [70], pools: [(Self.poolB, nil, nil)]),
            log(6, 140, power: 3010, temperatures: [95], pools: [(Self.poolC, 1, 1)]),
            log(8, 50, power: 1000, temperatures: [nil, 90], pools: [(Self.poolA, 0, 50)]),
            log(
                9, 9.5, .gigahashesPerSecond, coin: "litecoin", power: 3425, temperatures: [70],
                pools: [(Self.poolD, 10, 0), (Self.poolD, 0, 0)]),
            log(
                10, 500, .megahashesPerSecond, coin: " Litecoin", power: 75, temperatures: [50],
                pools: [(Self.poolD, 30, 10)]),
        ]
        for log in logs { await index.put(log, receivedAt: now) }
        #expect(await index.delete(id: 6) == .applied)
        return index
    }

    @Test func everyAsicKeyHasItsExactValueOnACraftedFleet() async throws {
        let aggregate = await craftedFleet().versionedAggregate().aggregate
        #expect(aggregate.alive == "6/7")
        #expect(
            aggregate.health
                == FleetHealth(
                    statusCounts: .init(online: 6, stale: 0, offline: 1, disabled: 1),
                    coinPower: ["Bitcoin": 7500, "Kaspa": 500, "Litecoin": 3500],
                    thermal: .init(
                        maxTemperature: 90, averageTemperature: 74.67,  // (84 + 84 + 70 + 90 + 70 + 50) / 6
                        hottest: [
                            .init(id: 8, name: nil, temperature: 90), .init(id: 1, name: "S19-1", temperature: 84),
                            .init(id: 2, name: "S19-2", temperature: 84), .init(id: 5, name: nil, temperature: 70),
                            .init(id: 9, name: nil, temperature: 70),
                        ],
                        fansStopped: 1),
                    pools: [
                        Self.poolA: .init(miners: 3, accepted: 1000, rejected: 150),
                        Self.poolB: .init(miners: 2, accepted: 0, rejected: 0),
                        Self.poolD: .init(miners: 2, accepted: 40, rejected: 10),
                    ],
                    expectedMissing: .init(count: 1, ids: [3]),
                    models: [
                        "Antminer S19": .init(
                            liveCount: 2, registeredCount: 2,
                            coinHashrates: ["Bitcoin": Hashrate(300, .terahashesPerSecond)], power: 6500),
                        "Antminer KS3": .init(liveCount: 0, registeredCount: 1, coinHashrates: [:], power: 0),
                        "unknown": .init(
                            liveCount: 4, registeredCount: 4,
                            coinHashrates: [
                                "Bitcoin": Hashrate(50, .terahashesPerSecond), "Kaspa": .zero,
                                "Litecoin": Hashrate(10, .gigahashesPerSecond),
                            ],
                            power: 5000),
                    ]))

        // The payload: exact bytes of the new keys, after the seed's three.
        let text = String(decoding: AsicMinerPayloadEncoder().aggregateJSON(aggregate), as: UTF8.self)
        let health = try #require(text.range(of: #","status_counts""#).map { String(text[$0.lowerBound...]) })
        #expect(
            health == """
                ,"status_counts":{"online":6,"stale":0,"offline":1,"disabled":1},\
                "coin_power_map":{"Bitcoin":7500,"Kaspa":500,"Litecoin":3500},\
                "coin_efficiency_map":{"Bitcoin":[21.428571429,"J/TH"],"Litecoin":[350.0,"J/GH"]},\
                "thermal":{"max_temp":90,"avg_temp":74.67,"hottest":[{"id":8,"name":null,"temp":90},\
                {"id":1,"name":"S19-1","temp":84},{"id":2,"name":"S19-2","temp":84},{"id":5,"name":null,"temp":70},\
                {"id":9,"name":null,"temp":70}],"fans_stopped":1},\
                "pools":{"\(Self.poolA)":{"miners":3,"accepted":1000,"rejected":150,"reject_ratio":0.1304},\
                "\(Self.poolB)":{"miners":2,"accepted":0,"rejected":0,"reject_ratio":0.0},\
                "\(Self.poolD)":{"miners":2,"accepted":40,"rejected":10,"reject_ratio":0.2}},\
                "expected_missing":{"count":1,"ids":[3]},\
                "model_map":{"Antminer KS3":{"alive":"0/1","coin_hashrate_map":{},"power":0},\
                "Antminer S19":{"alive":"2/2","coin_hashrate_map":{"Bitcoin":[300.0,"TH/s"]},"power":6500},\
                "unknown":{"alive":"4/4","coin_hashrate_map":{"Bitcoin":[50.0,"TH/s"],"Kaspa":[0.0,"H/s"],\
                "Litecoin":[10.0,"GH/s"]},"power":5000}},"canaries":{}}
                """)
        // The seed's keys keep their values.
        #expect(
            text.hasPrefix(
                #"{"coin_hashrate_map":{"Bitcoin":[350.0,"TH/s"],"Kaspa":[0.0,"H/s"],"Litecoin":[10.0,"GH/s"]},"total_power":11500,"asic_miner_alive":"6/7""#
            ))
    }

    @Test func aDeleteAndADeactivationTakeAMinerOutOfEveryFigure() async {
        let index = await craftedFleet()
        #expect(await index.delete(id: 8) == .applied)
        var health = await index.versionedAggregate().aggregate.health
        #expect(health.thermal.maxTemperature == 84)
        #expect(health.thermal.hottest.map(\.id) == [1, 2, 5, 9, 10])
        #expect(health.pools[Self.poolA] == .init(miners: 2, accepted: 1000, rejected: 100))
        #expect(health.coinPower["Bitcoin"] == 6500)
        #expect(health.models["unknown"]?.alive == "3/3")
        #expect(health.statusCounts == .init(online: 5, stale: 0, offline: 1, disabled: 1))

        // Miner 1 deactivated: disabled, out of the pools, the temperatures and its model; not "missing".
        await index.upsert(
            AsicMiner(id: 1, name: "S19-1", model: "Antminer S19", activated: false, asicExpectedStatus: "on"))
        health = await index.versionedAggregate().aggregate.health
        #expect(health.statusCounts == .init(online: 4, stale: 0, offline: 1, disabled: 2))
        #expect(health.pools[Self.poolB] == .init(miners: 1, accepted: 0, rejected: 0))
        #expect(health.thermal.hottest.map(\.id) == [2, 5, 9, 10])
        #expect(health.thermal.fansStopped == 0)
        #expect(health.models["Antminer S19"]?.alive == "1/1")
        #expect(health.expectedMissing == .init(count: 1, ids: [3]))

        // Miner 2 moves to another model and is told it should run; its log stays counted, under the new model.
        await index.upsert(AsicMiner(id: 2, name: "S19-2b", model: "Antminer S19 XP", asicExpectedStatus: "on"))
        health = await index.versionedAggregate().aggregate.health
        #expect(health.models["Antminer S19"] == nil)
        #expect(
            health.models["Antminer S19 XP"]
                == .init(
                    liveCount: 1, registeredCount: 1, coinHashrates: ["Bitcoin": Hashrate(200, .terahashesPerSecond)],
                    power: 3500))
        #expect(health.thermal.hottest.first == .init(id: 2, name: "S19-2b", temperature: 84))

        // Its log removed: it is expected to run, so now it is missing, ids ascending.
        #expect(await index.remove(2))
        health = await index.versionedAggregate().aggregate.health
        #expect(health.expectedMissing == .init(count: 2, ids: [2, 3]))
        #expect(health.models["Antminer S19 XP"]?.alive == "0/1")
        #expect(health.pools[Self.poolA] == nil)
    }

    @Test func aMinerPassesFromOnlineToStaleToOfflineAsTheClockMoves() async {
        let index = AsicMinerOperationalIndex(
            configuration: IndexConfiguration(offlineAfterSeconds: 60, staleAfterSeconds: 20))
        await index.upsert(AsicMiner(id: 1, name: "one"))
        await index.put(log(1, 100, power: 3000, insertedAt: now), receivedAt: now)
        func counts() async -> FleetHealth.StatusCounts {
            await index.versionedAggregate().aggregate.health.statusCounts
        }

        #expect(await counts() == .init(online: 1, stale: 0, offline: 0, disabled: 0))
        await index.expire(now: now.adding(seconds: 19.999_999))
        #expect(await counts() == .init(online: 1, stale: 0, offline: 0, disabled: 0))
        let versionBefore = await index.version
        await index.expire(now: now.adding(seconds: 20))  // exactly 20 s old: stale
        #expect(await counts() == .init(online: 0, stale: 1, offline: 0, disabled: 0))
        #expect(await index.version > versionBefore, "a status change is a change broadcasts must show")
        await index.expire(now: now.adding(seconds: 60))  // exactly 60 s old: still live
        #expect(await counts() == .init(online: 0, stale: 1, offline: 0, disabled: 0))
        await index.expire(now: now.adding(seconds: 60.000_001))
        #expect(await counts() == .init(online: 0, stale: 0, offline: 1, disabled: 0))

        // Reporting again makes it online; a log that arrives already 30 s old is stale from the start.
        let later = now.adding(seconds: 61)
        await index.put(log(1, 100, power: 3000, insertedAt: later), receivedAt: later)
        #expect(await counts() == .init(online: 1, stale: 0, offline: 0, disabled: 0))
        await index.put(log(2, 100, power: 3000, insertedAt: later.adding(seconds: -30)), receivedAt: later)
        #expect(await counts() == .init(online: 1, stale: 1, offline: 0, disabled: 0))
        // A newer log of the stale miner takes it back to online; an unchanged clock changes nothing.
        await index.put(log(2, 100, power: 3000, insertedAt: later), receivedAt: later)
        let version = await index.version
        await index.expire(now: later.adding(seconds: 1))
        #expect(await counts() == .init(online: 2, stale: 0, offline: 0, disabled: 0))
        #expect(await index.version == version)

        // A deactivated miner's log is neither: it counts as disabled only, and comes back stale once activated.
        await index.upsert(AsicMiner(id: 2, activated: false))
        await index.expire(now: later.adding(seconds: 25))
        #expect(await counts() == .init(online: 0, stale: 1, offline: 0, disabled: 1))
        await index.upsert(AsicMiner(id: 2, activated: true))
        #expect(await counts() == .init(online: 0, stale: 2, offline: 0, disabled: 0))
    }

    @Test func rigsHaveStatusCountsAndThermalOnly() async throws {
        let index = CpuGpuMinerOperationalIndex()
        await index.upsert(CpuGpuMiner(id: 1, name: "rig-1"))
        await index.upsert(CpuGpuMiner(id: 2, name: "rig-2"))
        await index.upsert(CpuGpuMiner(id: 3, name: "rig-3", activated: false))
        await index.put(
            CpuGpuMinerLog(
                cpuGpuMinerId: 1, cpuTemperature: 71.5,
                gpus: [.init(coreTemperature: 64, fan: 40), .init(coreTemperature: 77, fan: 0)]),
            receivedAt: now)
        await index.put(CpuGpuMinerLog(cpuGpuMinerId: 3, cpuTemperature: 99), receivedAt: now)
        await index.put(CpuGpuMinerLog(cpuGpuMinerId: 4, gpus: [.init(fan: 55)]), receivedAt: now)
        let aggregate = await index.versionedAggregate().aggregate
        #expect(
            aggregate.health
                == FleetHealth(
                    statusCounts: .init(online: 2, stale: 0, offline: 1, disabled: 1),
                    thermal: .init(
                        maxTemperature: 77, averageTemperature: 77,
                        hottest: [.init(id: 1, name: "rig-1", temperature: 77)], fansStopped: 1)))
        let payload = try Fixtures.parse(CpuGpuMinerPayloadEncoder().aggregateJSON(aggregate))
        #expect(
            Set(payload.keys) == [
                "total_power", "cpu_gpu_miner_alive", "coin_hashrate_map", "status_counts", "thermal", "canaries",
            ])
    }

    @Test func efficiencyIsShownInTheSmallestUnitAtLeastOne() {
        #expect(Efficiency(joulesPerHash: 21.67e-12).display == .init(value: 21.67, unit: "J/TH"))
        #expect(Efficiency(joulesPerHash: 1e-12).display == .init(value: 1, unit: "J/TH"))
        #expect(Efficiency(joulesPerHash: 0.999e-12).display == .init(value: 999, unit: "J/PH"))
        #expect(Efficiency(joulesPerHash: 3.5e-7).display == .init(value: 350, unit: "J/GH"))
        #expect(Efficiency(joulesPerHash: 2).display == .init(value: 2, unit: "J/H"))
        #expect(Efficiency(joulesPerHash: 0).display == .init(value: 0, unit: "J/PH"))
    }

    @Test func theRecordTableAgreesWithADictionaryThroughRandomChanges() {
        var generator = SystemRandomNumberGenerator()
        for seed: UInt64 in [0, 42, .random(in: .min ... .max, using: &generator)] {
            var table = MinerRecordTable<Int>(placeholder: 0, seed: seed)
            var reference: [Int64: Int] = [:]
            for step in 0..<8_000 {
                // Few keys, so that slots fill, probe chains form and wrap, and removals shift them back.
                let key = Int64.random(in: -300...300, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0:
                    table.insert(step, for: key)
                    reference[key] = step
                case 1:
                    #expect(table.removeValue(for: key) == reference.removeValue(forKey: key))
                default:
                    #expect(table[key] == reference[key])
                    if let index = table.index(of: key) {
                        table[at: index] += 1
                        reference[key, default: 0] += 1
                    }
                }
            }
            #expect(table.count == reference.count)
            #expect(
                table.entries.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    == reference.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            for key in Int64(-300)...300 { #expect(table[key] == reference[key]) }
        }
    }

    @Test func theSortedSetKeepsOrderThroughRandomChanges() {
        var generator = SystemRandomNumberGenerator()
        var set = SortedSet<Int64>()
        var reference = Set<Int64>()
        for _ in 0..<20_000 {
            let value = Int64.random(in: 0..<3000, using: &generator)
            if Bool.random(using: &generator) {
                #expect(set.insert(value) == reference.insert(value).inserted)
            } else {
                #expect(set.remove(value) == (reference.remove(value) != nil))
            }
        }
        #expect(set.elements == reference.sorted())
        #expect(set.count == reference.count)
        #expect(set.prefix(20) == Array(reference.sorted().prefix(20)))
        #expect(set.first == reference.min())
        for value in reference { #expect(set.contains(value)) }
        #expect(set.removeAll(below: 1500) == reference.filter { $0 < 1500 }.count)
        #expect(set.elements == reference.filter { $0 >= 1500 }.sorted())
        #expect(set.count == reference.filter { $0 >= 1500 }.count)
        let remaining = set.count
        #expect(set.removeAll(below: 5000) == remaining)
        #expect(set.isEmpty && set.elements.isEmpty)
    }

    /// The tracker holds only the hottest miners in order; through random logs, departures and refills its five
    /// hottest, maximum and mean must equal the ones sorted from every temperature. Seeded, so that the run is the
    /// same every time and the trims and refills it counts on do happen.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func theThermalTrackerGivesTheHottestFiveOfTheWholeFleetThroughRandomChanges(seed: UInt64) {
        var generator = FuzzTests.SplitMix64(state: seed)
        // A small front, so that trims and refills happen many times over.
        var tracker = ThermalTracker(keep: 8, capacity: 16)
        var temperatures: [Int64: Double] = [:]
        var refills = 0, trimsSeen = false
        for step in 0..<8_000 {
            let id = Int64.random(in: 0..<400, using: &generator)
            // Halves, which sums hold exactly, and a few miners that report no temperature.
            let temperature =
                Int.random(in: 0..<10, using: &generator) == 0
                ? Double.nan : Double(Int.random(in: 60...200, using: &generator)) / 2
            // Departures outnumber arrivals for a while, then the reverse, so the fleet empties and refills.
            let leaving = Double.random(in: 0...1, using: &generator) < (step / 1_000 % 2 == 0 ? 0.3 : 0.7)
            if let old = temperatures[id] {
                if leaving {
                    tracker.remove(id: id, temperature: old, hasStoppedFan: false)
                    temperatures[id] = nil
                } else {
                    tracker.replace(id: id, from: (old, false), to: (temperature, false))
                    temperatures[id] = temperature
                }
            } else if !leaving {
                tracker.add(id: id, temperature: temperature, hasStoppedFan: false)
                temperatures[id] = temperature
            }
            if tracker.needsRefill {
                refills += 1
                tracker.refill(from: temperatures.map { (id: $0.key, temperature: $0.value) })
            }
            let known = temperatures.compactMap { $0.value.isNaN ? nil : ThermalKey(temperature: $0.value, id: $0.key) }
                .sorted()
            if known.count > 16 { trimsSeen = true }
            let figures = tracker.figures { _ in nil }
            #expect(figures.hottest.map(\.id) == known.prefix(5).map(\.id), "step \(step)")
            #expect(figures.maxTemperature == known.first?.temperature)
            let mean = known.isEmpty ? nil : known.reduce(0) { $0 + $1.temperature } / Double(known.count)
            #expect(figures.averageTemperature == mean.map { ($0 * 100).rounded() / 100 })
            if figures.hottest.map(\.id) != known.prefix(5).map(\.id) { break }
        }
        #expect(refills >= 3 && trimsSeen, "refills \(refills)")
    }
}
