import Synchronization

/// The hand-over between a consumer's I/O thread and the task that reads its deliveries. Unlike an
/// `AsyncStream` of batches, which hands over one batch per element, a reader here takes everything that has
/// arrived since it last looked, in order. A reader that falls behind therefore gets fewer, larger batches, and
/// its fixed cost per batch (actor hops, one multiple-ack) shrinks exactly when it matters.
///
/// The buffer holds at most what the broker may send unacknowledged (the prefetch count), so it needs no bound
/// of its own.
final class DeliveryBuffer: Sendable {
    private struct State {
        var pending: [Delivery] = []
        var finished = false
        /// Readers waiting for deliveries, first come first served; each is handed everything pending.
        var waiters: [(id: UInt64, continuation: CheckedContinuation<[Delivery]?, Never>)] = []
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Called by the I/O thread with the deliveries it has just read.
    func append(_ deliveries: [Delivery]) {
        guard !deliveries.isEmpty else { return }
        let waiter: CheckedContinuation<[Delivery]?, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            if state.waiters.isEmpty {
                state.pending.append(contentsOf: deliveries)
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: deliveries)
    }

    /// Readers suspended in `next()` right now, so that tests can wait for one to be waiting instead of sleeping.
    var waitingReaderCount: Int { state.withLock { $0.waiters.count } }

    /// No more deliveries will come: readers get what is pending, then nil.
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    /// Everything pending, waiting for the next delivery if there is none; nil once finished and empty, or when
    /// the calling task is cancelled while it waits.
    func next() async -> [Delivery]? {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Delivery]?, Never>) in
                let immediate: [Delivery]?? = state.withLock { state in
                    if !state.pending.isEmpty {
                        defer { state.pending = [] }
                        return .some(state.pending)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiters.append((id, continuation))
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0).continuation }
            }
            waiter?.resume(returning: nil)
        }
    }
}
