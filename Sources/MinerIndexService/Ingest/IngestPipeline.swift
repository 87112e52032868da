import AMQP
import Foundation
import Logging
import MinerIndex
import MinerIndexState
import Synchronization

/// Drains the consumer: decodes each delivery (here, on a task, not on the consumer's I/O thread), applies the
/// valid ones to their index actor one batch per hop, dead-letters the invalid ones, and only then acknowledges.
/// Batches are handled one after another, so a multiple-ack never covers a delivery that was not handled.
///
/// With a state store, a registry command (`*.upsert`, `*.delete`) is acknowledged only once it is durable. The
/// store normally commits within milliseconds and the batch is acknowledged as one. While it cannot (a full disk,
/// a database restarting), the commands stay unacknowledged, so the broker keeps them, and everything else goes
/// on being applied and acknowledged one by one; no multiple-ack may then cover a held command.
struct IngestPipeline {
    let consumer: AMQPConsumer
    let deadLetters: DeadLetterPublisher
    let indexes: MinerIndexes
    let decoder: MinerMessageDecoder
    let backlog: IngestBacklog
    let persistence: StatePersistence?
    let metrics: ServiceMetrics
    var warnings: RateLimitedLog
    let acks = SharedAckPlanner()
    /// How long a batch waits for its registry commit before acknowledging the rest without it.
    static let registryCommitWait: Duration = .milliseconds(500)

    init(
        consumer: AMQPConsumer, deadLetters: DeadLetterPublisher, indexes: MinerIndexes,
        decoder: MinerMessageDecoder, backlog: IngestBacklog, persistence: StatePersistence?, metrics: ServiceMetrics,
        logger: Logger
    ) {
        self.persistence = persistence
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
        var asicCommands: [TimedCommand<AsicMinerCommand>] = []
        var cpuGpuCommands: [TimedCommand<CpuGpuMinerCommand>] = []
        // Where in the batch the commands came from, in the same order, to dead-letter what the index refuses.
        // Positions rather than copies: a delivery copied is half a dozen retains and releases.
        var asicSources: [Int] = []
        var cpuGpuSources: [Int] = []
        var rejected: [(delivery: AMQP.Delivery, reason: String)] = []
        var rejectedKinds: [(MinerKind?, String)] = []
        var received: [MinerKind?: Int] = [:]
        var redeliveries = 0
        /// Deliveries carrying a registry command, with the kind whose registry it changes.
        var registryCommands: [DeliveryTag: MinerKind] = [:]

        // By position, reading each delivery's fields in place: binding the whole delivery copied it, a retain
        // and a release for each of its strings.
        for position in batch.indices {
            let routingKey = batch[position].routingKey
            let route = MinerMessageDecoder.RoutingKey.matching(routingKey)
            let kind = route?.kind
            received[kind, default: 0] += 1
            if batch[position].redelivered { redeliveries += 1 }
            // A time that cannot be represented is absent, not pinned to an end of the range.
            let amqpTimestamp = batch[position].properties.timestamp.flatMap {
                Timestamp(exactlySecondsSinceEpoch: $0.timeIntervalSince1970)
            }
            do throws(RecordDecodingError) {
                guard let route else { throw MinerMessageDecoder.unknownRoutingKey(routingKey) }
                switch try decoder.decode(route, body: batch[position].body) {
                case .asic(let command):
                    if command.changesRegistry { registryCommands[batch[position].tag] = .asic }
                    asicCommands.append(.init(command, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp))
                    asicSources.append(position)
                case .cpuGpu(let command):
                    if command.changesRegistry { registryCommands[batch[position].tag] = .cpuGpu }
                    cpuGpuCommands.append(.init(command, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp))
                    cpuGpuSources.append(position)
                }
            } catch {
                let delivery = batch[position]
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
            record(outcomes, kind: .asic, commands: asicCommands, appliedAt: Timestamp(Date()))
            refuseFull(outcomes, asicSources, of: batch, kind: .asic, into: &rejected, &rejectedKinds)
        }
        if !cpuGpuCommands.isEmpty {
            let outcomes = await indexes.cpuGpu.apply(cpuGpuCommands)
            record(outcomes, kind: .cpuGpu, commands: cpuGpuCommands, appliedAt: Timestamp(Date()))
            refuseFull(outcomes, cpuGpuSources, of: batch, kind: .cpuGpu, into: &rejected, &rejectedKinds)
        }
        // A refused registry command changed nothing, so its ack waits for no commit.
        for refused in rejected { registryCommands[refused.delivery.tag] = nil }
        let copies = rejected.isEmpty ? [] : await deadLetters.publish(rejected)
        let safelyDeadLettered = copies.map { $0 == .confirmed }
        let uncertain = copies.count { $0 == .uncertain }
        if uncertain > 0 { metrics.uncertainDeadLetterCopies.increment(by: uncertain) }
        let uncommitted = await commitRegistry(registryCommands)

        acknowledge(
            batch, rejected: rejected, safelyDeadLettered: safelyDeadLettered, registryCommands: registryCommands,
            uncommitted: uncommitted)
        // Counted whether the copy was confirmed or the original rejected into the queue's own dead-letter
        // exchange: either way the message left the queue as a dead letter, and applied + dead-lettered must
        // add up to what was received.
        for (kind, reason) in rejectedKinds {
            metrics.deadLettered(kind, reason: reason)
        }
    }

    /// Dead-letters what the index refused because its registry is full.
    private mutating func refuseFull(
        _ outcomes: [ApplyOutcome], _ sources: [Int], of batch: [AMQP.Delivery], kind: MinerKind,
        into rejected: inout [(delivery: AMQP.Delivery, reason: String)], _ kinds: inout [(MinerKind?, String)]
    ) {
        let limit = indexes.maxMiners
        for (outcome, position) in zip(outcomes, sources) where outcome == .registryFull {
            let delivery = batch[position]
            rejected.append((delivery, "registry full: \(limit) \(kind.messagePrefix)s registered already"))
            kinds.append((kind, "registry_full"))
            let routingKey = delivery.routingKey
            warnings.warning(
                "dead-lettering a message for a new miner: the registry is full",
                metadata: ["routing_key": "\(routingKey)", "max_miners": "\(limit)"])
        }
    }

    /// `commands` are the outcomes' commands, in order; each is read in place, for its observation time only.
    private func record<Command>(
        _ outcomes: [ApplyOutcome], kind: MinerKind, commands: [TimedCommand<Command>],
        appliedAt: Timestamp
    ) {
        var counts: [ApplyOutcome: Int] = [:]
        for (position, outcome) in zip(commands.indices, outcomes) {
            counts[outcome, default: 0] += 1
            if outcome == .applied, let observed = commands[position].observedLogTime {
                let lag = max(0, appliedAt.microsecondsSinceEpoch - observed.microsecondsSinceEpoch)
                // A log centuries old is applied only under an offline-after of centuries; saturate, never trap.
                let nanoseconds = lag.multipliedReportingOverflow(by: 1000)
                metrics.applyLagSeconds.recordNanoseconds(nanoseconds.overflow ? .max : nanoseconds.partialValue)
            }
        }
        for (outcome, count) in counts { metrics.applied(kind, outcome: outcome.label, count: count) }
    }

    /// Makes the batch's registry changes durable. Returns the tickets of the kinds whose commit did not finish
    /// within `registryCommitWait`; their commands must wait for them.
    private func commitRegistry(_ commands: [DeliveryTag: MinerKind]) async -> [MinerKind: CommitTicket] {
        guard let persistence, !commands.isEmpty else { return [:] }
        var uncommitted: [MinerKind: CommitTicket] = [:]
        for kind in Set(commands.values) {
            let ticket = await persistence.commitRegistry(kind)
            if !(await ticket.wait(upTo: Self.registryCommitWait)) { uncommitted[kind] = ticket }
        }
        return uncommitted
    }

    /// One multiple-ack for the whole batch when every message is either applied or safely dead-lettered and no
    /// registry command waits for the store; a message whose dead-letter copy was not confirmed is rejected
    /// instead, so the queue's own dead-letter exchange takes it (without the reason header, which the log line
    /// carries); a registry command whose commit is pending is acknowledged when the commit completes. The rules
    /// are `AckPlanner`'s; this carries out its actions.
    private func acknowledge(
        _ batch: [AMQP.Delivery], rejected: [(delivery: AMQP.Delivery, reason: String)], safelyDeadLettered: [Bool],
        registryCommands: [DeliveryTag: MinerKind], uncommitted: [MinerKind: CommitTicket]
    ) {
        let unsafe = Set(zip(rejected, safelyDeadLettered).filter { !$0.1 }.map { $0.0.delivery.tag })
        var tickets: [DeliveryTag: CommitTicket] = [:]
        for (tag, kind) in registryCommands {
            if let ticket = uncommitted[kind] { tickets[tag] = ticket }
        }
        var settlements: [(tag: DeliveryTag, settlement: AckPlanner.Settlement)] = []
        settlements.reserveCapacity(batch.count)
        for position in batch.indices {
            let tag = batch[position].tag
            settlements.append(
                (
                    tag,
                    unsafe.contains(tag)
                        ? .deadLetterUnconfirmed
                        : tickets[tag] != nil ? .awaitingCommit : .done
                ))
        }
        for action in acks.plan(settlements) {
            guard case .hold(let tag) = action else {
                Self.carryOut(action, consumer: consumer, metrics: metrics)
                continue
            }
            tickets[tag]?.onCommit { [consumer, acks, metrics] in
                if let ack = acks.committed(tag) { Self.carryOut(ack, consumer: consumer, metrics: metrics) }
            }
        }
    }

    private static func carryOut(_ action: AckPlanner.Action, consumer: AMQPConsumer, metrics: ServiceMetrics) {
        switch action {
        case .ackThrough(let tag, let count):
            consumer.ack(tag, multiple: true)
            metrics.acks.increment(by: count)
        case .ack(let tag):
            consumer.ack(tag)
            metrics.acks.increment()
        case .reject(let tag):
            consumer.reject(tag, requeue: false)
        case .hold:
            break
        }
    }
}

/// The ack planner of one pipeline, shared with the commit callbacks that acknowledge held registry commands.
final class SharedAckPlanner: Sendable {
    private let planner = Mutex(AckPlanner())

    func plan(_ batch: [(tag: DeliveryTag, settlement: AckPlanner.Settlement)]) -> [AckPlanner.Action] {
        planner.withLock { $0.plan(batch) }
    }

    func committed(_ tag: DeliveryTag) -> AckPlanner.Action? {
        planner.withLock { $0.committed(tag) }
    }
}

extension ApplyOutcome {
    var label: String {
        switch self {
        case .applied: return "applied"
        case .ignoredOutOfOrder: return "ignored_out_of_order"
        case .ignoredOffline: return "ignored_offline"
        case .registryFull: return "registry_full"
        case .notFound: return "not_found"
        }
    }
}
