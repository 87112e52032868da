import AMQP
import MinerIndex

/// Copies rejected messages to the dead-letter exchange with the reason attached, so that nothing is dropped
/// silently and an operator can see why each one was refused.
struct DeadLetterPublisher: Sendable {
    static let errorHeader = "x-miner-index-error"
    static let routingKeyHeader = "x-original-routing-key"
    static let exchangeHeader = "x-original-exchange"

    let publisher: AMQPPublisher
    let exchange: String

    /// What became of each copy.
    enum Outcome: Equatable {
        /// The broker confirmed it: the copy is safely in the dead-letter queue.
        case confirmed
        /// It is not in the dead-letter queue.
        case failed
        /// It left for the broker and no answer came (the connection dropped, the broker blocked it, or the
        /// channel failed under it): it may be routed yet. The original is still rejected into the queue's own dead-letter exchange, so the
        /// dead-letter queue may hold this message twice.
        case uncertain
    }

    /// Publishes the copies with confirms, and says what became of each, in order.
    func publish(_ rejected: [(delivery: AMQP.Delivery, reason: String)]) async -> [Outcome] {
        guard !rejected.isEmpty else { return [] }
        let copies = rejected.map { delivery, reason in
            var properties = delivery.properties
            properties.headers[Self.errorHeader] = .string(reason)
            properties.headers[Self.routingKeyHeader] = .string(delivery.routingKey)
            properties.headers[Self.exchangeHeader] = .string(delivery.exchange)
            properties.deliveryMode = .persistent
            return OutgoingMessage(
                exchange: exchange, routingKey: delivery.routingKey, body: delivery.body, properties: properties)
        }
        return await publisher.publish(copies).map { result in
            switch result {
            case .success: return .confirmed
            case .failure(let error): return error.mayHaveBeenRouted ? .uncertain : .failed
            }
        }
    }
}
