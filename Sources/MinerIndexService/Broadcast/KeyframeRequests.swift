import AMQP
import Foundation
import Logging
import MinerIndex
import Synchronization

/// Keyframe requests counted per kind. The listener counts them; each broadcaster compares the count with the
/// one its last keyframe answered, so any number of requests between two ticks costs one keyframe.
final class KeyframeRequests: Sendable {
    private let counts = Mutex<[MinerKind: UInt64]>([:])

    func request(_ kind: MinerKind) {
        counts.withLock { $0[kind, default: 0] += 1 }
    }

    func count(_ kind: MinerKind) -> UInt64 {
        counts.withLock { $0[kind, default: 0] }
    }
}

/// Consumes the keyframe-request exchange through a queue of its own (exclusive, deleted with its connection)
/// while this instance leads, and counts each request for the kinds it names.
///
/// A request is a JSON object naming the full-index or the delta exchange of one kind,
/// `{"exchange": "asic_miner_index"}`; any other body (empty, not JSON, another name) asks for both kinds. Every
/// delivery is acknowledged: a request is a hint, and a lost one only means the subscriber asks again.
struct KeyframeRequestListener: Sendable {
    let consumer: AMQPConsumer
    let requests: KeyframeRequests
    private let kindsByExchange: [String: MinerKind]

    init(configuration: ServiceConfiguration, requests: KeyframeRequests, logger: Logger) {
        let exchanges = configuration.outputExchanges
        let queue = "\(exchanges.keyframeRequests).\(PublishingAuthority.instance).\(UInt64.random(in: .min ... .max))"
        consumer = AMQPConsumer(
            settings: configuration.amqp,
            configuration: .init(
                queue: queue, prefetch: 100,
                topology: Topology(
                    exchanges: [ExchangeDeclaration(name: exchanges.keyframeRequests, kind: .fanout, durable: true)],
                    queues: [QueueDeclaration(name: queue, durable: false, exclusive: true, autoDelete: true)],
                    bindings: [QueueBinding(queue: queue, exchange: exchanges.keyframeRequests)]),
                consumerTag: "miner-index-keyframe-requests", backoff: configuration.reconnectBackoff),
            logger: logger)
        self.requests = requests
        kindsByExchange = [
            exchanges.asicIndex: .asic, exchanges.asicDeltaExchange: .asic,
            exchanges.cpuGpuIndex: .cpuGpu, exchanges.cpuGpuDeltaExchange: .cpuGpu,
        ]
    }

    /// Counts requests until the consumer is closed.
    func run() async {
        consumer.start()
        var iterator = consumer.deliveries.makeAsyncIterator()
        while let batch = await iterator.nextBatch() {
            for delivery in batch {
                for kind in kinds(askedFor: delivery.body) { requests.request(kind) }
            }
            if let last = batch.last { consumer.ack(last.tag, multiple: true) }
        }
    }

    func kinds(askedFor body: [UInt8]) -> [MinerKind] {
        // Requests are a few bytes; a large body is not parsed, just taken as asking for both.
        if body.count <= 4096,
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let exchange = object["exchange"] as? String, let kind = kindsByExchange[exchange]
        {
            return [kind]
        }
        return [.asic, .cpuGpu]
    }
}
