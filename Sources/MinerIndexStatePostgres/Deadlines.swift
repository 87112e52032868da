import Logging
import PostgresNIO
import Synchronization

/// Runs `work` in a task of its own and waits for it at most `timeout`: closing a connection whose server stopped
/// answering may never end, and a process that shuts down must not wait for it. Whether `work` finished in time.
func finishes(within timeout: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
    let answer = FirstAnswer<Bool>()
    Task {
        await work()
        answer.give(true)
    }
    return await answer.first(within: timeout, or: false)
}

/// Resumes a continuation with the first answer given and ignores the others; an answer given before the
/// continuation arrives is kept for it.
final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Never>?
        var early: Value?
        var answered = false
    }

    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<Value, Never>) {
        let early = state.withLock { state -> Value? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Whether this was the first answer.
    @discardableResult
    func give(_ value: Value) -> Bool {
        let (first, waiting) = state.withLock { state -> (Bool, CheckedContinuation<Value, Never>?) in
            guard !state.answered else { return (false, nil) }
            state.answered = true
            guard let waiting = state.continuation else {
                state.early = value
                return (true, nil)
            }
            state.continuation = nil
            return (true, waiting)
        }
        waiting?.resume(returning: value)
        return first
    }

    /// The first answer, or `fallback` once `timeout` has passed. The timer stops as soon as an answer comes, so
    /// that a deadline on every query leaves no sleeping tasks behind.
    func first(within timeout: Duration, or fallback: Value) async -> Value {
        let timer = Task {
            try await Task.sleep(for: timeout)
            give(fallback)
        }
        let value = await withCheckedContinuation { continuation in wait(continuation) }
        timer.cancel()
        return value
    }
}

/// One use of a pooled connection that may be given up: postgres-nio does not always end a query, or a wait for a
/// connection, when the server restarts under it (a leader's writes then stood still until it was killed). Once
/// given up, the attempt never starts its work, and never lets its transaction commit: if it is in a query, its
/// connection is closed, which ends the query and makes the server roll the transaction back.
final class AbandonableAttempt: Sendable {
    enum Phase: Sendable {
        case waitingForConnection
        /// In its transaction's BEGIN, a query or the body's own work.
        case running(PostgresConnection)
        /// The body returned: the commit may already be on its way, so the outcome of a transaction is unknown.
        case committing
        case finished
        case abandoned
    }

    struct Abandoned: Error {}

    private let phase = Mutex(Phase.waitingForConnection)

    /// Runs `body` (in a transaction if asked) unless the attempt was given up before it got its connection, and
    /// lets the transaction commit only if it was not given up meanwhile.
    func run<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value, on connection: PostgresConnection,
        transaction: Bool, logger: Logger
    ) async throws -> Value {
        try start(on: connection)
        guard transaction else {
            let value = try await body(connection)
            try bodyReturned()
            return value
        }
        return try await connection.withTransaction(logger: logger) { connection in
            let value = try await body(connection)
            try bodyReturned()
            return value
        }
    }

    private func start(on connection: PostgresConnection) throws(Abandoned) {
        try phase.withLock { phase throws(Abandoned) in
            if case .abandoned = phase { throw Abandoned() }
            phase = .running(connection)
        }
    }

    private func bodyReturned() throws(Abandoned) {
        try phase.withLock { phase throws(Abandoned) in
            if case .abandoned = phase { throw Abandoned() }
            phase = .committing
        }
    }

    func finished() {
        phase.withLock { $0 = .finished }
    }

    /// Gives the attempt up and says where it was; closes its connection if it was in a query.
    func abandon() -> Phase {
        let previous = phase.withLock { phase in
            defer { if case .finished = phase {} else { phase = .abandoned } }
            return phase
        }
        if case .running(let connection) = previous {
            Task { try? await connection.close() }
        }
        return previous
    }
}

extension AbandonableAttempt.Phase {
    var explanation: String {
        switch self {
        case .waitingForConnection: "waiting for a connection"
        case .running: "in a query; its connection was closed"
        case .committing: "committing; whether it committed is unknown, and it is retried"
        case .finished: "finished"
        case .abandoned: "already given up"
        }
    }
}
