import Backoff
import Foundation
import Logging
import MinerIndex
import MinerIndexState
import MinerIndexStatePostgres
import MinerIndexStateSQLite

/// A store opened and read, for the service to restore from. The service sees the protocols only.
public struct OpenedState: Sendable {
    public let store: any StateStore
    /// The follower side of a store several instances share; nil where this instance is the only one.
    public let shared: (any SharedStateStore)?
    /// Elects the leader of a shared store; `AlwaysLeader` otherwise.
    public let lock: any LeaderLock
    /// What was stored, with the logs younger than `offlineAfter`.
    public let stored: StoredState
    fileprivate let file: SQLiteStateStore?

    /// Moves aside a file whose rows SQLite reads but the restore cannot decode (the file is not what we wrote),
    /// so that the service starts empty rather than not at all. Returns where the file went; nil for a shared
    /// store, whose rows belong to every instance and are never moved.
    public func setAsideUnreadable() throws(StateStoreError) -> String? { try file?.moveAside() }
}

/// A store that must not be used: another instance holds it, a newer version wrote it, or its rows cannot be read.
public struct StateStartupFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Turns `--state` into a store, opened and read by the policy of its backend.
public enum StateStoreFactory {
    /// Opens and reads the store; nil for `none`. Throws `StateStartupFailure` (the service must not start) when
    /// the store belongs to another running instance or to a newer version. A damaged file is moved aside (and
    /// `onFileSetAside` called) and read as empty. A store that exists but cannot be read yet is retried until it
    /// can, because starting empty would publish a registry that is not the farm's.
    public static func open(
        _ location: StateLocation, offlineAfter: Duration, leaderLease: Duration, logger: Logger,
        onFileSetAside: @escaping @Sendable () -> Void
    ) async throws -> OpenedState? {
        switch location {
        case .none:
            return nil
        case .sqlite(let path):
            let file = SQLiteStateStore(path: path, logger: logger)
            let stored = try await load(
                file, offlineAfter: offlineAfter, logger: logger, onFileSetAside: onFileSetAside)
            return OpenedState(store: file, shared: nil, lock: AlwaysLeader(), stored: stored, file: file)
        case .postgres(let url):
            let postgres = try PostgresLocation(url: url)
            let store = try PostgresStateStore(location: postgres, logger: logger)
            let stored = try await loadRetrying(store.location, logger: logger) { () async throws(StateStoreError) in
                try await store.load(logsSince: Timestamp(Date()).adding(.zero - offlineAfter))
            }
            let lock = PostgresLeaderLock(location: postgres, leaseTimeout: leaderLease, logger: logger)
            return OpenedState(store: store, shared: store, lock: lock, stored: stored, file: nil)
        }
    }

    /// What a failed read leads to.
    private enum Recovery {
        case retryNow
        case retryLater
        case startWith(StoredState)
    }

    private static func load(
        _ file: SQLiteStateStore, offlineAfter: Duration, logger: Logger, onFileSetAside: @Sendable () -> Void
    ) async throws -> StoredState {
        try await loadRetrying(file.path, logger: logger) { () async throws(StateStoreError) in
            if file.fileExists { try file.open() }
            return try await file.load(logsSince: Timestamp(Date()).adding(.zero - offlineAfter))
        } recover: { error in
            switch error.kind {
            case .lockedByAnotherInstance, .newerSchema, .deposed:
                throw StateStartupFailure(description: error.message)
            case .corrupt:
                let aside = try file.moveAside()
                onFileSetAside()
                logger.error(
                    "the state file is damaged: moved it aside and starting with an empty state",
                    metadata: ["state": "\(file.path)", "moved_to": "\(aside)", "error": "\(error.message)"])
                return .retryNow
            case .unavailable:
                guard file.fileExists else {
                    // Nothing was ever stored here: empty is the truth, and the writer creates the file once it can.
                    logger.error(
                        "cannot create the state file yet; running in memory and retrying",
                        metadata: ["state": "\(file.path)", "error": "\(error.message)"])
                    return .startWith(StoredState())
                }
                return .retryLater
            }
        }
    }

    /// Reads the store until it can: a store that holds the farm's state but cannot be read yet is waited for,
    /// because starting without it would publish a registry that is not the farm's. `recover` decides the rest.
    private static func loadRetrying(
        _ location: String, logger: Logger, _ attempt: () async throws(StateStoreError) -> StoredState,
        recover: (StateStoreError) throws -> Recovery = { error in
            if error.kind == .newerSchema { throw StateStartupFailure(description: error.message) }
            return .retryLater
        }
    ) async throws -> StoredState {
        var failures = 0
        while true {
            do {
                return try await attempt()
            } catch {
                switch try recover(error) {
                case .retryNow: continue
                case .startWith(let stored): return stored
                case .retryLater: break
                }
                let retryIn = Backoff.stateStore.delay(afterFailures: failures)
                failures += 1
                logger.error(
                    "cannot read the state store; retrying before consuming",
                    metadata: ["state": "\(location)", "error": "\(error.message)", "retry_in": "\(retryIn)"])
                try await Task.sleep(for: retryIn)
            }
        }
    }
}
