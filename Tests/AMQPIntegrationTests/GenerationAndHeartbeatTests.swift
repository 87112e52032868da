import AMQP
import BrokerTestSupport
import Foundation
import Testing

@Suite(.serialized) struct GenerationAndHeartbeatTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    @Test func anAckFromAnOlderGenerationIsDroppedNotSent() async throws {
        let queue = TestBroker.uniqueName("test.generation")
        let topology = Topology(queues: [QueueDeclaration(name: queue, durable: true)])
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        _ = try await publisher.publish(
            OutgoingMessage(exchange: "", routingKey: queue, body: Array("old".utf8), properties: .init(deliveryMode: .persistent)))
        await publisher.close()

        let consumer = AMQPConsumer(
            settings: settings,
            configuration: .init(queue: queue, prefetch: 10, topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        var iterator = consumer.deliveries.makeAsyncIterator()
        let first = try #require(await iterator.next())
        #expect(first.tag.generation == 1)

        try TestBroker.rabbitmqctl("close_all_connections", "generation test")
        let again = try #require(await iterator.next())
        #expect(again.redelivered)
        #expect(again.tag.generation > first.tag.generation)
        let generation = again.tag.generation

        // Sent on the new channel, the stale tag would be unknown and the broker would close the channel (406).
        consumer.ack(first.tag)
        consumer.ack(again.tag)
        try await Task.sleep(for: .milliseconds(500))
        #expect(consumer.status == .consuming(generation: generation))
        let depth = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.inspectQueue(queue).messageCount
        }
        #expect(depth == 0)
        await consumer.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }

    @Test func anIdleConsumerKeepsItsConnectionThroughHeartbeats() async throws {
        var settings = self.settings
        settings.heartbeat = .seconds(1)
        let queue = TestBroker.uniqueName("test.heartbeat")
        let consumer = AMQPConsumer(
            settings: settings,
            configuration: .init(
                queue: queue, topology: Topology(queues: [QueueDeclaration(name: queue, durable: false)]),
                backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        let events = Task {
            var seen: [ConnectionEvent] = []
            for await event in consumer.events { seen.append(event) }
            return seen
        }
        // The broker closes a connection that misses two heartbeats; five idle seconds would drop a silent one.
        try await Task.sleep(for: .seconds(5))
        #expect(consumer.status == .consuming(generation: 1))
        await consumer.close()
        let seen = await events.value
        #expect(!seen.contains { if case .disconnected = $0 { return true } else { return false } }, "\(seen)")
        try await AMQPAdmin.withChannel(self.settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }
}
