import Foundation
import Synchronization

/// The life of one client's I/O thread, shared by the consumer and the publisher: it starts once, is asked to
/// close, finishes, and can be woken from any thread. Sleeps between reconnects end early when a close is asked.
final class ClientThread: Sendable {
    private struct State {
        var started = false
        var closeRequested = false
        var finished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
        /// Counts status changes, so that a waiter that registers after a change does not miss it.
        var statusGeneration: UInt64 = 0
        var statusWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        /// Waiters whose deadline came before they registered.
        var wokenWaiters: Set<UInt64> = []
    }

    private let state = Mutex(State())
    private let name: String
    private let pollInterval: Duration = .milliseconds(250)
    let wakeup = Wakeup()

    init(name: String) {
        self.name = name
    }

    deinit {
        wakeup.close()
    }

    /// Runs `body` on a new thread, once; returns false if the thread was already started or closed.
    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let shouldStart = state.withLock { state in
            guard !state.started, !state.closeRequested else { return false }
            state.started = true
            return true
        }
        if shouldStart { DedicatedThread.start(name: name, body) }
        return shouldStart
    }

    var isCloseRequested: Bool { state.withLock { $0.closeRequested } }

    /// Asks the thread to finish and waits until it has. If it never started, `ifNeverStarted` does its final work
    /// instead, here.
    func close(ifNeverStarted: () -> Void) async {
        let (started, finished) = state.withLock { state in
            state.closeRequested = true
            return (state.started, state.finished)
        }
        guard started else {
            ifNeverStarted()
            statusChanged()
            return
        }
        guard !finished else { return }
        wakeup.signal()
        await withCheckedContinuation { continuation in
            let alreadyFinished = state.withLock { state in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if alreadyFinished { continuation.resume() }
        }
    }

    /// The thread's last call.
    func markFinished() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.finishWaiters = [] }
            return state.finishWaiters
        }
        for waiter in waiters { waiter.resume() }
        statusChanged()
    }

    /// Wakes every task in `waitUntil`: the client's status or last error may have changed.
    func statusChanged() {
        let waiters = state.withLock { state in
            state.statusGeneration &+= 1
            defer { state.statusWaiters = [:] }
            return state.statusWaiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits out a reconnect delay, returning early if a close is asked.
    func sleep(for delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while !isCloseRequested, ContinuousClock.now < deadline {
            wakeup.wait(socket: nil, timeout: min(pollInterval, deadline - ContinuousClock.now))
        }
    }

    /// Checks `check` on every status change until it is ready, or fails, or the timeout passes; on timeout throws
    /// the last connection error if there was one.
    func waitUntil(
        timeout: Duration, operation: String, _ check: () -> (ready: Bool, failure: AMQPError?, lastError: AMQPError?)
    ) async throws(AMQPError) {
        let deadline = ContinuousClock.now + timeout
        var lastError: AMQPError?
        while !Task.isCancelled, ContinuousClock.now < deadline {
            let generation = state.withLock { $0.statusGeneration }
            let outcome = check()
            if outcome.ready { return }
            if let failure = outcome.failure { throw failure }
            lastError = outcome.lastError
            await nextStatusChange(after: generation, orAt: deadline)
        }
        throw lastError ?? .timedOut(operation: operation, after: timeout)
    }

    /// Returns once the status has changed since `generation`, or at the deadline, or when cancelled.
    private func nextStatusChange(after generation: UInt64, orAt deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        await withTaskGroup(of: Void.self) { group in
            // Ends the wait at the deadline or on cancellation (ours, once a change came first, or the caller's).
            group.addTask {
                try? await Task.sleep(until: deadline)
                self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    if let waiter = state.statusWaiters.removeValue(forKey: id) { return waiter }
                    state.wokenWaiters.insert(id)
                    return nil
                }?.resume()
            }
            await withCheckedContinuation { continuation in
                let woken = state.withLock { state in
                    if state.statusGeneration != generation || state.wokenWaiters.contains(id) { return true }
                    state.statusWaiters[id] = continuation
                    return false
                }
                if woken { continuation.resume() }
            }
            group.cancelAll()
        }
        state.withLock { _ = $0.wokenWaiters.remove(id) }
    }
}
