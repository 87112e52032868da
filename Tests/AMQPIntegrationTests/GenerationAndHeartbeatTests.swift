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
            OutgoingMessage(
                exchange: "", routingKey: queue, body: Array("old".utf8), properties: .init(deliveryMode: .persistent)))
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

        // Tags restart at 1 on every channel, so sent on the new channel the stale tag would ack the redelivered
        // message and the good ack behind it would be a second ack of the same tag: the broker closes the channel
        // (406) over it. The probe published after both acks were handled shows which channel is still open.
        consumer.ack(first.tag)
        consumer.ack(again.tag)
        let settled = await eventually {
            (try? TestBroker.messageCounts(queue: queue)).flatMap { $0 }.map { $0 == (0, 0) } ?? false
        }
        #expect(
            settled,
            "the message is still in the queue: \(String(describing: try? TestBroker.messageCounts(queue: queue)))")
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.publishUnconfirmed(OutgoingMessage(exchange: "", routingKey: queue, body: Array("probe".utf8)))
        }
        let probe = try #require(await iterator.next())
        #expect(probe.body == Array("probe".utf8))
        #expect(probe.tag.generation == generation, "the channel was closed after the acks")
        consumer.ack(probe.tag)
        #expect(consumer.status == .consuming(generation: generation))
        await consumer.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }

    @Test func anIdleConsumerKeepsItsConnectionThroughHeartbeats() async throws {
        var settings = self.settings
        settings.heartbeat = .seconds(1)
        settings.connectionName = TestBroker.uniqueName("heartbeat-test")
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
        // The broker closes a connection that misses two heartbeats (two seconds here). Heartbeats are the only
        // frames on an idle connection, so five of them each way mean the link outlived that timeout twice over
        // in both directions.
        let name = settings.connectionName
        let before = try #require(try TestBroker.frameCounts(connectionNamed: name))
        let heartbeats = await eventually(timeout: .seconds(30), interval: .milliseconds(250)) {
            guard let now = (try? TestBroker.frameCounts(connectionNamed: name)) ?? nil else { return false }
            return now.received - before.received >= 5 && now.sent - before.sent >= 5
        }
        #expect(
            heartbeats,
            "heartbeats did not flow: \(String(describing: try? TestBroker.frameCounts(connectionNamed: name)))")
        #expect(consumer.status == .consuming(generation: 1))
        await consumer.close()
        let seen = await events.value
        #expect(!seen.contains { if case .disconnected = $0 { return true } else { return false } }, "\(seen)")
        try await AMQPAdmin.withChannel(self.settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }
}
