import AMQP
import BrokerTestSupport
import Foundation
import Logging
import MinerIndexService
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs a `MinerIndexService` in-process against the real broker, with its own uniquely named topology, a
/// publisher for input messages and a listener bound to each output exchange.
final class ServiceHarness: Sendable {
    struct Snapshot: Sendable {
        let exchange: String
        let body: [UInt8]
        let headers: FieldTable
        let properties: MessageProperties
        let receivedAt: ContinuousClock.Instant

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    let configuration: ServiceConfiguration
    let service: MinerIndexService
    let group: ServiceGroup
    let input: AMQPPublisher
    let listener: AMQPConsumer
    let snapshots = Mutex<[Snapshot]>([])
    let prometheus = PrometheusExport()
    let listening = ListeningPort()
    private let running = Mutex<Task<Void, Error>?>(nil)
    private let listenerTask = Mutex<Task<Void, Never>?>(nil)

    init(withHTTP: Bool = false, _ customize: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        let prefix = TestBroker.uniqueName("svc")
        var configuration = ServiceConfiguration(amqp: try TestBroker.settings)
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
        configuration.httpPort = nil
        configuration.reconnectBackoff = TestBroker.fastBackoff
        customize(&configuration)
        self.configuration = configuration

        let logger = TestBroker.logger
        let service = MinerIndexService(
            configuration: configuration, metrics: ServiceMetrics(factory: prometheus.factory), logger: logger)
        self.service = service
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if withHTTP {
            let listening = self.listening
            services.append(
                .init(
                    service: HTTPServer.application(
                        service: service, metrics: prometheus, host: "127.0.0.1", port: 0, logger: logger,
                        onListening: { port in listening.port.withLock { $0 = port } })))
        }
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
        group = ServiceGroup(configuration: .init(services: services, logger: logger))
        input = AMQPPublisher(
            settings: configuration.amqp,
            configuration: .init(
                topology: Topology(exchanges: [
                    ExchangeDeclaration(name: configuration.inputExchange, kind: .topic, durable: true)
                ]), backoff: TestBroker.fastBackoff),
            logger: logger)

        let listenQueue = "\(prefix).listen"
        let outputs = ServiceTopology(configuration: configuration).output
        listener = AMQPConsumer(
            settings: configuration.amqp,
            configuration: .init(
                queue: listenQueue, prefetch: 1000,
                topology: Topology(
                    exchanges: outputs.exchanges,
                    queues: [QueueDeclaration(name: listenQueue, durable: false, autoDelete: true)],
                    bindings: configuration.outputExchanges.all.map { QueueBinding(queue: listenQueue, exchange: $0) }),
                backoff: TestBroker.fastBackoff),
            logger: logger)
    }

    func start() async throws {
        listener.start()
        input.start()
        try await listener.waitUntilConsuming(timeout: .seconds(10))
        try await input.waitUntilConnected(timeout: .seconds(10))
        let listener = self.listener
        listenerTask.withLock { task in
            task = Task { [self] in
                for await delivery in listener.deliveries {
                    self.snapshots.withLock {
                        $0.append(
                            Snapshot(
                                exchange: delivery.exchange, body: delivery.body, headers: delivery.properties.headers,
                                properties: delivery.properties, receivedAt: .now))
                    }
                    listener.ack(delivery.tag)
                }
            }
        }
        let group = self.group
        running.withLock { $0 = Task { try await group.run() } }
        try await service.consumer.waitUntilConsuming(timeout: .seconds(10))
        try await service.publisher.waitUntilConnected(timeout: .seconds(10))
        try await service.fullIndexPublisher.waitUntilConnected(timeout: .seconds(10))
    }

    /// Runs the service without waiting for it to connect (for a broker that refuses it).
    func launchWithoutWaiting() {
        let group = self.group
        running.withLock { $0 = Task { try await group.run() } }
    }

    /// Graceful shutdown, as SIGTERM would do it, and waits for the service to finish.
    func shutdown() async throws {
        await group.triggerGracefulShutdown()
        if let task = running.withLock({ $0 }) {
            try await task.value
        }
    }

    /// Stops everything and deletes the test topology.
    func tearDown() async {
        try? await shutdown()
        await listener.close()
        await input.close()
        listenerTask.withLock { $0?.cancel() }
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

    // MARK: Input

    func publish(_ routingKey: String, _ object: [String: Any]) async throws {
        let body = try JSONSerialization.data(withJSONObject: object)
        try await publish(routingKey, raw: Array(body))
    }

    func publish(_ routingKey: String, raw body: [UInt8], messageID: String? = nil) async throws {
        let outcome = try await input.publish(
            OutgoingMessage(
                exchange: configuration.inputExchange, routingKey: routingKey, body: body,
                properties: MessageProperties(contentType: "application/json", messageID: messageID, timestamp: Date()))
        )
        guard outcome == .confirmed else { throw HarnessError.notConfirmed(outcome) }
    }

    func publishAll(_ messages: [(routingKey: String, object: [String: Any])]) async throws {
        try await publishAll(
            messages.map { routingKey, object in
                (routingKey, Array(try JSONSerialization.data(withJSONObject: object)))
            })
    }

    /// Publishes pipelined, a thousand at a time, and fails unless the broker confirms every one.
    func publishAll(_ messages: [(routingKey: String, body: [UInt8])]) async throws {
        let outgoing = messages.map { routingKey, body in
            OutgoingMessage(exchange: configuration.inputExchange, routingKey: routingKey, body: body)
        }
        for chunk in stride(from: 0, to: outgoing.count, by: 1000) {
            let results = await input.publish(Array(outgoing[chunk..<min(chunk + 1000, outgoing.count)]))
            for result in results { _ = try result.get() }
        }
    }

    // MARK: Output

    func snapshots(on exchange: String) -> [Snapshot] {
        snapshots.withLock { $0.filter { $0.exchange == exchange } }
    }

    func latest(on exchange: String) -> Snapshot? {
        snapshots(on: exchange).last
    }

    /// Waits until the latest snapshot on `exchange` satisfies `condition`, and returns it.
    func waitForSnapshot(
        on exchange: String, timeout: Duration = .seconds(20), where condition: ([String: Any]) -> Bool
    ) async -> [String: Any]? {
        var found: [String: Any]?
        _ = await eventually(timeout: timeout) {
            guard let latest = latest(on: exchange)?.json, condition(latest) else { return false }
            found = latest
            return true
        }
        return found
    }

    /// GETs a path from the in-process HTTP server.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        let response = try await get(path, authorization: nil)
        return (response.status, response.body)
    }

    /// GETs a path with an optional `Authorization` header, and returns the response headers too, their names
    /// lowercased.
    func get(_ path: String, authorization: String?) async throws
        -> (status: Int, body: Data, headers: [String: String])
    {
        guard let port = await waitForHTTPPort() else { throw HarnessError.httpNotListening }
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for case let (name as String, value as String) in http?.allHeaderFields ?? [:] {
            headers[name.lowercased()] = value
        }
        return (http?.statusCode ?? -1, data, headers)
    }

    private func waitForHTTPPort() async -> Int? {
        _ = await eventually(timeout: .seconds(10)) { listening.port.withLock { $0 } != nil }
        return listening.port.withLock { $0 }
    }

    enum HarnessError: Error {
        case notConfirmed(PublishOutcome)
        case httpNotListening
    }
}

final class ListeningPort: Sendable {
    let port = Mutex<Int?>(nil)
}

/// Log and miner bodies shaped like the farm's producers.
enum Messages {
    static func now(offset: TimeInterval = 0) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(offset))
    }

    static func asicLog(
        id: Int, hashrate: Double, unit: String = "TH/s", coin: String = "bitcoin", power: Double = 3000,
        insertedAt: String? = nil
    ) -> [String: Any] {
        [
            "asic_miner_id": id, "hashrate_5_min": hashrate, "hashrate_30_min": hashrate, "hashrate_uom": unit,
            "uptime": "01:02:03:04", "pool_1_address": "stratum+tcp://pool.example:3333", "pool_1_user": "farm.\(id)",
            "pool_1_state": "Alive", "hashboard_1_temp_1": 65, "fan_1_speed": 5400, "lan_ip": "10.0.0.\(id % 250)",
            "coin_name": coin, "power": power, "inserted_at": insertedAt ?? now(), "api_code": "secret-\(id)",
        ]
    }

    static func asicMiner(id: Int, activated: Bool = true) -> [String: Any] {
        [
            "id": id, "name": "S19-\(id)", "api_code": "secret-\(id)", "firmware_version": "1.0",
            "software_version": "2.0", "model": "Antminer S19", "model_variant": "XP", "activated": activated,
            "asic_expected_status": "on", "light_expected_status": "off",
            "inserted_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        ]
    }

    static func cpuGpuMiner(id: Int, activated: Bool = true) -> [String: Any] {
        [
            "id": id, "name": "rig-\(id)", "api_code": "rig-secret-\(id)", "motherboard_name": "B550",
            "cpu_name": "Ryzen 9", "ram_size": "32GB", "gpu_1_name": "RTX 3080", "activated": activated,
            "inserted_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        ]
    }

    static func cpuGpuLog(id: Int, overrides: [String: Any] = [:]) -> [String: Any] {
        var log: [String: Any] = ["cpu_gpu_miner_id": id, "inserted_at": now(), "api_code": "rig-secret-\(id)"]
        for (key, value) in overrides { log[key] = value }
        return log
    }
}
