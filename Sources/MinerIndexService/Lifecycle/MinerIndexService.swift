import AMQP
import Logging
import MinerIndex
import MinerIndexState
import ServiceLifecycle
import Synchronization

/// The whole service as a swift-service-lifecycle `Service`: consumer → ingest → index actors → broadcaster →
/// publisher, plus the expiry sweep.
///
/// Graceful shutdown (SIGTERM or SIGINT through a `ServiceGroup`, or `triggerGracefulShutdown()` in tests): stop
/// the periodic work, cancel the subscription, finish and acknowledge the deliveries already received, publish one
/// final snapshot per exchange, then close the connections. Deliveries never applied are never acknowledged, so
/// the broker gives them to the next instance.
public final class MinerIndexService: Service, Sendable {
    /// What this instance is doing.
    public enum Role: Sendable, Equatable {
        case restoring
        /// Following a leader through a shared store: serving reads, publishing nothing.
        case standby
        /// Consuming and publishing.
        case leader
    }

    public let configuration: ServiceConfiguration
    public let indexes: MinerIndexes
    /// The aggregated figures over time, one tick per broadcast interval (`GET …/aggregated_history`).
    public let histories = AggregatedHistories()
    public let metrics: ServiceMetrics
    /// The aggregated payloads and the dead letters.
    public let publisher: AMQPPublisher
    /// The full indexes, on a connection of their own: one takes a while to send and route (tens of megabytes on
    /// a large fleet), and on a shared connection the small aggregated payloads waited behind it.
    public let fullIndexPublisher: AMQPPublisher
    let logger: Logger
    /// Set once the state is restored; nil while restoring, and always without a store.
    private let persistence = Mutex<StatePersistence?>(nil)
    private let currentRole = Mutex(Role.restoring)
    /// The consumer of the current (or next) term as leader; each term after the first gets a new one.
    private let currentConsumer: Mutex<AMQPConsumer>

    public init(configuration: ServiceConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        indexes = MinerIndexes(
            configuration: IndexConfiguration(
                offlineAfterSeconds: configuration.offlineAfter.secondsValue,
                historyCapacity: configuration.historyLimit,
                historyMaxAgeSeconds: configuration.historyMaxAge.secondsValue,
                staleAfterSeconds: configuration.staleAfter.secondsValue,
                tracksChanges: configuration.state != .none, maxMiners: configuration.maxMiners))
        let topology = ServiceTopology(configuration: configuration)
        currentConsumer = Mutex(Self.makeConsumer(configuration: configuration, topology: topology, logger: logger))
        let publisherConfiguration = AMQPPublisher.Configuration(
            topology: topology.output, whenBlocked: .wait(upTo: configuration.broadcastInterval),
            backoff: configuration.reconnectBackoff)
        publisher = AMQPPublisher(settings: configuration.amqp, configuration: publisherConfiguration, logger: logger)
        fullIndexPublisher = AMQPPublisher(
            settings: configuration.amqp, configuration: publisherConfiguration, logger: logger)
    }

    private static func makeConsumer(configuration: ServiceConfiguration, topology: ServiceTopology, logger: Logger)
        -> AMQPConsumer
    {
        AMQPConsumer(
            settings: configuration.amqp,
            configuration: .init(
                queue: configuration.queue, prefetch: configuration.prefetch, topology: topology.input,
                consumerTag: "miner-index", backoff: configuration.reconnectBackoff),
            logger: logger)
    }

    /// The consumer of the current term as leader (or of the first one, before it starts).
    public var consumer: AMQPConsumer { currentConsumer.withLock { $0 } }

    public var role: Role { currentRole.withLock { $0 } }

    /// The leader epoch snapshots are published under, with a store.
    public var leaderEpoch: Int64? { persistence.withLock { $0 }?.epoch }

    /// Ready means consuming: connected, topology declared, subscribed; or, for a standby, following its leader.
    public var readiness: (ready: Bool, reason: String) {
        switch role {
        case .restoring: return (false, "restoring the state store")
        case .standby: return (true, "standby")
        case .leader: break
        }
        if let reason = persistence.withLock({ $0 })?.unreadiness { return (false, reason) }
        switch consumer.status {
        case .consuming: return (true, "consuming")
        case .idle: return (false, "not started")
        case .connecting: return (false, "connecting to the broker")
        case .stoppedConsuming: return (false, "shutting down")
        case .disconnected(let reason): return (false, "disconnected: \(reason)")
        case .closed: return (false, "closed")
        }
    }

    /// What a scrape shows of the fleet and of this instance, read now: each index's aggregate costs its number of
    /// coins, pools and models.
    public func fleetReading() async -> FleetMetrics.Reading {
        async let asic = indexes.asic.versionedAggregate()
        async let cpuGpu = indexes.cpuGpu.versionedAggregate()
        return FleetMetrics.Reading(
            asic: await asic, cpuGpu: await cpuGpu, role: role, ready: readiness.ready, leaderEpoch: leaderEpoch,
            maxLabelValues: configuration.metricsMaxLabelValues)
    }

    public func run() async throws {
        logger.info("starting miner-index", metadata: configuration.summary)
        let persistence: StatePersistence?
        do {
            persistence = try await StatePersistence.start(
                configuration: configuration, indexes: indexes, histories: histories, metrics: metrics, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw error
        }
        self.persistence.withLock { $0 = persistence }
        let sequences = persistence?.sequences ?? SequenceNumbers(logger: logger)
        publisher.start()
        fullIndexPublisher.start()

        let sweeper = ExpirySweeper(
            indexes: indexes, metrics: metrics, interval: configuration.expirySweepInterval, logger: logger)
        let historyRecorder = AggregatedHistoryRecorder(
            indexes: indexes, histories: histories, interval: configuration.broadcastInterval)
        // Started in this order and stopped in the reverse, each once the one after it has stopped: the term first
        // (its final snapshots and checkpoint go out while everything else still runs), then the periodic work,
        // then the state writer (which writes what it still holds), then the publishers.
        var parts = [
            ServicePart("publisher", until: .gracefulShutdown) { [publisher, metrics] in
                await Self.follow(publisher.events, client: .publisher, metrics: metrics)
            } then: { [publisher] in
                await publisher.close()
            },
            ServicePart("full-index publisher", until: .gracefulShutdown) { [fullIndexPublisher, metrics] in
                await Self.follow(fullIndexPublisher.events, client: .publisher, metrics: metrics)
            } then: { [fullIndexPublisher] in
                await fullIndexPublisher.close()
            },
        ]
        if let persistence {
            parts.append(ServicePart("state writer", until: .gracefulShutdown) { await persistence.runWriter() })
        }
        parts.append(ServicePart("expiry sweeper", until: .gracefulShutdown) { await sweeper.run() })
        parts.append(ServicePart("aggregated history", until: .gracefulShutdown) { await historyRecorder.run() })
        // The term lifecycle answers a graceful shutdown itself, and its end stops the rest.
        let term = ServicePart("term", until: .finished) {
            await self.lead(persistence: persistence, sequences: sequences)
        }
        let services =
            parts.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            + [.init(service: term, successTerminationBehavior: .gracefullyShutdownGroup)]
        try await ServiceGroup(configuration: .init(services: services, logger: logger)).run()

        await consumer.close()
        await persistence?.close()
        logger.info("miner-index stopped")
    }

    // MARK: Roles

    /// Carries out what the term lifecycle (`TermStateMachine`) decides, event by event, until it says to close.
    private func lead(persistence: StatePersistence?, sequences: SequenceNumbers) async {
        var machine = TermStateMachine()
        var broadcaster: Broadcaster?
        var actions = machine.handle(.restored(sharedStore: persistence?.shared != nil))
        while !actions.isEmpty {
            currentRole.withLock { $0 = machine.role }
            var events: [TermStateMachine.Event] = []
            for action in actions {
                switch action {
                case .standBy:
                    guard let persistence else { break }
                    logger.info("standing by", metadata: ["state": "\(persistence.store.location)"])
                    events.append(await standBy(persistence: persistence) ? .lockTaken : .stopAsked)
                case .takeLeadership:
                    do {
                        _ = try await persistence?.takeLeadership()
                        events.append(.tookOver)
                    } catch {
                        logger.error("could not take over; standing by again", metadata: ["error": "\(error.message)"])
                        events.append(.takeoverFailed(error.message))
                    }
                case .prepareSingleLeader:
                    await persistence?.prepareSingleLeader()
                case .lead(let freshConsumer):
                    if freshConsumer {
                        let replacement = Self.makeConsumer(
                            configuration: configuration, topology: ServiceTopology(configuration: configuration),
                            logger: logger)
                        currentConsumer.withLock { $0 = replacement }
                    }
                    let term = await runTerm(persistence: persistence, sequences: sequences)
                    broadcaster = term.broadcaster
                    events.append(.termEnded(term.end))
                case .publishFinal:
                    await broadcaster?.publishFinal()
                case .finalCheckpoint:
                    await persistence?.finish()
                case .stepDown:
                    await persistence?.stepDown()
                    events.append(.steppedDown)
                case .closeConsumer:
                    await consumer.close()
                case .close:
                    return  // `run` stops the background work, then closes the connections and the store.
                }
            }
            actions = []
            for event in events { actions += machine.handle(event) }
        }
    }

    /// Refreshes from the store and tries the lock every `standbyRefreshInterval`. True once the lock is held;
    /// false at shutdown.
    private func standBy(persistence: StatePersistence) async -> Bool {
        let interval = configuration.standbyRefreshInterval
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await gracefulShutdown()
                return false
            }
            group.addTask { [logger] in
                var warned = false
                while !Task.isCancelled {
                    do {
                        try await persistence.refresh()
                        warned = false
                    } catch {
                        if !warned {
                            logger.warning("standby refresh failed; retrying", metadata: ["error": "\(error)"])
                        }
                        warned = true
                    }
                    if await persistence.lock.tryAcquire() { return true }
                    try? await Task.sleep(for: interval)
                }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    // MARK: A term as leader

    typealias TermEnd = TermStateMachine.TermEnd

    /// Consumes and publishes until shutdown or until leadership is lost; then the subscription stops and what was
    /// received is finished (and acknowledged, at shutdown). What follows is `TermStateMachine`'s to say.
    private func runTerm(persistence: StatePersistence?, sequences: SequenceNumbers) async
        -> (end: TermEnd, broadcaster: Broadcaster)
    {
        let lock = persistence?.lock ?? AlwaysLeader()
        let consumer = self.consumer
        consumer.start()
        let backlog = IngestBacklog(prefetch: configuration.prefetch)
        let depthProbe = QueueDepthProbe(
            settings: configuration.amqp, queue: configuration.queue, period: configuration.broadcastInterval,
            backoff: configuration.reconnectBackoff, logger: logger)
        let keyframeRequests = KeyframeRequests()
        let requestListener = KeyframeRequestListener(
            configuration: configuration, requests: keyframeRequests, logger: logger)
        let broadcaster = Broadcaster(
            indexes: indexes, exchanges: configuration.outputExchanges, publisher: publisher,
            fullIndexPublisher: fullIndexPublisher, sequences: sequences,
            authority: PublishingAuthority(epoch: persistence?.epoch, lock: lock), requests: keyframeRequests,
            metrics: metrics,
            pacing: BroadcastPacing(
                interval: configuration.broadcastInterval, idleInterval: configuration.idleBroadcastInterval,
                fullIndexBacklogInterval: configuration.fullIndexBacklogInterval, backlog: backlog),
            stream: StreamPacing(
                keyframeInterval: configuration.keyframeInterval, maxMessageBytes: configuration.maxMessageBytes),
            logger: logger)
        let ingest = IngestPipeline(
            consumer: consumer,
            deadLetters: DeadLetterPublisher(publisher: publisher, exchange: configuration.deadLetterExchange),
            indexes: indexes,
            decoder: MinerMessageDecoder(limits: DecodingLimits(maxBodyBytes: configuration.maxBodyBytes)),
            backlog: backlog, persistence: persistence, metrics: metrics, logger: logger)

        // Started in this order and stopped in the reverse, each once the one after it has stopped: the watchers
        // and the periodic work first, then the subscription (what was received is finished and acknowledged), and
        // the ingest pipeline last, once its stream has ended.
        let lostBecause = Mutex<String?>(nil)
        func part(
            _ name: String, _ body: @escaping @Sendable () async -> Void,
            then: @escaping @Sendable () async -> Void = {}
        )
            -> ServiceGroupConfiguration.ServiceConfiguration
        {
            .init(service: ServicePart(name, until: .gracefulShutdown, body, then: then))
        }
        /// A watcher whose loss ends the term.
        func watch(_ name: String, _ loss: @escaping @Sendable () async -> String?)
            -> ServiceGroupConfiguration.ServiceConfiguration
        {
            let watcher = ServicePart(name, until: .gracefulShutdown) {
                if let reason = await loss() { lostBecause.withLock { $0 = $0 ?? reason } }
            }
            return .init(service: watcher, successTerminationBehavior: .gracefullyShutdownGroup)
        }
        var parts: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: ServicePart("ingest", until: .finished) {
                    var pipeline = ingest
                    await pipeline.run()
                    // Its stream ends once the subscription stops, before the group asks it to stop: a part that
                    // ends before its turn would count as failed.
                    try? await gracefulShutdown()
                }),
            part("consumer events") { [metrics] in
                await Self.follow(consumer.events, client: .consumer, metrics: metrics)
            },
            .init(
                service: ServicePart("subscription", until: .finished) {
                    try? await gracefulShutdown()
                } then: {
                    [logger] in
                    if let reason = lostBecause.withLock({ $0 }) {
                        logger.error(
                            "lost the leadership: stopping consuming and publishing", metadata: ["reason": "\(reason)"])
                    } else {
                        logger.info("shutting down: stopping the subscription and finishing in-flight messages")
                    }
                    await consumer.stopConsuming()
                }),
            part("broadcaster") { await broadcaster.run() },
            // Only a leader answers keyframe requests: a standby runs no term, so it never listens.
            part("keyframe requests") {
                await requestListener.run()
            } then: {
                await requestListener.consumer.close()
            },
            part("queue depth") { [metrics] in
                await depthProbe.run { readyMessages in
                    backlog.record(readyMessages: readyMessages)
                    metrics.inputQueueReady.record(readyMessages.map(Double.init) ?? .nan)
                }
            },
        ]
        if let persistence {
            parts.append(part("checkpoints") { await persistence.runCheckpoints() })
            parts.append(
                watch("deposed writer") {
                    await persistence.writer.waitUntilDeposed()
                    return Task.isCancelled ? nil : "a write found another leader"
                })
        }
        parts.append(watch("leader lock") { await lock.keepAlive() })
        do {
            try await ServiceGroup(configuration: .init(services: parts, logger: logger)).run()
        } catch {
            logger.error("a term ended on an error", metadata: ["error": "\(error)"])
        }
        let ended = lostBecause.withLock { $0 }.map(TermEnd.lost) ?? .shutdown
        return (ended, broadcaster)
    }

    /// Counts what the clients' events mean for the metrics. The AMQP layer logs each event itself, once.
    private static func follow(
        _ events: AsyncStream<ConnectionEvent>, client: ServiceMetrics.Client, metrics: ServiceMetrics
    ) async {
        var connectedBefore = false
        for await event in events {
            switch event {
            case .connected:
                if connectedBefore { metrics.reconnected(client) }
                connectedBefore = true
            case .rejectedUndecodable:
                // The ingest pipeline never saw it; count it here so that received = applied + dead-lettered.
                metrics.received(nil, count: 1)
                metrics.deadLettered(nil, reason: "undecodable")
            case .disconnected, .blocked, .unblocked, .cancelled:
                break
            }
        }
    }
}
