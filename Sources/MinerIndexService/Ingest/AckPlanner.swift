import AMQP

/// Decides the acknowledgements of each batch, without I/O: the ingest pipeline tells it how each delivery was
/// settled, and carries out the actions it returns.
///
/// The rules it keeps:
/// - every delivery is acknowledged, rejected or held, exactly once; a held one is acknowledged once its commit
///   completes;
/// - a registry command is acknowledged only after the store committed it (`awaitingCommit` until then);
/// - a multiple-ack covers only a settled prefix: it is sent only when the whole batch is `done` and nothing of the
///   current channel is held, because it would also cover every earlier delivery not yet acknowledged.
///
/// Tags of an older channel generation mean nothing any more (the broker requeued those messages), so they stop
/// blocking multiple-acks once a delivery of a newer generation arrives.
struct AckPlanner: Sendable {
    enum Settlement: Sendable, Hashable {
        /// Applied (or ignored as a no-op), or dead-lettered with a confirmed copy.
        case done
        /// Dead-lettered but the copy was not confirmed: rejected without requeue, so the queue's own dead-letter
        /// exchange takes it.
        case deadLetterUnconfirmed
        /// A registry command whose commit did not complete in time: held until it does.
        case awaitingCommit
    }

    enum Action: Sendable, Hashable {
        /// One multiple-ack: every delivery of the channel up to and including this one.
        case ackThrough(DeliveryTag, count: Int)
        case ack(DeliveryTag)
        case reject(DeliveryTag)
        /// Acknowledge it when `committed(_:)` is called for it.
        case hold(DeliveryTag)
    }

    private(set) var held: Set<DeliveryTag> = []

    /// The actions for one batch, given in delivery order.
    mutating func plan(_ batch: [(tag: DeliveryTag, settlement: Settlement)]) -> [Action] {
        guard let last = batch.last else { return [] }
        if !held.isEmpty { held = held.filter { $0.generation >= last.tag.generation } }
        if held.isEmpty, batch.allSatisfy({ $0.settlement == .done }) {
            return [.ackThrough(last.tag, count: batch.count)]
        }
        return batch.map { delivery in
            switch delivery.settlement {
            case .done: return .ack(delivery.tag)
            case .deadLetterUnconfirmed: return .reject(delivery.tag)
            case .awaitingCommit:
                held.insert(delivery.tag)
                return .hold(delivery.tag)
            }
        }
    }

    /// A held delivery's commit completed: acknowledge it. Nil if it is not held: nothing is acknowledged twice,
    /// and one of an older channel, forgotten, needs no ack (the broker redelivers it, and it is applied and
    /// committed again, harmlessly).
    mutating func committed(_ tag: DeliveryTag) -> Action? {
        held.remove(tag).map { .ack($0) }
    }
}
