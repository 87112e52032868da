import Logging
import MinerIndexState
import PostgresNIO

/// The shared store's schema, as numbered migrations recorded in `miner_index_schema`. A newer binary applies what
/// is missing; an older one refuses a database that has a version it does not know.
enum PostgresSchema {
    static let migrations: [(version: Int32, statements: [PostgresQuery])] = [
        (
            1,
            [
                """
                CREATE TABLE registry (
                    kind smallint NOT NULL,
                    id bigint NOT NULL,
                    change bigint NOT NULL,
                    written_at bigint NOT NULL,
                    record bytea,
                    PRIMARY KEY (kind, id)
                )
                """,
                "CREATE INDEX registry_by_change ON registry (change)",
                "CREATE INDEX registry_tombstones ON registry (written_at) WHERE record IS NULL",
                """
                CREATE TABLE log_segment (
                    change bigint PRIMARY KEY,
                    kind smallint NOT NULL,
                    newest_observed_at bigint NOT NULL,
                    body bytea NOT NULL
                )
                """,
                "CREATE INDEX log_segment_by_observed_at ON log_segment (newest_observed_at)",
                """
                CREATE TABLE history_segment (
                    change bigint PRIMARY KEY,
                    kind smallint NOT NULL,
                    newest_observed_at bigint NOT NULL,
                    body bytea NOT NULL
                )
                """,
                "CREATE INDEX history_segment_by_observed_at ON history_segment (newest_observed_at)",
                "CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL)",
                // Store-wide change numbers: every row written gets one, and a standby asks for what lies above the last
                // it has seen. Only the leader writes, one transaction at a time, so they become visible in order.
                "CREATE SEQUENCE change_number",
            ]
        ),
        (
            2,
            [
                """
                CREATE TABLE aggregated_history (
                    kind smallint NOT NULL,
                    resolution text NOT NULL,
                    bucket_start bigint NOT NULL,
                    body bytea NOT NULL,
                    PRIMARY KEY (kind, resolution, bucket_start)
                )
                """
            ]
        ),
    ]

    static var latestVersion: Int32 { migrations.last?.version ?? 0 }

    /// Creates or upgrades the schema. Instances starting together take turns through a transaction-level advisory
    /// lock, so exactly one of them migrates.
    static func migrate(_ connection: PostgresConnection, schema: String?, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            if let schema {
                // The name was checked to be letters, digits and underscores.
                try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            }
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS miner_index_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var applied: Set<Int32> = []
            for try await version in try await connection.query(
                "SELECT version FROM miner_index_schema", logger: logger
            )
            .decode(Int32.self) {
                applied.insert(version)
            }
            let known = Set(migrations.map(\.version))
            let unknown = applied.subtracting(known)
            guard unknown.isEmpty else {
                throw StateStoreError(
                    .newerSchema,
                    "the database was set up by a newer miner-index (schema versions \(unknown.sorted()) unknown to "
                        + "this binary, which knows up to \(latestVersion)); run the newer version, or use another database"
                )
            }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements { try await connection.query(statement, logger: logger) }
                try await connection.query(
                    "INSERT INTO miner_index_schema (version) VALUES (\(migration.version))", logger: logger)
            }
        }
    }

    /// Arbitrary, fixed: 'mi' 'schm'.
    static let migrationLockKey: Int64 = 0x6D69_7363_686D
}
