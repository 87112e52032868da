/// Identifies one delivery on one incarnation of the consumer's channel. Delivery tags restart at 1 on every new
/// channel, so a tag is only meaningful together with the generation it came from.
public struct DeliveryTag: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let generation: UInt64
    public let value: UInt64

    public init(generation: UInt64, value: UInt64) {
        self.generation = generation
        self.value = value
    }

    public static func < (lhs: DeliveryTag, rhs: DeliveryTag) -> Bool {
        (lhs.generation, lhs.value) < (rhs.generation, rhs.value)
    }

    public var description: String { "\(generation)/\(value)" }
}

/// One message handed to a consumer. The body is a copy, so it outlives rabbitmq-c's buffers.
public struct Delivery: Sendable {
    /// Capacity a received body has after its last byte, allocated but not part of it: a parser that reads
    /// ahead in blocks (simdjson reads up to 64 bytes past the end) can then read the body where it is instead
    /// of copying it into a padded buffer first.
    public static let spareCapacity = 64

    public let tag: DeliveryTag
    public let exchange: String
    public let routingKey: String
    public let redelivered: Bool
    public let properties: MessageProperties
    public let body: [UInt8]

    public init(
        tag: DeliveryTag,
        exchange: String,
        routingKey: String,
        redelivered: Bool,
        properties: MessageProperties,
        body: [UInt8]
    ) {
        self.tag = tag
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.properties = properties
        self.body = body
    }
}

/// What happened to a publish once the broker answered it.
public enum PublishOutcome: Sendable, Equatable {
    /// The broker took responsibility for the message (`basic.ack`).
    case confirmed
    /// A `mandatory` message could not be routed to any queue; the broker returned it and then confirmed it.
    case returned(replyCode: UInt16, replyText: String)
}
