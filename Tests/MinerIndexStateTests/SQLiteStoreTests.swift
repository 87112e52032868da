import BrokerTestSupport
import Foundation
import GRDB
import Logging
import MinerIndex
import Testing

@testable import MinerIndexState
@testable import MinerIndexStateSQLite

@Suite struct SQLiteStoreTests {
    let logger = Logger(label: "tests")
    let t0 = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)

    private func segment(_ kind: MinerKind, ids: [Int64], observedAt: Timestamp) -> StoreWrite.NewSegment {
        var records = RandomRecords(seed: UInt64(ids.first ?? 0))
        let logs = ids.map { ObservedLog(log: records.asicLog(id: $0), observedAt: observedAt) }
        return StoreWrite.NewSegment(
            kind: kind, newestObservedAt: observedAt, body: Segment.encode(logs), minerIds: ids)
    }

    @Test func writesReadBackAndCountersOnlyGrow() async throws {
        let folder = try TemporaryDirectory()
        let store = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        var write = StoreWrite()
        write.registry = [
            .init(kind: .asic, id: 7, record: AsicMiner(id: 7, name: "S19-7").encodedJSON()),
            .init(kind: .cpuGpu, id: 7, record: nil),
        ]
        write.logSegments = [segment(.asic, ids: [1, 2], observedAt: t0)]
        write.counters = ["sequence.a": 40]
        let receipt = try await store.write(write)
        #expect(receipt.logSegmentChanges.count == 1)

        var lower = StoreWrite()
        lower.counters = ["sequence.a": 12]
        _ = try await store.write(lower)
        await store.close()

        let reopened = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        let state = try await reopened.load(logsSince: t0)
        #expect(state.counters == ["sequence.a": 40])
        #expect(state.registry.count == 2)
        #expect(state.registry.first { $0.kind == .asic }?.record == AsicMiner(id: 7, name: "S19-7").encodedJSON())
        #expect(state.registry.first { $0.kind == .cpuGpu }?.record == nil)
        #expect(state.logSegments.map(\.change) == receipt.logSegmentChanges)
        #expect(state.mark >= receipt.logSegmentChanges[0])
        #expect(try await reopened.load(logsSince: t0.adding(seconds: 1)).logSegments.isEmpty)
        await reopened.close()
    }

    @Test func oldSegmentsAndDroppedSegmentsGoAway() async throws {
        let folder = try TemporaryDirectory()
        let store = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        var write = StoreWrite()
        write.logSegments = [
            segment(.asic, ids: [1], observedAt: t0), segment(.asic, ids: [2], observedAt: t0.adding(seconds: 10)),
            segment(.asic, ids: [3], observedAt: t0.adding(seconds: 20)),
        ]
        let receipt = try await store.write(write)
        var prune = StoreWrite()
        prune.dropLogSegmentsObservedBefore = t0.adding(seconds: 5)
        prune.dropLogSegments = [receipt.logSegmentChanges[2]]
        prune.counters = ["x": 1]
        _ = try await store.write(prune)
        let left = try await store.load(logsSince: Timestamp(microsecondsSinceEpoch: 0)).logSegments
        #expect(left.map(\.change) == [receipt.logSegmentChanges[1]])
        await store.close()
    }

    @Test func aSecondInstanceOnTheSameFileIsRefused() async throws {
        let folder = try TemporaryDirectory()
        let first = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        try first.open()
        let second = SQLiteStateStore(path: folder.file("state.sqlite"), logger: logger)
        #expect { try second.open() } throws: { error in
            guard let error = error as? StateStoreError else { return false }
            return error.kind == .lockedByAnotherInstance && error.message.contains("pid \(getpid())")
        }
        await first.close()
        try second.open()
        await second.close()
    }

    @Test func aCorruptFileIsReportedAndMovedAside() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let store = SQLiteStateStore(path: path, logger: logger)
        var failure: StateStoreError?
        do { _ = try await store.load(logsSince: t0) } catch { failure = error }
        #expect(failure?.kind == .corrupt)
        let aside = try store.moveAside(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(aside == path + ".corrupt-20270115T080000Z")
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try await store.load(logsSince: t0).registry.isEmpty)
        await store.close()
    }

    @Test func aFileOfSomethingElseIsNotTakenForOurs() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        let other = try DatabaseQueue(path: path)
        try await other.write { db in try db.execute(sql: "CREATE TABLE photos (id INTEGER PRIMARY KEY)") }
        try other.close()
        let store = SQLiteStateStore(path: path, logger: logger)
        #expect { try store.open() } throws: { ($0 as? StateStoreError)?.kind == .corrupt }
    }

    @Test func aNewerSchemaIsRefusedWithAClearError() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        let store = SQLiteStateStore(path: path, logger: logger)
        try store.open()
        await store.close()
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v3-from-the-future')")
        }
        try queue.close()
        let older = SQLiteStateStore(path: path, logger: logger)
        #expect { try older.open() } throws: { error in
            guard let error = error as? StateStoreError else { return false }
            return error.kind == .newerSchema && error.message.contains("v3-from-the-future")
        }
    }

    /// A file written by the first schema version opens with this binary, keeps its rows and gains what the later
    /// versions add.
    @Test func aFileOfTheFirstSchemaVersionIsMigrated() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v1-registry-logs-counters")
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO registry (kind, id, change, written_at, record) VALUES (1, 42, 1, 0, ?)",
                arguments: [Data(AsicMiner(id: 42, name: "S19-rack7-slot3", activated: false).encodedJSON())])
            try db.execute(sql: "INSERT INTO counter (name, value) VALUES ('_change', 1), ('sequence.a', 9)")
        }
        #expect(try await queue.read { db in try db.tableExists("history_segment") } == false)
        try queue.close()

        let store = SQLiteStateStore(path: path, logger: logger)
        let state = try await store.load(logsSince: t0)
        #expect(state.registry.count == 1)
        #expect(
            try AsicMiner.decodeRecord(state.registry[0].record ?? [])
                == AsicMiner(id: 42, name: "S19-rack7-slot3", activated: false))
        #expect(state.counters == ["sequence.a": 9])
        var write = StoreWrite()
        write.historySegments = [segment(.asic, ids: [42], observedAt: t0)]
        _ = try await store.write(write)
        #expect(try await store.loadHistory(since: t0).count == 1)
        await store.close()
    }

    @Test func aReadOnlyFolderFailsUntilItIsWritable() async throws {
        let mount = try ScratchMount(readOnly: true)
        let store = SQLiteStateStore(path: mount.file("state.sqlite"), logger: logger)
        var write = StoreWrite()
        write.counters = ["x": 1]
        await #expect { _ = try await store.write(write) } throws: { ($0 as? StateStoreError)?.kind == .unavailable }
        try mount.remount(readOnly: false)
        _ = try await store.write(write)
        #expect(try await store.load(logsSince: t0).counters == ["x": 1])
        await store.close()
    }

    @Test func aFullDiskFailsTheWriteAndKeepsWhatWasCommitted() async throws {
        let mount = try ScratchMount(sizeKilobytes: 512)
        let store = SQLiteStateStore(path: mount.file("state.sqlite"), logger: logger)
        var small = StoreWrite()
        small.counters = ["x": 1]
        _ = try await store.write(small)
        var huge = StoreWrite()
        huge.logSegments = [
            StoreWrite.NewSegment(
                kind: .asic, newestObservedAt: t0, body: [UInt8](repeating: 7, count: 4 << 20), minerIds: [1])
        ]
        await #expect { _ = try await store.write(huge) } throws: { ($0 as? StateStoreError)?.kind == .unavailable }
        #expect(try await store.load(logsSince: Timestamp(microsecondsSinceEpoch: 0)).counters == ["x": 1])
        await store.close()
    }
}
