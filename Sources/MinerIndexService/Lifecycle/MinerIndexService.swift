import AMQP
import Logging
import MinerIndex
import ServiceLifecycle

/// The whole service as a swift-service-lifecycle `Service`: consumer → ingest → index actors → broadcaster →
/// publisher, plus the expiry sweep.
///
/// Graceful shutdown (SIGTERM or SIGINT through a `ServiceGroup`, or `triggerGracefulShutdown()` in tests): stop
/// the periodic work, cancel the subscription, finish and acknowledge the deliveries already received, publish one
/// final snapshot per exchange, then close the connections. Deliveries never applied are never acknowledged, so
/// the broker gives them to the next instance.
public final class MinerIndexService: Service, Sendable {
    public let configuration: ServiceConfiguration
    public let indexes: MinerIndexes
    /// The aggregated figures over time, one tick per broadcast interval (`GET …/aggregated_history`).
    public let histories = AggregatedHistories()
    public let metrics: ServiceMetrics
    public let consumer: AMQPConsumer
    /// The aggregated payloads and the dead letters.
    public let publisher: AMQPPublisher
    /// The full indexes, on a connection of their own: one takes a while to send and route (tens of megabytes on
    /// a large fleet), and on a shared connection the small aggregated payloads waited behind it.
    public let fullIndexPublisher: AMQPPublisher
    let logger: Logger

    public init(configuration: ServiceConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        indexes = MinerIndexes(
            configuration: IndexConfiguration(
                offlineAfterSeconds: configuration.offlineAfter.seconds,
                historyCapacity: configuration.historyLimit,
                historyMaxAgeSeconds: configuration.historyMaxAge.seconds,
                staleAfterSeconds: configuration.staleAfter.seconds))
        let topology = ServiceTopology(configuration: configuration)
        consumer = AMQPConsumer(
            settings: configuration.amqp,
            configuration: .init(
                queue: configuration.queue, prefetch: configuration.prefetch, topology: topology.input,
                consumerTag: "miner-index", backoff: configuration.reconnectBackoff),
            logger: logger)
        let publisherConfiguration = AMQPPublisher.Configuration(
            topology: topology.output, whenBlocked: .wait(upTo: configuration.broadcastInterval),
            backoff: configuration.reconnectBackoff)
        publisher = AMQPPublisher(settings: configuration.amqp, configuration: publisherConfiguration, logger: logger)
        fullIndexPublisher = AMQPPublisher(
            settings: configuration.amqp, configuration: publisherConfiguration, logger: logger)
    }

    /// Ready means consuming: connected, topology declared, subscribed.
    public var readiness: (ready: Bool, reason: String) {
        switch consumer.status {
        case .consuming: return (true, "consuming")
        case .idle: return (false, "not started")
        case .connecting: return (false, "connecting to the broker")
        case .stoppedConsuming: return (false, "shutting down")
        case .disconnected(let reason): return (false, "disconnected: \(reason)")
        case .closed: return (false, "closed")
        }
    }

    public func run() async throws {
        logger.info("starting miner-index", metadata: configuration.summary)
        publisher.start()
        fullIndexPublisher.start()
        consumer.start()

        let backlog = IngestBacklog(prefetch: configuration.prefetch)
        let broadcaster = Broadcaster(
            indexes: indexes, exchanges: configuration.outputExchanges, publisher: publisher,
            fullIndexPublisher: fullIndexPublisher, metrics: metrics,
            pacing: BroadcastPacing(
                interval: configuration.broadcastInterval, idleInterval: configuration.idleBroadcastInterval,
                fullIndexBacklogInterval: configuration.fullIndexBacklogInterval, backlog: backlog),
            logger: logger)
        let sweeper = ExpirySweeper(indexes: indexes, metrics: metrics, interval: configuration.expirySweepInterval, logger: logger)
        let historyRecorder = AggregatedHistoryRecorder(
            indexes: indexes, histories: histories, interval: configuration.broadcastInterval)
        let ingest = IngestPipeline(
            consumer: consumer,
            deadLetters: DeadLetterPublisher(publisher: publisher, exchange: configuration.deadLetterExchange),
            indexes: indexes, decoder: MinerMessageDecoder(limits: DecodingLimits(maxBodyBytes: configuration.maxBodyBytes)),
            backlog: backlog, metrics: metrics, logger: logger)

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var pipeline = ingest
                await pipeline.run()
            }
            group.addTask { [consumer, publisher, fullIndexPublisher, metrics, logger] in
                await withTaskGroup(of: Void.self) { periodic in
                    periodic.addTask { await broadcaster.run() }
                    periodic.addTask { await sweeper.run() }
                    periodic.addTask { await historyRecorder.run() }
                    periodic.addTask {
                        await Self.follow(consumer.events, client: "consumer", metrics: metrics, logger: logger)
                    }
                    periodic.addTask {
                        await Self.follow(publisher.events, client: "publisher", metrics: metrics, logger: logger)
                    }
                    periodic.addTask {
                        await Self.follow(
                            fullIndexPublisher.events, client: "full-index publisher", metrics: metrics, logger: logger)
                    }
                    try? await gracefulShutdown()
                    logger.info("shutting down: stopping the subscription and finishing in-flight messages")
                    periodic.cancelAll()
                }
                await consumer.stopConsuming()
            }
        }

        await broadcaster.publishFinal()
        await consumer.close()
        await publisher.close()
        await fullIndexPublisher.close()
        logger.info("miner-index stopped")
    }

    private static func follow(
        _ events: AsyncStream<ConnectionEvent>, client: String, metrics: ServiceMetrics, logger: Logger
    ) async {
        var connectedBefore = false
        for await event in events {
            switch event {
            case .connected(let generation):
                if connectedBefore { metrics.reconnected(consumer: client == "consumer") }
                connectedBefore = true
                logger.info("\(client) ready", metadata: ["amqp.generation": "\(generation)"])
            case .disconnected(let reason):
                logger.warning("\(client) lost the broker; reconnecting", metadata: ["reason": "\(reason)"])
            case .blocked(let reason):
                logger.warning("\(client) blocked by the broker", metadata: ["reason": "\(reason)"])
            case .unblocked:
                logger.info("\(client) unblocked")
            case .cancelled:
                logger.warning("\(client) subscription cancelled by the broker; subscribing again")
            }
        }
    }
}
