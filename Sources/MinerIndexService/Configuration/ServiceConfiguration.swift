import AMQP
import Logging
import MinerIndex
import MinerIndexStateStores

/// Everything the service can be told, with the defaults of the contract. Built from flags and environment
/// variables by `ServiceOptions`, or directly by tests.
public struct ServiceConfiguration: Sendable {
    public enum QueueType: String, Sendable, CaseIterable {
        case classic, quorum
    }

    public struct ExchangeNames: Sendable, Hashable {
        public var asicIndex = DefaultExchangeNames.asicIndex
        public var asicAggregatedIndex = DefaultExchangeNames.asicAggregatedIndex
        public var cpuGpuIndex = DefaultExchangeNames.cpuGpuIndex
        public var cpuGpuAggregatedIndex = DefaultExchangeNames.cpuGpuAggregatedIndex
        /// The delta exchanges; nil names them after the full-index exchange, plus ".delta".
        public var asicDelta: String?
        public var cpuGpuDelta: String?
        /// Where subscribers ask for a keyframe.
        public var keyframeRequests = DefaultExchangeNames.keyframeRequests

        public init() {}

        public var all: [String] { [asicIndex, asicAggregatedIndex, cpuGpuIndex, cpuGpuAggregatedIndex] }

        public var asicDeltaExchange: String { asicDelta ?? DefaultExchangeNames.delta(of: asicIndex) }
        public var cpuGpuDeltaExchange: String { cpuGpuDelta ?? DefaultExchangeNames.delta(of: cpuGpuIndex) }

        /// A kind's full-index (keyframe), delta and aggregated exchanges.
        public func index(of kind: MinerKind) -> String { kind == .asic ? asicIndex : cpuGpuIndex }
        public func delta(of kind: MinerKind) -> String { kind == .asic ? asicDeltaExchange : cpuGpuDeltaExchange }
        public func aggregated(of kind: MinerKind) -> String {
            kind == .asic ? asicAggregatedIndex : cpuGpuAggregatedIndex
        }
        /// The exchanges of the keyframe-and-delta protocol besides the full-index ones.
        public var stream: [String] { [asicDeltaExchange, cpuGpuDeltaExchange, keyframeRequests] }
    }

    /// Where the index's state survives a restart: none, an SQLite file or a shared PostgreSQL database.
    public typealias StateLocation = MinerIndexStateStores.StateLocation

    public var amqp: ConnectionSettings
    public var prefetch: UInt16 = 500
    public var queue = "miner_index.operational_logs"
    public var queueType: QueueType = .classic
    /// Quorum queues only (`x-delivery-limit`): a message returned this many times without an ack, as when it
    /// crashes every instance that takes it, goes to the dead-letter exchange instead of coming back forever.
    /// nil declares no limit. Classic queues have no such limit.
    public var deliveryLimit: Int? = 5
    /// One active consumer per queue, others on standby (quorum queues only make this highly available).
    public var singleActiveConsumer = false
    public var inputExchange = "miner_operational_logs"
    public var deadLetterExchange = "miner_index.dead_letter"
    public var deadLetterQueue = "miner_index.dead_letter"
    public var outputExchanges = ExchangeNames()
    public var broadcastInterval: Duration = .seconds(1)
    public var idleBroadcastInterval: Duration = .seconds(10)
    /// While ingest is behind the queue, the full indexes are built at most this often (the aggregated payloads
    /// keep `broadcastInterval`), so that catching up is not slowed by re-encoding every miner each second.
    public var fullIndexBacklogInterval: Duration = .seconds(5)
    /// A full index (keyframe) goes out this often, and when a subscriber asks; deltas every broadcast interval.
    public var keyframeInterval: Duration = .seconds(30)
    /// No keyframe or delta message is larger: a larger one is split into parts.
    public var maxMessageBytes = 16 * 1024 * 1024
    public var offlineAfter: Duration = .seconds(60)
    /// A live miner silent this long counts as stale rather than online in `status_counts`.
    public var staleAfter: Duration = .seconds(20)
    public var expirySweepInterval: Duration = .seconds(1)
    public var historyLimit = 60
    public var historyMaxAge: Duration = .seconds(3600)
    public var maxBodyBytes = 64 * 1024
    public var logLevel: Logger.Level = .info
    public var httpHost = "127.0.0.1"
    /// Zero picks a free port; nil turns the HTTP server off (in-process tests that do not need it).
    public var httpPort: Int? = 8080
    /// Required by the `/v1` read API when set; health, readiness and metrics stay open.
    public var httpToken: HTTPToken?
    /// Distinct values of each label of the fleet gauges on `/metrics` at most; the rest are summed under `other`,
    /// so a flood of new pool addresses cannot grow a scrape.
    public var metricsMaxLabelValues = 50
    public var reconnectBackoff = Backoff()
    /// In-process users (tests, benchmarks) get an in-memory index unless they ask; `miner-index` itself defaults
    /// to `miner-index.sqlite` in the working directory (see `ServiceOptions`).
    public var state: StateLocation = .none
    /// Logs are written to the state store at least this often; a registry change before its ack.
    public var checkpointInterval: Duration = .seconds(1)
    /// Registered miners per kind at most: a flood of logs with invented ids cannot grow the index without bound.
    public var maxMiners = 1_000_000
    /// With a shared store: how often a standby reads what the leader wrote.
    public var standbyRefreshInterval: Duration = .seconds(1)
    /// With a shared store: how long the leader's lock outlives its last sign of life.
    public var leaderLease: Duration = .seconds(10)

    public init(amqp: ConnectionSettings) {
        self.amqp = amqp
    }

    /// One line for the start-up log; the password is redacted by `ConnectionSettings`.
    public var summary: Logger.Metadata {
        [
            "amqp_url": "\(amqp.redactedURL)",
            "prefetch": "\(prefetch)",
            "queue": "\(queue)",
            "queue_type": "\(queueType.rawValue)",
            "delivery_limit":
                "\(queueType == .quorum ? deliveryLimit.map(String.init) ?? "none" : "none (classic queue)")",
            "single_active_consumer": "\(singleActiveConsumer)",
            "exchange": "\(inputExchange)",
            "dead_letter_exchange": "\(deadLetterExchange)",
            "dead_letter_queue": "\(deadLetterQueue)",
            "broadcast_interval": "\(DurationText.format(broadcastInterval))",
            "idle_broadcast_interval": "\(DurationText.format(idleBroadcastInterval))",
            "full_index_backlog_interval": "\(DurationText.format(fullIndexBacklogInterval))",
            "keyframe_interval": "\(DurationText.format(keyframeInterval))",
            "max_message_bytes": "\(maxMessageBytes)",
            "delta_exchanges": "\(outputExchanges.asicDeltaExchange),\(outputExchanges.cpuGpuDeltaExchange)",
            "keyframe_request_exchange": "\(outputExchanges.keyframeRequests)",
            "offline_after": "\(DurationText.format(offlineAfter))",
            "stale_after": "\(DurationText.format(staleAfter))",
            "history_limit": "\(historyLimit)",
            "max_body_bytes": "\(maxBodyBytes)",
            "log_level": "\(logLevel.rawValue)",
            "http": "\(httpPort.map { "\(httpHost):\($0)" } ?? "off")",
            "state": "\(state.summary)",
            "checkpoint_interval": "\(DurationText.format(checkpointInterval))",
            "max_miners": "\(maxMiners)",
            "standby_refresh_interval": "\(DurationText.format(standbyRefreshInterval))",
            "leader_lease": "\(DurationText.format(leaderLease))",
            "amqp_heartbeat": "\(DurationText.format(amqp.heartbeat))",
            "http_token": "\(httpToken == nil ? "none" : "set")",
            "metrics_max_label_values": "\(metricsMaxLabelValues)",
        ]
    }
}
