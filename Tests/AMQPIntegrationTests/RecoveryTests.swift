import AMQP
import BrokerTestSupport
import Foundation
import Synchronization
import Testing

/// The consumer and the publisher survive the broker closing every connection and restarting its application, and
/// nothing published with a confirm is lost.
@Suite(.serialized) struct RecoveryTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    @Test func consumerAndPublisherRecoverFromClosedConnectionsAndABrokerRestart() async throws {
        let queue = TestBroker.uniqueName("test.recovery")
        let topology = Topology(queues: [QueueDeclaration(name: queue, durable: true)])
        let consumer = AMQPConsumer(
            settings: settings,
            configuration: .init(queue: queue, prefetch: 20, topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        publisher.start()
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        try await publisher.waitUntilConnected(timeout: .seconds(10))

        let received = Mutex<Set<String>>([])
        let receiving = Task {
            for await delivery in consumer.deliveries {
                received.withLock { _ = $0.insert(String(decoding: delivery.body, as: UTF8.self)) }
                consumer.ack(delivery.tag)
            }
        }
        let consumerEvents = Task {
            var seen: [ConnectionEvent] = []
            for await event in consumer.events { seen.append(event) }
            return seen
        }

        let total = 400
        let publishing = Task {
            var confirmed: Set<String> = []
            for index in 0..<total {
                let id = "message-\(index)"
                let message = OutgoingMessage(
                    exchange: "", routingKey: queue, body: Array(id.utf8),
                    properties: MessageProperties(deliveryMode: .persistent))
                // At-least-once from the producer's side: retry until the broker confirms.
                while !Task.isCancelled {
                    if (try? await publisher.publish(message)) == .confirmed {
                        confirmed.insert(id)
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return confirmed
        }

        // Each fault strikes mid-stream: once messages are flowing, and again once the consumer is back and
        // receiving after the first.
        #expect(await eventually { received.withLock { $0.count >= 20 } })
        try TestBroker.rabbitmqctl("close_all_connections", "recovery test")
        let receivedBeforeTheRestart = received.withLock { $0.count }
        #expect(await eventually { received.withLock { $0.count >= receivedBeforeTheRestart + 20 } })
        try await TestBroker.restartBrokerApp()

        let confirmed = await publishing.value
        #expect(confirmed.count == total)
        let allReceived = await eventually(timeout: .seconds(30)) {
            received.withLock { confirmed.isSubset(of: $0) }
        }
        #expect(allReceived, "missing: \(confirmed.subtracting(received.withLock { $0 }).sorted().prefix(10))")

        // Both clients work again by themselves after the restart.
        #expect(
            try await publisher.publish(OutgoingMessage(exchange: "", routingKey: queue, body: Array("after".utf8)))
                == .confirmed)
        #expect(await eventually { received.withLock { $0.contains("after") } })
        if case .consuming(let generation) = consumer.status {
            #expect(generation >= 3)
        } else {
            Issue.record("consumer is not consuming: \(consumer.status)")
        }

        await consumer.close()
        await publisher.close()
        receiving.cancel()
        let events = await consumerEvents.value
        #expect(events.contains { if case .disconnected = $0 { return true } else { return false } })
        #expect(events.filter { if case .connected = $0 { return true } else { return false } }.count >= 3)
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }

    @Test func aBlockedConnectionFailsPublishesWithinTheBound() async throws {
        let queue = TestBroker.uniqueName("test.blocked")
        let topology = Topology(queues: [QueueDeclaration(name: queue, durable: false)])
        let publisher = AMQPPublisher(
            settings: settings,
            configuration: .init(
                topology: topology, whenBlocked: .wait(upTo: .milliseconds(500)), backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        let message = OutgoingMessage(exchange: "", routingKey: queue, body: [1])
        #expect(try await publisher.publish(message) == .confirmed)

        try TestBroker.rabbitmqctl("set_vm_memory_high_watermark", "0")
        defer { _ = try? TestBroker.rabbitmqctl("set_vm_memory_high_watermark", "0.4") }

        // The broker only blocks a connection once it publishes; each publish must end within the bound.
        var sawBlocked = false
        for _ in 0..<5 where !sawBlocked {
            let started = ContinuousClock.now
            do {
                _ = try await publisher.publish(message)
            } catch .blocked {
                sawBlocked = true
            } catch {}
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        #expect(sawBlocked)

        try TestBroker.rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        let unblocked = await eventually(timeout: .seconds(20)) {
            (try? await publisher.publish(message)) == .confirmed
        }
        #expect(unblocked)
        await publisher.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }
}
