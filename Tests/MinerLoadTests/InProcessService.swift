import AMQP
import BrokerTestSupport
import Logging
import MinerIndexService
import MinerLoadKit
import ServiceLifecycle
import Synchronization

/// A `MinerIndexService` running in this process against the real broker, with uniquely named exchanges and
/// queues so that runs never see each other's traffic.
final class InProcessService: Sendable {
    let configuration: ServiceConfiguration
    let service: MinerIndexService
    private let group: ServiceGroup
    private let running = Mutex<Task<Void, Error>?>(nil)

    /// `amqp` defaults to the test broker's plain listener.
    init(
        offlineAfter: Duration, amqp: ConnectionSettings? = nil,
        _ customize: (inout ServiceConfiguration) -> Void = { _ in }
    ) throws {
        let prefix = TestBroker.uniqueName("load")
        var configuration = ServiceConfiguration(amqp: try amqp ?? TestBroker.settings)
        configuration.queue = "\(prefix).logs"
        configuration.inputExchange = "\(prefix).in"
        configuration.deadLetterExchange = "\(prefix).dlx"
        configuration.deadLetterQueue = "\(prefix).dlq"
        configuration.outputExchanges.asicIndex = "\(prefix).asic_miner_index"
        configuration.outputExchanges.asicAggregatedIndex = "\(prefix).asic_miner_aggregated_index"
        configuration.outputExchanges.cpuGpuIndex = "\(prefix).cpu_gpu_miner_index"
        configuration.outputExchanges.cpuGpuAggregatedIndex = "\(prefix).cpu_gpu_miner_aggregated_index"
        configuration.outputExchanges.keyframeRequests = "\(prefix).keyframe_requests"
        // Tests read the full indexes' contents: a keyframe every second, not every 30.
        configuration.keyframeInterval = .seconds(1)
        configuration.broadcastInterval = .milliseconds(200)
        configuration.idleBroadcastInterval = .seconds(1)
        configuration.offlineAfter = offlineAfter
        configuration.httpPort = nil
        configuration.reconnectBackoff = TestBroker.fastBackoff
        customize(&configuration)
        self.configuration = configuration
        service = MinerIndexService(configuration: configuration, logger: TestBroker.logger)
        group = ServiceGroup(configuration: .init(services: [service], logger: TestBroker.logger))
    }

    func start() async throws {
        launch()
        try await service.consumer.waitUntilConsuming(timeout: .seconds(10))
        try await service.publisher.waitUntilConnected(timeout: .seconds(10))
        try await service.fullIndexPublisher.waitUntilConnected(timeout: .seconds(10))
    }

    /// Runs the service without waiting for it to connect.
    func launch() {
        let group = self.group
        running.withLock { $0 = Task { try await group.run() } }
    }

    /// Shuts the service down and deletes its topology.
    func stop() async {
        await group.triggerGracefulShutdown()
        if let task = running.withLock({ $0 }) { _ = try? await task.value }
        let configuration = self.configuration
        _ = try? await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            try channel.deleteQueue(configuration.queue)
            try channel.deleteQueue(configuration.deadLetterQueue)
            try channel.deleteExchange(configuration.inputExchange)
            try channel.deleteExchange(configuration.deadLetterExchange)
            for exchange in configuration.outputExchanges.all + configuration.outputExchanges.stream {
                try channel.deleteExchange(exchange)
            }
        }
    }

    func deadLetterCount() async throws -> Int {
        let queue = configuration.deadLetterQueue
        return Int(
            try await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
                try channel.inspectQueue(queue).messageCount
            })
    }

    /// miner-load settings aimed at this instance's exchanges; `verifyOfflineAfter` defaults to the service's own.
    func loadConfiguration(verifyOfflineAfter: Duration? = nil) -> LoadConfigurationBuilder {
        LoadConfigurationBuilder(service: configuration, offlineAfter: verifyOfflineAfter ?? configuration.offlineAfter)
    }
}

struct LoadConfigurationBuilder {
    let service: ServiceConfiguration
    let offlineAfter: Duration

    func make(_ customize: (inout LoadConfiguration) -> Void) -> LoadConfiguration {
        var configuration = LoadConfiguration(amqp: service.amqp)
        configuration.exchange = service.inputExchange
        var verification = LoadConfiguration.Verification()
        verification.offlineAfter = offlineAfter
        verification.timeout = .seconds(20)
        verification.asicIndexExchange = service.outputExchanges.asicIndex
        verification.asicAggregatedExchange = service.outputExchanges.asicAggregatedIndex
        verification.cpuGpuIndexExchange = service.outputExchanges.cpuGpuIndex
        verification.cpuGpuAggregatedExchange = service.outputExchanges.cpuGpuAggregatedIndex
        verification.keyframeRequestExchange = service.outputExchanges.keyframeRequests
        configuration.verification = verification
        customize(&configuration)
        return configuration
    }
}
