import AMQP
import Foundation
import Logging
import MinerIndex

/// Drains the consumer: decodes each delivery (here, on a task, not on the consumer's I/O thread), applies the
/// valid ones to their index actor one batch per hop, dead-letters the invalid ones, and only then acknowledges.
/// Batches are handled one after another, so a multiple-ack never covers a delivery that was not handled.
struct IngestPipeline {
    let consumer: AMQPConsumer
    let deadLetters: DeadLetterPublisher
    let indexes: MinerIndexes
    let decoder: MinerMessageDecoder
    let backlog: IngestBacklog
    let metrics: ServiceMetrics
    var warnings: RateLimitedLog

    init(
        consumer: AMQPConsumer, deadLetters: DeadLetterPublisher, indexes: MinerIndexes,
        decoder: MinerMessageDecoder, backlog: IngestBacklog, metrics: ServiceMetrics, logger: Logger
    ) {
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.indexes = indexes
        self.decoder = decoder
        self.backlog = backlog
        self.metrics = metrics
        self.warnings = RateLimitedLog(logger: logger)
    }

    /// Runs until the consumer stops delivering (after `stopConsuming()` or `close()`).
    mutating func run() async {
        var iterator = consumer.deliveries.makeAsyncIterator()
        while let batch = await iterator.nextBatch() {
            backlog.record(batchSize: batch.count)
            await process(batch)
        }
    }

    mutating func process(_ batch: [AMQP.Delivery]) async {
        let receivedAt = Timestamp(Date())
        var asicCommands: [MinerIndex.Delivery<AsicMinerCommand>] = []
        var cpuGpuCommands: [MinerIndex.Delivery<CpuGpuMinerCommand>] = []
        var rejected: [(delivery: AMQP.Delivery, reason: String)] = []
        var rejectedKinds: [(ServiceMetrics.Kind, String)] = []
        var received: [ServiceMetrics.Kind: Int] = [:]
        var redeliveries = 0

        for delivery in batch {
            let kind = ServiceMetrics.Kind(routingKey: delivery.routingKey)
            received[kind, default: 0] += 1
            if delivery.redelivered { redeliveries += 1 }
            // A time that cannot be represented is absent, not pinned to an end of the range.
            let amqpTimestamp = delivery.properties.timestamp.flatMap {
                Timestamp(exactlySecondsSinceEpoch: $0.timeIntervalSince1970)
            }
            do {
                switch try decoder.decode(routingKey: delivery.routingKey, body: delivery.body) {
                case .asic(let command):
                    asicCommands.append(.init(command, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp))
                case .cpuGpu(let command):
                    cpuGpuCommands.append(.init(command, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp))
                }
            } catch {
                rejected.append((delivery, error.description))
                rejectedKinds.append((kind, error.reasonLabel))
                warnings.warning(
                    "dead-lettering a message",
                    metadata: [
                        "error": "\(error.description)", "routing_key": "\(delivery.routingKey)",
                        "message_id": "\(delivery.properties.messageID ?? "")", "bytes": "\(delivery.body.count)",
                    ])
            }
        }
        for (kind, count) in received { metrics.received(kind, count: count) }
        if redeliveries > 0 { metrics.redeliveries.increment(by: redeliveries) }

        // One hop to each actor rather than a child task per destination: creating and joining tasks for every
        // batch cost more than the two actors could gain by running side by side on a machine the broker shares.
        if !asicCommands.isEmpty {
            let outcomes = await indexes.asic.apply(asicCommands)
            record(outcomes, kind: .asic, commands: asicCommands.lazy.map(\.observedLogTime),
                   appliedAt: Timestamp(Date()))
        }
        if !cpuGpuCommands.isEmpty {
            let outcomes = await indexes.cpuGpu.apply(cpuGpuCommands)
            record(outcomes, kind: .cpuGpu, commands: cpuGpuCommands.lazy.map(\.observedLogTime),
                   appliedAt: Timestamp(Date()))
        }
        let safelyDeadLettered = rejected.isEmpty ? [] : await deadLetters.publish(rejected)

        acknowledge(batch, rejected: rejected, safelyDeadLettered: safelyDeadLettered)
        for ((kind, reason), safe) in zip(rejectedKinds, safelyDeadLettered) where safe {
            metrics.deadLettered(kind, reason: reason)
        }
    }

    private func record(
        _ outcomes: [ApplyOutcome], kind: ServiceMetrics.Kind, commands: some Sequence<Timestamp?>,
        appliedAt: Timestamp
    ) {
        var counts: [ApplyOutcome: Int] = [:]
        for (outcome, observed) in zip(outcomes, commands) {
            counts[outcome, default: 0] += 1
            if outcome == .applied, let observed {
                let lag = max(0, appliedAt.microsecondsSinceEpoch - observed.microsecondsSinceEpoch)
                // A log centuries old is applied only under an offline-after of centuries; saturate, never trap.
                let nanoseconds = lag.multipliedReportingOverflow(by: 1000)
                metrics.applyLagSeconds.recordNanoseconds(nanoseconds.overflow ? .max : nanoseconds.partialValue)
            }
        }
        for (outcome, count) in counts { metrics.applied(kind, outcome: outcome.label, count: count) }
    }

    /// One multiple-ack for the whole batch when every message is either applied or safely dead-lettered; a
    /// message whose dead-letter copy was not confirmed is rejected instead, so the queue's own dead-letter
    /// exchange takes it (without the reason header, which the log line carries).
    private func acknowledge(
        _ batch: [AMQP.Delivery], rejected: [(delivery: AMQP.Delivery, reason: String)], safelyDeadLettered: [Bool]
    ) {
        guard let last = batch.last else { return }
        let unsafe = Set(zip(rejected, safelyDeadLettered).filter { !$0.1 }.map { $0.0.delivery.tag })
        if unsafe.isEmpty {
            consumer.ack(last.tag, multiple: true)
            metrics.acks.increment(by: batch.count)
            return
        }
        for delivery in batch {
            if unsafe.contains(delivery.tag) {
                consumer.reject(delivery.tag, requeue: false)
            } else {
                consumer.ack(delivery.tag)
                metrics.acks.increment()
            }
        }
    }
}

extension MinerIndex.Delivery where Command == AsicMinerCommand {
    var observedLogTime: Timestamp? {
        guard case .log(let log) = command else { return nil }
        return ObservationTime.of(insertedAt: log.insertedAt, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp)
    }
}

extension MinerIndex.Delivery where Command == CpuGpuMinerCommand {
    var observedLogTime: Timestamp? {
        guard case .log(let log) = command else { return nil }
        return ObservationTime.of(insertedAt: log.insertedAt, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp)
    }
}

extension ApplyOutcome {
    var label: String {
        switch self {
        case .applied: return "applied"
        case .ignoredOutOfOrder: return "ignored_out_of_order"
        case .ignoredOffline: return "ignored_offline"
        case .notFound: return "not_found"
        }
    }
}
