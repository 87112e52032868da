import AMQP
import BrokerTestSupport
import Foundation
import Synchronization
import Testing

/// Deliveries whose every byte came from a hostile producer: the consumer reads each one without trapping, the
/// conversions follow the documented rules, and republishing what was read either succeeds or fails for that
/// message alone, never taking the publisher's connection down.
@Suite(.serialized) struct HostileDeliveryTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    private static let invalidUTF8: [UInt8] = [0xFF, 0xFE, 0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0xF0, 0x28]

    private struct Case: Sendable {
        let name: String
        var properties = RawAMQPPublisher.Properties()
        /// RabbitMQ itself refuses some messages (closing the channel or the connection); they never reach a
        /// consumer.
        var brokerRefuses = false
        var check: @Sendable (MessageProperties) -> Void = { _ in }
    }

    private func cases() -> [Case] {
        var cases: [Case] = []
        let timestamps: [(UInt64, Date?)] = [
            (0, Date(timeIntervalSince1970: 0)), (1_764_000_000, Date(timeIntervalSince1970: 1_764_000_000)),
            (253_402_300_799, Date(timeIntervalSince1970: 253_402_300_799)), (253_402_300_800, nil),
            (1_764_000_000_000, nil), (1_764_000_000_000_000, nil), (1 << 62, nil), (UInt64(Int64.max), nil),
            (1 << 63, nil), (.max, nil),
        ]
        for (seconds, expected) in timestamps {
            var properties = RawAMQPPublisher.Properties()
            properties.timestamp = seconds
            properties.headers = [(Array("case".utf8), .longString(Array("timestamp \(seconds)".utf8)))]
            cases.append(
                Case(name: "timestamp \(seconds)", properties: properties) { read in
                    #expect(read.timestamp == expected, "timestamp \(seconds)")
                })
        }

        var everyType = RawAMQPPublisher.Properties()
        everyType.headers = [
            (Array("t".utf8), .bool(true)), (Array("b".utf8), .int8(-128)), (Array("B".utf8), .uint8(255)),
            (Array("s".utf8), .int16(-32768)), (Array("u".utf8), .uint16(65535)), (Array("I".utf8), .int32(.min)),
            (Array("i".utf8), .uint32(.max)), (Array("l".utf8), .int64(.min)), (Array("f".utf8), .float(1.5)),
            (Array("d".utf8), .double(-1e308)),
            (Array("D".utf8), .decimal(scale: 2, value: 12345)),
            (Array("D-max".utf8), .decimal(scale: 255, value: .max)),
            (Array("S".utf8), .longString(Self.invalidUTF8)), (Array("x".utf8), .bytes([0, 1, 0xFF])),
            (Array("T".utf8), .timestamp(.max)), (Array("V".utf8), .void),
            (Array("F".utf8), .table([(Array("inner".utf8), .int8(1))])),
            (Array("A".utf8), .array([.int16(1), .longString(Array("two".utf8)), .void, .array([])])),
            (Self.invalidUTF8, .longString(Array("key not UTF-8".utf8))),
        ]
        cases.append(
            Case(name: "every field type", properties: everyType) { read in
                let headers = read.headers
                #expect(headers["t"] == .bool(true))
                #expect(headers["b"] == .int(-128))
                #expect(headers["B"] == .int(255))
                #expect(headers["s"] == .int(-32768))
                #expect(headers["u"] == .int(65535))
                #expect(headers["I"] == .int(Int64(Int32.min)))
                #expect(headers["i"] == .int(Int64(UInt32.max)))
                #expect(headers["l"] == .int(.min))
                #expect(headers["f"] == .double(1.5))
                #expect(headers["d"] == .double(-1e308))
                if case .double(let value)? = headers["D"] {
                    #expect(abs(value - 123.45) < 1e-9)
                } else {
                    Issue.record("D")
                }
                if case .double(let value)? = headers["D-max"] {
                    #expect(value.isFinite)
                } else {
                    Issue.record("D-max")
                }
                #expect(headers["S"] == .string(String(decoding: Self.invalidUTF8, as: UTF8.self)))
                #expect(headers["x"] == .bytes([0, 1, 0xFF]))
                #expect(headers["T"] == .timestamp(.max))
                #expect(headers["T"]?.intValue == nil)
                #expect(headers["V"] == .void)
                #expect(headers["F"] == .table(["inner": .int(1)]))
                #expect(headers["A"] == .array([.int(1), .string("two"), .void, .array([])]))
                #expect(headers[String(decoding: Self.invalidUTF8, as: UTF8.self)] == .string("key not UTF-8"))
            })

        for (name, field) in [("NaN", RawAMQPPublisher.Field.float(.nan)), ("infinity", .double(.infinity))] {
            var properties = RawAMQPPublisher.Properties()
            properties.headers = [(Array("x".utf8), field)]
            cases.append(Case(name: "a header \(name)", properties: properties, brokerRefuses: true))
        }
        for mode: UInt8 in [0, 3, 255] {
            var properties = RawAMQPPublisher.Properties()
            properties.deliveryMode = mode
            cases.append(Case(name: "delivery mode \(mode)", properties: properties, brokerRefuses: true))
        }

        var strings = RawAMQPPublisher.Properties()
        let longInvalid = [UInt8](repeating: 0xFF, count: 255)
        strings.messageID = longInvalid
        strings.contentType = Self.invalidUTF8
        strings.contentEncoding = [0, 0, 0]
        strings.correlationID = Array(repeating: UInt8(ascii: "c"), count: 255)
        strings.type = []
        strings.appID = Self.invalidUTF8
        strings.replyTo = longInvalid
        strings.priority = 255
        strings.deliveryMode = 2
        strings.headers = [(longInvalid, .longString(longInvalid))]
        cases.append(
            Case(name: "strings that are not UTF-8", properties: strings) { read in
                #expect(read.messageID == String(repeating: "\u{FFFD}", count: 255))
                #expect(read.contentType == String(decoding: Self.invalidUTF8, as: UTF8.self))
                #expect(read.contentEncoding == "\0\0\0")
                #expect(read.correlationID == String(repeating: "c", count: 255))
                #expect(read.type == "")
                #expect(read.priority == 255)
                #expect(read.deliveryMode == .persistent)
                #expect(read.headers[String(repeating: "\u{FFFD}", count: 255)] != nil)
            })

        // Nesting up to what one frame can hold; only the first levels are read.
        for (name, field) in [
            ("nested arrays", RawAMQPPublisher.Field.nestedArrays(depth: 26_000)),
            ("nested tables", .nestedTables(depth: 18_600)),
        ] {
            var deep = RawAMQPPublisher.Properties()
            deep.headers = [(Array("deep".utf8), field)]
            cases.append(
                Case(name: name, properties: deep) { read in
                    var level = 1
                    var value = read.headers["deep"]
                    while let current = value {
                        switch current {
                        case .array(let values): value = values.first
                        case .table(let table): value = table["n"]
                        default: value = nil
                        }
                        if value != nil { level += 1 }
                    }
                    // Level 1 is the headers table; the deepest container read is at the limit, holding a void.
                    #expect(level == WireLimits.maximumNestingDepth, "\(name): read \(level) levels")
                })
        }

        var wide = RawAMQPPublisher.Properties()
        wide.headers = (0..<12_000).map {
            (Array("k\($0)".utf8), RawAMQPPublisher.Field.int8(Int8(truncatingIfNeeded: $0)))
        }
        cases.append(
            Case(name: "twelve thousand headers", properties: wide) { read in
                #expect(read.headers.keys.filter { $0.hasPrefix("k") }.count == 12_000)
                #expect(read.headers["k11999"] == .int(Int64(Int8(truncatingIfNeeded: 11_999))))
            })
        return cases
    }

    @Test func everyHostilePropertyIsReadByTheRulesAndRepublishingNeverBreaksTheConnection() async throws {
        let queue = TestBroker.uniqueName("test.hostile")
        let copies = TestBroker.uniqueName("test.hostile.copies")
        let topology = Topology(queues: [
            QueueDeclaration(name: queue, durable: false), QueueDeclaration(name: copies, durable: false),
        ])
        _ = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.declare(topology) }

        let cases = cases()
        let outcomes = try await RawAMQPPublisher.withPublisher(settings) { raw in
            try cases.enumerated().map { index, hostile in
                var properties = hostile.properties
                properties.headers = (properties.headers ?? []) + [(Array("index".utf8), .int32(Int32(index)))]
                return try raw.publish(
                    exchange: [], routingKey: Array(queue.utf8), properties: properties, body: Array("{}".utf8))
            }
        }
        var routed: [Int] = []
        for (index, (hostile, outcome)) in zip(cases, outcomes).enumerated() {
            if hostile.brokerRefuses {
                if case .refused = outcome {} else { Issue.record("\(hostile.name): the broker took it (\(outcome))") }
            } else {
                #expect(outcome == .routed, "\(hostile.name): \(outcome)")
                if outcome == .routed { routed.append(index) }
            }
        }

        let consumer = AMQPConsumer(
            settings: settings, configuration: .init(queue: queue, prefetch: 100, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(backoff: TestBroker.fastBackoff), logger: TestBroker.logger)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))

        var iterator = consumer.deliveries.makeAsyncIterator()
        var refused: [String] = []
        for _ in routed {
            let delivery = try #require(await iterator.next())
            let index = try #require(delivery.properties.headers["index"]?.intValue.map(Int.init))
            cases[index].check(delivery.properties)
            consumer.ack(delivery.tag)

            let copy = OutgoingMessage(
                exchange: "", routingKey: copies, body: delivery.body, properties: delivery.properties)
            let result = await publisher.publish([copy])[0]
            switch result {
            case .success(let outcome): #expect(outcome == .confirmed, "\(cases[index].name)")
            case .failure(.unpublishable): refused.append(cases[index].name)
            case .failure(let error): Issue.record("\(cases[index].name): copy failed with \(error)")
            }
        }
        // Repaired text grows (one bad byte becomes three), so a 255-byte message id or header name no longer
        // fits; widened integers can push a full frame over the limit.
        #expect(refused.contains("strings that are not UTF-8"), "\(refused)")
        #expect(refused.contains("twelve thousand headers"), "\(refused)")
        #expect(publisher.status == .connected(generation: 1), "the publisher reconnected: \(publisher.status)")
        #expect(consumer.status == .consuming(generation: 1), "the consumer reconnected: \(consumer.status)")

        let confirmedCopies = routed.count - refused.count
        #expect(
            await eventually {
                let depth = try? await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
                    try channel.inspectQueue(copies).messageCount
                }
                return depth == UInt32(confirmedCopies)
            })

        await consumer.close()
        await publisher.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.deleteQueue(queue)
            try channel.deleteQueue(copies)
        }
    }
}

extension HostileDeliveryTests {
    /// rabbitmq-c 0.11 cannot decode a header with an empty name, which RabbitMQ accepts and forwards. Redelivered
    /// after every reconnect, such a message would stop consumption for good; instead it is rejected to the
    /// queue's dead-letter exchange and the messages behind it flow.
    @Test func aDeliveryRabbitMQCCannotDecodeGoesToTheDeadLetterExchangeAndConsumingResumes() async throws {
        let queue = TestBroker.uniqueName("test.undecodable")
        let deadLetters = TestBroker.uniqueName("test.undecodable.dlx")
        let topology = Topology(
            exchanges: [ExchangeDeclaration(name: deadLetters, kind: .fanout, durable: false)],
            queues: [
                QueueDeclaration(name: deadLetters, durable: false),
                QueueDeclaration(
                    name: queue, durable: false, arguments: ["x-dead-letter-exchange": .string(deadLetters)]),
            ],
            bindings: [QueueBinding(queue: deadLetters, exchange: deadLetters)])
        _ = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.declare(topology) }

        var emptyName = RawAMQPPublisher.Properties()
        emptyName.headers = [([], .longString(Array("a header without a name".utf8)))]
        let messages = [("before", RawAMQPPublisher.Properties()), ("poison", emptyName), ("after", .init())]
        let outcomes = try await RawAMQPPublisher.withPublisher(settings) { raw in
            try messages.map { body, properties in
                try raw.publish(
                    exchange: [], routingKey: Array(queue.utf8), properties: properties, body: Array(body.utf8))
            }
        }
        #expect(outcomes == [.routed, .routed, .routed])

        let consumer = AMQPConsumer(
            settings: settings, configuration: .init(queue: queue, prefetch: 1, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        let events = Mutex<[ConnectionEvent]>([])
        let following = Task { for await event in consumer.events { events.withLock { $0.append(event) } } }
        consumer.start()
        let bodies = Mutex<[String]>([])
        let reading = Task {
            for await delivery in consumer.deliveries {
                bodies.withLock { $0.append(String(decoding: delivery.body, as: UTF8.self)) }
                consumer.ack(delivery.tag)
            }
        }
        #expect(await eventually { bodies.withLock { $0.contains("after") } }, "consumption stopped at the poison")
        let read = bodies.withLock { $0 }
        #expect(read.first == "before")
        #expect(!read.contains("poison"))
        let rejected = await eventually {
            events.withLock { $0.contains { if case .rejectedUndecodable = $0 { true } else { false } } }
        }
        #expect(rejected, "\(events.withLock { $0 })")
        #expect(
            await eventually {
                let depths = try? await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
                    (try channel.inspectQueue(deadLetters).messageCount, try channel.inspectQueue(queue).messageCount)
                }
                return depths.map { $0 == (1, 0) } ?? false
            }, "the undecodable message is not (only) in the dead-letter queue")

        await consumer.close()
        reading.cancel()
        following.cancel()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.deleteQueue(queue)
            try channel.deleteQueue(deadLetters)
            try channel.deleteExchange(deadLetters)
        }
    }
}
