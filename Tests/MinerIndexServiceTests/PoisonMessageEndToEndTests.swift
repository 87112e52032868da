import AMQP
import BrokerTestSupport
import Foundation
import MinerIndexService
import Synchronization
import Testing

/// A message that kills every instance before it is acknowledged: on the quorum input queue the service
/// declares, the broker gives up on it after `--delivery-limit` failed deliveries and dead-letters it.
@Suite(.serialized) struct PoisonMessageEndToEndTests {
    @Test func aMessageReturnedMoreOftenThanTheDeliveryLimitGoesToTheDeadLetterQueue() async throws {
        let prefix = TestBroker.uniqueName("poison")
        var configuration = ServiceConfiguration(amqp: try TestBroker.settings)
        configuration.queue = "\(prefix).logs"
        configuration.inputExchange = "\(prefix).in"
        configuration.deadLetterExchange = "\(prefix).dlx"
        configuration.deadLetterQueue = "\(prefix).dlq"
        configuration.queueType = .quorum
        configuration.deliveryLimit = 2
        let topology = ServiceTopology(configuration: configuration).input
        let settings = configuration.amqp
        let names = configuration
        _ = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.declare(topology) }

        let publisher = AMQPPublisher(settings: settings, configuration: .init(), logger: TestBroker.logger)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        let outcome = try await publisher.publish(
            OutgoingMessage(
                exchange: configuration.inputExchange, routingKey: "asic_miner.log", body: Array("poison".utf8),
                properties: .init(messageID: "poison", deliveryMode: .persistent)))
        #expect(outcome == .confirmed)
        await publisher.close()

        // Each round is one instance that takes the message and dies before acknowledging it: its connection
        // closes and the broker returns the message, counting a failed delivery.
        var deliveries: [AMQP.Delivery] = []
        for _ in 0..<10 {
            let consumer = AMQPConsumer(
                settings: settings,
                configuration: .init(queue: configuration.queue, prefetch: 1, backoff: TestBroker.fastBackoff),
                logger: TestBroker.logger)
            let received = Mutex<AMQP.Delivery?>(nil)
            let reading = Task {
                for await delivery in consumer.deliveries {
                    received.withLock { $0 = delivery }
                    break
                }
            }
            consumer.start()
            _ = await eventually {
                if received.withLock({ $0 }) != nil { return true }
                return (try? await depths(configuration))?.deadLetters == 1
            }
            await consumer.close()
            reading.cancel()
            guard let delivery = received.withLock({ $0 }) else { break }
            deliveries.append(delivery)
        }

        // Delivered once and returned twice more is three deliveries; the third return exceeds the limit of 2.
        #expect(deliveries.count == 3, "delivered \(deliveries.count) times")
        #expect(deliveries.map(\.redelivered) == [false, true, true])
        #expect(deliveries.dropFirst().map { $0.properties.headers["x-delivery-count"]?.intValue } == [1, 2])
        let final = try await depths(configuration)
        #expect(final.queue == 0)
        #expect(final.deadLetters == 1)

        let deadLetter = try #require(await firstMessage(in: configuration.deadLetterQueue, settings: settings))
        #expect(deadLetter.body == Array("poison".utf8))
        #expect(deadLetter.properties.messageID == "poison")
        guard case .array(let deaths)? = deadLetter.properties.headers["x-death"],
            case .table(let death)? = deaths.first
        else {
            Issue.record("no x-death header on the dead letter: \(deadLetter.properties.headers)")
            return
        }
        #expect(death["reason"] == .string("delivery_limit"))
        #expect(death["queue"] == .string(configuration.queue))

        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.deleteQueue(names.queue)
            try channel.deleteQueue(names.deadLetterQueue)
            try channel.deleteExchange(names.inputExchange)
            try channel.deleteExchange(names.deadLetterExchange)
        }
    }

    private func depths(_ configuration: ServiceConfiguration) async throws -> (queue: UInt32, deadLetters: UInt32) {
        try await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            (
                try channel.inspectQueue(configuration.queue).messageCount,
                try channel.inspectQueue(configuration.deadLetterQueue).messageCount
            )
        }
    }

    private func firstMessage(in queue: String, settings: ConnectionSettings) async -> AMQP.Delivery? {
        let consumer = AMQPConsumer(
            settings: settings, configuration: .init(queue: queue, prefetch: 1, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        let received = Mutex<AMQP.Delivery?>(nil)
        let reading = Task {
            for await delivery in consumer.deliveries {
                received.withLock { $0 = delivery }
                consumer.ack(delivery.tag)
                break
            }
        }
        consumer.start()
        _ = await eventually { received.withLock { $0 } != nil }
        await consumer.close()
        reading.cancel()
        return received.withLock { $0 }
    }
}
