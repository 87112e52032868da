import AMQP
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A hostile producer for tests: speaks AMQP 0-9-1 over a plain socket, writing every byte itself, so that it can
/// send what no well-behaved client library would (property strings that are not UTF-8, timestamps beyond any
/// calendar, every field-table type, tables nested thousands deep). It publishes with confirms and mandatory
/// routing, one message at a time, and reports what the broker did with each. Blocking I/O: call it from a
/// dedicated thread or accept that it holds a cooperative thread for a few milliseconds per message.
public final class RawAMQPPublisher {
    /// A field-table value with its AMQP 0-9-1 type octet as RabbitMQ reads it.
    public indirect enum Field: Sendable {
        case bool(Bool)
        case int8(Int8)
        case uint8(UInt8)
        case int16(Int16)
        case uint16(UInt16)
        case int32(Int32)
        case uint32(UInt32)
        case int64(Int64)
        case float(Float)
        case double(Double)
        case decimal(scale: UInt8, value: UInt32)
        case longString([UInt8])
        case bytes([UInt8])
        case timestamp(UInt64)
        case table([(key: [UInt8], value: Field)])
        case array([Field])
        case void
        /// Already encoded, type octet included: for structures too deep to build as values.
        case encoded([UInt8])

        /// `depth` arrays, each holding the next, the innermost empty: 5 bytes a level, built without recursion.
        public static func nestedArrays(depth: Int) -> Field {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(depth * 5)
            for level in 0..<depth {
                bytes.append(UInt8(ascii: "A"))
                appendUInt32(UInt32((depth - level - 1) * 5), to: &bytes)
            }
            return .encoded(bytes)
        }

        /// `depth` tables, each holding the next under the key "n", the innermost empty: 7 bytes a level.
        public static func nestedTables(depth: Int) -> Field {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(depth * 7)
            for level in 0..<depth {
                bytes.append(UInt8(ascii: "F"))
                let inner = depth - level - 1
                appendUInt32(UInt32(inner * 7), to: &bytes)
                if inner > 0 { bytes += [1, UInt8(ascii: "n")] }
            }
            return .encoded(bytes)
        }
    }

    /// Every basic-class property, each as raw bytes where AMQP has a string.
    public struct Properties: Sendable {
        public var contentType: [UInt8]?
        public var contentEncoding: [UInt8]?
        public var headers: [(key: [UInt8], value: Field)]?
        public var deliveryMode: UInt8?
        public var priority: UInt8?
        public var correlationID: [UInt8]?
        public var replyTo: [UInt8]?
        public var expiration: [UInt8]?
        public var messageID: [UInt8]?
        public var timestamp: UInt64?
        public var type: [UInt8]?
        public var userID: [UInt8]?
        public var appID: [UInt8]?
        public var clusterID: [UInt8]?

        public init() {}
    }

    public enum Outcome: Sendable, Equatable {
        /// Confirmed and routed to at least one queue.
        case routed
        /// Confirmed but unroutable (`basic.return`).
        case returned
        /// Nacked, or the broker closed the channel or the connection over it.
        case refused(String)
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    private let settings: ConnectionSettings
    private var socket: Int32 = -1
    private var channel: UInt16 = 0
    private var frameMax = 131_072
    private var deliveryTag: UInt64 = 0

    public init(settings: ConnectionSettings) {
        self.settings = settings
    }

    /// Runs `body` with a new publisher on a thread of its own, so that its blocking I/O never holds one of the
    /// few threads the in-process service under test needs, and closes the connection afterwards.
    public static func withPublisher<Result: Sendable>(
        _ settings: ConnectionSettings, _ body: @escaping @Sendable (RawAMQPPublisher) throws -> Result
    ) async throws -> Result {
        let outcome: Swift.Result<Result, Error> = await withCheckedContinuation { continuation in
            let thread = Thread {
                let publisher = RawAMQPPublisher(settings: settings)
                defer { publisher.close() }
                continuation.resume(returning: Swift.Result { try body(publisher) })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try outcome.get()
    }

    deinit {
        if socket >= 0 { Glibc.close(socket) }
    }

    /// Publishes one message and waits for the broker's verdict. Reconnects or reopens the channel first if the
    /// broker closed them over an earlier message.
    public func publish(
        exchange: [UInt8], routingKey: [UInt8], properties: Properties, body: [UInt8]
    ) throws -> Outcome {
        if socket < 0 { try connect() }
        if channel == 0 { try openChannel() }
        var method: [UInt8] = []
        appendUInt16(0, to: &method)
        appendShortString(exchange, to: &method)
        appendShortString(routingKey, to: &method)
        method.append(1)  // mandatory
        try sendMethod(classID: 60, methodID: 40, arguments: method, channel: channel)
        var header: [UInt8] = []
        appendUInt16(60, to: &header)
        appendUInt16(0, to: &header)
        appendUInt64(UInt64(body.count), to: &header)
        Self.appendProperties(properties, to: &header)
        try sendFrame(type: 2, channel: channel, payload: header)
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + frameMax - 8)
            try sendFrame(type: 3, channel: channel, payload: Array(body[offset..<end]))
            offset = end
        }
        deliveryTag += 1
        return try awaitVerdict()
    }

    public func close() {
        guard socket >= 0 else { return }
        Glibc.close(socket)
        socket = -1
        channel = 0
    }

    // MARK: Connection

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(settings.host, String(settings.port), &hints, &result) == 0, let address = result else {
            throw ProtocolError(description: "cannot resolve \(settings.host)")
        }
        defer { freeaddrinfo(result) }
        let descriptor = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, 0)
        guard descriptor >= 0 else { throw ProtocolError(description: "socket() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Each message is a few small writes and then a wait for its confirm: Nagle would hold the last write.
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            Glibc.close(descriptor)
            throw ProtocolError(description: "cannot connect to \(settings.host):\(settings.port)")
        }
        socket = descriptor
        deliveryTag = 0
        try send(Array("AMQP".utf8) + [0, 0, 9, 1])
        _ = try expectMethod(classID: 10, methodID: 10)  // connection.start
        var startOk: [UInt8] = []
        appendUInt32(0, to: &startOk)  // no client properties, so no capabilities and no connection.blocked
        appendShortString(Array("PLAIN".utf8), to: &startOk)
        appendLongString([0] + Array(settings.user.utf8) + [0] + Array(settings.password.utf8), to: &startOk)
        appendShortString(Array("en_US".utf8), to: &startOk)
        try sendMethod(classID: 10, methodID: 11, arguments: startOk, channel: 0)
        let tune = try expectMethod(classID: 10, methodID: 30)
        let serverFrameMax = Int(readUInt32(tune, at: 2))
        frameMax = serverFrameMax == 0 ? 131_072 : min(serverFrameMax, 131_072)
        var tuneOk: [UInt8] = []
        appendUInt16(readUInt16(tune, at: 0), to: &tuneOk)
        appendUInt32(UInt32(frameMax), to: &tuneOk)
        appendUInt16(0, to: &tuneOk)  // no heartbeats: this client never idles long
        try sendMethod(classID: 10, methodID: 31, arguments: tuneOk, channel: 0)
        var open: [UInt8] = []
        appendShortString(Array(settings.virtualHost.utf8), to: &open)
        appendShortString([], to: &open)
        open.append(0)
        try sendMethod(classID: 10, methodID: 40, arguments: open, channel: 0)
        _ = try expectMethod(classID: 10, methodID: 41)
        channel = 0
    }

    private var nextChannel: UInt16 = 0

    private func openChannel() throws {
        nextChannel = nextChannel == 2000 ? 1 : nextChannel + 1
        let number = nextChannel
        try sendMethod(classID: 20, methodID: 10, arguments: [0], channel: number)
        _ = try expectMethod(classID: 20, methodID: 11, channel: number)
        try sendMethod(classID: 85, methodID: 10, arguments: [0], channel: number)  // confirm.select
        _ = try expectMethod(classID: 85, methodID: 11, channel: number)
        channel = number
        deliveryTag = 0
    }

    /// Reads until the confirm of the last publish, noting a `basic.return` on the way.
    private func awaitVerdict() throws -> Outcome {
        var returned = false
        while true {
            let frame = try readFrame()
            guard frame.type == 1, frame.payload.count >= 4 else { continue }
            let classID = readUInt16(frame.payload, at: 0)
            let methodID = readUInt16(frame.payload, at: 2)
            let arguments = Array(frame.payload[4...])
            switch (classID, methodID) {
            case (60, 50):  // basic.return, then its header and body frames
                returned = true
                let header = try readFrame()
                var remaining = header.payload.count >= 12 ? readUInt64(header.payload, at: 4) : 0
                while remaining > 0 { remaining -= UInt64(try readFrame().payload.count) }
            case (60, 80):
                return returned ? .returned : .routed
            case (60, 120):
                return .refused("basic.nack")
            case (20, 40):
                try sendMethod(classID: 20, methodID: 41, arguments: [], channel: frame.channel)
                channel = 0
                return .refused("channel closed: \(Self.closeText(arguments))")
            case (10, 50):
                try? sendMethod(classID: 10, methodID: 51, arguments: [], channel: 0)
                close()
                return .refused("connection closed: \(Self.closeText(arguments))")
            default:
                continue
            }
        }
    }

    private static func closeText(_ arguments: [UInt8]) -> String {
        guard arguments.count >= 3 else { return "?" }
        let code = readUInt16(arguments, at: 0)
        let length = Int(arguments[2])
        let text = String(decoding: arguments.dropFirst(3).prefix(length), as: UTF8.self)
        return "\(code) \(text)"
    }

    private func expectMethod(classID: UInt16, methodID: UInt16, channel expected: UInt16 = 0) throws -> [UInt8] {
        while true {
            let frame = try readFrame()
            guard frame.type == 1, frame.payload.count >= 4 else { continue }
            let got = (readUInt16(frame.payload, at: 0), readUInt16(frame.payload, at: 2))
            if got == (classID, methodID) { return Array(frame.payload[4...]) }
            if got == (10, 50) || got == (20, 40) {
                close()
                throw ProtocolError(description: "broker closed: \(Self.closeText(Array(frame.payload[4...])))")
            }
        }
    }

    // MARK: Frames

    private func sendMethod(classID: UInt16, methodID: UInt16, arguments: [UInt8], channel: UInt16) throws {
        var payload: [UInt8] = []
        appendUInt16(classID, to: &payload)
        appendUInt16(methodID, to: &payload)
        try sendFrame(type: 1, channel: channel, payload: payload + arguments)
    }

    private func sendFrame(type: UInt8, channel: UInt16, payload: [UInt8]) throws {
        var frame: [UInt8] = [type]
        appendUInt16(channel, to: &frame)
        appendUInt32(UInt32(payload.count), to: &frame)
        frame += payload
        frame.append(0xCE)
        try send(frame)
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else {
                close()
                throw ProtocolError(description: "send failed (errno \(errno))")
            }
            sent += written
        }
    }

    private func readFrame() throws -> (type: UInt8, channel: UInt16, payload: [UInt8]) {
        let header = try receive(7)
        let size = Int(readUInt32(header, at: 3))
        let rest = try receive(size + 1)
        return (header[0], readUInt16(header, at: 1), Array(rest.prefix(size)))
    }

    private func receive(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let got = buffer[received...].withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard got > 0 else {
                close()
                throw ProtocolError(
                    description: got == 0 ? "the broker closed the socket" : "recv failed (errno \(errno))")
            }
            received += got
        }
        return buffer
    }

    // MARK: Encoding

    static func appendProperties(_ properties: Properties, to bytes: inout [UInt8]) {
        var flags: UInt16 = 0
        var list: [UInt8] = []
        func short(_ value: [UInt8]?, _ bit: Int) {
            guard let value else { return }
            flags |= 1 << bit
            appendShortString(value, to: &list)
        }
        short(properties.contentType, 15)
        short(properties.contentEncoding, 14)
        if let headers = properties.headers {
            flags |= 1 << 13
            appendTable(headers, to: &list)
        }
        if let mode = properties.deliveryMode { flags |= 1 << 12; list.append(mode) }
        if let priority = properties.priority { flags |= 1 << 11; list.append(priority) }
        short(properties.correlationID, 10)
        short(properties.replyTo, 9)
        short(properties.expiration, 8)
        short(properties.messageID, 7)
        if let timestamp = properties.timestamp { flags |= 1 << 6; appendUInt64(timestamp, to: &list) }
        short(properties.type, 5)
        short(properties.userID, 4)
        short(properties.appID, 3)
        short(properties.clusterID, 2)
        appendUInt16(flags, to: &bytes)
        bytes += list
    }

    static func appendTable(_ entries: [(key: [UInt8], value: Field)], to bytes: inout [UInt8]) {
        var body: [UInt8] = []
        for (key, value) in entries {
            appendShortString(key, to: &body)
            appendField(value, to: &body)
        }
        appendUInt32(UInt32(body.count), to: &bytes)
        bytes += body
    }

    static func appendField(_ field: Field, to bytes: inout [UInt8]) {
        func tag(_ character: Character) { bytes.append(character.asciiValue ?? 0) }
        switch field {
        case .bool(let value): tag("t"); bytes.append(value ? 1 : 0)
        case .int8(let value): tag("b"); bytes.append(UInt8(bitPattern: value))
        case .uint8(let value): tag("B"); bytes.append(value)
        case .int16(let value): tag("s"); appendUInt16(UInt16(bitPattern: value), to: &bytes)
        case .uint16(let value): tag("u"); appendUInt16(value, to: &bytes)
        case .int32(let value): tag("I"); appendUInt32(UInt32(bitPattern: value), to: &bytes)
        case .uint32(let value): tag("i"); appendUInt32(value, to: &bytes)
        case .int64(let value): tag("l"); appendUInt64(UInt64(bitPattern: value), to: &bytes)
        case .float(let value): tag("f"); appendUInt32(value.bitPattern, to: &bytes)
        case .double(let value): tag("d"); appendUInt64(value.bitPattern, to: &bytes)
        case .decimal(let scale, let value): tag("D"); bytes.append(scale); appendUInt32(value, to: &bytes)
        case .longString(let value): tag("S"); appendLongString(value, to: &bytes)
        case .bytes(let value): tag("x"); appendLongString(value, to: &bytes)
        case .timestamp(let value): tag("T"); appendUInt64(value, to: &bytes)
        case .table(let entries): tag("F"); appendTable(entries, to: &bytes)
        case .array(let values):
            tag("A")
            var body: [UInt8] = []
            for value in values { appendField(value, to: &body) }
            appendUInt32(UInt32(body.count), to: &bytes)
            bytes += body
        case .void: tag("V")
        case .encoded(let raw): bytes += raw
        }
    }
}

private func appendUInt16(_ value: UInt16, to bytes: inout [UInt8]) {
    bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
}

private func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
    for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
}

private func appendUInt64(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
}

/// Writes the length octet from the low byte, as a careless client would; tests keep to 255 bytes.
private func appendShortString(_ value: [UInt8], to bytes: inout [UInt8]) {
    bytes.append(UInt8(truncatingIfNeeded: value.count))
    bytes += value
}

private func appendLongString(_ value: [UInt8], to bytes: inout [UInt8]) {
    appendUInt32(UInt32(value.count), to: &bytes)
    bytes += value
}

private func readUInt16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}

private func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[offset + $1]) }
}

private func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[offset + $1]) }
}
