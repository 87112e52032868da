import AMQP
import Logging
import MinerIndex

/// When the broadcasters publish: every `interval` if the index changed, every `idleInterval` regardless, and the
/// full indexes at most every `fullIndexBacklogInterval` while ingest is behind.
struct BroadcastPacing: Sendable {
    let interval: Duration
    let idleInterval: Duration
    let fullIndexBacklogInterval: Duration
    let backlog: IngestBacklog
}

/// The four exchange broadcasters, each ticking on its own fixed-rate schedule.
struct Broadcaster: Sendable {
    private let asicIndex: ExchangeBroadcaster<AsicMinerOperationalIndex>
    private let asicAggregated: ExchangeBroadcaster<AsicMinerOperationalIndex>
    private let cpuGpuIndex: ExchangeBroadcaster<CpuGpuMinerOperationalIndex>
    private let cpuGpuAggregated: ExchangeBroadcaster<CpuGpuMinerOperationalIndex>
    let interval: Duration

    init(
        indexes: MinerIndexes, exchanges: ServiceConfiguration.ExchangeNames, publisher: AMQPPublisher,
        fullIndexPublisher: AMQPPublisher, sequences: SequenceNumbers, authority: PublishingAuthority,
        metrics: ServiceMetrics, pacing: BroadcastPacing, logger: Logger
    ) {
        self.interval = pacing.interval
        asicIndex = ExchangeBroadcaster(
            source: indexes.asic, exchange: exchanges.asicIndex, payload: .fullIndex, kind: .asic,
            publisher: fullIndexPublisher, sequences: sequences, authority: authority, metrics: metrics, pacing: pacing, logger: logger)
        asicAggregated = ExchangeBroadcaster(
            source: indexes.asic, exchange: exchanges.asicAggregatedIndex, payload: .aggregated, kind: .asic,
            publisher: publisher, sequences: sequences, authority: authority, metrics: metrics, pacing: pacing, logger: logger)
        cpuGpuIndex = ExchangeBroadcaster(
            source: indexes.cpuGpu, exchange: exchanges.cpuGpuIndex, payload: .fullIndex, kind: .cpuGpu,
            publisher: fullIndexPublisher, sequences: sequences, authority: authority, metrics: metrics, pacing: pacing, logger: logger)
        cpuGpuAggregated = ExchangeBroadcaster(
            source: indexes.cpuGpu, exchange: exchanges.cpuGpuAggregatedIndex, payload: .aggregated, kind: .cpuGpu,
            publisher: publisher, sequences: sequences, authority: authority, metrics: metrics, pacing: pacing, logger: logger)
    }

    /// Aggregated payloads first: they are the cheap ones dashboards wait for.
    private var ticks: [@Sendable (_ force: Bool) async -> Void] {
        [
            { [asicAggregated] in await asicAggregated.tick(force: $0) },
            { [cpuGpuAggregated] in await cpuGpuAggregated.tick(force: $0) },
            { [asicIndex] in await asicIndex.tick(force: $0) },
            { [cpuGpuIndex] in await cpuGpuIndex.tick(force: $0) },
        ]
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

    /// One snapshot per exchange, whatever changed; called once the periodic loops have stopped.
    func publishFinal() async {
        await withTaskGroup(of: Void.self) { group in
            for tick in ticks {
                group.addTask { await tick(true) }
            }
        }
    }
}
