import AMQP

/// The exchanges, queues and bindings miner-index declares at start-up and after every reconnect.
public struct ServiceTopology: Sendable {
    public static let routingKeyPatterns = ["asic_miner.*", "cpu_gpu_miner.*"]

    public let configuration: ServiceConfiguration

    public init(configuration: ServiceConfiguration) {
        self.configuration = configuration
    }

    /// Input side, declared by the consumer: the topic exchange, the durable input queue with its dead-letter
    /// exchange (and, for a quorum queue, its delivery limit), and the dead-letter queue.
    public var input: Topology {
        var queueArguments: FieldTable = [
            "x-queue-type": .string(configuration.queueType.rawValue),
            "x-dead-letter-exchange": .string(configuration.deadLetterExchange),
        ]
        if configuration.singleActiveConsumer {
            queueArguments["x-single-active-consumer"] = true
        }
        if configuration.queueType == .quorum, let limit = configuration.deliveryLimit {
            queueArguments["x-delivery-limit"] = .int(Int64(limit))
        }
        let deadLetterArguments: FieldTable = ["x-queue-type": .string(configuration.queueType.rawValue)]
        return Topology(
            exchanges: [
                ExchangeDeclaration(name: configuration.inputExchange, kind: .topic, durable: true),
                deadLetterExchangeDeclaration,
            ],
            queues: [
                QueueDeclaration(name: configuration.deadLetterQueue, durable: true, arguments: deadLetterArguments),
                QueueDeclaration(name: configuration.queue, durable: true, arguments: queueArguments),
            ],
            bindings: Self.routingKeyPatterns.map {
                QueueBinding(queue: configuration.queue, exchange: configuration.inputExchange, routingKey: $0)
            } + [QueueBinding(queue: configuration.deadLetterQueue, exchange: configuration.deadLetterExchange)]
        )
    }

    /// Output side, declared by the publisher: the four fanout exchanges, the two delta exchanges, the keyframe
    /// request exchange, and the dead-letter exchange it copies rejected messages to.
    public var output: Topology {
        Topology(
            exchanges: (configuration.outputExchanges.all + configuration.outputExchanges.stream).map {
                ExchangeDeclaration(name: $0, kind: .fanout, durable: true)
            } + [deadLetterExchangeDeclaration]
        )
    }

    private var deadLetterExchangeDeclaration: ExchangeDeclaration {
        ExchangeDeclaration(name: configuration.deadLetterExchange, kind: .fanout, durable: true)
    }
}
