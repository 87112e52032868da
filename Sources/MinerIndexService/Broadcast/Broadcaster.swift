import AMQP
import Logging
import MinerIndex

/// Ticks every broadcast interval and lets each index publish if it changed. Ticks are fixed-rate: a slow tick
/// delays the next one instead of bunching them, so no exchange ever gets more than one snapshot per interval.
/// An actor so that the periodic loop and the final snapshot at shutdown share sequence numbers and caches.
actor Broadcaster {
    private var asic: SnapshotChannel<AsicMinerOperationalIndex>
    private var cpuGpu: SnapshotChannel<CpuGpuMinerOperationalIndex>
    let publisher: AMQPPublisher
    let metrics: ServiceMetrics
    let interval: Duration
    let idleInterval: Duration
    let logger: Logger

    init(
        indexes: MinerIndexes, exchanges: ServiceConfiguration.ExchangeNames, publisher: AMQPPublisher,
        metrics: ServiceMetrics, interval: Duration, idleInterval: Duration, logger: Logger
    ) {
        asic = SnapshotChannel(
            source: indexes.asic, indexExchange: exchanges.asicIndex, aggregatedExchange: exchanges.asicAggregatedIndex)
        cpuGpu = SnapshotChannel(
            source: indexes.cpuGpu, indexExchange: exchanges.cpuGpuIndex,
            aggregatedExchange: exchanges.cpuGpuAggregatedIndex)
        self.publisher = publisher
        self.metrics = metrics
        self.interval = interval
        self.idleInterval = idleInterval
        self.logger = logger
    }

    /// Runs until the task is cancelled.
    func run() async {
        await runFixedRate(every: interval) { await tick(force: false) }
    }

    /// Not reentrant in practice: the periodic loop is stopped before the final forced tick.
    func tick(force: Bool) async {
        var asicChannel = asic
        await asicChannel.tick(
            force: force, idleInterval: idleInterval, publisher: publisher, metrics: metrics, kind: .asic,
            logger: logger)
        asic = asicChannel
        var cpuGpuChannel = cpuGpu
        await cpuGpuChannel.tick(
            force: force, idleInterval: idleInterval, publisher: publisher, metrics: metrics, kind: .cpuGpu,
            logger: logger)
        cpuGpu = cpuGpuChannel
    }
}
