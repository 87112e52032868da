import AMQP
import BrokerTestSupport
import Foundation
import Synchronization
import Testing

/// The probe reads a queue's ready messages at its period, on its own connection, and says nil rather than a number
/// while the queue cannot be read.
@Suite(.serialized, .timeLimit(.minutes(1))) struct QueueDepthProbeTests {
    let settings: ConnectionSettings

    init() throws {
        settings = try TestBroker.settings
    }

    private func fill(_ queue: String, with count: Int) async throws {
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in
            try channel.declare(Topology(queues: [QueueDeclaration(name: queue, durable: false)]))
            for number in 0..<count {
                try channel.publishUnconfirmed(
                    OutgoingMessage(exchange: "", routingKey: queue, body: Array("m\(number)".utf8)))
            }
        }
    }

    /// Starts the probe and returns its readings as they come, and the task to cancel.
    private func probe(_ queue: String) -> (readings: AsyncStream<UInt32?>, task: Task<Void, Never>) {
        let (readings, continuation) = AsyncStream.makeStream(of: UInt32?.self)
        let probe = QueueDepthProbe(
            settings: settings, queue: queue, period: .milliseconds(50), backoff: TestBroker.fastBackoff,
            logger: TestBroker.logger)
        let task = Task {
            await probe.run { continuation.yield($0) }
            continuation.finish()
        }
        return (readings, task)
    }

    /// Reads until a reading equals `expected`; false if the readings end first (the suite's time limit stops a
    /// probe that never reads it).
    private static func awaitReading(
        _ expected: UInt32, from iterator: inout AsyncStream<UInt32?>.Iterator
    ) async -> Bool {
        while let reading = await iterator.next() {
            if reading == expected { return true }
        }
        return false
    }

    @Test func readsTheReadyMessagesOfTheQueue() async throws {
        let queue = TestBroker.uniqueName("test.depth")
        try await fill(queue, with: 37)
        let (readings, task) = probe(queue)
        var iterator = readings.makeAsyncIterator()
        // The broker counts published messages into the queue asynchronously: wait for the count to settle.
        #expect(await Self.awaitReading(37, from: &iterator))
        _ = try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.purgeQueue(queue) }
        #expect(await Self.awaitReading(0, from: &iterator))
        task.cancel()
        await task.value
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }

    @Test func aQueueThatCannotBeReadGivesNilAndThenANumberOnceItIsBack() async throws {
        let queue = TestBroker.uniqueName("test.depth")
        let (readings, task) = probe(queue)
        var iterator = readings.makeAsyncIterator()
        // The queue does not exist yet: the passive declare fails with 404.
        let first = await iterator.next()
        #expect(first == .some(nil))
        try await fill(queue, with: 3)
        #expect(await Self.awaitReading(3, from: &iterator))
        task.cancel()
        await task.value
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }

    @Test func cancellingTheTaskEndsTheProbeWithoutWaitingOutItsPeriod() async throws {
        let queue = TestBroker.uniqueName("test.depth")
        try await fill(queue, with: 1)
        let probe = QueueDepthProbe(
            settings: settings, queue: queue, period: .seconds(3600), logger: TestBroker.logger)
        let firstReading = Mutex<UInt32??>(nil)
        let task = Task {
            await probe.run { reading in firstReading.withLock { if $0 == nil { $0 = .some(reading) } } }
        }
        #expect(await eventually { firstReading.withLock { $0 } != nil })
        task.cancel()
        // The probe now sleeps for an hour: only the cancellation can end it.
        await task.value
        try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue) }
    }
}
