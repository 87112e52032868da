import Foundation

/// The basic-class properties that miner-index reads and writes. Unset properties are `nil` and are not sent.
///
/// Read from a delivery, every property is untrusted input, and reading one never fails: text that is not UTF-8
/// is repaired (each bad byte becomes U+FFFD), and a `timestamp` that cannot be a time is absent (see there).
/// `reply-to`, `expiration`, `user-id` and `cluster-id` are not read: a copy republished with the original's
/// expiration would expire in the dead-letter queue, and the broker refuses a `user-id` that is not the
/// publishing connection's own user.
public struct MessageProperties: Sendable, Hashable {
    public enum DeliveryMode: UInt8, Sendable {
        case transient = 1
        case persistent = 2
    }

    /// The latest time an AMQP `timestamp` (unsigned seconds since 1970) may name and still be read:
    /// 9999-12-31T23:59:59Z. Beyond it the property is treated as absent; that is where a producer that writes
    /// milliseconds or microseconds into the field lands.
    public static let latestTimestampSeconds: UInt64 = 253_402_300_799

    public var contentType: String?
    public var contentEncoding: String?
    public var messageID: String?
    public var correlationID: String?
    /// AMQP timestamps have a resolution of one second. Read from a delivery, nil when absent or after
    /// `latestTimestampSeconds`; written, clamped to 1970 ... `latestTimestampSeconds`.
    public var timestamp: Date?
    public var type: String?
    public var appID: String?
    public var deliveryMode: DeliveryMode?
    public var priority: UInt8?
    public var headers: FieldTable

    public init(
        contentType: String? = nil,
        messageID: String? = nil,
        timestamp: Date? = nil,
        type: String? = nil,
        deliveryMode: DeliveryMode? = nil,
        headers: FieldTable = [:],
        contentEncoding: String? = nil,
        correlationID: String? = nil,
        appID: String? = nil,
        priority: UInt8? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.messageID = messageID
        self.correlationID = correlationID
        self.timestamp = timestamp
        self.type = type
        self.appID = appID
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.headers = headers
    }

    /// The date of an AMQP timestamp, or nil if it is after `latestTimestampSeconds`.
    public static func date(fromTimestamp seconds: UInt64) -> Date? {
        guard seconds <= latestTimestampSeconds else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The AMQP timestamp of a date, whole seconds rounded down, clamped to 1970 ... `latestTimestampSeconds`
    /// (NaN becomes 0).
    public static func timestamp(from date: Date) -> UInt64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds > 0 else { return 0 }
        guard seconds < Double(latestTimestampSeconds) else { return latestTimestampSeconds }
        return UInt64(seconds)
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
