import Synchronization

/// Whether ingest has recently been behind the queue: a batch of at least half the prefetch means deliveries piled
/// up while the previous batch was being applied, as when a backlog is drained after an outage or a redeploy.
/// The full-index broadcasters read it and build less often meanwhile, because each build re-encodes every miner
/// that reported and publishes megabytes to the broker, taking CPU from the very catch-up that makes the index
/// current again; the aggregated payloads are cheap and keep their interval.
final class IngestBacklog: Sendable {
    private let threshold: Int
    private let lastBehind = Mutex<ContinuousClock.Instant?>(nil)

    init(prefetch: UInt16) {
        threshold = max(1, Int(prefetch) / 2)
    }

    func record(batchSize: Int) {
        guard batchSize >= threshold else { return }
        let now = ContinuousClock.now
        lastBehind.withLock { $0 = now }
    }

    /// Whether a batch showed ingest behind within the last `window`.
    func wasBehind(within window: Duration) -> Bool {
        guard let last = lastBehind.withLock({ $0 }) else { return false }
        return ContinuousClock.now - last <= window
    }
}
