import AMQP
import Foundation
import Logging
import MinerIndex

/// Publishes the two snapshots of one index (the full index and the aggregated object) to their fanout
/// exchanges, when the index changed since the last broadcast or the idle interval has passed.
///
/// The snapshot is taken from the actor in O(1) and aggregated and encoded here, outside the actor, so ingest
/// never waits for a broadcast.
struct SnapshotChannel<Source: SnapshotSource> {
    let source: Source
    let indexExchange: String
    let aggregatedExchange: String
    private var encoder: MinerPayloadEncoder<Source.Miner, Source.Log>
    private var publishedVersion: UInt64?
    private var publishedAt: ContinuousClock.Instant?
    private var indexSequence: UInt64 = 0
    private var aggregatedSequence: UInt64 = 0

    init(source: Source, indexExchange: String, aggregatedExchange: String) {
        self.source = source
        self.indexExchange = indexExchange
        self.aggregatedExchange = aggregatedExchange
        encoder = MinerPayloadEncoder(vocabulary: Source.vocabulary)
    }

    /// Publishes if due. `force` publishes regardless (the final snapshot at shutdown).
    mutating func tick(
        force: Bool, idleInterval: Duration, publisher: AMQPPublisher, metrics: ServiceMetrics,
        kind: ServiceMetrics.Kind, logger: Logger
    ) async {
        let version = await source.version
        let idle = publishedAt.map { ContinuousClock.now - $0 >= idleInterval } ?? true
        guard force || version != publishedVersion || idle else { return }

        let started = ContinuousClock.now
        let snapshot = await source.snapshot()
        let aggregate = Source.aggregate(snapshot)
        let generatedAt = Timestamp(Date())
        indexSequence += 1
        aggregatedSequence += 1
        let indexPayload = encoder.indexPayload(
            snapshot, aggregate: aggregate, sequence: indexSequence, generatedAt: generatedAt)
        let aggregatedPayload = encoder.aggregatedPayload(
            aggregate, sequence: aggregatedSequence, generatedAt: generatedAt)
        metrics.snapshotBuildSeconds.recordNanoseconds(Int64((ContinuousClock.now - started).seconds * 1e9))
        metrics.population(kind, aggregate: aggregate)

        let results = await publisher.publish([
            message(indexExchange, indexPayload, sequence: indexSequence, at: generatedAt),
            message(aggregatedExchange, aggregatedPayload, sequence: aggregatedSequence, at: generatedAt),
        ])
        var allPublished = true
        for (exchange, result) in zip([indexExchange, aggregatedExchange], results) {
            switch result {
            case .success:
                metrics.snapshotPublished(exchange: exchange)
            case .failure(let error):
                allPublished = false
                logger.warning(
                    "snapshot not published; retrying next tick",
                    metadata: ["exchange": "\(exchange)", "error": "\(error)"])
            }
        }
        if allPublished {
            publishedVersion = snapshot.version
            publishedAt = .now
        }
    }

    private func message(_ exchange: String, _ body: [UInt8], sequence: UInt64, at generatedAt: Timestamp)
        -> OutgoingMessage
    {
        OutgoingMessage(
            exchange: exchange, routingKey: "", body: body,
            properties: MessageProperties(
                contentType: "application/json", timestamp: generatedAt.date, type: exchange,
                deliveryMode: .transient, headers: ["sequence": .int(Int64(sequence))]))
    }
}
