import AMQP
import BrokerTestSupport
import Foundation
import Synchronization
import Testing

@Suite(.serialized) struct BadSettingsTests {
    @Test func aWrongPasswordIsRefusedWithTheBrokersWords() async throws {
        var settings = try TestBroker.settings
        settings.password = "definitely-wrong"
        let started = ContinuousClock.now
        await #expect {
            try await AMQPAdmin.withChannel(settings) { _ throws(AMQPError) in () }
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            let text = error.description
            return text.contains("ACCESS_REFUSED") && !text.contains("definitely-wrong")
                && error.isPermanentConfigurationError
        }
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test func aClosedPortFailsFastWithTheLibraryMessage() async throws {
        let settings = try ConnectionSettings(url: "amqp://guest:guest@127.0.0.1:1/")
        await #expect {
            try await AMQPAdmin.withChannel(settings) { _ throws(AMQPError) in () }
        } throws: { error in
            guard let error = error as? AMQPError, case .library(let operation, let status, let message) = error else {
                return false
            }
            return operation.contains("127.0.0.1:1") && status != 0 && !message.isEmpty
        }
    }

    @Test func aConsumerWithAWrongPasswordReportsItInsteadOfHanging() async throws {
        var settings = try TestBroker.settings
        settings.password = "nope"
        let consumer = AMQPConsumer(
            settings: settings, configuration: .init(queue: "irrelevant", backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        await #expect {
            try await consumer.waitUntilConsuming(timeout: .seconds(10))
        } throws: { error in
            "\(error)".contains("ACCESS_REFUSED")
        }
        await consumer.close()
        #expect(consumer.status == .closed)
    }

    @Test func stoppingAConsumerThatCannotConnectReturnsAtOnce() async throws {
        let settings = try ConnectionSettings(url: "amqp://guest:guest@127.0.0.1:1/")
        let consumer = AMQPConsumer(
            settings: settings, configuration: .init(queue: "irrelevant", backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        consumer.start()
        #expect(await eventually { consumer.lastError != nil })
        // A shutdown during a broker outage must not wait for the broker to come back.
        let stopped = await finishes(within: .seconds(10)) {
            await consumer.stopConsuming()
            for await _ in consumer.deliveries {}
            await consumer.close()
        }
        #expect(stopped)
        #expect(consumer.status == .closed)
    }

    @Test func publishingWithoutAConnectionFailsInsteadOfHanging() async throws {
        let settings = try ConnectionSettings(url: "amqp://guest:guest@127.0.0.1:1/")
        let publisher = AMQPPublisher(
            settings: settings, configuration: .init(backoff: TestBroker.fastBackoff), logger: TestBroker.logger)
        publisher.start()
        await #expect(throws: AMQPError.notConnected) {
            try await publisher.publish(OutgoingMessage(exchange: "", routingKey: "q", body: [1]))
        }
        await publisher.close()
        await #expect(throws: AMQPError.closed) {
            try await publisher.publish(OutgoingMessage(exchange: "", routingKey: "q", body: [1]))
        }
    }
}

/// Whether `work` completes before `limit`. The work runs in its own task, so a hang fails the test instead of
/// hanging it.
private func finishes(within limit: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
    let done = CompletionFlag()
    Task {
        await work()
        done.value.withLock { $0 = true }
    }
    return await eventually(timeout: limit) { done.value.withLock { $0 } }
}

private final class CompletionFlag: Sendable {
    let value = Mutex(false)
}
