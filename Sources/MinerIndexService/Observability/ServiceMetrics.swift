import CoreMetrics
import MinerIndex
import Synchronization

/// The service's metrics, through swift-metrics so that any backend (Prometheus here) can export them. Handles are
/// created once per label set and reused, because looking one up on every message would cost more than counting.
public final class ServiceMetrics: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case asic = "asic_miner"
        case cpuGpu = "cpu_gpu_miner"
        case unknown
    }

    private struct Handles {
        var received: [Kind: Counter] = [:]
        var applied: [String: Counter] = [:]
        var deadLettered: [String: Counter] = [:]
        var snapshots: [String: Counter] = [:]
    }

    private let handles = Mutex(Handles())
    public let acks = Counter(label: "miner_index_acks_total")
    public let redeliveries = Counter(label: "miner_index_redeliveries_total")
    private let reconnectsConsumer = Counter(label: "miner_index_reconnects_total", dimensions: [("client", "consumer")])
    private let reconnectsPublisher = Counter(label: "miner_index_reconnects_total", dimensions: [("client", "publisher")])
    public let snapshotBuildSeconds = Timer(label: "miner_index_snapshot_build_seconds")
    public let applyLagSeconds = Timer(label: "miner_index_apply_lag_seconds")
    public let historyEntries = Gauge(label: "miner_index_history_entries")
    private let alive: [Kind: Gauge]
    private let registered: [Kind: Gauge]

    public init() {
        alive = Dictionary(uniqueKeysWithValues: [Kind.asic, .cpuGpu].map {
            ($0, Gauge(label: "miner_index_miners_alive", dimensions: [("kind", $0.rawValue)]))
        })
        registered = Dictionary(uniqueKeysWithValues: [Kind.asic, .cpuGpu].map {
            ($0, Gauge(label: "miner_index_miners_registered", dimensions: [("kind", $0.rawValue)]))
        })
    }

    public func received(_ kind: Kind, count: Int) {
        guard count > 0 else { return }
        let counter = handles.withLock { handles in
            if let counter = handles.received[kind] { return counter }
            let counter = Counter(label: "miner_index_messages_received_total", dimensions: [("kind", kind.rawValue)])
            handles.received[kind] = counter
            return counter
        }
        counter.increment(by: count)
    }

    /// `outcome` says what the index did: applied, or ignored as out of order or already offline.
    public func applied(_ kind: Kind, outcome: String, count: Int) {
        guard count > 0 else { return }
        let key = kind.rawValue + "/" + outcome
        let counter = handles.withLock { handles in
            if let counter = handles.applied[key] { return counter }
            let counter = Counter(
                label: "miner_index_messages_applied_total", dimensions: [("kind", kind.rawValue), ("outcome", outcome)])
            handles.applied[key] = counter
            return counter
        }
        counter.increment(by: count)
    }

    public func deadLettered(_ kind: Kind, reason: String) {
        let key = kind.rawValue + "/" + reason
        let counter = handles.withLock { handles in
            if let counter = handles.deadLettered[key] { return counter }
            let counter = Counter(
                label: "miner_index_messages_dead_lettered_total",
                dimensions: [("kind", kind.rawValue), ("reason", reason)])
            handles.deadLettered[key] = counter
            return counter
        }
        counter.increment()
    }

    public func snapshotPublished(exchange: String) {
        let counter = handles.withLock { handles in
            if let counter = handles.snapshots[exchange] { return counter }
            let counter = Counter(label: "miner_index_snapshots_published_total", dimensions: [("exchange", exchange)])
            handles.snapshots[exchange] = counter
            return counter
        }
        counter.increment()
    }

    public func reconnected(consumer: Bool) {
        (consumer ? reconnectsConsumer : reconnectsPublisher).increment()
    }

    public func population(_ kind: Kind, aggregate: MinerAggregate) {
        alive[kind]?.record(aggregate.liveCount)
        registered[kind]?.record(aggregate.registeredCount)
    }
}

extension ServiceMetrics.Kind {
    init(routingKey: String) {
        if routingKey.hasPrefix("asic_miner.") {
            self = .asic
        } else if routingKey.hasPrefix("cpu_gpu_miner.") {
            self = .cpuGpu
        } else {
            self = .unknown
        }
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
        case .notFiniteNonNegative, .notAnInteger: return "invalid_number"
        case .unknownHashrateUnit, .unknownFanUnit: return "unknown_unit"
        case .partialGroup: return "partial_group"
        case .stringTooLong: return "string_too_long"
        case .invalidTimestamp: return "invalid_timestamp"
        case .unknownRoutingKey: return "unknown_routing_key"
        }
    }
}
