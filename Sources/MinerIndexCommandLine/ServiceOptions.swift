import AMQP
import ArgumentParser
import Foundation
import Logging
import MinerIndex
import MinerIndexService
import MinerIndexStateStores

/// The command-line flags of `miner-index`. Each flag falls back to an environment variable named after it
/// (`--amqp-url` → `MINER_INDEX_AMQP_URL`), then to the default; a flag wins over its variable.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(help: .documented("Broker URL, amqp:// or amqps://.", "amqp-url", defaultAMQPURL))
    public var amqpUrl: String?

    @Option(
        help: .documented("Unacknowledged deliveries the broker may send ahead.", "prefetch", "\(defaults.prefetch)"))
    public var prefetch: UInt16?

    @Option(help: .documented("Input queue.", "queue", defaults.queue))
    public var queue: String?

    @Option(help: .documented("classic or quorum.", "queue-type", defaults.queueType.rawValue))
    public var queueType: String?

    @Option(
        help: .documented(
            "Quorum queues: after this many failed deliveries of one message, the broker dead-letters it; 0 leaves the queue without a limit.",
            "delivery-limit", "\(defaults.deliveryLimit ?? 0)"))
    public var deliveryLimit: Int?

    @Option(help: .documented("Input topic exchange.", "exchange", defaults.inputExchange))
    public var exchange: String?

    @Option(
        help: .documented("Fanout exchange for rejected messages.", "dead-letter-exchange", defaults.deadLetterExchange)
    )
    public var deadLetterExchange: String?

    @Option(
        help: .documented("Queue bound to the dead-letter exchange.", "dead-letter-queue", defaults.deadLetterQueue))
    public var deadLetterQueue: String?

    @Option(
        help: .documented(
            "Fanout exchange for the full ASIC index.", "asic-index-exchange", defaults.outputExchanges.asicIndex))
    public var asicIndexExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange for the ASIC aggregates.", "asic-aggregated-exchange",
            defaults.outputExchanges.asicAggregatedIndex))
    public var asicAggregatedExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange for the full CPU/GPU index.", "cpu-gpu-index-exchange",
            defaults.outputExchanges.cpuGpuIndex))
    public var cpuGpuIndexExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange for the CPU/GPU aggregates.", "cpu-gpu-aggregated-exchange",
            defaults.outputExchanges.cpuGpuAggregatedIndex))
    public var cpuGpuAggregatedExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange for the ASIC deltas.", "asic-delta-exchange", "the ASIC index exchange's name + .delta"))
    public var asicDeltaExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange for the CPU/GPU deltas.", "cpu-gpu-delta-exchange",
            "the CPU/GPU index exchange's name + .delta"))
    public var cpuGpuDeltaExchange: String?

    @Option(
        help: .documented(
            "Fanout exchange subscribers ask for keyframes on.", "keyframe-request-exchange",
            defaults.outputExchanges.keyframeRequests))
    public var keyframeRequestExchange: String?

    @Option(
        help: .documented(
            "Publish a full index (keyframe) this often; deltas go out every broadcast interval.", "keyframe-interval",
            format(defaults.keyframeInterval)))
    public var keyframeInterval: String?

    @Option(
        help: .documented(
            "Largest keyframe or delta message, in bytes; larger ones are split into parts.", "max-message-bytes",
            "\(defaults.maxMessageBytes)"))
    public var maxMessageBytes: Int?

    @Option(
        help: .documented(
            "Use single-active-consumer on the input queue, for standby instances.", "single-active-consumer",
            "\(defaults.singleActiveConsumer)"))
    public var singleActiveConsumer: Bool?

    @Option(
        help: .documented(
            "At most one snapshot per exchange per interval, e.g. 500ms, 1s.", "broadcast-interval",
            format(defaults.broadcastInterval)))
    public var broadcastInterval: String?

    @Option(
        help: .documented(
            "Republish unchanged snapshots this often.", "idle-broadcast-interval",
            format(defaults.idleBroadcastInterval)))
    public var idleBroadcastInterval: String?

    @Option(
        help: .documented(
            "While ingest is behind the queue, build the full indexes at most this often.",
            "full-index-backlog-interval", format(defaults.fullIndexBacklogInterval)))
    public var fullIndexBacklogInterval: String?

    @Option(
        help: .documented(
            "A miner silent this long is offline and leaves the index.", "offline-after", format(defaults.offlineAfter))
    )
    public var offlineAfter: String?

    @Option(
        help: .documented(
            "A live miner silent this long counts as stale, not online, in status_counts.", "stale-after",
            format(defaults.staleAfter)))
    public var staleAfter: String?

    @Option(help: .documented("Recent logs kept per ASIC.", "history-limit", "\(defaults.historyLimit)"))
    public var historyLimit: Int?

    @Option(help: .documented("Largest message body accepted, in bytes.", "max-body-bytes", "\(defaults.maxBodyBytes)"))
    public var maxBodyBytes: Int?

    @Option(
        help: .documented(
            "trace, debug, info, notice, warning, error or critical.", "log-level", defaults.logLevel.rawValue))
    public var logLevel: String?

    @Option(help: .documented("HTTP listen address.", "http-host", defaults.httpHost))
    public var httpHost: String?

    @Option(
        help: .documented(
            "HTTP port for health, metrics and the read API; 0 picks a free port.", "http-port",
            defaults.httpPort.map(String.init) ?? "off"))
    public var httpPort: Int?

    @Option(
        help: .documented(
            "Where the index survives restarts: an SQLite file, a postgres:// URL shared by a leader and its standbys, or 'none' to keep everything in memory.",
            "state", defaultState))
    public var state: String?

    @Option(
        help: .documented(
            "With a postgres:// state: how often a standby reads what the leader wrote.", "standby-refresh-interval",
            format(defaults.standbyRefreshInterval)))
    public var standbyRefreshInterval: String?

    @Option(
        help: .documented(
            "With a postgres:// state: how long the leader's lock outlives its last sign of life.", "leader-lease",
            format(defaults.leaderLease)))
    public var leaderLease: String?

    @Option(
        help: .documented(
            "Registered miners per kind at most; a log or upsert for a new id beyond it is dead-lettered.",
            "max-miners", "\(defaults.maxMiners)"))
    public var maxMiners: Int?

    @Option(
        help: .documented(
            "Write changed logs to the state store at least this often.", "checkpoint-interval",
            format(defaults.checkpointInterval)))
    public var checkpointInterval: String?

    @Option(
        help: .documented(
            "Bearer token the /v1 read API requires; prefer --http-token-file, since flags show in ps.", "http-token",
            "none"))
    public var httpToken: String?

    @Option(
        help: .documented(
            "File holding the read API's bearer token, e.g. a container secret; trailing whitespace is ignored.",
            "http-token-file", "none"))
    public var httpTokenFile: String?

    @Option(
        help: .documented(
            "Distinct values of each label of the fleet gauges on /metrics (pools, models, coins); the rest are summed under 'other'.",
            "metrics-max-label-values", "\(defaults.metricsMaxLabelValues)"))
    public var metricsMaxLabelValues: Int?

    public init() {}

    /// The defaults `--help` shows: those of `ServiceConfiguration`, where each is written once with its doc, and
    /// the two that differ for the executable.
    static let defaults = ServiceConfiguration(amqp: ConnectionSettings())
    static let defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
    static let defaultState = "miner-index.sqlite"
    /// A broker notices a vanished host after two missed heartbeats: 5 s makes that about 10 s (a standby takes
    /// over no later), where rabbitmq-c's 30 s made it a minute. A `heartbeat` in the URL wins.
    static let defaultHeartbeat = Duration.seconds(5)

    static func environmentVariable(_ flag: String) -> String {
        "MINER_INDEX_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    private static func format(_ duration: Duration) -> String { DurationText.format(duration) }

    public struct InvalidValue: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies flags over environment variables over defaults, and checks every value.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ServiceConfiguration
    {
        func value(_ flag: String?, _ name: String) -> (text: String, source: String)? {
            if let flag { return (flag, "--\(name)") }
            if let text = environment[Self.environmentVariable(name)], !text.isEmpty {
                return (text, Self.environmentVariable(name))
            }
            return nil
        }
        func duration(_ flag: String?, _ name: String) throws -> Duration? {
            guard let (text, source) = value(flag, name) else { return nil }
            guard let parsed = DurationText.parse(text), parsed > .zero else {
                throw InvalidValue(description: "\(source): '\(text)' is not a duration like 500ms, 1s or 2m")
            }
            return parsed
        }
        func integer<Number: FixedWidthInteger>(_ flag: Number?, _ name: String, atLeast minimum: Number) throws
            -> Number?
        {
            var number = flag
            if number == nil, let (text, source) = value(nil, name) {
                guard let parsed = Number(text) else {
                    throw InvalidValue(description: "\(source): '\(text)' is not a whole number in range")
                }
                number = parsed
            }
            if let number, number < minimum { throw InvalidValue(description: "\(name) must be at least \(minimum)") }
            return number
        }
        func choice<Choice>(_ flag: String?, _ name: String, _ parse: (String) -> Choice?, _ expected: String) throws
            -> Choice?
        {
            guard let (text, source) = value(flag, name) else { return nil }
            guard let parsed = parse(text.lowercased()) else {
                throw InvalidValue(description: "\(source): '\(text)' is not \(expected)")
            }
            return parsed
        }

        let url = value(amqpUrl, "amqp-url")?.text ?? Self.defaultAMQPURL
        var amqp = try ConnectionSettings(url: url, defaultHeartbeat: Self.defaultHeartbeat)
        amqp.connectionName = "miner-index"
        var configuration = ServiceConfiguration(amqp: amqp)
        func text(_ keyPath: WritableKeyPath<ServiceConfiguration, String>, _ flag: String?, _ name: String) {
            if let text = value(flag, name)?.text { configuration[keyPath: keyPath] = text }
        }
        func duration(_ keyPath: WritableKeyPath<ServiceConfiguration, Duration>, _ flag: String?, _ name: String)
            throws
        {
            if let duration = try duration(flag, name) { configuration[keyPath: keyPath] = duration }
        }
        func count(_ keyPath: WritableKeyPath<ServiceConfiguration, Int>, _ flag: Int?, _ name: String, atLeast: Int)
            throws
        {
            if let number = try integer(flag, name, atLeast: atLeast) { configuration[keyPath: keyPath] = number }
        }

        if let prefetch = try integer(prefetch, "prefetch", atLeast: 1) { configuration.prefetch = prefetch }
        text(\.queue, queue, "queue")
        let queueType = try choice(
            queueType, "queue-type", { ServiceConfiguration.QueueType(rawValue: $0) }, "classic or quorum")
        if let queueType { configuration.queueType = queueType }
        if let limit = try integer(deliveryLimit, "delivery-limit", atLeast: 0) {
            configuration.deliveryLimit = limit == 0 ? nil : limit
        }
        text(\.inputExchange, exchange, "exchange")
        text(\.deadLetterExchange, deadLetterExchange, "dead-letter-exchange")
        text(\.deadLetterQueue, deadLetterQueue, "dead-letter-queue")
        text(\.outputExchanges.asicIndex, asicIndexExchange, "asic-index-exchange")
        text(\.outputExchanges.asicAggregatedIndex, asicAggregatedExchange, "asic-aggregated-exchange")
        text(\.outputExchanges.cpuGpuIndex, cpuGpuIndexExchange, "cpu-gpu-index-exchange")
        text(\.outputExchanges.cpuGpuAggregatedIndex, cpuGpuAggregatedExchange, "cpu-gpu-aggregated-exchange")
        if let name = value(asicDeltaExchange, "asic-delta-exchange")?.text {
            configuration.outputExchanges.asicDelta = name
        }
        if let name = value(cpuGpuDeltaExchange, "cpu-gpu-delta-exchange")?.text {
            configuration.outputExchanges.cpuGpuDelta = name
        }
        text(\.outputExchanges.keyframeRequests, keyframeRequestExchange, "keyframe-request-exchange")
        try duration(\.keyframeInterval, keyframeInterval, "keyframe-interval")
        try count(\.maxMessageBytes, maxMessageBytes, "max-message-bytes", atLeast: 4096)
        let singleActive = try choice(
            singleActiveConsumer.map(String.init), "single-active-consumer", Bool.init, "true or false")
        if let singleActive { configuration.singleActiveConsumer = singleActive }
        try duration(\.broadcastInterval, broadcastInterval, "broadcast-interval")
        try duration(\.idleBroadcastInterval, idleBroadcastInterval, "idle-broadcast-interval")
        try duration(\.fullIndexBacklogInterval, fullIndexBacklogInterval, "full-index-backlog-interval")
        try duration(\.offlineAfter, offlineAfter, "offline-after")
        try duration(\.staleAfter, staleAfter, "stale-after")
        try count(\.historyLimit, historyLimit, "history-limit", atLeast: 1)
        try count(\.maxBodyBytes, maxBodyBytes, "max-body-bytes", atLeast: 1)
        if let level = try choice(logLevel, "log-level", { Logger.Level(rawValue: $0) }, "a log level") {
            configuration.logLevel = level
        }
        text(\.httpHost, httpHost, "http-host")
        if let port = try integer(httpPort, "http-port", atLeast: 0) {
            guard port <= 65535 else { throw InvalidValue(description: "http-port must be 0…65535") }
            configuration.httpPort = port
        }
        do {
            configuration.state = try StateLocation(parsing: value(state, "state")?.text ?? Self.defaultState)
        } catch {
            throw InvalidValue(description: "--state: \(error.message)")
        }
        if configuration.state.isShared {
            // Standbys share the queue: single-active-consumer on a quorum queue is the broker's guard that two
            // instances never take deliveries at once, whatever they believe about the lock.
            if queueType == nil { configuration.queueType = .quorum }
            if singleActive == nil { configuration.singleActiveConsumer = true }
        }
        try duration(\.standbyRefreshInterval, standbyRefreshInterval, "standby-refresh-interval")
        try duration(\.leaderLease, leaderLease, "leader-lease")
        try count(\.maxMiners, maxMiners, "max-miners", atLeast: 1)
        try duration(\.checkpointInterval, checkpointInterval, "checkpoint-interval")
        try count(\.metricsMaxLabelValues, metricsMaxLabelValues, "metrics-max-label-values", atLeast: 2)
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

extension ArgumentHelp {
    /// What `--help` says of a flag: what it does, its default and its environment variable.
    static func documented(_ text: String, _ flag: String, _ value: String) -> ArgumentHelp {
        ArgumentHelp("\(text) (default: \(value), env: \(ServiceOptions.environmentVariable(flag)))")
    }
}
