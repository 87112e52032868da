import AMQP
import Logging
import MinerIndex
import Synchronization

/// Private queues on the service's four output exchanges, bound before the run starts. The aggregated snapshots
/// are read on their consumer's I/O thread, as they come off the socket, so that a lag probe's arrival is timed
/// there and not when a task of the busy cooperative pool gets round to it. After a lost connection the
/// consumers reconnect, declare their queues and bindings again and carry on; snapshots published meanwhile are
/// simply missed, and the convergence check only looks at the latest one.
///
/// The aggregated snapshots are small and read in full. The full-index snapshots can be tens of megabytes each
/// with a large fleet, so their queue keeps only the newest two (`x-max-length`) and they are only counted:
/// checking that every exchange publishes is enough there, and reading them all would make miner-load, not the
/// service, the bottleneck of a load test.
public final class SnapshotWatch: Sendable {
    public struct ExchangeCounts: Sendable, Hashable {
        public var received = 0
        public var lastBytes = 0
    }

    private struct State {
        var latest: [MinerKind: AggregatedSnapshot] = [:]
        var counts: [String: ExchangeCounts] = [:]
        var unreadable = 0
        var lastUnreadable: String?
    }

    let verification: LoadConfiguration.Verification
    let kinds: [MinerKind]
    let lag: LagTracker
    /// This run's lag probes (see `LagProbe`).
    let canaryID: String
    private let aggregatedConsumer: AMQPConsumer
    /// Nil when the reference subscribers read the full indexes anyway: a second copy of every keyframe (about
    /// a hundred megabytes at 100k miners) costs the broker, which the load test measures, for a count.
    private let indexConsumer: AMQPConsumer?
    /// A class, so that the I/O thread's observer can hold it before `self` exists.
    private final class SharedState: Sendable {
        let mutex = Mutex(State())

        func withLock<Result>(_ body: (inout State) -> Result) -> Result { mutex.withLock { body(&$0) } }
    }

    private let state: SharedState
    private let listeners = Mutex<[Task<Void, Never>]>([])

    public init(
        settings: ConnectionSettings, verification: LoadConfiguration.Verification, runID: String, canaryID: String,
        kinds: [MinerKind], lag: LagTracker, countsIndexSnapshots: Bool = true, backoff: Backoff = .init(),
        logger: Logger
    ) {
        self.verification = verification
        self.kinds = kinds
        self.lag = lag
        self.canaryID = canaryID
        let state = SharedState()
        self.state = state
        let aggregatedExchanges = MinerKind.allCases.map(verification.aggregatedExchange)
        let indexExchanges = MinerKind.allCases.map(verification.indexExchange)
        let aggregatedQueue = "miner-load.\(runID).aggregated"
        let indexQueue = "miner-load.\(runID).index"
        var settings = settings
        settings.connectionName = "miner-load verify"
        aggregatedConsumer = AMQPConsumer(
            settings: settings,
            configuration: .init(
                queue: aggregatedQueue, prefetch: 100,
                topology: Self.privateQueue(aggregatedQueue, boundTo: aggregatedExchanges, arguments: [:]),
                consumerTag: "miner-load-aggregated", backoff: backoff,
                arrivalObserver: { batch in
                    Self.read(batch, verification: verification, canaryID: canaryID, lag: lag, into: state)
                }),
            logger: logger)
        indexConsumer =
            !countsIndexSnapshots
            ? nil
            : AMQPConsumer(
                settings: settings,
                configuration: .init(
                    queue: indexQueue, prefetch: 1,
                    topology: Self.privateQueue(indexQueue, boundTo: indexExchanges, arguments: ["x-max-length": 2]),
                    consumerTag: "miner-load-index", backoff: backoff),
                logger: logger)
    }

    /// Exclusive and auto-deleted: the queues live exactly as long as this run's connections. The exchanges are
    /// declared as the service declares them, so binding works even before the service first started.
    private static func privateQueue(_ name: String, boundTo exchanges: [String], arguments: FieldTable) -> Topology {
        Topology(
            exchanges: exchanges.map { ExchangeDeclaration(name: $0, kind: .fanout, durable: true) },
            queues: [
                QueueDeclaration(name: name, durable: false, exclusive: true, autoDelete: true, arguments: arguments)
            ],
            bindings: exchanges.map { QueueBinding(queue: name, exchange: $0) })
    }

    public func start(timeout: Duration) async throws(AMQPError) {
        aggregatedConsumer.start()
        indexConsumer?.start()
        try await aggregatedConsumer.waitUntilConsuming(timeout: timeout)
        try await indexConsumer?.waitUntilConsuming(timeout: timeout)
        let aggregated = Task { [self] in await listenToAggregated() }
        let index = Task { [self] in await listenToIndex() }
        listeners.withLock { $0 = [aggregated, index] }
    }

    public func close() async {
        await aggregatedConsumer.close()
        await indexConsumer?.close()
        for listener in listeners.withLock({ $0 }) { await listener.value }
    }

    public func latest(_ kind: MinerKind) -> AggregatedSnapshot? {
        state.withLock { $0.latest[kind] }
    }

    public func counts(on exchange: String) -> ExchangeCounts {
        state.withLock { $0.counts[exchange] ?? ExchangeCounts() }
    }

    public var unreadable: (count: Int, last: String?) {
        state.withLock { ($0.unreadable, $0.lastUnreadable) }
    }

    /// On the aggregated consumer's I/O thread: a few small snapshots a second, each read once.
    private static func read(
        _ batch: [Delivery], verification: LoadConfiguration.Verification, canaryID: String, lag: LagTracker,
        into state: SharedState
    ) {
        let arrivedAt = ContinuousClock.now
        for delivery in batch {
            guard
                let kind = MinerKind.allCases.first(where: { verification.aggregatedExchange($0) == delivery.exchange })
            else { continue }
            do {
                let snapshot = try AggregatedSnapshot(kind: kind, body: delivery.body, arrivedAt: arrivedAt)
                if let probe = snapshot.canaries[canaryID] {
                    lag.snapshotArrived(kind, reflecting: probe, at: arrivedAt)
                }
                state.withLock { state in
                    state.counts[delivery.exchange, default: ExchangeCounts()].received += 1
                    state.counts[delivery.exchange, default: ExchangeCounts()].lastBytes = delivery.body.count
                    // One queue fed by one publisher per exchange: arrival order is publication order.
                    state.latest[kind] = snapshot
                }
            } catch {
                state.withLock { state in
                    state.unreadable += 1
                    state.lastUnreadable = "\(error)"
                }
            }
        }
    }

    /// The snapshots were read as they arrived; this only acknowledges them.
    private func listenToAggregated() async {
        var iterator = aggregatedConsumer.deliveries.makeAsyncIterator()
        while let batch = await iterator.nextBatch() {
            if let last = batch.last { aggregatedConsumer.ack(last.tag, multiple: true) }
        }
    }

    private func listenToIndex() async {
        guard let indexConsumer else { return }
        var iterator = indexConsumer.deliveries.makeAsyncIterator()
        while let batch = await iterator.nextBatch() {
            state.withLock { state in
                for delivery in batch {
                    state.counts[delivery.exchange, default: ExchangeCounts()].received += 1
                    state.counts[delivery.exchange, default: ExchangeCounts()].lastBytes = delivery.body.count
                }
            }
            if let last = batch.last { indexConsumer.ack(last.tag, multiple: true) }
        }
    }
}
