import MinerIndex
import Testing

@testable import MinerLoadKit

@Suite struct FleetTests {
    let time = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)
    let decoder = MinerMessageDecoder()

    /// One full round of turns, with every log.
    func round(_ fleet: inout Fleet) -> [(MinerSlot, GeneratedLog)] {
        (0..<fleet.minerCount).compactMap { _ in
            if case .log(let slot, let log, _) = fleet.next(now: time, elapsedSeconds: 0) { return (slot, log) }
            return nil
        }
    }

    @Test func theSameSeedGivesTheSameFleetAndAnotherSeedAnotherOne() {
        var first = Fleet(asicCount: 40, cpuGpuCount: 20, seed: 7)
        var second = Fleet(asicCount: 40, cpuGpuCount: 20, seed: 7)
        var other = Fleet(asicCount: 40, cpuGpuCount: 20, seed: 8)
        let firstBodies = round(&first).map(\.1.body)
        #expect(firstBodies == round(&second).map(\.1.body))
        #expect(firstBodies != round(&other).map(\.1.body))
    }

    @Test func everyRoundGivesEachMinerExactlyOneTurnWithBothKindsSpreadEvenly() {
        var fleet = Fleet(asicCount: 300, cpuGpuCount: 100, seed: 3)
        let turns = round(&fleet).map(\.0)
        #expect(Set(turns).count == 400)
        // Three ASIC turns per rig turn: every window of 8 turns holds 5 to 7 ASICs, never a run of one kind.
        for start in stride(from: 0, to: turns.count - 8, by: 8) {
            let asics = turns[start..<(start + 8)].filter { $0.kind == .asic }.count
            #expect((5...7).contains(asics))
        }
    }

    @Test func asicLogsDecodeAndCarryTheContributionTheServiceWillSee() throws {
        var fleet = Fleet(asicCount: 500, cpuGpuCount: 0, seed: 11)
        for (slot, log) in round(&fleet) {
            guard case .asic(.log(let decoded)) = try decoder.decode(routingKey: "asic_miner.log", body: log.body)
            else {
                Issue.record("not an ASIC log")
                continue
            }
            #expect(decoded.asicMinerId == slot.id)
            #expect(
                log.contribution.coins == [
                    .init(
                        coin: CoinName.normalized(decoded.coinName),
                        hashesPerSecond: decoded.hashrate.hashesPerSecond)
                ])
            #expect(log.contribution.power == decoded.power)
            #expect(log.contribution.maxTemperature == decoded.peakTemperature)
            #expect(log.contribution.coinPower == [CoinName.normalized(decoded.coinName): decoded.power])
        }
    }

    @Test func rigLogsDecodeAndCarryTheContributionTheServiceWillSee() throws {
        var fleet = Fleet(asicCount: 0, cpuGpuCount: 500, seed: 12)
        for (slot, log) in round(&fleet) {
            guard case .cpuGpu(.log(let decoded)) = try decoder.decode(routingKey: "cpu_gpu_miner.log", body: log.body)
            else {
                Issue.record("not a CPU/GPU log")
                continue
            }
            #expect(decoded.cpuGpuMinerId == slot.id)
            var shares: [MinerContribution.CoinShare] = []
            decoded.forEachCoinContribution {
                shares.append(.init(coin: CoinName.normalized($0), hashesPerSecond: $1.hashesPerSecond))
            }
            #expect(log.contribution.coins == shares)
            #expect(log.contribution.power == decoded.totalPower)
            #expect(log.contribution.maxTemperature == decoded.peakTemperature)
            #expect(log.contribution.coinPower.isEmpty)
        }
    }

    @Test func upsertsDecodeWithTheirActivation() throws {
        let fleet = Fleet(asicCount: 200, cpuGpuCount: 200, seed: 5, deactivatedFraction: 0.1)
        var deactivated = 0
        for kind in MinerKind.allCases {
            for index in 0..<200 {
                let slot = MinerSlot(kind: kind, index: index)
                let body = fleet.upsertBody(for: slot, at: time)
                switch try decoder.decode(routingKey: kind.upsertRoutingKey, body: body) {
                case .asic(.upsert(let miner)):
                    #expect(miner.id == slot.id && miner.activated == fleet.isActivated(slot))
                case .cpuGpu(.upsert(let rig)):
                    #expect(rig.id == slot.id && rig.activated == fleet.isActivated(slot))
                default:
                    Issue.record("not an upsert")
                }
                if !fleet.isActivated(slot) { deactivated += 1 }
            }
        }
        #expect((15...70).contains(deactivated), "about 10% of 400")
    }

    @Test func everyMalformedMessageIsRejectedByTheServicesDecoder() {
        var fleet = Fleet(asicCount: 100, cpuGpuCount: 100, seed: 9)
        for (slot, log) in round(&fleet) {
            for defect in MalformedMessage.allCases {
                let (routingKey, body) = defect.spoil(log.body, kind: slot.kind)
                #expect(throws: RecordDecodingError.self, "\(defect) on \(slot.kind)") {
                    try decoder.decode(routingKey: routingKey, body: body)
                }
            }
        }
    }

    @Test func badFractionReplacesAboutThatShareOfLogs() {
        var fleet = Fleet(asicCount: 500, cpuGpuCount: 500, seed: 2, badFraction: 0.2)
        var malformed = 0
        for _ in 0..<5000 {
            if case .malformed = fleet.next(now: time, elapsedSeconds: 0) { malformed += 1 }
        }
        #expect((800...1200).contains(malformed))
    }

    @Test func theFleetIsVariedLikeARealFarm() throws {
        var fleet = Fleet(asicCount: 1000, cpuGpuCount: 1000, seed: 1)
        var asicUnitsByCoin: [String: Set<String>] = [:]
        var rigCoins = Set<String>()
        var dualMining = 0, cpuAndGpuSameCoin = 0, gpuCounts = Set<Int>()
        for (slot, log) in round(&fleet) {
            switch try decoder.decode(routingKey: slot.kind.logRoutingKey, body: log.body) {
            case .asic(.log(let decoded)):
                asicUnitsByCoin[CoinName.normalized(decoded.coinName), default: []].insert(decoded.hashrateUnit.symbol)
            case .cpuGpu(.log(let decoded)):
                let slots = decoded.gpuSlots.compactMap(\.mining)
                if slots.count == 2 { dualMining += 1 }
                if let cpu = decoded.cpuMining,
                    slots.contains(where: { CoinName.normalized($0.coinName) == CoinName.normalized(cpu.coinName) })
                {
                    cpuAndGpuSameCoin += 1
                }
                gpuCounts.insert(decoded.gpus.filter { $0.power != nil }.count)
                rigCoins.formUnion(log.contribution.coins.map(\.coin))
            default:
                Issue.record("unexpected command")
            }
        }
        #expect(Set(["Bitcoin", "Kaspa", "Litecoin"]).isSubset(of: Set(asicUnitsByCoin.keys)))
        #expect(asicUnitsByCoin.count >= 5, "others besides bitcoin, kaspa and litecoin")
        #expect((asicUnitsByCoin["Bitcoin"]?.count ?? 0) >= 2, "bitcoin miners report in different units")
        #expect(rigCoins.count >= 5)
        #expect(dualMining > 100)
        #expect(cpuAndGpuSameCoin > 20)
        #expect(gpuCounts == Set(1...8))
    }

    @Test func aMinersLogsHaveStrictlyIncreasingTimesEvenWithinOneMicrosecond() throws {
        var fleet = Fleet(asicCount: 1, cpuGpuCount: 0, seed: 1)
        var times: [Timestamp] = []
        for _ in 0..<5 {
            if case .log(_, _, let insertedAt) = fleet.next(now: time, elapsedSeconds: 0) { times.append(insertedAt) }
        }
        #expect(times.count == 5)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func churningMinersGoSilentAndComeBack() {
        let churn = LoadConfiguration.Churn(fraction: 0.3, silence: .seconds(10))
        let plan = ChurnPlan(configuration: churn, seed: 4)
        let churning = (0..<1000).filter { plan.churns(kind: .asic, index: $0) }
        #expect((200...400).contains(churning.count))
        for index in churning.prefix(50) {
            let states = stride(from: 0.0, to: 40, by: 1).map {
                plan.isSilent(kind: .asic, index: index, elapsedSeconds: $0)
            }
            #expect(states.contains(true) && states.contains(false))
            #expect(states.filter { $0 }.count == 20, "silent half of each 20 s cycle")
        }
        let steady = (0..<1000).filter { !plan.churns(kind: .asic, index: $0) }
        #expect(steady.allSatisfy { index in !plan.isSilent(kind: .asic, index: index, elapsedSeconds: 5) })
    }
}
