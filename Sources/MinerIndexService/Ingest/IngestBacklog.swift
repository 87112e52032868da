import Synchronization

/// Whether ingest has recently been behind the queue, as when a backlog is drained after an outage or a redeploy.
/// The full-index broadcasters read it and build less often meanwhile, because each build re-encodes every miner
/// that reported and publishes megabytes to the broker, taking CPU from the very catch-up that makes the index
/// current again; the aggregated payloads are cheap and keep their interval.
///
/// Two signs count: a batch of at least half the prefetch (deliveries piled up while the previous batch was being
/// applied), and a reading of the queue's depth of at least a whole prefetch window waiting beyond the one in
/// flight. Only the second sees a drain the broker limits: the consumer then keeps up with every delivery, its
/// batches stay small, and the queue is deep all the same.
final class IngestBacklog: Sendable {
    private let batchThreshold: Int
    private let depthThreshold: UInt32
    private let lastBehind = Mutex<ContinuousClock.Instant?>(nil)
    /// The time now; injected by tests.
    private let now: @Sendable () -> ContinuousClock.Instant

    init(prefetch: UInt16, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        batchThreshold = max(1, Int(prefetch) / 2)
        depthThreshold = max(1, UInt32(prefetch))
        self.now = now
    }

    func record(batchSize: Int) {
        guard batchSize >= batchThreshold else { return }
        markBehind()
    }

    /// `readyMessages`: the queue's depth as the broker reported it; nil when it could not be read, which shows
    /// nothing either way.
    func record(readyMessages: UInt32?) {
        guard let readyMessages, readyMessages >= depthThreshold else { return }
        markBehind()
    }

    private func markBehind() {
        let time = now()
        lastBehind.withLock { $0 = time }
    }

    /// Whether a batch or a depth reading showed ingest behind within the last `window`.
    func wasBehind(within window: Duration) -> Bool {
        guard let last = lastBehind.withLock({ $0 }) else { return false }
        return now() - last <= window
    }
}
