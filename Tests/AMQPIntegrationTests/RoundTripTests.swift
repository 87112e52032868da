import AMQP
import BrokerTestSupport
import Foundation
import Testing

/// Broker-backed tests of the AMQP layer. They run serially (`swift test --no-parallel`) because some of them close
/// every connection on the broker.
@Suite(.serialized) struct RoundTripTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    private func makeConsumer(queue: String, topology: Topology = .empty, prefetch: UInt16 = 50) -> AMQPConsumer {
        AMQPConsumer(
            settings: settings,
            configuration: .init(queue: queue, prefetch: prefetch, topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
    }

    private func makePublisher(topology: Topology = .empty) -> AMQPPublisher {
        AMQPPublisher(
            settings: settings, configuration: .init(topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
    }

    private func temporaryQueue(_ name: String, arguments: FieldTable = [:]) -> Topology {
        Topology(queues: [QueueDeclaration(name: name, durable: false, autoDelete: false, arguments: arguments)])
    }

    private func deleteQueues(_ names: String...) async throws {
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            for name in names { try channel.deleteQueue(name) }
        }
    }

    @Test func publishAndConsumeKeepsBodyPropertiesAndHeaders() async throws {
        let queue = TestBroker.uniqueName("test.roundtrip")
        let publisher = makePublisher(topology: temporaryQueue(queue))
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))

        let body = Array("{\"hashrate\": 110.5}".utf8)
        let timestamp = Date(timeIntervalSince1970: 1_764_000_000)
        let properties = MessageProperties(
            contentType: "application/json", messageID: "m-1", timestamp: timestamp, type: "log",
            deliveryMode: .persistent,
            headers: ["sequence": 42, "source": "sentry-7", "healthy": true, "ratio": 0.5, "nested": .table(["a": 1])])
        let outcome = try await publisher.publish(
            OutgoingMessage(exchange: "", routingKey: queue, body: body, properties: properties))
        #expect(outcome == .confirmed)

        let consumer = makeConsumer(queue: queue)
        consumer.start()
        var iterator = consumer.deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        #expect(delivery.body == body)
        #expect(delivery.routingKey == queue)
        #expect(delivery.exchange == "")
        #expect(!delivery.redelivered)
        #expect(delivery.properties.contentType == "application/json")
        #expect(delivery.properties.messageID == "m-1")
        #expect(delivery.properties.timestamp == timestamp)
        #expect(delivery.properties.type == "log")
        #expect(delivery.properties.deliveryMode == .persistent)
        #expect(delivery.properties.headers["sequence"] == .int(42))
        #expect(delivery.properties.headers["source"] == .string("sentry-7"))
        #expect(delivery.properties.headers["healthy"] == .bool(true))
        #expect(delivery.properties.headers["ratio"] == .double(0.5))
        #expect(delivery.properties.headers["nested"] == .table(["a": .int(1)]))
        consumer.ack(delivery.tag)

        await consumer.close()
        await publisher.close()
        try await deleteQueues(queue)
    }

    @Test func anUnackedDeliveryComesBackRedeliveredAfterItsConnectionCloses() async throws {
        let queue = TestBroker.uniqueName("test.redeliver")
        let publisher = makePublisher(topology: temporaryQueue(queue))
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        _ = try await publisher.publish(OutgoingMessage(exchange: "", routingKey: queue, body: Array("once".utf8)))

        let first = makeConsumer(queue: queue)
        first.start()
        var firstIterator = first.deliveries.makeAsyncIterator()
        let original = try #require(await firstIterator.next())
        #expect(!original.redelivered)
        await first.close()

        let second = makeConsumer(queue: queue)
        second.start()
        var secondIterator = second.deliveries.makeAsyncIterator()
        let again = try #require(await secondIterator.next())
        #expect(again.redelivered)
        #expect(again.body == Array("once".utf8))
        second.ack(again.tag)
        await second.close()
        await publisher.close()
        try await deleteQueues(queue)
    }

    @Test func rejectWithoutRequeueRoutesToTheDeadLetterExchange() async throws {
        let queue = TestBroker.uniqueName("test.dlx.source")
        let deadLetterExchange = TestBroker.uniqueName("test.dlx.exchange")
        let deadLetterQueue = TestBroker.uniqueName("test.dlx.queue")
        let topology = Topology(
            exchanges: [ExchangeDeclaration(name: deadLetterExchange, kind: .fanout, durable: false, autoDelete: true)],
            queues: [
                QueueDeclaration(name: deadLetterQueue, durable: false),
                QueueDeclaration(
                    name: queue, durable: false, arguments: ["x-dead-letter-exchange": .string(deadLetterExchange)]),
            ],
            bindings: [QueueBinding(queue: deadLetterQueue, exchange: deadLetterExchange)])

        let publisher = makePublisher(topology: topology)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        _ = try await publisher.publish(OutgoingMessage(exchange: "", routingKey: queue, body: Array("bad".utf8)))

        let consumer = makeConsumer(queue: queue, topology: topology)
        consumer.start()
        var iterator = consumer.deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        consumer.reject(delivery.tag, requeue: false)

        let deadLetters = makeConsumer(queue: deadLetterQueue)
        deadLetters.start()
        var deadIterator = deadLetters.deliveries.makeAsyncIterator()
        let deadLetter = try #require(await deadIterator.next())
        #expect(deadLetter.body == Array("bad".utf8))
        #expect(deadLetter.properties.headers["x-death"] != nil)
        deadLetters.ack(deadLetter.tag)

        await deadLetters.close()
        await consumer.close()
        await publisher.close()
        try await deleteQueues(queue, deadLetterQueue)
    }

    @Test func confirmsAndReturnsAreReportedPerMessage() async throws {
        let queue = TestBroker.uniqueName("test.confirm")
        let exchange = TestBroker.uniqueName("test.confirm.exchange")
        let topology = Topology(
            exchanges: [ExchangeDeclaration(name: exchange, kind: .direct, durable: false, autoDelete: true)],
            queues: [QueueDeclaration(name: queue, durable: false)],
            bindings: [QueueBinding(queue: queue, exchange: exchange, routingKey: "routed")])
        let publisher = makePublisher(topology: topology)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))

        let results = await publisher.publish([
            OutgoingMessage(exchange: exchange, routingKey: "routed", body: [1], mandatory: true),
            OutgoingMessage(exchange: exchange, routingKey: "nowhere", body: [2], mandatory: true),
            OutgoingMessage(exchange: exchange, routingKey: "nowhere", body: [3], mandatory: false),
        ])
        #expect(try results[0].get() == .confirmed)
        #expect(try results[1].get() == .returned(replyCode: 312, replyText: "NO_ROUTE"))
        #expect(try results[2].get() == .confirmed)

        let many = (0..<500).map { OutgoingMessage(exchange: "", routingKey: queue, body: Array("\($0)".utf8)) }
        let manyResults = await publisher.publish(many)
        #expect(manyResults.allSatisfy { (try? $0.get()) == .confirmed })
        let depth = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.inspectQueue(queue).messageCount
        }
        #expect(depth == 501)

        await publisher.close()
        try await deleteQueues(queue)
    }

    @Test func publishingToAMissingExchangeFailsAndThePublisherRecovers() async throws {
        let queue = TestBroker.uniqueName("test.missing")
        let publisher = makePublisher(topology: temporaryQueue(queue))
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))

        await #expect {
            try await publisher.publish(
                OutgoingMessage(exchange: "no-such-exchange-\(UUID())", routingKey: "x", body: [1]))
        } throws: { error in
            guard let error = error as? AMQPError, case .server(_, .channel, 404, let text) = error else {
                return false
            }
            return text.contains("NOT_FOUND")
        }
        let recovered = await eventually {
            (try? await publisher.publish(OutgoingMessage(exchange: "", routingKey: queue, body: [2]))) == .confirmed
        }
        #expect(recovered)
        await publisher.close()
        try await deleteQueues(queue)
    }

    @Test func declaresAQuorumQueueWithArguments() async throws {
        let queue = TestBroker.uniqueName("test.quorum")
        let states = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            let topology = Topology(queues: [
                QueueDeclaration(
                    name: queue, durable: true,
                    arguments: [
                        "x-queue-type": "quorum", "x-single-active-consumer": true, "x-max-length": 1000,
                        "x-overflow": "reject-publish", "x-dead-letter-exchange": "miner_index.dead_letter",
                    ])
            ])
            let first = try channel.declare(topology)
            let again = try channel.declare(topology)
            return first + again
        }
        #expect(states.map(\.name) == [queue, queue])
        let listing = try TestBroker.rabbitmqctl("list_queues", "name", "type", "--no-table-headers", "--quiet")
        #expect(listing.split(separator: "\n").contains { $0.contains(queue) && $0.contains("quorum") })

        await #expect {
            try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
                try channel.declare(Topology(queues: [QueueDeclaration(name: queue, durable: true)]))
            }
        } throws: { error in
            guard let error = error as? AMQPError, case .server(_, .channel, 406, _) = error else { return false }
            return true
        }
        try await deleteQueues(queue)
    }
}

/// Bindings a consumer asks for while it runs (`bind`/`unbind`), as the reference subscriber binds the keyframe
/// exchange only while it wants a keyframe.
@Suite(.serialized) struct ConsumerBindingTests {
    @Test func aBindingRoutesOnceMadeStopsWhenUnboundAndIsMadeAgainAfterAReconnect() async throws {
        let settings = try TestBroker.settings
        let queue = TestBroker.uniqueName("test.bind")
        let exchange = TestBroker.uniqueName("test.bind.exchange")
        let exchanges = Topology(exchanges: [ExchangeDeclaration(name: exchange, kind: .fanout, durable: false)])
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(topology: exchanges, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        // Exclusive: the queue, and every binding on it, goes with the connection and must be made again.
        let consumer = AMQPConsumer(
            settings: settings,
            configuration: .init(
                queue: queue,
                topology: Topology(
                    exchanges: exchanges.exchanges,
                    queues: [QueueDeclaration(name: queue, durable: false, exclusive: true, autoDelete: true)]),
                backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        publisher.start()
        consumer.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        func publish(_ text: String) async throws -> PublishOutcome {
            try await publisher.publish(
                OutgoingMessage(exchange: exchange, routingKey: "", body: Array(text.utf8), mandatory: true))
        }
        var deliveries = consumer.deliveries.makeAsyncIterator()

        #expect(try await publish("before") != .confirmed)
        let binding = QueueBinding(queue: queue, exchange: exchange)
        try await consumer.bind(binding, timeout: .seconds(10))
        #expect(try await publish("bound") == .confirmed)
        let bound = try #require(await deliveries.next())
        #expect(bound.body == Array("bound".utf8) && bound.exchange == exchange)
        consumer.ack(bound.tag)

        _ = try TestBroker.rabbitmqctl("close_all_connections", "binding test")
        #expect(
            await eventually {
                if case .consuming(let generation) = consumer.status { return generation > 1 }
                return false
            })
        #expect(await eventually { (try? await publish("after the reconnect")) == .confirmed })
        let again = try #require(await deliveries.next())
        #expect(again.body == Array("after the reconnect".utf8))
        consumer.ack(again.tag)

        consumer.unbind(binding)
        #expect(await eventually { (try? await publish("unbound")) != .confirmed })
        await consumer.close()
        await publisher.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteExchange(exchange) }
    }
}
