import AMQP
import Foundation
import Logging
import MinerIndex

/// Publishes one payload of one index to one fanout exchange: at most once per interval, when the index changed
/// since the last publish or the idle interval has passed.
///
/// Each exchange has its own broadcaster so that the small aggregated payload never waits for the full index,
/// whose cost grows with the fleet (tens of milliseconds and a few MB at 10k miners, seconds and ~100 MB at 100k).
/// The full index is also paced by its own cost: it waits at least `fullIndexCostMultiple` times as long as its
/// last build and publish took before building again, so on a large fleet it cannot take the CPU and the broker
/// away from ingest. With 10k miners that is still every interval; with 100k, every several seconds, while the
/// aggregated payloads stay at one per interval. While ingest is behind the queue, the full index also waits
/// `fullIndexBacklogInterval` between builds (see `IngestBacklog`). The full index's snapshot is taken from the
/// index actor in O(1) and encoded off the actor, so ingest never waits for a broadcast; the aggregated payloads
/// read the aggregate the actor keeps up to date, which costs the number of coins, and take no snapshot at all.
actor ExchangeBroadcaster<Source: SnapshotSource> {
    enum Payload: Sendable {
        /// Registry, live logs and aggregate (`asic_miner_index`, `cpu_gpu_miner_index`).
        case fullIndex
        /// The aggregated object alone.
        case aggregated
    }

    let source: Source
    let exchange: String
    let payload: Payload
    let kind: ServiceMetrics.Kind
    let publisher: AMQPPublisher
    let sequences: SequenceNumbers
    let authority: PublishingAuthority
    let metrics: ServiceMetrics
    let pacing: BroadcastPacing
    let logger: Logger
    private let encoder: SharedPayloadEncoder<Source.Miner, Source.Log>
    private var publishedVersion: UInt64?
    private var publishedAt: ContinuousClock.Instant?
    /// How long the last build and publish took.
    private var lastCost: Duration = .zero
    static var fullIndexCostMultiple: Int { 4 }

    init(
        source: Source, exchange: String, payload: Payload, kind: ServiceMetrics.Kind, publisher: AMQPPublisher,
        sequences: SequenceNumbers, authority: PublishingAuthority, metrics: ServiceMetrics, pacing: BroadcastPacing,
        logger: Logger
    ) {
        self.sequences = sequences
        self.authority = authority
        self.source = source
        self.exchange = exchange
        self.payload = payload
        self.kind = kind
        self.publisher = publisher
        self.metrics = metrics
        self.pacing = pacing
        self.logger = logger
        // Only the full index splices per-miner bytes; the aggregated payload has none to cache.
        encoder = SharedPayloadEncoder(
            MinerPayloadEncoder(vocabulary: Source.vocabulary, cachesRecords: payload == .fullIndex))
    }

    private func headers(sequence: UInt64) -> FieldTable {
        var headers: FieldTable = ["sequence": .int(Int64(sequence)), "publisher": .string(PublishingAuthority.instance)]
        if let epoch = authority.epoch { headers["leader_epoch"] = .int(epoch) }
        return headers
    }

    /// Publishes if due; `force` publishes regardless (the final snapshot at shutdown).
    func tick(force: Bool) async {
        guard authority.mayPublish else { return }
        let version = await source.version
        let idle = publishedAt.map { ContinuousClock.now - $0 >= pacing.idleInterval } ?? true
        guard force || version != publishedVersion || idle else { return }
        if !force, payload == .fullIndex, let publishedAt {
            let sincePublished = ContinuousClock.now - publishedAt
            if sincePublished < lastCost * Self.fullIndexCostMultiple { return }
            // A full index built mid-backlog is stale by the time it is read; catching up makes the next one
            // current.
            if sincePublished < pacing.fullIndexBacklogInterval,
                pacing.backlog.wasBehind(within: pacing.interval * 2)
            {
                return
            }
        }

        let started = ContinuousClock.now
        let generatedAt = Timestamp(Date())
        let sequence = sequences.next(exchange)
        let body: [UInt8]
        let payloadVersion: UInt64
        switch payload {
        case .fullIndex:
            let snapshot = await source.snapshot()
            payloadVersion = snapshot.version
            body = await SnapshotEncodingQueue.run { [encoder, sequence] in
                encoder.encoder.withLock {
                    $0.indexPayload(snapshot, aggregate: snapshot.aggregate(), sequence: sequence,
                                    generatedAt: generatedAt)
                }
            }
        case .aggregated:
            let current = await source.versionedAggregate()
            payloadVersion = current.version
            body = encoder.encoder.withLock {
                $0.aggregatedPayload(current.aggregate, sequence: sequence, generatedAt: generatedAt)
            }
            metrics.population(kind, aggregate: current.aggregate)
        }
        metrics.snapshotBuildSeconds.recordNanoseconds(Int64((ContinuousClock.now - started).seconds * 1e9))

        let message = OutgoingMessage(
            exchange: exchange, routingKey: "", body: body,
            properties: MessageProperties(
                contentType: "application/json", timestamp: generatedAt.date, type: exchange,
                deliveryMode: .transient, headers: headers(sequence: sequence)))
        // Building took a while: the lease is checked again right before the message leaves.
        guard authority.mayPublish else { return }
        do {
            _ = try await publisher.publish(message)
            metrics.snapshotPublished(exchange: exchange)
            publishedVersion = payloadVersion
            publishedAt = .now
            lastCost = .now - started
        } catch {
            logger.warning(
                "snapshot not published; retrying next tick", metadata: ["exchange": "\(exchange)", "error": "\(error)"])
        }
    }
}
