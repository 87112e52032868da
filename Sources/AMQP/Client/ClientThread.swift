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
    }

    /// Waits out a reconnect delay, returning early if a close is asked.
    func sleep(for delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while !isCloseRequested, ContinuousClock.now < deadline {
            wakeup.wait(socket: nil, timeout: min(pollInterval, deadline - ContinuousClock.now))
        }
    }

    /// Polls `check` until it is ready, or fails, or the timeout passes; on timeout throws the last connection
    /// error if there was one.
    static func waitUntil(
        timeout: Duration, operation: String, _ check: () -> (ready: Bool, failure: AMQPError?, lastError: AMQPError?)
    ) async throws(AMQPError) {
        let deadline = ContinuousClock.now + timeout
        var lastError: AMQPError?
        while ContinuousClock.now < deadline {
            let outcome = check()
            if outcome.ready { return }
            if let failure = outcome.failure { throw failure }
            lastError = outcome.lastError
            try? await Task.sleep(for: .milliseconds(20))
        }
        throw lastError ?? .timedOut(operation: operation, after: timeout)
    }
}
