import Foundation
import GRDB
import Logging
import MinerIndex
import MinerIndexState
import Synchronization

/// The embedded default store: one SQLite file in WAL mode, through GRDB.
///
/// The file is opened lazily and again after a failure, so a folder that is read-only at start, or a disk that
/// fills up, only delays the writes: `StateWriter` keeps retrying and the file is created or written once it can
/// be. Blocking SQLite calls run on GRDB's own serial queue, never on Swift's cooperative pool.
///
/// Durability: registry rows are committed with `synchronous=FULL` (the WAL is synced before the commit returns);
/// checkpoints with `synchronous=NORMAL`, which survives a process crash and loses at most the last checkpoints on a
/// power cut, which the miners' next reports replace.
public final class SQLiteStateStore: StateStore {
    private struct Opened: Sendable {
        let queue: DatabaseQueue
        let lock: FileLock
    }

    /// 512 MiB of WAL at most before SQLite folds it into the file by itself.
    static let walPages = 131_072
    /// How often the WAL is folded into the file, by the writer's clock.
    static let walCheckpointInterval: Int64 = 60_000_000

    public let path: String
    private let logger: Logger
    private let opened = Mutex<Opened?>(nil)
    private let lastWALCheckpoint = Mutex<Int64?>(nil)

    public var location: String { path }

    public init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Whether a database file exists at the path (an existing state must be read before consuming; a missing one
    /// may be created later).
    public var fileExists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Opens (and locks, and migrates) the file now if it is not open yet.
    public func open() throws(StateStoreError) {
        _ = try database()
    }

    private func database() throws(StateStoreError) -> DatabaseQueue {
        if let queue = opened.withLock({ $0?.queue }) { return queue }
        let lock = try FileLock(path: path + ".lock")
        var configuration = Configuration()
        configuration.journalMode = .wal
        // A backup or an operator's query may hold the file for a moment; a writer waits this long before the
        // write counts as failed and is retried.
        configuration.busyMode = .timeout(2)
        configuration.label = "miner-index.state"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Debian builds SQLite to zero every freed page, which would write each dropped segment again.
                try db.execute(sql: "PRAGMA secure_delete = FAST")
                // Segments are dropped within seconds of being written and their pages reused, so the WAL is folded
                // into the file once a minute (see `write`) rather than every 4 MiB: a page written and rewritten
                // within the minute is then copied into the file once, not once per write. This limit only
                // bounds the WAL if a minute's writes are very large.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.walPages)")
            }
            try SQLiteSchema.migrate(queue)
        } catch {
            throw Self.storeError(error, doing: "opening \(path)")
        }
        opened.withLock { $0 = Opened(queue: queue, lock: lock) }
        logger.debug("state store open", metadata: ["state": "\(path)"])
        return queue
    }

    public func load(logsSince: Timestamp) async throws(StateStoreError) -> StoredState {
        let queue = try database()
        do {
            return try await queue.read { db in
                var state = StoredState()
                let registry = try Row.fetchCursor(db, sql: "SELECT kind, id, change, record FROM registry")
                while let row = try registry.next() {
                    guard let kind = MinerKind(storageCode: row["kind"]) else { continue }
                    let record: Data? = row["record"]
                    state.registry.append(
                        StoredRegistryRow(
                            kind: kind, id: row["id"], change: row["change"], record: record.map { [UInt8]($0) }))
                }
                state.logSegments = try Self.segments(
                    db, table: "log_segment", since: logsSince)
                let history = try Row.fetchCursor(
                    db, sql: "SELECT kind, resolution, bucket_start, body FROM aggregated_history")
                while let row = try history.next() {
                    guard let kind = MinerKind(storageCode: row["kind"]) else { continue }
                    let body: Data = row["body"]
                    state.aggregatedHistory.append(
                        StoredHistoryRow(
                            kind: kind, resolution: row["resolution"],
                            bucketStart: Timestamp(microsecondsSinceEpoch: row["bucket_start"]), body: [UInt8](body)))
                }
                let counters = try Row.fetchCursor(db, sql: "SELECT name, value FROM counter")
                while let row = try counters.next() {
                    let name: String = row["name"]
                    if name == SQLiteSchema.changeCounter {
                        state.mark = row["value"]
                    } else {
                        state.counters[name] = row["value"]
                    }
                }
                return state
            }
        } catch {
            throw Self.storeError(error, doing: "reading \(path)")
        }
    }

    public func loadHistory(since: Timestamp) async throws(StateStoreError) -> [StoredSegment] {
        let queue = try database()
        do {
            return try await queue.read { db in try Self.segments(db, table: "history_segment", since: since) }
        } catch {
            throw Self.storeError(error, doing: "reading the history in \(path)")
        }
    }

    private static func segments(_ db: Database, table: String, since: Timestamp) throws -> [StoredSegment] {
        var segments: [StoredSegment] = []
        let rows = try Row.fetchCursor(
            db,
            sql:
                "SELECT change, kind, newest_observed_at, body FROM \(table) WHERE newest_observed_at >= ? ORDER BY change",
            arguments: [since.microsecondsSinceEpoch])
        while let row = try rows.next() {
            guard let kind = MinerKind(storageCode: row["kind"]) else { continue }
            let body: Data = row["body"]
            segments.append(
                StoredSegment(
                    kind: kind, change: row["change"],
                    newestObservedAt: Timestamp(microsecondsSinceEpoch: row["newest_observed_at"]), body: [UInt8](body))
            )
        }
        return segments
    }

    public func write(_ write: StoreWrite) async throws(StateStoreError) -> WriteReceipt {
        let queue = try database()
        let writtenAt = write.writtenAt.microsecondsSinceEpoch
        let foldWAL = lastWALCheckpoint.withLock { last in
            guard let previous = last else {
                last = writtenAt
                return false
            }
            guard writtenAt - previous >= Self.walCheckpointInterval else { return false }
            last = writtenAt
            return true
        }
        do {
            return try await queue.writeWithoutTransaction { db in
                try db.execute(
                    sql: write.needsDurableCommit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                var receipt = WriteReceipt()
                try db.inTransaction(.immediate) {
                    receipt = try Self.apply(write, to: db, writtenAt: writtenAt)
                    return .commit
                }
                // RESTART, not TRUNCATE: the next minute's frames overwrite the WAL file's pages in place. A
                // truncated WAL makes the file system allocate and zero every page again (ext4 zeroes the part of
                // a page a 4,120-byte frame leaves), which cost more CPU than SQLite's own work.
                if foldWAL { try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)") }
                return receipt
            }
        } catch {
            let failure = Self.storeError(error, doing: "writing \(path)")
            if failure.kind == .corrupt || failure.kind == .unavailable { closeAfterFailure() }
            throw failure
        }
    }

    private static func apply(_ write: StoreWrite, to db: Database, writtenAt: Int64) throws -> WriteReceipt {
        var change =
            try Int64.fetchOne(
                db, sql: "SELECT value FROM counter WHERE name = ?", arguments: [SQLiteSchema.changeCounter]) ?? 0
        if !write.registry.isEmpty {
            change += 1
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO registry (kind, id, change, written_at, record) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, id) DO UPDATE SET
                        change = excluded.change, written_at = excluded.written_at, record = excluded.record
                    """)
            for row in write.registry {
                try upsert.execute(arguments: [
                    row.kind.storageCode, row.id, change, writtenAt, row.record.map { Data($0) },
                ])
            }
        }
        var receipt = WriteReceipt()
        for (table, segments) in [("log_segment", write.logSegments), ("history_segment", write.historySegments)] {
            let insert = try db.cachedStatement(
                sql: "INSERT INTO \(table) (change, kind, newest_observed_at, body) VALUES (?, ?, ?, ?)")
            for segment in segments {
                change += 1
                try insert.execute(arguments: [
                    change, segment.kind.storageCode, segment.newestObservedAt.microsecondsSinceEpoch,
                    Data(segment.body),
                ])
                if table == "log_segment" { receipt.logSegmentChanges.append(change) }
            }
        }
        let raise = try db.cachedStatement(
            sql: """
                INSERT INTO counter (name, value) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)
                """)
        for (name, value) in write.counters { try raise.execute(arguments: [name, value]) }
        try raise.execute(arguments: [SQLiteSchema.changeCounter, change])

        if !write.aggregatedHistory.isEmpty {
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO aggregated_history (kind, resolution, bucket_start, body) VALUES (?, ?, ?, ?)
                    ON CONFLICT (kind, resolution, bucket_start) DO UPDATE SET body = excluded.body
                    """)
            for row in write.aggregatedHistory {
                try upsert.execute(arguments: [
                    row.kind.storageCode, row.resolution, row.bucketStart.microsecondsSinceEpoch,
                    Data(row.body),
                ])
            }
        }
        for (resolution, cutoff) in write.dropAggregatedHistoryBefore {
            try db.execute(
                sql: "DELETE FROM aggregated_history WHERE resolution = ? AND bucket_start < ?",
                arguments: [resolution, cutoff.microsecondsSinceEpoch])
        }
        if let cutoff = write.dropLogSegmentsObservedBefore {
            try db.execute(
                sql: "DELETE FROM log_segment WHERE newest_observed_at < ?", arguments: [cutoff.microsecondsSinceEpoch])
        }
        if !write.dropLogSegments.isEmpty {
            let drop = try db.cachedStatement(sql: "DELETE FROM log_segment WHERE change = ?")
            for segment in write.dropLogSegments { try drop.execute(arguments: [segment]) }
        }
        if let cutoff = write.dropHistorySegmentsObservedBefore {
            try db.execute(
                sql: "DELETE FROM history_segment WHERE newest_observed_at < ?",
                arguments: [cutoff.microsecondsSinceEpoch])
        }
        if let cutoff = write.dropTombstonesBefore {
            // A tombstone must outlive every segment written before it, or a restore would bring its log back.
            try db.execute(
                sql: """
                    DELETE FROM registry WHERE record IS NULL AND written_at < ?
                        AND change < coalesce((SELECT min(change) FROM log_segment), 9223372036854775807)
                        AND change < coalesce((SELECT min(change) FROM history_segment), 9223372036854775807)
                    """, arguments: [cutoff.microsecondsSinceEpoch])
        }
        return receipt
    }

    public func close() async {
        let current = opened.withLock { opened -> Opened? in
            defer { opened = nil }
            return opened
        }
        guard let current else { return }
        do {
            try await current.queue.writeWithoutTransaction { db in
                // Folds the WAL into the file, so a copy of the file alone is a complete backup.
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            try current.queue.close()
        } catch {
            logger.warning("closing the state store failed", metadata: ["state": "\(path)", "error": "\(error)"])
        }
    }

    /// Drops the connection so the next attempt opens the file anew: a file replaced or a lock taken meanwhile is
    /// then seen as it is.
    private func closeAfterFailure() {
        let current = opened.withLock { opened -> Opened? in
            defer { opened = nil }
            return opened
        }
        try? current?.queue.close()
    }

    /// Moves a damaged file (and its WAL and shared-memory files) aside as `<name>.corrupt-<timestamp>` and returns
    /// the new name, so the service can start afresh without destroying what an operator may want to inspect.
    public func moveAside(at time: Date = Date()) throws(StateStoreError) -> String {
        closeAfterFailure()
        let stamp = Self.stampFormatter.string(from: time)
        let target = "\(path).corrupt-\(stamp)"
        let files = FileManager.default
        do {
            try files.moveItem(atPath: path, toPath: target)
            for suffix in ["-wal", "-shm"] where files.fileExists(atPath: path + suffix) {
                try files.moveItem(atPath: path + suffix, toPath: target + suffix)
            }
        } catch {
            throw StateStoreError(
                .unavailable, "cannot move the damaged state file \(path) aside: \(error.localizedDescription)")
        }
        return target
    }

    private static let stampFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }()

    static func storeError(_ error: any Error, doing action: String) -> StateStoreError {
        if let error = error as? StateStoreError { return error }
        if let error = error as? DatabaseError {
            let text = "\(action): \(error.message ?? "SQLite error") (SQLite \(error.resultCode.rawValue))"
            switch error.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: return StateStoreError(.corrupt, text)
            default: return StateStoreError(.unavailable, text)
            }
        }
        return StateStoreError(.unavailable, "\(action): \(error)")
    }
}
