import AMQP
import ArgumentParser
import Foundation
import Logging
import MinerIndex
import MinerIndexStateStores

/// The command-line flags of `miner-index`. Each flag falls back to an environment variable named after it
/// (`--amqp-url` → `MINER_INDEX_AMQP_URL`), then to the default; a flag wins over its variable.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(help: "Broker URL, amqp:// or amqps://. (default: amqp://guest:guest@127.0.0.1:5672/, env: MINER_INDEX_AMQP_URL)")
    public var amqpUrl: String?

    @Option(help: "Unacknowledged deliveries the broker may send ahead. (default: 500, env: MINER_INDEX_PREFETCH)")
    public var prefetch: UInt16?

    @Option(help: "Input queue. (default: miner_index.operational_logs, env: MINER_INDEX_QUEUE)")
    public var queue: String?

    @Option(help: "classic or quorum. (default: classic, env: MINER_INDEX_QUEUE_TYPE)")
    public var queueType: String?

    @Option(help: "Quorum queues: after this many failed deliveries of one message, the broker dead-letters it; 0 leaves the queue without a limit. (default: 5, env: MINER_INDEX_DELIVERY_LIMIT)")
    public var deliveryLimit: Int?

    @Option(help: "Input topic exchange. (default: miner_operational_logs, env: MINER_INDEX_EXCHANGE)")
    public var exchange: String?

    @Option(help: "Fanout exchange for rejected messages. (default: miner_index.dead_letter, env: MINER_INDEX_DEAD_LETTER_EXCHANGE)")
    public var deadLetterExchange: String?

    @Option(help: "Queue bound to the dead-letter exchange. (default: miner_index.dead_letter, env: MINER_INDEX_DEAD_LETTER_QUEUE)")
    public var deadLetterQueue: String?

    @Option(help: "Fanout exchange for the full ASIC index. (default: asic_miner_index, env: MINER_INDEX_ASIC_INDEX_EXCHANGE)")
    public var asicIndexExchange: String?

    @Option(help: "Fanout exchange for the ASIC aggregates. (default: asic_miner_aggregated_index, env: MINER_INDEX_ASIC_AGGREGATED_EXCHANGE)")
    public var asicAggregatedExchange: String?

    @Option(help: "Fanout exchange for the full CPU/GPU index. (default: cpu_gpu_miner_index, env: MINER_INDEX_CPU_GPU_INDEX_EXCHANGE)")
    public var cpuGpuIndexExchange: String?

    @Option(help: "Fanout exchange for the CPU/GPU aggregates. (default: cpu_gpu_miner_aggregated_index, env: MINER_INDEX_CPU_GPU_AGGREGATED_EXCHANGE)")
    public var cpuGpuAggregatedExchange: String?

    @Option(help: "Fanout exchange for the ASIC deltas. (default: the ASIC index exchange's name + .delta, env: MINER_INDEX_ASIC_DELTA_EXCHANGE)")
    public var asicDeltaExchange: String?

    @Option(help: "Fanout exchange for the CPU/GPU deltas. (default: the CPU/GPU index exchange's name + .delta, env: MINER_INDEX_CPU_GPU_DELTA_EXCHANGE)")
    public var cpuGpuDeltaExchange: String?

    @Option(help: "Fanout exchange subscribers ask for keyframes on. (default: miner_index.keyframe_requests, env: MINER_INDEX_KEYFRAME_REQUEST_EXCHANGE)")
    public var keyframeRequestExchange: String?

    @Option(help: "Publish a full index (keyframe) this often; deltas go out every broadcast interval. (default: 30s, env: MINER_INDEX_KEYFRAME_INTERVAL)")
    public var keyframeInterval: String?

    @Option(help: "Largest keyframe or delta message, in bytes; larger ones are split into parts. (default: 16777216, env: MINER_INDEX_MAX_MESSAGE_BYTES)")
    public var maxMessageBytes: Int?

    @Option(help: "Use single-active-consumer on the input queue, for standby instances. (default: false, env: MINER_INDEX_SINGLE_ACTIVE_CONSUMER)")
    public var singleActiveConsumer: Bool?

    @Option(help: "At most one snapshot per exchange per interval, e.g. 500ms, 1s. (default: 1s, env: MINER_INDEX_BROADCAST_INTERVAL)")
    public var broadcastInterval: String?

    @Option(help: "Republish unchanged snapshots this often. (default: 10s, env: MINER_INDEX_IDLE_BROADCAST_INTERVAL)")
    public var idleBroadcastInterval: String?

    @Option(help: "While ingest is behind the queue, build the full indexes at most this often. (default: 5s, env: MINER_INDEX_FULL_INDEX_BACKLOG_INTERVAL)")
    public var fullIndexBacklogInterval: String?

    @Option(help: "A miner silent this long is offline and leaves the index. (default: 60s, env: MINER_INDEX_OFFLINE_AFTER)")
    public var offlineAfter: String?

    @Option(help: "A live miner silent this long counts as stale, not online, in status_counts. (default: 20s, env: MINER_INDEX_STALE_AFTER)")
    public var staleAfter: String?

    @Option(help: "Recent logs kept per ASIC. (default: 60, env: MINER_INDEX_HISTORY_LIMIT)")
    public var historyLimit: Int?

    @Option(help: "Largest message body accepted, in bytes. (default: 65536, env: MINER_INDEX_MAX_BODY_BYTES)")
    public var maxBodyBytes: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info, env: MINER_INDEX_LOG_LEVEL)")
    public var logLevel: String?

    @Option(help: "HTTP listen address. (default: 127.0.0.1, env: MINER_INDEX_HTTP_HOST)")
    public var httpHost: String?

    @Option(help: "HTTP port for health, metrics and the read API; 0 picks a free port. (default: 8080, env: MINER_INDEX_HTTP_PORT)")
    public var httpPort: Int?

    @Option(help: "Where the index survives restarts: an SQLite file, a postgres:// URL shared by a leader and its standbys, or 'none' to keep everything in memory. (default: miner-index.sqlite, env: MINER_INDEX_STATE)")
    public var state: String?

    @Option(help: "With a postgres:// state: how often a standby reads what the leader wrote. (default: 1s, env: MINER_INDEX_STANDBY_REFRESH_INTERVAL)")
    public var standbyRefreshInterval: String?

    @Option(help: "With a postgres:// state: how long the leader's lock outlives its last sign of life. (default: 10s, env: MINER_INDEX_LEADER_LEASE)")
    public var leaderLease: String?

    @Option(help: "Registered miners per kind at most; a log or upsert for a new id beyond it is dead-lettered. (default: 1000000, env: MINER_INDEX_MAX_MINERS)")
    public var maxMiners: Int?

    @Option(help: "Write changed logs to the state store at least this often. (default: 1s, env: MINER_INDEX_CHECKPOINT_INTERVAL)")
    public var checkpointInterval: String?

    @Option(help: "Bearer token the /v1 read API requires; prefer --http-token-file, since flags show in ps. (default: none, env: MINER_INDEX_HTTP_TOKEN)")
    public var httpToken: String?

    @Option(help: "File holding the read API's bearer token, e.g. a container secret; trailing whitespace is ignored. (default: none, env: MINER_INDEX_HTTP_TOKEN_FILE)")
    public var httpTokenFile: String?

    public init() {}

    public struct InvalidValue: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies flags over environment variables over defaults, and checks every value.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ServiceConfiguration
    {
        func value(_ flag: String?, _ name: String) -> (text: String, source: String)? {
            if let flag { return (flag, "--\(name)") }
            let variable = "MINER_INDEX_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            if let text = environment[variable], !text.isEmpty { return (text, variable) }
            return nil
        }
        func duration(_ flag: String?, _ name: String) throws -> Duration? {
            guard let (text, source) = value(flag, name) else { return nil }
            guard let parsed = DurationText.parse(text), parsed > .zero else {
                throw InvalidValue(description: "\(source): '\(text)' is not a duration like 500ms, 1s or 2m")
            }
            return parsed
        }
        func integer<Number: FixedWidthInteger>(_ flag: Number?, _ name: String, _: Number.Type) throws -> Number? {
            if let flag { return flag }
            guard let (text, source) = value(nil, name) else { return nil }
            guard let parsed = Number(text) else {
                throw InvalidValue(description: "\(source): '\(text)' is not a whole number in range")
            }
            return parsed
        }

        let url = value(amqpUrl, "amqp-url")?.text ?? "amqp://guest:guest@127.0.0.1:5672/"
        var amqp = try ConnectionSettings(url: url)
        amqp.connectionName = "miner-index"
        // A broker notices a vanished host after two missed heartbeats: 5 s makes that about 10 s (a standby
        // takes over no later), where rabbitmq-c's 30 s made it a minute. A `heartbeat` in the URL wins.
        if !url.lowercased().contains("heartbeat=") { amqp.heartbeat = .seconds(5) }
        var configuration = ServiceConfiguration(amqp: amqp)

        if let prefetch = try integer(prefetch, "prefetch", UInt16.self) {
            guard prefetch > 0 else { throw InvalidValue(description: "prefetch must be at least 1") }
            configuration.prefetch = prefetch
        }
        if let queue = value(queue, "queue")?.text { configuration.queue = queue }
        if let (text, source) = value(queueType, "queue-type") {
            guard let type = ServiceConfiguration.QueueType(rawValue: text.lowercased()) else {
                throw InvalidValue(description: "\(source): '\(text)' is not classic or quorum")
            }
            configuration.queueType = type
        }
        if let limit = try integer(deliveryLimit, "delivery-limit", Int.self) {
            guard limit >= 0 else { throw InvalidValue(description: "delivery-limit must be 0 (none) or more") }
            configuration.deliveryLimit = limit == 0 ? nil : limit
        }
        if let exchange = value(exchange, "exchange")?.text { configuration.inputExchange = exchange }
        if let name = value(deadLetterExchange, "dead-letter-exchange")?.text { configuration.deadLetterExchange = name }
        if let name = value(deadLetterQueue, "dead-letter-queue")?.text { configuration.deadLetterQueue = name }
        if let name = value(asicIndexExchange, "asic-index-exchange")?.text {
            configuration.outputExchanges.asicIndex = name
        }
        if let name = value(asicAggregatedExchange, "asic-aggregated-exchange")?.text {
            configuration.outputExchanges.asicAggregatedIndex = name
        }
        if let name = value(cpuGpuIndexExchange, "cpu-gpu-index-exchange")?.text {
            configuration.outputExchanges.cpuGpuIndex = name
        }
        if let name = value(cpuGpuAggregatedExchange, "cpu-gpu-aggregated-exchange")?.text {
            configuration.outputExchanges.cpuGpuAggregatedIndex = name
        }
        if let name = value(asicDeltaExchange, "asic-delta-exchange")?.text {
            configuration.outputExchanges.asicDelta = name
        }
        if let name = value(cpuGpuDeltaExchange, "cpu-gpu-delta-exchange")?.text {
            configuration.outputExchanges.cpuGpuDelta = name
        }
        if let name = value(keyframeRequestExchange, "keyframe-request-exchange")?.text {
            configuration.outputExchanges.keyframeRequests = name
        }
        if let interval = try duration(keyframeInterval, "keyframe-interval") {
            configuration.keyframeInterval = interval
        }
        if let limit = try integer(maxMessageBytes, "max-message-bytes", Int.self) {
            guard limit >= 4096 else { throw InvalidValue(description: "max-message-bytes must be at least 4096") }
            configuration.maxMessageBytes = limit
        }
        if let flag = singleActiveConsumer {
            configuration.singleActiveConsumer = flag
        } else if let (text, source) = value(nil, "single-active-consumer") {
            guard let flag = Bool(text.lowercased()) else {
                throw InvalidValue(description: "\(source): '\(text)' is not true or false")
            }
            configuration.singleActiveConsumer = flag
        }
        if let interval = try duration(broadcastInterval, "broadcast-interval") {
            configuration.broadcastInterval = interval
        }
        if let interval = try duration(idleBroadcastInterval, "idle-broadcast-interval") {
            configuration.idleBroadcastInterval = interval
        }
        if let interval = try duration(fullIndexBacklogInterval, "full-index-backlog-interval") {
            configuration.fullIndexBacklogInterval = interval
        }
        if let offline = try duration(offlineAfter, "offline-after") { configuration.offlineAfter = offline }
        if let stale = try duration(staleAfter, "stale-after") { configuration.staleAfter = stale }
        if let limit = try integer(historyLimit, "history-limit", Int.self) {
            guard limit > 0 else { throw InvalidValue(description: "history-limit must be at least 1") }
            configuration.historyLimit = limit
        }
        if let limit = try integer(maxBodyBytes, "max-body-bytes", Int.self) {
            guard limit > 0 else { throw InvalidValue(description: "max-body-bytes must be at least 1") }
            configuration.maxBodyBytes = limit
        }
        if let (text, source) = value(logLevel, "log-level") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw InvalidValue(description: "\(source): '\(text)' is not a log level")
            }
            configuration.logLevel = level
        }
        if let host = value(httpHost, "http-host")?.text { configuration.httpHost = host }
        if let port = try integer(httpPort, "http-port", Int.self) {
            guard (0...65535).contains(port) else { throw InvalidValue(description: "http-port must be 0…65535") }
            configuration.httpPort = port
        }
        let stateText = value(state, "state")?.text ?? "miner-index.sqlite"
        do {
            configuration.state = try StateLocation(parsing: stateText)
        } catch {
            throw InvalidValue(description: "--state: \(error.message)")
        }
        if configuration.state.isShared {
            // Standbys share the queue: single-active-consumer on a quorum queue is the broker's guard that two
            // instances never take deliveries at once, whatever they believe about the lock.
            if value(queueType, "queue-type") == nil { configuration.queueType = .quorum }
            if singleActiveConsumer == nil, value(nil, "single-active-consumer") == nil {
                configuration.singleActiveConsumer = true
            }
        }
        if let interval = try duration(standbyRefreshInterval, "standby-refresh-interval") {
            configuration.standbyRefreshInterval = interval
        }
        if let lease = try duration(leaderLease, "leader-lease") { configuration.leaderLease = lease }
        if let limit = try integer(maxMiners, "max-miners", Int.self) {
            guard limit > 0 else { throw InvalidValue(description: "max-miners must be at least 1") }
            configuration.maxMiners = limit
        }
        if let interval = try duration(checkpointInterval, "checkpoint-interval") {
            configuration.checkpointInterval = interval
        }
        configuration.httpToken = try token(
            text: value(httpToken, "http-token"), file: value(httpTokenFile, "http-token-file"))
        return configuration
    }

    /// The read API's token from its text or its file; errors name where it came from, never what it is.
    private func token(text: (text: String, source: String)?, file: (text: String, source: String)?) throws
        -> HTTPToken?
    {
        if let text, let file {
            throw InvalidValue(description: "\(text.source) and \(file.source) are both set; set one of them")
        }
        if let text {
            guard let token = HTTPToken(text.text) else { throw InvalidValue(description: "\(text.source) is empty") }
            return token
        }
        guard let file else { return nil }
        guard let contents = FileManager.default.contents(atPath: file.text) else {
            throw InvalidValue(description: "\(file.source): cannot read '\(file.text)'")
        }
        let secret = String(decoding: contents, as: UTF8.self)
        let trimmed = String(secret.reversed().drop(while: \.isWhitespace).reversed())
        guard let token = HTTPToken(trimmed) else {
            throw InvalidValue(description: "\(file.source): '\(file.text)' holds no token")
        }
        return token
    }
}
