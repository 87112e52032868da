import Synchronization

/// Bounds the publishes awaiting a broker confirm: a sender takes permits before publishing and the confirm
/// gives them back. Waiters are served in order, so a large batch is not starved by small ones.
public final class PublishWindow: Sendable {
    private struct State {
        var available: Int
        var waiters: [(permits: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    public let capacity: Int
    private let state: Mutex<State>

    public init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// Waits until `permits` (at most the capacity) are free, and takes them.
    public func acquire(_ permits: Int) async {
        let permits = min(permits, capacity)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.waiters.isEmpty, state.available >= permits {
                    state.available -= permits
                    return true
                }
                state.waiters.append((permits, continuation))
                return false
            }
            if granted { continuation.resume() }
        }
    }

    public func release(_ permits: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.available = min(capacity, state.available + min(permits, capacity))
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiters.first, state.available >= first.permits {
                state.available -= first.permits
                ready.append(first.continuation)
                state.waiters.removeFirst()
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    public var inUse: Int { state.withLock { capacity - $0.available } }

    /// Waits until every permit is back: all publishes have been answered.
    public func drain() async {
        await acquire(capacity)
        release(capacity)
    }
}
