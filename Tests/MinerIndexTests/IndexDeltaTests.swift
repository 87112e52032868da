import Testing

@testable import MinerIndex

/// Deltas, computed with an injected clock: applying each delta to the maps listed at its base version gives the
/// maps listed at its version.
@Suite struct IndexDeltaTests {
    /// The broadcast maps, as ids and the revision of each listed record.
    struct ListedMaps: Equatable, CustomStringConvertible {
        var miners: [Int64: UInt64] = [:]
        var logs: [Int64: UInt64] = [:]

        init(_ snapshot: AsicMinerIndexSnapshot) {
            for (id, entry) in snapshot.registry.entries where entry.activated { miners[id] = entry.revision }
            snapshot.forEachListedLog { id, entry in logs[id] = entry.revision }
        }

        mutating func apply(_ delta: IndexDelta<AsicMiner, AsicMinerLog>) {
            for id in delta.removedMiners { miners[id] = nil }
            for id in delta.removedLogs { logs[id] = nil }
            for (id, entry) in delta.upsertedMiners { miners[id] = entry.revision }
            for (id, entry) in delta.upsertedLogs { logs[id] = entry.revision }
        }

        var description: String {
            "miners \(miners.sorted { $0.key < $1.key }) logs \(logs.sorted { $0.key < $1.key })"
        }
    }

    @Test func aDeltaNamesWhatChangedSinceItsBase() async throws {
        let index = AsicMinerOperationalIndex()
        await index.upsert(AsicMiner(id: 1, name: "one", activated: true))
        await index.upsert(AsicMiner(id: 2, name: "two", activated: true))
        await index.put(Fixtures.asicLog(id: 1), receivedAt: Fixtures.seconds(30))
        await index.put(Fixtures.asicLog(id: 2), receivedAt: Fixtures.seconds(30))
        await index.put(Fixtures.asicLog(id: 3), receivedAt: Fixtures.seconds(0))
        let base = await index.publication(since: nil, includeSnapshot: true)
        #expect(base.delta == nil)
        let baseVersion = try #require(base.snapshot?.version)

        // Miner 1 reports again, 2 is deactivated, 3's log expires at 61 s, and 4 reports for the first time.
        await index.put(Fixtures.asicLog(id: 1, hashrate: 120), receivedAt: Fixtures.seconds(61))
        await index.upsert(AsicMiner(id: 2, name: "two", activated: false))
        #expect(await index.expire(now: Fixtures.seconds(60)) == [])
        #expect(await index.expire(now: Fixtures.seconds(61)) == [3])
        await index.put(Fixtures.asicLog(id: 4), receivedAt: Fixtures.seconds(61))
        let delta = try #require(await index.publication(since: baseVersion, includeSnapshot: false).delta)
        #expect(delta.fromVersion == baseVersion)
        #expect(delta.upsertedMiners.map(\.id).sorted() == [4])
        #expect(delta.upsertedLogs.map(\.id).sorted() == [1, 4])
        #expect(delta.upsertedLogs.first { $0.id == 1 }?.entry.log.hashrate5Min == 120)
        #expect(delta.removedMiners == [2])
        #expect(delta.removedLogs == [2, 3])
        #expect(delta.aggregate.alive == "2/3")

        // Nothing changed: an empty delta at the same version, which carries the aggregate.
        let unchanged = try #require(await index.publication(since: delta.version, includeSnapshot: false).delta)
        #expect(unchanged.mapsUnchanged && unchanged.version == delta.version)

        // Reactivating a miner lists its log again, although the log itself did not change.
        await index.upsert(AsicMiner(id: 2, name: "two", activated: true))
        let reactivated = try #require(await index.publication(since: delta.version, includeSnapshot: false).delta)
        #expect(reactivated.upsertedMiners.map(\.id) == [2])
        #expect(reactivated.upsertedLogs.map(\.id) == [2])
        #expect(reactivated.removedMiners.isEmpty && reactivated.removedLogs.isEmpty)
    }

    @Test func deltasReplayEveryChangeOfARandomHistory() async throws {
        var generator = SplitMix(seed: 14)
        let index = AsicMinerOperationalIndex()
        var clock = 0.0
        var published = await index.publication(since: nil, includeSnapshot: true)
        var held = ListedMaps(try #require(published.snapshot))
        var version = published.version
        for step in 0..<3000 {
            let id = Int64(generator.next() % 40)
            switch generator.next() % 10 {
            case 0, 1, 2, 3:
                await index.put(Fixtures.asicLog(id: id, hashrate: Double(step)), receivedAt: Fixtures.seconds(clock))
            case 4: await index.upsert(AsicMiner(id: id, name: "m\(id)", activated: generator.next() % 4 != 0))
            case 5: _ = await index.delete(id: id)
            case 6: _ = await index.remove(id)
            default:
                clock += Double(generator.next() % 20)
                _ = await index.expire(now: Fixtures.seconds(clock))
            }
            guard generator.next() % 7 == 0 else { continue }
            published = await index.publication(since: version, includeSnapshot: true)
            let delta = try #require(published.delta, "step \(step): no delta since \(version)")
            let snapshot = try #require(published.snapshot)
            #expect(delta.version == snapshot.version)
            held.apply(delta)
            let fresh = ListedMaps(snapshot)
            guard held == fresh else {
                // The first wrong step says it all; the later ones only repeat it.
                Issue.record("step \(step): the delta since \(version) leads to \(held), not to \(fresh)")
                return
            }
            #expect(Set(delta.removedMiners).isDisjoint(with: delta.upsertedMiners.map(\.id)))
            #expect(Set(delta.removedLogs).isDisjoint(with: delta.upsertedLogs.map(\.id)))
            #expect(delta.aggregate.alive == snapshot.aggregate().alive)
            held = fresh
            version = delta.version
        }
    }

    @Test func aReaderThatFellBehindTheRemovalRecordsGetsASnapshot() async throws {
        let index = AsicMinerOperationalIndex()
        let start = await index.publication(since: nil, includeSnapshot: false).version
        // Without a reader, removal records are dropped once they outnumber the index by far.
        for id in Int64(1)...5000 {
            await index.put(Fixtures.asicLog(id: id), receivedAt: Fixtures.seconds(0))
            _ = await index.delete(id: id)
        }
        let late = await index.publication(since: start, includeSnapshot: false)
        #expect(late.delta == nil, "a delta since \(start) after the records were dropped")
        #expect(late.snapshot?.version == late.version)
    }
}

/// A small deterministic generator, so that a failing history can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
