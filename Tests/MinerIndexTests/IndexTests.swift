import Testing

@testable import MinerIndex

@Suite struct IndexTests {
    @Test func expiryIsExactAtTheBoundary() async {
        let index = AsicMinerOperationalIndex()
        let observed = Fixtures.seconds(0)
        await index.put(Fixtures.asicLog(id: 1), receivedAt: observed)
        // Exactly 60 s old is not "more than" 60 s.
        #expect(await index.expire(now: observed.adding(seconds: 60)) == [])
        #expect(await index.get(1) != nil)
        #expect(
            await index.expire(now: Timestamp(microsecondsSinceEpoch: observed.microsecondsSinceEpoch + 60_000_001))
                == [1])
        #expect(await index.get(1) == nil)
        #expect(await index.snapshot().aggregate().alive == "0/1")
    }

    @Test func expiryFollowsTheLatestObservation() async {
        let index = CpuGpuMinerOperationalIndex()
        let log = CpuGpuMinerLog(cpuGpuMinerId: 7)
        await index.put(log, receivedAt: Fixtures.seconds(0))
        await index.put(log, receivedAt: Fixtures.seconds(30))
        #expect(await index.expire(now: Fixtures.seconds(61)) == [])
        #expect(await index.expire(now: Fixtures.seconds(90)) == [])
        #expect(await index.expire(now: Fixtures.seconds(90.5)) == [7])
    }

    @Test func sweepsEverySecondExpireEachMinerOnTime() async {
        let index = AsicMinerOperationalIndex()
        for id in Int64(1)...100 {
            await index.put(Fixtures.asicLog(id: id), receivedAt: Fixtures.seconds(Double(id) * 0.37))
        }
        var expiredAt: [Int64: Double] = [:]
        for tick in stride(from: 0.0, through: 120, by: 0.25) {
            for id in await index.expire(now: Fixtures.seconds(tick)) { expiredAt[id] = tick }
        }
        #expect(expiredAt.count == 100)
        for (id, tick) in expiredAt {
            let observed = Double(id) * 0.37
            #expect(tick > observed + 60 && tick <= observed + 60.25, "miner \(id) expired at \(tick)")
        }
    }

    @Test func observationTimeClampsAndFallsBack() async {
        let received = Fixtures.seconds(100)
        #expect(
            ObservationTime.of(insertedAt: Fixtures.seconds(500), receivedAt: received, amqpTimestamp: nil) == received)
        #expect(
            ObservationTime.of(
                insertedAt: Fixtures.seconds(90), receivedAt: received, amqpTimestamp: Fixtures.seconds(1))
                == Fixtures.seconds(90))
        #expect(
            ObservationTime.of(insertedAt: nil, receivedAt: received, amqpTimestamp: Fixtures.seconds(95))
                == Fixtures.seconds(95))
        #expect(ObservationTime.of(insertedAt: nil, receivedAt: received, amqpTimestamp: nil) == received)

        // A miner whose clock runs ahead still goes offline 60 s after it was last heard from.
        let index = AsicMinerOperationalIndex()
        await index.put(Fixtures.asicLog(id: 1, insertedAt: Fixtures.seconds(10_000)), receivedAt: received)
        #expect(await index.expire(now: Fixtures.seconds(161)) == [1])
    }

    @Test func outOfOrderLogsNeverMoveAMinerBack() async {
        let index = AsicMinerOperationalIndex()
        let received = Fixtures.seconds(100)
        let newer = Fixtures.asicLog(id: 1, hashrate: 110, insertedAt: Fixtures.seconds(50))
        let older = Fixtures.asicLog(id: 1, hashrate: 90, insertedAt: Fixtures.seconds(40))
        #expect(await index.put(newer, receivedAt: received) == .applied)
        #expect(await index.put(older, receivedAt: received) == .ignoredOutOfOrder)
        #expect(await index.get(1)?.hashrate5Min == 110)
        #expect(await index.put(newer, receivedAt: received) == .applied)  // redelivery is harmless
        #expect(await index.history(1, now: received).map(\.observedAt) == [Fixtures.seconds(50)])
    }

    @Test func aBacklogDoesNotReviveDeadMiners() async {
        let index = AsicMinerOperationalIndex()
        let outageEnd = Fixtures.seconds(600)
        let oldLog = Fixtures.asicLog(id: 1, insertedAt: Fixtures.seconds(100))
        #expect(await index.put(oldLog, receivedAt: outageEnd) == .ignoredOffline)
        #expect(await index.get(1) == nil)
        #expect(await index.miner(1) == nil)  // a stale log does not register (or re-register) a miner
        #expect(await index.snapshot().aggregate().alive == "0/0")
        let versionBefore = await index.version

        await index.upsert(AsicMiner(id: 2))
        #expect(
            await index.put(Fixtures.asicLog(id: 2, insertedAt: Fixtures.seconds(100)), receivedAt: outageEnd)
                == .ignoredOffline)
        #expect(await index.history(2, now: outageEnd).count == 1)  // still recorded as history
        #expect(await index.version == versionBefore + 1)  // only the upsert changed the broadcast
    }

    @Test func historyStaysBoundedByCountAndAge() async {
        let index = AsicMinerOperationalIndex(
            configuration: IndexConfiguration(historyCapacity: 5, historyMaxAgeSeconds: 100))
        for second in 0..<20 {
            await index.put(
                Fixtures.asicLog(id: 1, hashrate: Double(second)), receivedAt: Fixtures.seconds(Double(second)))
        }
        let history = await index.history(1, now: Fixtures.seconds(20))
        // Stored as Float, so compare in whole TH/s.
        #expect(history.map { ($0.hashrate5Min.hashesPerSecond / 1e12).rounded() } == (15..<20).map(Double.init))
        #expect(history.map(\.observedAt) == (15..<20).map { Fixtures.seconds(Double($0)) })
        // Entries older than the age limit at read time are not returned...
        #expect(await index.history(1, now: Fixtures.seconds(117.5)).count == 2)
        // ...and a history whose newest entry aged out is dropped by the sweep.
        await index.expire(now: Fixtures.seconds(300))
        #expect(await index.history(1, now: Fixtures.seconds(119)).isEmpty)
    }

    @Test func historyRingKeepsOrderThroughWraparoundAndAgeDrops() {
        var history = AsicMinerHistoricalIndex(capacity: 4, maxAgeSeconds: 10)
        for second in [0.0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24, 25, 26] {
            history.put(Fixtures.asicLog(id: 9, hashrate: second), observedAt: Fixtures.seconds(second))
        }
        #expect(history.get(9, now: Fixtures.seconds(26)).map(\.observedAt) == [23, 24, 25, 26].map(Fixtures.seconds))
        #expect(history.put(Fixtures.asicLog(id: 9), observedAt: Fixtures.seconds(26)) == nil)
    }

    /// The ring grows as it fills (4, 8, … up to its capacity) rather than reserving its capacity for a new miner;
    /// through every growth, wraparound and age drop it must hold exactly the newest entries within the age limit.
    @Test(arguments: [1, 5, 60])
    func historyRingGrowsAndWrapsLikeTheNewestEntriesWithinTheAgeLimit(capacity: Int) {
        var history = AsicMinerHistoricalIndex(capacity: capacity, maxAgeSeconds: 30)
        var generator = SystemRandomNumberGenerator()
        var appended: [Double] = []
        var second = 0.0
        for _ in 0..<400 {
            // Mostly a second apart, sometimes a gap longer than the age limit.
            second += Int.random(in: 0..<20, using: &generator) == 0 ? 31 : 1
            history.put(Fixtures.asicLog(id: 3, hashrate: second), observedAt: Fixtures.seconds(second))
            appended.append(second)
            let expected = appended.suffix(capacity).filter { $0 >= second - 30 }
            #expect(history.get(3, now: Fixtures.seconds(second)).map(\.observedAt) == expected.map(Fixtures.seconds))
        }
    }

    @Test func historyEntryKeepsTheNumbers() throws {
        let log = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject()))
        let entry = AsicMinerHistoryEntry(log: log, observedAt: Fixtures.seconds(0))
        #expect(MemoryLayout<AsicMinerHistoryEntry>.stride <= 72)
        #expect(entry.hashrate5Min.hashesPerSecond == Double(Float(95.5e12)))
        #expect(entry.power == 3250)
        #expect(entry.temperature(board: 1, sensor: 1) == 64.5)
        #expect(entry.temperature(board: 3, sensor: 2) == 71)
        #expect(entry.fanSpeed(4) == 5440)
        #expect(entry.shares(pool: 2).accepted == 246_912)
        #expect(entry.shares(pool: 3).rejected == 36)
        #expect(entry.poolRejectionRate == Double(Float(0.12)))
    }

    @Test func deleteClearsRegistryOperationalMapAndHistoryTogether() async {
        let index = AsicMinerOperationalIndex()
        await index.upsert(AsicMiner(id: 1))
        await index.put(Fixtures.asicLog(id: 1), receivedAt: Fixtures.seconds(0))
        #expect(await index.delete(id: 1) == .applied)
        #expect(await index.miner(1) == nil)
        #expect(await index.get(1) == nil)
        #expect(await index.history(1, now: Fixtures.seconds(0)).isEmpty)
        #expect(await index.delete(id: 1) == .notFound)
    }

    @Test func genServerCalls() async {
        let index = AsicMinerOperationalIndex()
        for id in Int64(1)...3 { await index.put(Fixtures.asicLog(id: id), receivedAt: Fixtures.seconds(0)) }
        #expect(Set(await index.getAll().keys) == [1, 2, 3])
        #expect(Set(await index.take([2, 3, 4]).keys) == [2, 3])
        #expect(await index.remove(2))
        #expect(!(await index.remove(2)))
        #expect(await index.miner(2) != nil)  // remove drops the log only
        #expect(await index.entry(1)?.observedAt == Fixtures.seconds(0))
    }

    @Test func batchesReportEachOutcomeAndBumpTheVersion() async {
        let index = AsicMinerOperationalIndex()
        let now = Fixtures.seconds(100)
        let outcomes = await index.apply([
            TimedCommand(.upsert(AsicMiner(id: 1)), receivedAt: now),
            TimedCommand(.log(Fixtures.asicLog(id: 1, insertedAt: Fixtures.seconds(90))), receivedAt: now),
            TimedCommand(.log(Fixtures.asicLog(id: 1, insertedAt: Fixtures.seconds(80))), receivedAt: now),
            TimedCommand(.log(Fixtures.asicLog(id: 2)), receivedAt: now, amqpTimestamp: Fixtures.seconds(10)),
            TimedCommand(.delete(id: 3), receivedAt: now),
            TimedCommand(.delete(id: 1), receivedAt: now),
        ])
        #expect(outcomes == [.applied, .applied, .ignoredOutOfOrder, .ignoredOffline, .notFound, .applied])
        let version = await index.version
        #expect(version == 3)
        #expect(await index.snapshot(ifChangedSince: version) == nil)
        await index.upsert(AsicMiner(id: 8))
        #expect(await index.snapshot(ifChangedSince: version)?.version == version + 1)
    }

    @Test func snapshotsAreIsolatedFromLaterChanges() async {
        let index = AsicMinerOperationalIndex()
        await index.put(Fixtures.asicLog(id: 1), receivedAt: Fixtures.seconds(0))
        let snapshot = await index.snapshot()
        await index.put(Fixtures.asicLog(id: 2), receivedAt: Fixtures.seconds(0))
        await index.delete(id: 1)
        #expect(snapshot.operational.keys.sorted() == [1])
        #expect(snapshot.aggregate().alive == "1/1")
    }

    @Test func aFullRegistryRefusesNewIdsButKeepsServingTheMinersItHolds() async {
        let index = AsicMinerOperationalIndex(configuration: .init(maxMiners: 2))
        let received = Fixtures.seconds(100)
        #expect(await index.upsert(AsicMiner(id: 1, name: "one", activated: true)) == .applied)
        #expect(await index.put(Fixtures.asicLog(id: 2), receivedAt: received) == .applied)
        // A third id, by log or by upsert, changes nothing.
        #expect(await index.put(Fixtures.asicLog(id: 3), receivedAt: received) == .registryFull)
        #expect(await index.upsert(AsicMiner(id: 4, name: "four", activated: true)) == .registryFull)
        #expect(await index.get(3) == nil)
        // The miners already registered still take logs and upserts.
        #expect(await index.put(Fixtures.asicLog(id: 1), receivedAt: received) == .applied)
        #expect(await index.upsert(AsicMiner(id: 2, name: "two", activated: true)) == .applied)
        #expect(await index.snapshot().aggregate().alive == "2/2")
        // A delete makes room again.
        #expect(await index.delete(id: 2) == .applied)
        #expect(await index.put(Fixtures.asicLog(id: 3), receivedAt: received) == .applied)
        #expect(await index.snapshot().registry.entries.keys.sorted() == [1, 3])

        let rigs = CpuGpuMinerOperationalIndex(configuration: .init(maxMiners: 1))
        #expect(await rigs.put(CpuGpuMinerLog(cpuGpuMinerId: 1), receivedAt: received) == .applied)
        #expect(await rigs.put(CpuGpuMinerLog(cpuGpuMinerId: 2), receivedAt: received) == .registryFull)
    }
}
