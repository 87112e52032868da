import Synchronization

/// Completes when the changes it was handed out for are durable in the store. A registry command is
/// acknowledged only then.
public final class CommitTicket: Sendable {
    private struct State {
        var committed = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
        var callbacks: [@Sendable () -> Void] = []
    }

    private let state: Mutex<State>

    public init() {
        state = Mutex(State())
    }

    /// A ticket for nothing to write: already committed.
    public static var committed: CommitTicket {
        let ticket = CommitTicket()
        ticket.complete()
        return ticket
    }

    public var isCommitted: Bool { state.withLock { $0.committed } }

    func complete() {
        let (waiters, callbacks) = state.withLock {
            state -> ([CheckedContinuation<Bool, Never>], [@Sendable () -> Void]) in
            guard !state.committed else { return ([], []) }
            state.committed = true
            defer {
                state.waiters = [:]
                state.callbacks = []
            }
            return (Array(state.waiters.values), state.callbacks)
        }
        for waiter in waiters { waiter.resume(returning: true) }
        for callback in callbacks { callback() }
    }

    /// Runs `body` once the changes are committed: at once if they already are.
    public func onCommit(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            if state.committed { return true }
            state.callbacks.append(body)
            return false
        }
        if runNow { body() }
    }

    /// Whether the changes were committed within `timeout`.
    public func wait(upTo timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            let waiter = state.withLock { state -> Int? in
                if state.committed { return nil }
                let id = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[id] = continuation
                return id
            }
            guard let waiter else { return continuation.resume(returning: true) }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { $0.waiters.removeValue(forKey: waiter) }
                expired?.resume(returning: false)
            }
        }
    }
}
