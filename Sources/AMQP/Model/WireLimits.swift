/// What one AMQP 0-9-1 message can carry to RabbitMQ. rabbitmq-c checks some of it only after it has started
/// writing a message, and some of it not at all (it truncates a header name longer than 255 bytes to its low
/// byte), and RabbitMQ closes the whole connection over a header double that is NaN or infinite; any of these
/// would cost every publish in flight on the connection. A message is therefore checked whole before anything is
/// sent, and one that does not fit fails alone with `AMQPError.unpublishable`.
public enum WireLimits {
    /// Exchange names, routing keys, header names and the short-string properties.
    public static let maximumShortStringBytes = 255

    /// Levels of field tables and arrays in `headers`, the headers table itself being level 1. Deeper levels of
    /// a delivery's headers are read as `.void`, so that hostile nesting costs bounded stack and memory; a
    /// message to publish with deeper nesting is refused.
    public static let maximumNestingDepth = 64

    /// Frame header (type, channel, size) and frame-end octet around every frame's payload.
    static let frameOverheadBytes = 8

    /// Class id, weight, body size and property flags at the start of a content header frame.
    static let contentHeaderFixedBytes = 2 + 2 + 8 + 2
}

extension OutgoingMessage {
    /// Why this message cannot be published on a connection whose frames hold at most `frameMax` bytes, or nil
    /// if it can.
    public func unpublishableReason(frameMax: Int) -> String? {
        let shortStrings: [(String, String?)] = [
            ("exchange name", exchange), ("routing key", routingKey), ("content-type", properties.contentType),
            ("content-encoding", properties.contentEncoding), ("message-id", properties.messageID),
            ("correlation-id", properties.correlationID), ("type", properties.type), ("app-id", properties.appID),
        ]
        for case let (name, text?) in shortStrings where text.utf8.count > WireLimits.maximumShortStringBytes {
            return "the \(name) is \(text.utf8.count) bytes, over the AMQP limit of 255"
        }
        var size = WireSize()
        size.add(properties.headers, depth: 1)
        if let problem = size.problem { return problem }
        let headerFrame =
            WireLimits.frameOverheadBytes + WireLimits.contentHeaderFixedBytes
            + properties.encodedBytesWithoutHeaders + (properties.headers.isEmpty ? 0 : size.bytes)
        guard headerFrame <= frameMax else {
            return "the properties and headers need a \(headerFrame)-byte frame, over the connection's \(frameMax)"
        }
        return nil
    }
}

extension MessageProperties {
    /// Encoded size of every property but `headers`.
    var encodedBytesWithoutHeaders: Int {
        var bytes = 0
        for text in [contentType, contentEncoding, messageID, correlationID, type, appID] {
            if let text { bytes += 1 + text.utf8.count }
        }
        if timestamp != nil { bytes += 8 }
        if deliveryMode != nil { bytes += 1 }
        if priority != nil { bytes += 1 }
        return bytes
    }
}

/// Encoded size of a field table, and the first reason it cannot be encoded at all.
struct WireSize {
    private(set) var bytes = 0
    private(set) var problem: String?

    mutating func add(_ table: FieldTable, depth: Int) {
        guard check(depth: depth) else { return }
        bytes += 4
        for (key, value) in table {
            guard problem == nil else { return }
            let keyBytes = key.utf8.count
            guard keyBytes <= WireLimits.maximumShortStringBytes else {
                problem = "a header name is \(keyBytes) bytes, over the AMQP limit of 255"
                return
            }
            bytes += 1 + keyBytes
            add(value, depth: depth)
        }
    }

    private mutating func add(_ value: FieldValue, depth: Int) {
        bytes += 1
        switch value {
        case .bool: bytes += 1
        case .int, .timestamp: bytes += 8
        case .double(let number):
            bytes += 8
            // RabbitMQ cannot parse NaN or an infinity: it fails the channel and closes the connection (541).
            if !number.isFinite { problem = problem ?? "a header value is \(number), which RabbitMQ cannot read" }
        case .string(let text): bytes += 4 + text.utf8.count
        case .bytes(let data): bytes += 4 + data.count
        case .void: break
        case .table(let nested): add(nested, depth: depth + 1)
        case .array(let values):
            guard check(depth: depth + 1) else { return }
            bytes += 4
            for value in values where problem == nil { add(value, depth: depth + 1) }
        }
    }

    private mutating func check(depth: Int) -> Bool {
        guard depth <= WireLimits.maximumNestingDepth else {
            problem = problem ?? "headers nest deeper than \(WireLimits.maximumNestingDepth) levels"
            return false
        }
        return true
    }
}
