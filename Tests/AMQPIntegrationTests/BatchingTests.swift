import AMQP
import BrokerTestSupport
import Foundation
import Testing

/// The consumer's I/O thread lets a batch that has begun grow to `batchTarget` for up to `batchWait` before it hands
/// it over, so that a busy queue costs fewer wake-ups; a small batch still comes once the wait has passed.
@Suite(.serialized) struct BatchingTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    /// Publishes `count` messages one at a time, each after the broker confirmed the one before, so that they
    /// reach a consumer spread out rather than in one burst.
    private func publish(_ count: Int, to queue: String, topology: Topology) async throws {
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(topology: topology, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        for number in 0..<count {
            _ = try await publisher.publish(
                OutgoingMessage(exchange: "", routingKey: queue, body: Array("m\(number)".utf8)))
        }
        await publisher.close()
    }

    private func consumer(_ queue: String, topology: Topology, wait: Duration, target: Int) -> AMQPConsumer {
        AMQPConsumer(
            settings: settings,
            configuration: .init(
                queue: queue, prefetch: 500, topology: topology, backoff: TestBroker.fastBackoff, batchWait: wait,
                batchTarget: target),
            logger: TestBroker.logger)
    }

    @Test func deliveriesThatArriveWithinTheWaitComeAsOneBatchOfTheTarget() async throws {
        let queue = TestBroker.uniqueName("test.batching")
        let topology = Topology(queues: [QueueDeclaration(name: queue, durable: false)])
        // The wait is far longer than publishing takes: only reaching the target ends the batch.
        let consumer = consumer(queue, topology: topology, wait: .seconds(30), target: 300)
        consumer.start()
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        // Read while publishing, as a reader that keeps up does: it takes each batch the moment it is handed over.
        let reader = Task {
            var iterator = consumer.deliveries.makeAsyncIterator()
            var sizes: [Int] = []
            while sizes.reduce(0, +) < 300, let batch = await iterator.nextBatch() {
                sizes.append(batch.count)
                if let last = batch.last { consumer.ack(last.tag, multiple: true) }
            }
            return sizes
        }
        try await publish(300, to: queue, topology: topology)
        let sizes = await reader.value
        await consumer.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
        #expect(sizes == [300], "batches of \(sizes)")
    }

    @Test func aBatchSmallerThanTheTargetComesOnceTheWaitHasPassed() async throws {
        let queue = TestBroker.uniqueName("test.batching")
        let topology = Topology(queues: [QueueDeclaration(name: queue, durable: false)])
        let consumer = consumer(queue, topology: topology, wait: .milliseconds(200), target: 1000)
        consumer.start()
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        try await publish(3, to: queue, topology: topology)
        var iterator = consumer.deliveries.makeAsyncIterator()
        var received = 0
        while received < 3, let batch = await iterator.nextBatch() {
            received += batch.count
            if let last = batch.last { consumer.ack(last.tag, multiple: true) }
        }
        #expect(received == 3)
        // Acknowledged while the I/O thread waited in its poll: the ack must wake it.
        #expect(
            await eventually {
                (try? TestBroker.messageCounts(queue: queue)).flatMap { $0 }.map { $0 == (0, 0) } ?? false
            })
        await consumer.close()
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }
}
