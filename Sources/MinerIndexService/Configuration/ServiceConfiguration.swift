import AMQP
import Logging

/// Everything the service can be told, with the defaults of the contract. Built from flags and environment
/// variables by `ServiceOptions`, or directly by tests.
public struct ServiceConfiguration: Sendable {
    public enum QueueType: String, Sendable, CaseIterable {
        case classic, quorum
    }

    public struct ExchangeNames: Sendable, Hashable {
        public var asicIndex = "asic_miner_index"
        public var asicAggregatedIndex = "asic_miner_aggregated_index"
        public var cpuGpuIndex = "cpu_gpu_miner_index"
        public var cpuGpuAggregatedIndex = "cpu_gpu_miner_aggregated_index"

        public init() {}

        public var all: [String] { [asicIndex, asicAggregatedIndex, cpuGpuIndex, cpuGpuAggregatedIndex] }
    }

    public var amqp: ConnectionSettings
    public var prefetch: UInt16 = 500
    public var queue = "miner_index.operational_logs"
    public var queueType: QueueType = .classic
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
    public var reconnectBackoff = Backoff()

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
            "single_active_consumer": "\(singleActiveConsumer)",
            "exchange": "\(inputExchange)",
            "dead_letter_exchange": "\(deadLetterExchange)",
            "dead_letter_queue": "\(deadLetterQueue)",
            "broadcast_interval": "\(DurationText.format(broadcastInterval))",
            "idle_broadcast_interval": "\(DurationText.format(idleBroadcastInterval))",
            "full_index_backlog_interval": "\(DurationText.format(fullIndexBacklogInterval))",
            "offline_after": "\(DurationText.format(offlineAfter))",
            "stale_after": "\(DurationText.format(staleAfter))",
            "history_limit": "\(historyLimit)",
            "max_body_bytes": "\(maxBodyBytes)",
            "log_level": "\(logLevel.rawValue)",
            "http": "\(httpPort.map { "\(httpHost):\($0)" } ?? "off")",
        ]
    }
}
