import GRDB
import MinerIndexState

/// The schema, as numbered migrations. A newer binary applies the ones a file lacks; an older binary finds
/// migrations it does not know and refuses the file rather than misread it.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-registry-logs-counters") { db in
            try db.execute(
                sql: """
                    CREATE TABLE registry (
                        kind INTEGER NOT NULL,
                        id INTEGER NOT NULL,
                        change INTEGER NOT NULL,
                        written_at INTEGER NOT NULL,
                        record BLOB,
                        PRIMARY KEY (kind, id)
                    ) WITHOUT ROWID;
                    CREATE TABLE log_segment (
                        change INTEGER PRIMARY KEY,
                        kind INTEGER NOT NULL,
                        newest_observed_at INTEGER NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX log_segment_by_observed_at ON log_segment (newest_observed_at);
                    CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-history-and-change-index") { db in
            try db.execute(
                sql: """
                    CREATE TABLE history_segment (
                        change INTEGER PRIMARY KEY,
                        kind INTEGER NOT NULL,
                        newest_observed_at INTEGER NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX history_segment_by_observed_at ON history_segment (newest_observed_at);
                    CREATE INDEX registry_by_change ON registry (change);
                    CREATE INDEX registry_tombstones ON registry (written_at) WHERE record IS NULL;
                    """)
        }
        migrator.registerMigration("v3-aggregated-history") { db in
            try db.execute(
                sql: """
                    CREATE TABLE aggregated_history (
                        kind INTEGER NOT NULL,
                        resolution TEXT NOT NULL,
                        bucket_start INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        PRIMARY KEY (kind, resolution, bucket_start)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    static let changeCounter = "_change"

    /// Applies what the file lacks, after checking that it is ours and not newer than this binary.
    static func migrate(_ queue: DatabaseQueue) throws {
        let migrator = migrator
        try queue.read { db in try check(db, against: migrator) }
        try migrator.migrate(queue)
    }

    private static func check(_ db: Database, against migrator: DatabaseMigrator) throws {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if !tables.isEmpty, !tables.contains("grdb_migrations") {
            throw StateStoreError(
                .corrupt, "not a miner-index state file (it has tables \(tables.sorted()) and no schema version)")
        }
        let known = Set(migrator.migrations)
        let unknown = try migrator.appliedIdentifiers(db).subtracting(known)
        if !unknown.isEmpty {
            throw StateStoreError(
                .newerSchema,
                "the state file was written by a newer miner-index (schema \(unknown.sorted().joined(separator: ", ")) "
                    + "unknown to this binary, which knows \(migrator.migrations.joined(separator: ", "))); "
                    + "run the newer version, or point --state at another file")
        }
    }
}
