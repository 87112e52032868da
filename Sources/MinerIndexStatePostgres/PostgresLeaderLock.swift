import Foundation
import Logging
import MinerIndexState
import PostgresNIO
import Synchronization

/// Leadership through a PostgreSQL session-level advisory lock, held on a connection of its own.
///
/// The lock lives as long as its session. A process that dies closes the session and frees the lock at once; a
/// host that vanishes, or a process that is stopped (SIGSTOP), stops pinging, and the server ends the session
/// after `idle_session_timeout` (the lease, 10 s by default) or its TCP keepalives, whichever comes first. The
/// holder regards its lease as valid only until 70% of the lease after its last successful ping, so it stops
/// publishing before the server can hand the lock to anyone else.
///
/// When the session ends while the holder is running (PostgreSQL restarted), the holder tries to take the lock
/// again at once. If PostgreSQL is unreachable meanwhile nobody else can take it either, so the holder keeps its
/// role until its lease runs out; if someone else holds it, the holder has lost it.
public final class PostgresLeaderLock: LeaderLock {
    private struct State {
        var connection: PostgresConnection?
        var validUntil: ContinuousClock.Instant?
        var nextConnectionID = 1
    }

    let location: PostgresLocation
    let lockKey: Int64
    public let leaseTimeout: Duration
    let logger: Logger
    private let state = Mutex(State())

    public init(location: PostgresLocation, leaseTimeout: Duration = .seconds(10), logger: Logger) {
        self.location = location
        lockKey = location.leaderLockKey
        self.leaseTimeout = leaseTimeout
        self.logger = logger
    }

    /// Whether this instance may act as the leader right now.
    public var isHeld: Bool {
        state.withLock { state in
            guard state.connection != nil, let validUntil = state.validUntil else { return false }
            return ContinuousClock.now < validUntil
        }
    }

    private var validity: Duration { leaseTimeout * 7 / 10 }

    /// Tries to take the lock; true if this instance now holds it.
    public func tryAcquire() async -> Bool {
        if isHeld { return true }
        let started = ContinuousClock.now
        let connection: PostgresConnection
        do {
            let id = state.withLock { state in
                defer { state.nextConnectionID += 1 }
                return state.nextConnectionID
            }
            connection = try await PostgresConnection.connect(
                configuration: try location.configuration(
                    applicationName: "miner-index leader lock", idleSessionTimeout: leaseTimeout),
                id: id, logger: logger)
        } catch {
            logger.debug(
                "cannot reach PostgreSQL for the leader lock",
                metadata: ["error": "\(StateStoreError.from(error, doing: "connecting").message)"])
            return false
        }
        do {
            var acquired = false
            for try await value in try await connection.query(
                "SELECT pg_try_advisory_lock(\(lockKey))", logger: logger
            ).decode(Bool.self) {
                acquired = value
            }
            guard acquired else {
                try? await connection.close()
                return false
            }
            let previous = state.withLock { state -> PostgresConnection? in
                defer {
                    state.connection = connection
                    state.validUntil = started + validity
                }
                return state.connection
            }
            try? await previous?.close()
            return true
        } catch {
            try? await connection.close()
            return false
        }
    }

    /// Pings the lock's session every tenth of the lease while the lock is held, extending the lease on every
    /// answer. Returns why the lock was lost: the lease ran out, or another instance holds the lock now.
    public func keepAlive() async -> String? {
        let interval = leaseTimeout / 10
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let connection = state.withLock({ $0.connection }) else { return "the lock session is gone" }
            let sent = ContinuousClock.now
            if await ping(connection, timeout: interval * 3) {
                state.withLock { state in
                    if state.connection === connection { state.validUntil = sent + validity }
                }
                continue
            }
            // A ping cut short by shutdown says nothing about the session, which the shutdown releases itself.
            if Task.isCancelled { return nil }
            // The session answered nothing: maybe PostgreSQL restarted. Take the lock again if nobody else has.
            logger.warning("the leader lock's session stopped answering; taking the lock again")
            state.withLock { state in
                if state.connection === connection { state.connection = nil }
            }
            try? await connection.close()
            while !Task.isCancelled {
                let validUntil = state.withLock { $0.validUntil } ?? .now
                if await tryAcquire() {
                    logger.notice("took the leader lock again")
                    break
                }
                if ContinuousClock.now >= validUntil {
                    return "the leader lock was lost and could not be taken again within the lease (\(leaseTimeout))"
                }
                if await anotherHolds() { return "another instance holds the leader lock" }
                try? await Task.sleep(for: interval)
            }
        }
        return nil
    }

    /// Whether the session answers within `timeout`. A query on a connection whose peer vanished may not end when
    /// its task is cancelled, so the query runs in a task of its own that is abandoned (and its connection closed)
    /// on timeout, rather than awaited.
    private func ping(_ connection: PostgresConnection, timeout: Duration) async -> Bool {
        let logger = self.logger
        let answer = FirstAnswer<Bool>()
        let query = Task { answer.give((try? await connection.query("SELECT 1", logger: logger)) != nil) }
        let answered = await withTaskCancellationHandler {
            await answer.first(within: timeout, or: false)
        } onCancel: {
            answer.give(false)
        }
        if !answered { query.cancel() }
        return answered
    }

    /// Whether PostgreSQL is reachable and says the lock is held by some session (not ours: ours is closed).
    private func anotherHolds() async -> Bool {
        guard let configuration = try? location.configuration(applicationName: "miner-index lock check"),
            let connection = try? await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        else { return false }
        defer { Task { try? await connection.close() } }
        // A bigint advisory key shows in pg_locks as its high half in classid and its low half in objid.
        let query: PostgresQuery = """
            SELECT count(*) > 0 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
                AND classid::bigint = \((lockKey >> 32) & 0xFFFF_FFFF) AND objid::bigint = \(lockKey & 0xFFFF_FFFF)
            """
        do {
            var held = false
            for try await value in try await connection.query(query, logger: logger).decode(Bool.self) { held = value }
            return held
        } catch {
            return false
        }
    }

    /// Gives the lock up (closing its session), so that a standby can take over at once.
    public func release() async {
        let connection = state.withLock { state -> PostgresConnection? in
            defer {
                state.connection = nil
                state.validUntil = nil
            }
            return state.connection
        }
        guard let connection else { return }
        if !(await finishes(within: .seconds(3), { try? await connection.close() })) {
            logger.warning("the leader lock's session did not close in time; leaving it to the server")
        }
    }
}
