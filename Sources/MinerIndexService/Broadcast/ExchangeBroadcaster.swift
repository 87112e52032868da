import AMQP
import Foundation
import Logging
import MinerIndex

/// Publishes the aggregated payload of one index to one fanout exchange: at most once per interval, when the
/// index changed since the last publish or the idle interval has passed.
///
/// Each exchange has its own broadcaster so that the small aggregated payload never waits for the keyframes of the
/// full index, whose cost grows with the fleet (`IndexStreamBroadcaster`). It reads the aggregate the actor keeps
/// up to date, which costs the number of coins, and takes no snapshot at all.
actor ExchangeBroadcaster<Source: SnapshotSource> {
    let source: Source
    let exchange: String
    let publisher: AMQPPublisher
    let sequences: SequenceNumbers
    let authority: PublishingAuthority
    let metrics: ServiceMetrics
    let pacing: BroadcastPacing
    let logger: Logger
    private let encoder: MinerPayloadEncoder<Source.Miner, Source.Log>
    private var schedule: AggregateSchedule

    init(
        source: Source, exchange: String, publisher: AMQPPublisher,
        sequences: SequenceNumbers, authority: PublishingAuthority, metrics: ServiceMetrics, pacing: BroadcastPacing,
        logger: Logger
    ) {
        self.sequences = sequences
        self.authority = authority
        self.source = source
        self.exchange = exchange
        self.publisher = publisher
        self.metrics = metrics
        self.pacing = pacing
        self.logger = logger
        // The aggregated payload has no per-miner bytes to cache.
        encoder = MinerPayloadEncoder(vocabulary: Source.vocabulary, cachesRecords: false)
        schedule = AggregateSchedule(idleInterval: pacing.idleInterval)
    }

    private func headers(sequence: UInt64) -> FieldTable {
        var headers: FieldTable = [
            "sequence": .int(Int64(sequence)), "publisher": .string(PublishingAuthority.instance),
        ]
        if let epoch = authority.epoch { headers["leader_epoch"] = .int(epoch) }
        return headers
    }

    /// Publishes if due; `force` publishes regardless (the final snapshot at shutdown).
    func tick(force: Bool) async {
        guard authority.mayPublish else { return }
        guard schedule.isDue(version: await source.version, now: .now, force: force) else { return }

        let started = ContinuousClock.now
        let generatedAt = Timestamp(Date())
        let sequence = sequences.next(exchange)
        let current = await source.versionedAggregate()
        let body = encoder.aggregatedPayload(
            current.aggregate, sequence: sequence, leaderEpoch: authority.epoch, generatedAt: generatedAt)
        metrics.population(Source.kind, aggregate: current.aggregate)
        metrics.snapshotBuildSeconds.recordNanoseconds(Int64((ContinuousClock.now - started).secondsValue * 1e9))

        let message = OutgoingMessage(
            exchange: exchange, routingKey: "", body: body,
            properties: MessageProperties(
                contentType: "application/json", timestamp: generatedAt.date, type: exchange,
                deliveryMode: .transient, headers: headers(sequence: sequence)))
        guard authority.mayPublish else { return }
        do {
            _ = try await publisher.publish(message)
            metrics.snapshotPublished(exchange: exchange)
            schedule.published(version: current.version, at: .now)
        } catch {
            logger.warning(
                "snapshot not published; retrying next tick",
                metadata: ["exchange": "\(exchange)", "error": "\(error)"])
        }
    }
}
