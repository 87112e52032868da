import Foundation
import Logging
import MinerIndex
import Synchronization
import Testing

@testable import MinerIndexState
@testable import MinerIndexStateSQLite

@Suite struct WriterAndRestoreTests {
    let logger = Logger(label: "tests")
    let t0 = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
    let retention = RetentionPolicy(offlineAfter: .seconds(60), historyMaxAge: .seconds(3600))
    let configuration = IndexConfiguration(
        offlineAfterSeconds: 60, historyCapacity: 10, historyMaxAgeSeconds: 3600,
        tracksChanges: true, historySampleSeconds: 5)

    private func withWriter<Result>(
        _ store: any StateStore, now: Timestamp, _ body: (StateWriter) async throws -> Result
    ) async rethrows -> Result {
        let writer = StateWriter(store: store, retention: retention, logger: logger, now: { now })
        let task = Task { await writer.run() }
        defer { task.cancel() }
        return try await body(writer)
    }

    private func restore(_ store: any StateStore, now: Timestamp) async throws -> (
        AsicMinerOperationalIndex, StateRestore.Restored
    ) {
        let stored = try await store.load(logsSince: now.adding(seconds: -60))
        let restored = try StateRestore.restore(stored, now: now, offlineAfter: .seconds(60))
        var asic = restored.asic
        asic.history = try StateRestore.history(
            try await store.loadHistory(since: now.adding(seconds: -3600)),
            registry: stored.registry)
        let index = AsicMinerOperationalIndex(configuration: configuration)
        await index.applyPersisted(asic, now: now)
        return (index, restored)
    }

    /// Everything a snapshot shows, in a form that compares exactly.
    private func picture(_ index: AsicMinerOperationalIndex) async -> [String] {
        let snapshot = await index.snapshot()
        var lines = snapshot.registry.entries.map { "miner \($0.key) \($0.value.miner)" }
        lines += snapshot.operational.map { "log \($0.key) \($0.value.observedAt) \($0.value.log)" }
        let aggregate = snapshot.aggregate()
        lines.append("alive \(aggregate.alive) power \(aggregate.totalPower)")
        lines += aggregate.coinHashrates.map { "coin \($0.key) \(($0.value.hashesPerSecond * 1e6).rounded())" }
        return lines.sorted()
    }

    @Test func aRestartGivesBackTheRegistryTheLiveMinersAndTheTotals() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        var records = RandomRecords(seed: 11, realistic: true)
        let original = AsicMinerOperationalIndex(configuration: configuration)
        let now = t0.adding(seconds: 300)

        let store = SQLiteStateStore(path: path, logger: logger)
        try await withWriter(store, now: now) { writer in
            for id in Int64(1)...400 {
                if id % 4 != 0 { await original.upsert(records.asicMiner(id: id)) }
                if id % 16 == 1 { writer.submit(await original.drainChanges(includeLogs: false)) }
            }
            for round in 0..<5 {
                for id in Int64(1)...450 where records.chance(0.7) {
                    let observed = now.adding(seconds: Double(round * 20 - 100) + Double(id % 7))
                    await original.put(records.asicLog(id: id).withInsertedAt(observed), receivedAt: observed)
                }
                writer.submit(await original.drainChanges(includeLogs: true))
            }
            for id in Int64(1)...450 where id % 9 == 0 { await original.delete(id: id) }
            writer.submit(await original.drainChanges(includeLogs: false))
            await original.upsert(AsicMiner(id: 4242, name: "S19-rack7-slot3", activated: false))
            writer.submit(await original.drainChanges(includeLogs: true))
            #expect(await writer.flush(timeout: .seconds(20)))
        }
        await store.close()
        await original.expire(now: now)

        let reopened = SQLiteStateStore(path: path, logger: logger)
        let (restored, _) = try await restore(reopened, now: now)
        let before = await picture(original)
        let after = await picture(restored)
        #expect(before.count > 300)
        #expect(before.filter { !after.contains($0) } == [], "lost in the restart")
        #expect(after.filter { !before.contains($0) } == [], "appeared in the restart")
        #expect(await restored.miner(4242) == AsicMiner(id: 4242, name: "S19-rack7-slot3", activated: false))
        #expect(await restored.miner(9) == nil)
        #expect(
            await restored.history(3, now: now) == original.history(3, now: now).filter { _ in true }.sampled(every: 5))
        await reopened.close()
    }

    @Test func drainsHandedOverOutOfOrderAreWrittenInOrder() async throws {
        let folder = try TemporaryDirectory()
        let store = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        let index = AsicMinerOperationalIndex(configuration: configuration)
        await index.upsert(AsicMiner(id: 5, name: "first"))
        let first = await index.drainChanges(includeLogs: true)
        await index.delete(id: 5)
        let second = await index.drainChanges(includeLogs: false)
        try await withWriter(store, now: t0) { writer in
            let late = writer.submit(second)
            #expect(await late.wait(upTo: .milliseconds(300)) == false)
            writer.submit(first)
            #expect(await late.wait(upTo: .seconds(10)))
        }
        let rows = try await store.load(logsSince: t0).registry
        #expect(rows.count == 1)
        #expect(rows.first?.record == nil)
        await store.close()
    }

    @Test func aFailingStoreKeepsTheChangesAndCatchesUp() async throws {
        let folder = try TemporaryDirectory()
        let store = FlakyStore(SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger))
        let index = AsicMinerOperationalIndex(configuration: configuration)
        try await withWriter(store, now: t0) { writer in
            store.failing.withLock { $0 = true }
            await index.upsert(AsicMiner(id: 1, name: "one"))
            let ticket = writer.submit(await index.drainChanges(includeLogs: false))
            #expect(await ticket.wait(upTo: .milliseconds(600)) == false)
            #expect(writer.health != .healthy)
            await index.upsert(AsicMiner(id: 1, name: "one, renamed"))
            await index.upsert(AsicMiner(id: 2, name: "two"))
            let later = writer.submit(await index.drainChanges(includeLogs: false))
            store.failing.withLock { $0 = false }
            #expect(await ticket.wait(upTo: .seconds(10)))
            #expect(await later.wait(upTo: .seconds(10)))
            #expect(writer.health == .healthy)
        }
        let rows = try await store.load(logsSince: t0).registry
        let names = try rows.compactMap { try $0.record.map(AsicMiner.decodeRecord)?.name }.sorted()
        #expect(names == ["one, renamed", "two"])
    }

    @Test func segmentsWrittenAgainAreDropped() async throws {
        let folder = try TemporaryDirectory()
        let store = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        let index = CpuGpuMinerOperationalIndex(configuration: configuration)
        var records = RandomRecords(seed: 12)
        try await withWriter(store, now: t0) { writer in
            for round in 0..<4 {
                for id in Int64(1)...20 {
                    await index.put(
                        records.cpuGpuLog(id: id).withInsertedAt(nil), receivedAt: t0.adding(seconds: Double(round)))
                }
                writer.submit(await index.drainChanges(includeLogs: true))
                #expect(await writer.flush(timeout: .seconds(10)))
            }
            writer.submit(counters: ["tick": 1])
            #expect(await writer.flush(timeout: .seconds(10)))
        }
        #expect(try await store.load(logsSince: Timestamp(microsecondsSinceEpoch: 0)).logSegments.count == 1)
        await store.close()
    }
}

/// A real store that fails every call while `failing` is set, as a full disk or a restarting database does.
final class FlakyStore: StateStore {
    let inner: any StateStore
    let failing = Mutex(false)

    init(_ inner: any StateStore) { self.inner = inner }

    var location: String { inner.location }

    private func check() throws(StateStoreError) {
        if failing.withLock({ $0 }) { throw StateStoreError(.unavailable, "injected failure") }
    }

    func load(logsSince: Timestamp) async throws(StateStoreError) -> StoredState {
        try check()
        return try await inner.load(logsSince: logsSince)
    }

    func loadHistory(since: Timestamp) async throws(StateStoreError) -> [StoredSegment] {
        try check()
        return try await inner.loadHistory(since: since)
    }

    func write(_ write: StoreWrite) async throws(StateStoreError) -> WriteReceipt {
        try check()
        return try await inner.write(write)
    }

    func close() async { await inner.close() }
}

extension AsicMinerLog {
    func withInsertedAt(_ time: Timestamp?) -> AsicMinerLog {
        var copy = self
        copy.insertedAt = time
        return copy
    }
}

extension CpuGpuMinerLog {
    func withInsertedAt(_ time: Timestamp?) -> CpuGpuMinerLog {
        var copy = self
        copy.insertedAt = time
        return copy
    }
}

extension Array where Element == AsicMinerHistoryEntry {
    /// The entries a store keeps when it persists the first of each `seconds` window per miner.
    func sampled(every seconds: Double) -> [AsicMinerHistoryEntry] {
        let width = Int64(seconds * 1_000_000)
        return enumerated().filter { index, entry in
            index == 0
                || entry.observedAt.microsecondsSinceEpoch / width
                    != self[index - 1].observedAt.microsecondsSinceEpoch / width
        }.map(\.element)
    }
}
