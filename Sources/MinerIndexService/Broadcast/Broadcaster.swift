import AMQP
import Logging
import MinerIndex

/// When the broadcasters publish: every `interval` if the index changed, every `idleInterval` regardless, and the
/// keyframes and deltas at most every `fullIndexBacklogInterval` while ingest is behind.
struct BroadcastPacing: Sendable {
    let interval: Duration
    let idleInterval: Duration
    let fullIndexBacklogInterval: Duration
    let backlog: IngestBacklog
}

/// The broadcasters: the two aggregated payloads, and the keyframes and deltas of the two full indexes, each
/// ticking on its own fixed-rate schedule.
struct Broadcaster: Sendable {
    /// Aggregated payloads first: they are the cheap ones dashboards wait for.
    private let ticks: [@Sendable (_ force: Bool) async -> Void]
    let interval: Duration

    /// `fullIndexPublisher` carries the keyframes and the deltas, in order; `publisher` the aggregated payloads.
    init(
        indexes: MinerIndexes, exchanges: ServiceConfiguration.ExchangeNames, publisher: AMQPPublisher,
        fullIndexPublisher: AMQPPublisher, sequences: SequenceNumbers, authority: PublishingAuthority,
        requests: KeyframeRequests, metrics: ServiceMetrics, pacing: BroadcastPacing, stream: StreamPacing,
        logger: Logger
    ) {
        self.interval = pacing.interval
        // One chain per term of leadership: a subscriber never applies a delta of one term to a keyframe of another.
        let chainID = String(UInt64.random(in: .min ... .max), radix: 16)
        var aggregates: [@Sendable (_ force: Bool) async -> Void] = []
        var streams: [@Sendable (_ force: Bool) async -> Void] = []
        func add<Source: SnapshotSource>(_ source: Source) {
            let aggregated = ExchangeBroadcaster(
                source: source, exchange: exchanges.aggregated(of: Source.kind), publisher: publisher,
                sequences: sequences, authority: authority, metrics: metrics, pacing: pacing, logger: logger)
            let index = IndexStreamBroadcaster(
                source: source, keyframeExchange: exchanges.index(of: Source.kind),
                deltaExchange: exchanges.delta(of: Source.kind), publisher: fullIndexPublisher, sequences: sequences,
                authority: authority, requests: requests, metrics: metrics, pacing: pacing, stream: stream,
                chainID: chainID, logger: logger)
            aggregates.append { await aggregated.tick(force: $0) }
            streams.append { await index.tick(force: $0) }
        }
        add(indexes.asic)
        add(indexes.cpuGpu)
        ticks = aggregates + streams
    }

    /// Runs until the task is cancelled.
    func run() async {
        let interval = self.interval
        await withTaskGroup(of: Void.self) { group in
            for tick in ticks {
                // The first snapshot goes out at once: after a restart it carries the restored state, and a
                // dashboard should not wait an interval for it.
                group.addTask {
                    await tick(false)
                    await runFixedRate(every: interval) { await tick(false) }
                }
            }
        }
    }

    /// One snapshot per aggregated exchange and one keyframe per full index (after the delta that leads to it),
    /// whatever changed; called once the periodic loops have stopped.
    func publishFinal() async {
        await withTaskGroup(of: Void.self) { group in
            for tick in ticks {
                group.addTask { await tick(true) }
            }
        }
    }
}
