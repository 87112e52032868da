import Foundation

/// The basic-class properties that miner-index reads and writes. Unset properties are `nil` and are not sent.
public struct MessageProperties: Sendable, Hashable {
    public enum DeliveryMode: UInt8, Sendable {
        case transient = 1
        case persistent = 2
    }

    public var contentType: String?
    public var messageID: String?
    /// AMQP timestamps have a resolution of one second.
    public var timestamp: Date?
    public var type: String?
    public var deliveryMode: DeliveryMode?
    public var headers: FieldTable

    public init(
        contentType: String? = nil,
        messageID: String? = nil,
        timestamp: Date? = nil,
        type: String? = nil,
        deliveryMode: DeliveryMode? = nil,
        headers: FieldTable = [:]
    ) {
        self.contentType = contentType
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.deliveryMode = deliveryMode
        self.headers = headers
    }
}

/// A message to publish.
public struct OutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: MessageProperties
    /// When true, an unroutable message comes back as `PublishOutcome.returned` instead of being dropped.
    public var mandatory: Bool

    public init(
        exchange: String,
        routingKey: String,
        body: [UInt8],
        properties: MessageProperties = .init(),
        mandatory: Bool = false
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}
