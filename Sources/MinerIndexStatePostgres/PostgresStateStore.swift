import Foundation
import Logging
import MinerIndex
import MinerIndexState
import NIOCore
import PostgresNIO
import Synchronization

/// The shared store: the same rows as the SQLite store, in PostgreSQL, through postgres-nio's client, which
/// reconnects by itself when the server restarts (the writer retries what failed meanwhile).
///
/// Writes are fenced by the leader epoch: once `beginLeadership` has run, every write transaction first reads the
/// stored epoch under a share lock and fails with `.deposed` if another instance has raised it since. A leader that
/// was stopped and wakes up late therefore cannot overwrite its successor's state, whatever it still believes.
public final class PostgresStateStore: SharedStateStore {
    /// How long a use of the database may take before it is given up (and, by the writer or the standby, retried).
    public struct Deadlines: Sendable {
        /// A write, a standby's refresh: milliseconds normally; seconds when PostgreSQL is busy.
        public var query: Duration
        /// A takeover waits for any write of a deposed leader still holding its fence.
        public var takeover: Duration
        /// The start-up read of the whole state, the schema migration.
        public var load: Duration

        public init(query: Duration = .seconds(10), takeover: Duration = .seconds(30), load: Duration = .seconds(60)) {
            self.query = query
            self.takeover = takeover
            self.load = load
        }
    }

    public let location: String
    let deadlines: Deadlines
    let schema: String?
    let client: PostgresClient
    let logger: Logger
    private let clientTask: Task<Void, Never>
    private let migrated = Mutex(false)
    /// The epoch this instance leads under; nil while it is not the leader.
    private let fencingEpoch = Mutex<Int64?>(nil)

    public init(
        location: PostgresLocation, applicationName: String = "miner-index", deadlines: Deadlines = Deadlines(),
        logger: Logger
    ) throws(StateStoreError) {
        self.location = location.redacted
        self.deadlines = deadlines
        schema = location.schema
        self.logger = logger
        let client = PostgresClient(
            configuration: try location.clientConfiguration(applicationName: applicationName),
            backgroundLogger: logger)
        self.client = client
        // Detached: postgres-nio's client ends itself at a graceful shutdown it can see through task locals, and
        // the service still writes its final checkpoint after that. It is closed by `close()` instead.
        clientTask = Task.detached { await client.run() }
    }

    /// Runs `body` on a pooled connection (in a transaction unless told otherwise) and waits at most `deadline`,
    /// or until the calling task is cancelled. After a PostgreSQL restart a query of postgres-nio 1.33 sometimes
    /// never ended, and the writer waiting for it stopped every checkpoint and then the process's exit; a write
    /// given up here fails like any other (the writer keeps its changes and retries), and it can no longer commit
    /// (see `AbandonableAttempt`).
    private func session<Value: Sendable>(
        _ action: @autoclosure () -> String, within deadline: Duration, transaction: Bool = true,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws(StateStoreError) -> Value {
        let attempt = AbandonableAttempt()
        let answer = FirstAnswer<Result<Value, any Error>?>()
        let work = Task { [client, logger] in
            let result: Result<Value, any Error>
            do {
                result = .success(
                    try await client.withConnection { connection in
                        try await attempt.run(body, on: connection, transaction: transaction, logger: logger)
                    })
            } catch {
                result = .failure(error)
            }
            attempt.finished()
            answer.give(result)
        }
        let outcome = await withTaskCancellationHandler {
            await answer.first(within: deadline, or: nil)
        } onCancel: {
            answer.give(nil)
        }
        guard let outcome else {
            work.cancel()
            let phase = attempt.abandon()
            throw StateStoreError(
                .unavailable,
                "\(action()): no answer from PostgreSQL within \(deadline.secondsText) "
                    + "(\(phase.explanation)); given up")
        }
        do {
            return try outcome.get()
        } catch {
            throw StateStoreError.from(error, doing: action())
        }
    }

    private func ensureSchema() async throws(StateStoreError) {
        guard !migrated.withLock({ $0 }) else { return }
        try await session("setting up the schema in \(location)", within: deadlines.load, transaction: false) {
            connection in
            try await PostgresSchema.migrate(connection, schema: self.schema, logger: self.logger)
        }
        migrated.withLock { $0 = true }
    }

    // MARK: Reading

    public func load(logsSince: Timestamp) async throws(StateStoreError) -> StoredState {
        try await ensureSchema()
        return try await session("reading \(location)", within: deadlines.load) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            var state = StoredState()
            state.registry = try await Self.registry(connection, since: nil, logger: self.logger)
            state.logSegments = try await Self.segments(
                connection, table: "log_segment", observedSince: logsSince, changedSince: nil, logger: self.logger)
            state.counters = try await Self.counters(connection, logger: self.logger)
            for try await (kind, resolution, bucketStart, body) in try await connection.query(
                "SELECT kind, resolution, bucket_start, body FROM aggregated_history", logger: self.logger
            ).decode((Int16, String, Int64, ByteBuffer).self) {
                guard let kind = MinerKind(storageCode: Int(kind)) else { continue }
                state.aggregatedHistory.append(
                    StoredHistoryRow(
                        kind: kind, resolution: resolution, bucketStart: Timestamp(microsecondsSinceEpoch: bucketStart),
                        body: Array(body.readableBytesView)))
            }
            state.mark = try await Self.currentMark(connection, logger: self.logger)
            return state
        }
    }

    public func loadHistory(since: Timestamp) async throws(StateStoreError) -> [StoredSegment] {
        try await ensureSchema()
        return try await session("reading the history in \(location)", within: deadlines.load, transaction: false) {
            connection in
            try await Self.segments(
                connection, table: "history_segment", observedSince: since, changedSince: nil, logger: self.logger)
        }
    }

    public func changes(since mark: Int64) async throws(StateStoreError) -> StoredChanges {
        try await ensureSchema()
        return try await session("reading changes from \(location)", within: deadlines.query) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            var changes = StoredChanges(mark: mark)
            changes.registry = try await Self.registry(connection, since: mark, logger: self.logger)
            changes.logSegments = try await Self.segments(
                connection, table: "log_segment", observedSince: nil, changedSince: mark, logger: self.logger)
            changes.historySegments = try await Self.segments(
                connection, table: "history_segment", observedSince: nil, changedSince: mark, logger: self.logger)
            changes.counters = try await Self.counters(connection, logger: self.logger)
            let seen =
                changes.registry.map(\.change) + changes.logSegments.map(\.change)
                + changes.historySegments.map(\.change)
            changes.mark = max(mark, seen.max() ?? mark)
            return changes
        }
    }

    private static func counters(_ connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        var counters: [String: Int64] = [:]
        for try await (name, value) in try await connection.query("SELECT name, value FROM counter", logger: logger)
            .decode((String, Int64).self)
        {
            counters[name] = value
        }
        return counters
    }

    private static func registry(_ connection: PostgresConnection, since mark: Int64?, logger: Logger) async throws
        -> [StoredRegistryRow]
    {
        var rows: [StoredRegistryRow] = []
        let query: PostgresQuery =
            mark.map { "SELECT kind, id, change, record FROM registry WHERE change > \($0)" }
            ?? "SELECT kind, id, change, record FROM registry"
        for try await (kind, id, change, record) in try await connection.query(query, logger: logger)
            .decode((Int16, Int64, Int64, ByteBuffer?).self)
        {
            guard let kind = MinerKind(storageCode: Int(kind)) else { continue }
            rows.append(
                StoredRegistryRow(
                    kind: kind, id: id, change: change, record: record.map { Array($0.readableBytesView) }))
        }
        return rows
    }

    private static func segments(
        _ connection: PostgresConnection, table: String, observedSince: Timestamp?, changedSince: Int64?, logger: Logger
    ) async throws -> [StoredSegment] {
        var query = PostgresQuery(
            unsafeSQL:
                "SELECT change, kind, newest_observed_at, body FROM \(table) WHERE newest_observed_at >= $1 AND change > $2 ORDER BY change"
        )
        query.binds.append(observedSince?.microsecondsSinceEpoch ?? .min)
        query.binds.append(changedSince ?? .min)
        var segments: [StoredSegment] = []
        for try await (change, kind, newest, body) in try await connection.query(query, logger: logger)
            .decode((Int64, Int16, Int64, ByteBuffer).self)
        {
            guard let kind = MinerKind(storageCode: Int(kind)) else { continue }
            segments.append(
                StoredSegment(
                    kind: kind, change: change,
                    newestObservedAt: Timestamp(microsecondsSinceEpoch: newest),
                    body: Array(body.readableBytesView)))
        }
        return segments
    }

    private static func currentMark(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        var mark: Int64 = 0
        for try await (last, called) in try await connection.query(
            "SELECT last_value, is_called FROM change_number", logger: logger
        ).decode((Int64, Bool).self) {
            mark = called ? last : 0
        }
        return mark
    }

    // MARK: Writing

    public func write(_ write: StoreWrite) async throws(StateStoreError) -> WriteReceipt {
        try await ensureSchema()
        let epoch = fencingEpoch.withLock { $0 }
        return try await session("writing \(location)", within: deadlines.query) { connection in
            if let epoch { try await Self.checkFence(connection, epoch: epoch, logger: self.logger) }
            // A registry row is acknowledged once this returns: make the commit wait for the WAL flush even if
            // the server is set to commit asynchronously.
            try await connection.query(
                write.needsDurableCommit ? "SET LOCAL synchronous_commit = on" : "SET LOCAL synchronous_commit = off",
                logger: self.logger)
            return try await Self.apply(write, to: connection, logger: self.logger)
        }
    }

    private static func checkFence(_ connection: PostgresConnection, epoch: Int64, logger: Logger) async throws {
        var stored: Int64 = 0
        for try await value in try await connection.query(
            "SELECT value FROM counter WHERE name = 'leader_epoch' FOR SHARE", logger: logger
        ).decode(Int64.self) {
            stored = value
        }
        guard stored == epoch else {
            throw StateStoreError(
                .deposed, "another instance leads under epoch \(stored) (this one led under \(epoch)); stopping")
        }
    }

    private static func apply(_ write: StoreWrite, to connection: PostgresConnection, logger: Logger) async throws
        -> WriteReceipt
    {
        let writtenAt = write.writtenAt.microsecondsSinceEpoch
        if !write.registry.isEmpty {
            let kinds = write.registry.map { Int16($0.kind.storageCode) }
            let ids = write.registry.map(\.id)
            let records = write.registry.map { ByteBuffer(bytes: $0.record ?? []) }
            let deleted = write.registry.map { $0.record == nil }
            try await connection.query(
                """
                INSERT INTO registry (kind, id, change, written_at, record)
                SELECT kind, id, (SELECT nextval('change_number')), \(writtenAt), CASE WHEN deleted THEN NULL ELSE record END
                FROM unnest(\(kinds)::smallint[], \(ids)::bigint[], \(records)::bytea[], \(deleted)::boolean[])
                    AS rows (kind, id, record, deleted)
                ON CONFLICT (kind, id) DO UPDATE SET
                    change = excluded.change, written_at = excluded.written_at, record = excluded.record
                """, logger: logger)
        }
        var receipt = WriteReceipt()
        for segment in write.logSegments {
            receipt.logSegmentChanges.append(try await insertSegment(segment, table: "log_segment", connection, logger))
        }
        for segment in write.historySegments {
            _ = try await insertSegment(segment, table: "history_segment", connection, logger)
        }
        for (name, value) in write.counters {
            try await connection.query(
                """
                INSERT INTO counter (name, value) VALUES (\(name), \(value))
                ON CONFLICT (name) DO UPDATE SET value = greatest(counter.value, excluded.value)
                """, logger: logger)
        }
        if !write.aggregatedHistory.isEmpty {
            let rows = write.aggregatedHistory
            try await connection.query(
                """
                INSERT INTO aggregated_history (kind, resolution, bucket_start, body)
                SELECT * FROM unnest(\(rows.map { Int16($0.kind.storageCode) })::smallint[], \(rows.map(\.resolution))::text[],
                                     \(rows.map(\.bucketStart.microsecondsSinceEpoch))::bigint[],
                                     \(rows.map { ByteBuffer(bytes: $0.body) })::bytea[])
                ON CONFLICT (kind, resolution, bucket_start) DO UPDATE SET body = excluded.body
                """, logger: logger)
        }
        for (resolution, cutoff) in write.dropAggregatedHistoryBefore {
            try await connection.query(
                "DELETE FROM aggregated_history WHERE resolution = \(resolution) AND bucket_start < \(cutoff.microsecondsSinceEpoch)",
                logger: logger)
        }
        if let cutoff = write.dropLogSegmentsObservedBefore {
            try await connection.query(
                "DELETE FROM log_segment WHERE newest_observed_at < \(cutoff.microsecondsSinceEpoch)", logger: logger)
        }
        if !write.dropLogSegments.isEmpty {
            try await connection.query(
                "DELETE FROM log_segment WHERE change = ANY(\(write.dropLogSegments)::bigint[])", logger: logger)
        }
        if let cutoff = write.dropHistorySegmentsObservedBefore {
            try await connection.query(
                "DELETE FROM history_segment WHERE newest_observed_at < \(cutoff.microsecondsSinceEpoch)",
                logger: logger)
        }
        if let cutoff = write.dropTombstonesBefore {
            // A tombstone must outlive every segment written before it, or a restore would bring its log back.
            try await connection.query(
                """
                DELETE FROM registry WHERE record IS NULL AND written_at < \(cutoff.microsecondsSinceEpoch)
                    AND change < coalesce((SELECT min(change) FROM log_segment), 9223372036854775807)
                    AND change < coalesce((SELECT min(change) FROM history_segment), 9223372036854775807)
                """, logger: logger)
        }
        return receipt
    }

    private static func insertSegment(
        _ segment: StoreWrite.NewSegment, table: String, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> Int64 {
        var query = PostgresQuery(
            unsafeSQL:
                "INSERT INTO \(table) (change, kind, newest_observed_at, body) VALUES (nextval('change_number'), $1, $2, $3) RETURNING change"
        )
        query.binds.append(Int16(segment.kind.storageCode))
        query.binds.append(segment.newestObservedAt.microsecondsSinceEpoch)
        query.binds.append(ByteBuffer(bytes: segment.body))
        var change: Int64 = 0
        for try await value in try await connection.query(query, logger: logger).decode(Int64.self) { change = value }
        return change
    }

    // MARK: Leadership

    public func beginLeadership() async throws(StateStoreError) -> Int64 {
        try await ensureSchema()
        let epoch = try await session("raising the leader epoch in \(location)", within: deadlines.takeover) {
            connection in
            // Waits for any write still holding the share lock of a deposed leader, and fences every later one.
            var epoch: Int64 = 0
            for try await value in try await connection.query(
                """
                INSERT INTO counter (name, value) VALUES ('leader_epoch', 1)
                ON CONFLICT (name) DO UPDATE SET value = counter.value + 1
                RETURNING value
                """, logger: self.logger
            ).decode(Int64.self) {
                epoch = value
            }
            return epoch
        }
        fencingEpoch.withLock { $0 = epoch }
        return epoch
    }

    /// Stops fencing: this instance no longer leads.
    public func endLeadership() {
        fencingEpoch.withLock { $0 = nil }
    }

    public func close() async {
        clientTask.cancel()
        let clientTask = self.clientTask
        if !(await finishes(within: .seconds(5), { await clientTask.value })) {
            logger.warning("the PostgreSQL client did not stop in time; exiting without waiting for it")
        }
    }
}

extension Duration {
    /// "10 s", "0.5 s".
    var secondsText: String {
        "\(secondsValue.formatted()) s"
    }
}
