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

    /// Publishes the copies with confirms; `true` at index i means message i is safely in the dead-letter queue.
    func publish(_ rejected: [(delivery: AMQP.Delivery, reason: String)]) async -> [Bool] {
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
            if case .success = result { return true }
            return false
        }
    }
}
