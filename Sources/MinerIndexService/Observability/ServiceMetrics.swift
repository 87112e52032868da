import CoreMetrics
import MinerIndex
import Synchronization

/// The service's metrics, through swift-metrics so that any backend (Prometheus here) can export them. Handles are
/// created once per label set and reused, because looking one up on every message would cost more than counting.
public final class ServiceMetrics: Sendable {
    /// Counters with labels, created on first use; keyed by label and dimensions.
    private let labelledCounters = Mutex<[String: Counter]>([:])
    private let factory: any MetricsFactory
    public let acks: Counter
    public let redeliveries: Counter
    /// Dead-letter copies sent without an answer (the original was then rejected into the queue's own dead-letter
    /// exchange): each may leave the message twice in the dead-letter queue.
    public let uncertainDeadLetterCopies: Counter
    private let reconnectsConsumer: Counter
    private let reconnectsPublisher: Counter
    public let snapshotBuildSeconds: Timer
    public let applyLagSeconds: Timer
    public let historyEntries: Gauge
    /// Damaged state files moved aside at start.
    public let stateCorruptFiles: Counter
    /// 1 while the state store takes writes, 0 while they fail.
    public let stateStoreUp: Gauge
    /// Messages ready in the input queue at the last reading, NaN while the broker cannot be asked.
    public let inputQueueReady: Gauge
    private let stateWriteSeconds: Timer
    private let stateWriteFailures: Counter
    private let alive: [MinerKind: Gauge]
    private let registered: [MinerKind: Gauge]

    /// - Parameter factory: where the metrics go; each service instance can have its own registry, which keeps
    ///   in-process tests apart and needs no global bootstrap.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        acks = Counter(label: "miner_index_acks_total", factory: factory)
        redeliveries = Counter(label: "miner_index_redeliveries_total", factory: factory)
        uncertainDeadLetterCopies = Counter(label: "miner_index_dead_letter_copies_uncertain_total", factory: factory)
        reconnectsConsumer = Counter(
            label: "miner_index_reconnects_total", dimensions: [("client", "consumer")], factory: factory)
        reconnectsPublisher = Counter(
            label: "miner_index_reconnects_total", dimensions: [("client", "publisher")], factory: factory)
        snapshotBuildSeconds = Timer(label: "miner_index_snapshot_build_seconds", factory: factory)
        applyLagSeconds = Timer(label: "miner_index_apply_lag_seconds", factory: factory)
        historyEntries = Gauge(label: "miner_index_history_entries", factory: factory)
        stateCorruptFiles = Counter(label: "miner_index_state_corrupt_files_total", factory: factory)
        stateStoreUp = Gauge(label: "miner_index_state_store_up", factory: factory)
        inputQueueReady = Gauge(label: "miner_index_input_queue_ready_messages", factory: factory)
        stateWriteSeconds = Timer(label: "miner_index_state_write_seconds", factory: factory)
        stateWriteFailures = Counter(label: "miner_index_state_write_failures_total", factory: factory)
        func perKind(_ label: String) -> [MinerKind: Gauge] {
            Dictionary(
                uniqueKeysWithValues: MinerKind.allCases.map {
                    ($0, Gauge(label: label, dimensions: [("kind", $0.messagePrefix)], factory: factory))
                })
        }
        alive = perKind("miner_index_miners_alive")
        registered = perKind("miner_index_miners_registered")
    }

    public func received(_ kind: MinerKind?, count: Int) {
        guard count > 0 else { return }
        counter("miner_index_messages_received_total", [("kind", Self.label(kind))]).increment(by: count)
    }

    /// `outcome` says what the index did: applied, or ignored as out of order or already offline.
    public func applied(_ kind: MinerKind?, outcome: String, count: Int) {
        guard count > 0 else { return }
        counter("miner_index_messages_applied_total", [("kind", Self.label(kind)), ("outcome", outcome)])
            .increment(by: count)
    }

    public func deadLettered(_ kind: MinerKind?, reason: String) {
        counter("miner_index_messages_dead_lettered_total", [("kind", Self.label(kind)), ("reason", reason)])
            .increment()
    }

    public func snapshotPublished(exchange: String) {
        counter("miner_index_snapshots_published_total", [("exchange", exchange)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = dimensions.reduce(label) { $0 + "|" + $1.0 + "=" + $1.1 }
        return labelledCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// One transaction of the state store: a checkpoint or a registry commit.
    public func stateWrite(seconds duration: Duration, succeeded: Bool) {
        if succeeded {
            stateWriteSeconds.recordNanoseconds(Int64(duration.secondsValue * 1e9))
        } else {
            stateWriteFailures.increment()
        }
    }

    /// The service's AMQP clients, as the reconnect metric labels them.
    public enum Client: Sendable {
        case consumer
        /// Either publisher: the aggregated payloads' and dead letters', or the full indexes'.
        case publisher
    }

    public func reconnected(_ client: Client) {
        switch client {
        case .consumer: reconnectsConsumer.increment()
        case .publisher: reconnectsPublisher.increment()
        }
    }

    /// The `# HELP` text of every metric above, by name; a scrape lists only described metrics (a test checks it
    /// with `promtool check metrics`).
    public static let descriptions: [String: String] = [
        "miner_index_acks_total": "Deliveries acknowledged to the broker, once applied or dead-lettered.",
        "miner_index_redeliveries_total": "Deliveries the broker marked as redelivered.",
        "miner_index_dead_letter_copies_uncertain_total":
            "Dead-letter copies sent without a confirm; the original was rejected into the queue's own dead-letter exchange.",
        "miner_index_reconnects_total": "Reconnections to the broker, by client (consumer or publisher).",
        "miner_index_snapshot_build_seconds": "Time to build and encode one snapshot of an index.",
        "miner_index_apply_lag_seconds": "From a log's observation time to its application in the index.",
        "miner_index_history_entries": "Entries in the per-miner history rings, over all ASIC miners.",
        "miner_index_state_corrupt_files_total": "Damaged state files moved aside at start.",
        "miner_index_state_store_up": "1 while the state store takes writes, 0 while they fail.",
        "miner_index_input_queue_ready_messages":
            "Messages ready in the input queue at the last reading; NaN while the broker cannot be asked.",
        "miner_index_state_write_seconds":
            "Duration of one state-store transaction (a checkpoint or a registry commit).",
        "miner_index_state_write_failures_total": "State-store transactions that failed.",
        "miner_index_miners_alive": "Activated miners with a live log, by kind, at the last broadcast.",
        "miner_index_miners_registered": "Activated miners, by kind, at the last broadcast.",
        "miner_index_messages_received_total": "Messages taken from the input queue, by kind.",
        "miner_index_messages_applied_total":
            "Messages applied to an index, by kind and outcome (applied, or ignored as out of order or offline).",
        "miner_index_messages_dead_lettered_total": "Messages dead-lettered, by kind and reason.",
        "miner_index_snapshots_published_total": "Snapshots published, by exchange.",
    ]

    /// A message's kind as a label; `unknown` for a routing key the decoder does not know.
    private static func label(_ kind: MinerKind?) -> String { kind?.messagePrefix ?? "unknown" }

    public func population(_ kind: MinerKind, aggregate: MinerAggregate) {
        alive[kind]?.record(aggregate.liveCount)
        registered[kind]?.record(aggregate.registeredCount)
    }
}

extension RecordDecodingError {
    /// A short, bounded label for metrics; the full text goes into the dead-letter header and the log.
    public var reasonLabel: String {
        switch problem {
        case .bodyTooLarge: return "body_too_large"
        case .invalidJSON: return "invalid_json"
        case .notAnObject: return "not_an_object"
        case .missingRequiredField: return "missing_field"
        case .wrongType: return "wrong_type"
        case .notFiniteNonNegative, .notAnInteger, .tooLarge: return "invalid_number"
        case .unknownHashrateUnit, .unknownFanUnit: return "unknown_unit"
        case .partialGroup: return "partial_group"
        case .stringTooLong: return "string_too_long"
        case .invalidTimestamp: return "invalid_timestamp"
        case .unknownRoutingKey: return "unknown_routing_key"
        }
    }
}
