import AMQP
import BrokerTestSupport
import Foundation
import MinerLoadKit
import Synchronization

/// Uniquely named exchanges and queues for one test, the `miner-index` flags that point at them, and a listener on
/// the aggregated exchanges that records every snapshot's sequence.
final class StateTopology: Sendable {
    let prefix = TestBroker.uniqueName("state")
    var queue: String { "\(prefix).logs" }
    var input: String { "\(prefix).in" }
    var asicAggregated: String { "\(prefix).asic_miner_aggregated_index" }
    var cpuGpuAggregated: String { "\(prefix).cpu_gpu_miner_aggregated_index" }
    var asicIndex: String { "\(prefix).asic_miner_index" }
    var cpuGpuIndex: String { "\(prefix).cpu_gpu_miner_index" }
    struct Seen: Sendable {
        let exchange: String
        let sequence: Int64
        let alive: String
        let epoch: Int64?
        /// `leader_epoch` in the body (nil when absent or null), which must equal the header's.
        let bodyEpoch: Int64?
        let publisher: String
        let at: ContinuousClock.Instant
    }

    let snapshots = Mutex<[Seen]>([])
    private let listener: AMQPConsumer
    private let listening = Mutex<Task<Void, Never>?>(nil)

    init() throws {
        let listenQueue = "\(prefix).listen"
        let exchanges = ["\(prefix).asic_miner_aggregated_index", "\(prefix).cpu_gpu_miner_aggregated_index"]
        listener = AMQPConsumer(
            settings: try TestBroker.settings,
            configuration: .init(
                queue: listenQueue, prefetch: 1000,
                topology: Topology(
                    exchanges: exchanges.map { ExchangeDeclaration(name: $0, kind: .fanout, durable: true) },
                    queues: [QueueDeclaration(name: listenQueue, durable: false, autoDelete: true)],
                    bindings: exchanges.map { QueueBinding(queue: listenQueue, exchange: $0) }),
                backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
    }

    /// `miner-index` flags for this topology, on `state`.
    func serviceArguments(state: String) -> [String] {
        [
            "--amqp-url", TestBroker.url, "--queue", queue, "--exchange", input,
            "--dead-letter-exchange", "\(prefix).dlx", "--dead-letter-queue", "\(prefix).dlq",
            "--asic-index-exchange", asicIndex, "--asic-aggregated-exchange", asicAggregated,
            "--cpu-gpu-index-exchange", cpuGpuIndex, "--cpu-gpu-aggregated-exchange", cpuGpuAggregated,
            "--broadcast-interval", "250ms", "--state", state,
        ]
    }

    func listen() async throws {
        listener.start()
        try await listener.waitUntilConsuming(timeout: .seconds(10))
        let listener = self.listener
        listening.withLock {
            $0 = Task {
                for await delivery in listener.deliveries {
                    let json = (try? JSONSerialization.jsonObject(with: Data(delivery.body))) as? [String: Any] ?? [:]
                    let alive = (json["asic_miner_alive"] ?? json["cpu_gpu_miner_alive"]) as? String ?? ""
                    let sequence = (json["sequence"] as? NSNumber)?.int64Value ?? -1
                    var epoch: Int64?
                    if case .int(let value) = delivery.properties.headers["leader_epoch"] { epoch = value }
                    var publisher = ""
                    if case .string(let value) = delivery.properties.headers["publisher"] { publisher = value }
                    let seen = Seen(
                        exchange: delivery.exchange, sequence: sequence, alive: alive, epoch: epoch,
                        bodyEpoch: (json["leader_epoch"] as? NSNumber)?.int64Value,
                        publisher: publisher, at: .now)
                    self.snapshots.withLock { $0.append(seen) }
                    listener.ack(delivery.tag)
                }
            }
        }
    }

    /// Waits until `count` more ASIC aggregated snapshots matching `condition` have arrived: under load a snapshot
    /// goes out every broadcast interval, so this lets the load run for that many intervals, measured by the
    /// service's own output rather than a sleep.
    func asicSnapshotsArrive(
        _ count: Int, timeout: Duration = .seconds(30),
        where condition: @escaping @Sendable (Seen) -> Bool = { _ in true }
    ) async -> Bool {
        let exchange = asicAggregated
        let matching: @Sendable () -> Int = { [self] in
            snapshots.withLock { $0.count { $0.exchange == exchange && condition($0) } }
        }
        let before = matching()
        return await eventually(timeout: timeout) { matching() >= before + count }
    }

    func sequences(on exchange: String) -> [Int64] {
        snapshots.withLock { $0.filter { $0.exchange == exchange }.map(\.sequence) }
    }

    func publisher() throws -> AMQPPublisher {
        let publisher = AMQPPublisher(
            settings: try TestBroker.settings,
            configuration: .init(
                topology: Topology(exchanges: [ExchangeDeclaration(name: input, kind: .topic, durable: true)]),
                backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        publisher.start()
        return publisher
    }

    func publish(_ publisher: AMQPPublisher, _ routingKey: String, _ object: [String: Any]) async throws {
        let body = try JSONSerialization.data(withJSONObject: object)
        _ = try await publisher.publish(
            OutgoingMessage(
                exchange: input, routingKey: routingKey, body: Array(body),
                properties: MessageProperties(contentType: "application/json", deliveryMode: .persistent)))
    }

    /// Ready and unacknowledged messages of the input queue, as the broker counts them.
    func queueDepth() throws -> (ready: Int, unacknowledged: Int) {
        let output = try TestBroker.rabbitmqctl(
            "list_queues", "--quiet", "--no-table-headers", "name", "messages_ready",
            "messages_unacknowledged")
        for line in output.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.count == 3, fields[0] == queue, let ready = Int(fields[1]), let unacked = Int(fields[2]) {
                return (ready, unacked)
            }
        }
        return (-1, -1)
    }

    func loadConfiguration(_ customize: (inout LoadConfiguration) -> Void) throws -> LoadConfiguration {
        var configuration = LoadConfiguration(amqp: try TestBroker.settings)
        configuration.exchange = input
        var verification = LoadConfiguration.Verification()
        verification.timeout = .seconds(30)
        verification.asicIndexExchange = asicIndex
        verification.asicAggregatedExchange = asicAggregated
        verification.cpuGpuIndexExchange = cpuGpuIndex
        verification.cpuGpuAggregatedExchange = cpuGpuAggregated
        configuration.verification = verification
        customize(&configuration)
        return configuration
    }

    func tearDown() async {
        listening.withLock { $0?.cancel() }
        await listener.close()
        let names = [queue, "\(prefix).dlq"]
        let exchanges = [
            input, "\(prefix).dlx", asicIndex, asicAggregated, cpuGpuIndex, cpuGpuAggregated,
            "\(asicIndex).delta", "\(cpuGpuIndex).delta",
        ]
        _ = try? await AMQPAdmin.withChannel(try TestBroker.settings) { channel throws(AMQPError) in
            for queue in names { try channel.deleteQueue(queue) }
            for exchange in exchanges { try channel.deleteExchange(exchange) }
        }
    }
}
