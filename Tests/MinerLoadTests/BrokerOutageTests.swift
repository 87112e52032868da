import AMQP
import BrokerTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import MinerLoadKit

/// miner-load across a broker restart (`rabbitmqctl stop_app`, a pause, `start_app`), with the service in-process.
@Suite(.serialized) struct BrokerOutageTests {
    var logger: Logger { TestBroker.logger }

    @Test func aRunRidesOutABrokerRestartWithAnExactLedger() async throws {
        // Expiry plays no part: every miner stays live through the outage, so every figure must be exact.
        let service = try InProcessService(offlineAfter: .seconds(120))
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let connectionName = "miner-load outage test \(UUID().uuidString)"
            let configuration = service.loadConfiguration().make { configuration in
                configuration.amqp.connectionName = connectionName
                configuration.asicCount = 30
                configuration.cpuGpuCount = 20
                configuration.reportInterval = .milliseconds(50)
                configuration.register = true
                configuration.deactivatedFraction = 0.1
                configuration.badFraction = 0.05
                // Transient messages would not survive the restart of the queue.
                configuration.persistent = true
                configuration.length = .count(3000)
                configuration.reconnectBackoff = TestBroker.fastBackoff
                configuration.verification?.timeout = .seconds(30)
            }
            // Half a second into the run, the broker stops routing and confirming miner-load's publishes, so that
            // some are certainly unconfirmed when the restart drops the connection; the rest are sent after it.
            try suspendChannelsOnceOpen(connectionNamed: connectionName, after: .milliseconds(500))
            let run = LoadRun(configuration: configuration, showsProgress: false, logger: logger)
            let running = Task { try await run.run() }
            try #require(
                await eventually(timeout: .seconds(30)) { run.counters.snapshot.inFlight >= 100 },
                "not suspended: \(run.counters.snapshot); \(suspensionState(connectionNamed: connectionName))")
            #expect(run.counters.snapshot.logs > 0)
            try await TestBroker.restartBrokerApp(downtime: .seconds(4))
            let summary = try await running.value
            let verification = try #require(summary.verification)
            let counts = summary.counts

            #expect(verification.passed, "\(summary.text())")
            // Exact: nothing was left in doubt by the outage (the lag probes sent after it reached the snapshots too,
            // so the --verify queues were declared and bound again).
            #expect(verification.kinds.allSatisfy { $0.minersInDoubt == 0 }, "\(summary.text())")
            #expect(counts.republished > 0, "\(summary.text())")
            #expect(counts.confirmed == counts.sent)
            #expect(counts.failed == 0 && counts.nacked == 0 && counts.unroutable == 0)
            #expect(counts.upserts == 50)
            #expect(summary.text().contains("republished \(counts.republished) ("))
            #expect(summary.json().contains("\"republished\":\(counts.republished)"))

            // Every confirmed malformed message was dead-lettered: once per message id, perhaps twice when it was
            // republished or redelivered across the outage.
            let malformed = counts.malformed
            let deadLetters = try DeadLetterReader(service: service)
            await withTearDown {
                await deadLetters.close()
            } body: {
                #expect(
                    await eventually(timeout: .seconds(15)) { deadLetters.distinctMessageIDs == malformed },
                    "dead-lettered \(deadLetters.distinctMessageIDs) distinct messages of \(malformed) malformed")
                #expect(deadLetters.total >= malformed)
            }
        }
    }

    @Test func aRunGivesUpWhenTheBrokerStaysAwayLongerThanTheReconnectTimeout() async throws {
        var configuration = LoadConfiguration(amqp: try TestBroker.settings)
        configuration.exchange = TestBroker.uniqueName("load.outage")
        configuration.asicCount = 10
        configuration.cpuGpuCount = 10
        configuration.reportInterval = .milliseconds(100)
        // Fifteen seconds at the fleet's pace: longer than rabbitmqctl takes to act on a busy machine.
        configuration.length = .count(3000)
        configuration.reconnectTimeout = .seconds(1)
        // Only the reconnect timeout may end the wait: the first connection's timeout is far longer.
        configuration.connectTimeout = .seconds(600)
        configuration.reconnectBackoff = TestBroker.fastBackoff
        let run = LoadRun(configuration: configuration, showsProgress: false, logger: logger)
        let finished = Flag()
        let running = Task {
            defer { finished.raise() }
            return try await run.run()
        }
        #expect(await eventually(timeout: .seconds(20)) { run.counters.snapshot.sent >= 100 })

        try TestBroker.rabbitmqctl("stop_app")
        let gaveUp = await eventually(timeout: .seconds(30)) { finished.isRaised }
        try TestBroker.rabbitmqctl("start_app")
        try TestBroker.rabbitmqctl("await_startup")
        #expect(gaveUp, "the run was still waiting for the broker")
        let result = await running.result

        switch result {
        case .success(let summary):
            Issue.record("the run finished although the broker was away: \(summary.text())")
        case .failure(let error):
            let loadError = try #require(error as? LoadError)
            guard case .brokerLost = loadError else {
                Issue.record("unexpected error \(loadError)")
                return
            }
            #expect(loadError.description.contains("did not come back within the reconnect timeout"))
        }
        let exchange = configuration.exchange
        _ = try? await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            try channel.deleteExchange(exchange)
        }
    }
}

/// Arms a process in the broker that waits for a connection with this name, lets it work for `delay`, then
/// suspends its channels: the broker still reads what they publish, but neither routes nor confirms it. Armed
/// before the run starts, so the fault does not depend on how long rabbitmqctl takes to start.
private func suspendChannelsOnceOpen(connectionNamed name: String, after delay: Duration) throws {
    try TestBroker.rabbitmqctl(
        "eval",
        """
        Name = <<"\(name)">>,
        Named = fun(C) ->
            case catch rabbit_reader:info(C, [client_properties]) of
                [{client_properties, Properties}] -> lists:member({<<"connection_name">>, longstr, Name}, Properties);
                _ -> false
            end
        end,
        Channels = fun() ->
            Connections = [C || C <- rabbit_networking:connections_local(), Named(C)],
            [Ch || Ch <- rabbit_channel:list_local(),
                   case catch rabbit_channel:info(Ch, [connection]) of
                       [{connection, C}] -> lists:member(C, Connections);
                       _ -> false
                   end]
        end,
        spawn(fun() ->
            Wait = fun Wait(0) -> persistent_term:put({miner_load_tests, Name}, gave_up);
                       Wait(Polls) ->
                           case catch Channels() of
                               Found = [_ | _] ->
                                   timer:sleep(\(Int(delay / .milliseconds(1)))),
                                   lists:foreach(fun sys:suspend/1, Found),
                                   persistent_term:put({miner_load_tests, Name}, {suspended, Found});
                               Other ->
                                   persistent_term:put({miner_load_tests, Name}, {waiting, Polls, Other}),
                                   timer:sleep(10),
                                   Wait(Polls - 1)
                           end
                   end,
            Wait(3000)
        end),
        ok.
        """)
}

/// What the process armed by `suspendChannelsOnceOpen` last did.
private func suspensionState(connectionNamed name: String) -> String {
    let state = try? TestBroker.rabbitmqctl(
        "eval", "persistent_term:get({miner_load_tests, <<\"\(name)\">>}, not_armed).")
    return state?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
}

extension LoadCounts {
    /// Handed to the publisher and not answered yet.
    var inFlight: Int { sent - confirmed - unroutable - nacked - failed }
}

private final class Flag: Sendable {
    private let state = Mutex(false)
    func raise() { state.withLock { $0 = true } }
    var isRaised: Bool { state.withLock { $0 } }
}

/// Reads the service's dead-letter queue, counting the copies and the distinct message ids.
private final class DeadLetterReader: Sendable {
    private final class Tally: Sendable {
        let counts = Mutex<(total: Int, ids: Set<String>)>((0, []))
    }

    private let consumer: AMQPConsumer
    private let seen = Tally()
    private let reading: Task<Void, Never>

    init(service: InProcessService) throws {
        let consumer = AMQPConsumer(
            settings: service.configuration.amqp,
            configuration: .init(queue: service.configuration.deadLetterQueue, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        self.consumer = consumer
        consumer.start()
        let seen = self.seen
        reading = Task {
            var iterator = consumer.deliveries.makeAsyncIterator()
            while let batch = await iterator.nextBatch() {
                seen.counts.withLock { seen in
                    seen.total += batch.count
                    for delivery in batch { seen.ids.insert(delivery.properties.messageID ?? "") }
                }
                if let last = batch.last { consumer.ack(last.tag, multiple: true) }
            }
        }
    }

    var total: Int { seen.counts.withLock { $0.total } }
    var distinctMessageIDs: Int { seen.counts.withLock { $0.ids.count } }

    func close() async {
        await consumer.close()
        await reading.value
    }
}
