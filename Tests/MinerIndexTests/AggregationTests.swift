import Testing

@testable import MinerIndex

@Suite struct AggregationTests {
    let now = Fixtures.seconds(0)

    @Test func mixedUnitsForOneCoinSumExactly() async {
        let index = AsicMinerOperationalIndex()
        await index.put(
            Fixtures.asicLog(id: 1, hashrate: 100, unit: .terahashesPerSecond, power: 3000), receivedAt: now)
        await index.put(
            Fixtures.asicLog(id: 2, hashrate: 500, unit: .gigahashesPerSecond, power: 1500.5), receivedAt: now)
        await index.put(
            Fixtures.asicLog(id: 3, hashrate: 0.25, unit: .petahashesPerSecond, power: 2000), receivedAt: now)
        let aggregate = await index.snapshot().aggregate()
        // 100e12 + 0.5e12 + 250e12 = 350.5e12 H/s
        #expect(aggregate.coinHashrates["Bitcoin"] == Hashrate(hashesPerSecond: 350.5e12))
        #expect(aggregate.coinHashrates["Bitcoin"]?.display == .init(value: 350.5, unit: .terahashesPerSecond))
        #expect(aggregate.totalPower == 6500.5)
        #expect(aggregate.alive == "3/3")
    }

    @Test func coinCasingGroupsTogether() async {
        let index = AsicMinerOperationalIndex()
        for (id, coin) in [(1, "bitcoin"), (2, "BITCOIN"), (3, " Bitcoin "), (4, "kaspa")] as [(Int64, String)] {
            await index.put(
                Fixtures.asicLog(id: id, hashrate: 1, unit: .terahashesPerSecond, coin: coin), receivedAt: now)
        }
        let aggregate = await index.snapshot().aggregate()
        #expect(
            aggregate.coinHashrates == [
                "Bitcoin": Hashrate(3, .terahashesPerSecond),
                "Kaspa": Hashrate(1, .terahashesPerSecond),
            ])
    }

    func rig(id: Int64, cpuCoin: String?, slot1Coin: String?, slot2Coin: String? = nil) -> CpuGpuMinerLog {
        CpuGpuMinerLog(
            cpuGpuMinerId: id, cpuHashrate: cpuCoin == nil ? nil : 500,
            cpuMining: cpuCoin.map { .init(coinName: $0, algorithm: "a", hashrateUnit: .megahashesPerSecond) },
            cpuPower: 100,
            gpus: [
                .init(hashrate1: 200, hashrate2: 3, power: 150), .init(hashrate1: 300, hashrate2: 4, power: 250),
                .init(power: 10),
            ],
            gpuSlots: [
                .init(
                    mining: slot1Coin.map { .init(coinName: $0, algorithm: "b", hashrateUnit: .megahashesPerSecond) }),
                .init(
                    mining: slot2Coin.map { .init(coinName: $0, algorithm: "c", hashrateUnit: .gigahashesPerSecond) }),
            ])
    }

    @Test func cpuAndGpuOnTheSameCoinAdd() async {
        let index = CpuGpuMinerOperationalIndex()
        await index.put(rig(id: 1, cpuCoin: "ERGO", slot1Coin: "ergo"), receivedAt: now)
        let aggregate = await index.snapshot().aggregate()
        // CPU 500 MH/s + GPU slot 1 (200 + 300) MH/s = 1000 MH/s = 1 GH/s; the original kept only the GPU 500.
        #expect(aggregate.coinHashrates == ["Ergo": Hashrate(1, .gigahashesPerSecond)])
        #expect(aggregate.coinHashrates["Ergo"]?.display == .init(value: 1, unit: .gigahashesPerSecond))
        #expect(aggregate.totalPower == 100 + 150 + 250 + 10)
    }

    @Test func dualMiningSlotsSumPerSlot() async {
        let index = CpuGpuMinerOperationalIndex()
        await index.put(rig(id: 1, cpuCoin: "monero", slot1Coin: "Ergo", slot2Coin: "kaspa"), receivedAt: now)
        await index.put(rig(id: 2, cpuCoin: nil, slot1Coin: "ergo", slot2Coin: "KASPA"), receivedAt: now)
        let aggregate = await index.snapshot().aggregate()
        #expect(
            aggregate.coinHashrates == [
                "Monero": Hashrate(500, .megahashesPerSecond),
                "Ergo": Hashrate(1000, .megahashesPerSecond),
                "Kaspa": Hashrate(14, .gigahashesPerSecond),
            ])
        #expect(aggregate.alive == "2/2")
        #expect(aggregate.totalPower == 1020)
    }

    @Test func aliveCountsLeaveOutDeactivatedUnknownAndDeletedMinersCorrectly() async {
        let index = AsicMinerOperationalIndex()
        await index.upsert(AsicMiner(id: 1, name: "live", activated: true))
        await index.upsert(AsicMiner(id: 2, name: "silent", activated: true))
        await index.upsert(AsicMiner(id: 3, name: "off", activated: false))
        await index.upsert(AsicMiner(id: 4, name: "doomed", activated: true))
        await index.put(Fixtures.asicLog(id: 1), receivedAt: now)
        await index.put(Fixtures.asicLog(id: 3, power: 999), receivedAt: now)  // deactivated: stored, not counted
        await index.put(Fixtures.asicLog(id: 4), receivedAt: now)
        await index.put(Fixtures.asicLog(id: 5), receivedAt: now)  // unknown: registered as a placeholder
        #expect(await index.delete(id: 4) == .applied)

        let snapshot = await index.snapshot()
        let aggregate = snapshot.aggregate()
        #expect(aggregate.alive == "2/3")  // live 1 and 5; registered activated 1, 2, 5
        #expect(aggregate.totalPower == 6000)
        #expect(await index.get(3) != nil)
        #expect(await index.miner(5) == AsicMiner(id: 5))
        #expect(await index.miner(4) == nil)
        #expect(await index.get(4) == nil)
    }

    @Test func activationChangesMoveTheCounts() async {
        let index = AsicMinerOperationalIndex()
        await index.upsert(AsicMiner(id: 1, activated: true))
        await index.put(Fixtures.asicLog(id: 1), receivedAt: now)
        #expect(await index.snapshot().aggregate().alive == "1/1")
        await index.upsert(AsicMiner(id: 1, activated: false))
        #expect(await index.snapshot().aggregate().alive == "0/0")
        await index.upsert(AsicMiner(id: 1, activated: true))
        #expect(await index.snapshot().aggregate().alive == "1/1")
    }

    /// The aggregate the actors keep up to date must always equal the one summed afresh, whatever the mix of
    /// logs, re-registrations, deactivations, deletions, removals and expiry; and it must come back to exactly
    /// nothing when every miner has gone.
    @Test func runningAggregateMatchesARecomputationThroughRandomChanges() async {
        var generator = SystemRandomNumberGenerator()
        let configuration = IndexConfiguration(offlineAfterSeconds: 30)
        let asic = AsicMinerOperationalIndex(configuration: configuration)
        let rigs = CpuGpuMinerOperationalIndex(configuration: configuration)
        let coins = ["bitcoin", "Bitcoin", " KASPA", "litecoin"]
        let units: [HashrateUnit] = [.gigahashesPerSecond, .terahashesPerSecond, .petahashesPerSecond]
        var clock = 0.0
        for step in 0..<3_000 {
            clock += Double.random(in: 0...0.2, using: &generator)
            let time = Fixtures.seconds(clock)
            let id = Int64.random(in: 1...40, using: &generator)
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<60:
                let log = Fixtures.asicLog(
                    id: id, hashrate: Double.random(in: 0...500, using: &generator),
                    unit: units.randomElement(using: &generator) ?? .terahashesPerSecond,
                    coin: coins.randomElement(using: &generator) ?? "bitcoin",
                    power: Double.random(in: 0...4000, using: &generator).rounded() / 8,
                    insertedAt: Fixtures.seconds(clock - Double.random(in: 0...40, using: &generator)))
                await asic.put(log, receivedAt: time)
                let slot1Coin = Bool.random(using: &generator) ? coins.randomElement(using: &generator) : nil
                await rigs.put(
                    rig(
                        id: id, cpuCoin: coins.randomElement(using: &generator), slot1Coin: slot1Coin,
                        slot2Coin: coins.randomElement(using: &generator)),
                    receivedAt: time)
            case 60..<72:
                let activated = Bool.random(using: &generator)
                await asic.upsert(AsicMiner(id: id, activated: activated))
                await rigs.upsert(CpuGpuMiner(id: id, activated: activated))
            case 72..<78:
                await asic.delete(id: id)
                await rigs.delete(id: id)
            case 78..<84:
                await asic.remove(id)
                await rigs.remove(id)
            default:
                await asic.expire(now: time)
                await rigs.expire(now: time)
            }
            if step % 25 == 0 {
                expectEqual(await asic.snapshot(), step: step)
                expectEqual(await rigs.snapshot(), step: step)
            }
        }
        for id in Int64(1)...40 {
            await asic.delete(id: id)
            await rigs.delete(id: id)
        }
        for aggregate in [await asic.snapshot().aggregate(), await rigs.snapshot().aggregate()] {
            #expect(aggregate == MinerAggregate(coinHashrates: [:], totalPower: 0, liveCount: 0, registeredCount: 0))
        }
    }

    private func expectEqual<Miner, Log>(_ snapshot: MinerIndexSnapshot<Miner, Log>, step: Int) {
        let running = snapshot.aggregate(), recomputed = snapshot.recomputedAggregate()
        #expect(running.liveCount == recomputed.liveCount, "step \(step)")
        #expect(running.registeredCount == recomputed.registeredCount, "step \(step)")
        #expect(abs(running.totalPower - recomputed.totalPower) <= 1e-9 * max(1, recomputed.totalPower), "step \(step)")
        #expect(Set(running.coinHashrates.keys) == Set(recomputed.coinHashrates.keys), "step \(step)")
        for (coin, hashrate) in recomputed.coinHashrates {
            let difference = abs((running.coinHashrates[coin]?.hashesPerSecond ?? .nan) - hashrate.hashesPerSecond)
            #expect(difference <= 1e-9 * max(1, hashrate.hashesPerSecond), "step \(step) coin \(coin)")
        }
    }
}
