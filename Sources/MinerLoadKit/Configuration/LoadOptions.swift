import AMQP
import ArgumentParser
import MinerIndex

/// The flags of `miner-load`. Durations are written like the service's: 500ms, 1s, 2m.
public struct LoadOptions: ParsableArguments, Sendable {
    @Option(help: "Broker URL, amqp:// or amqps://. (env: MINER_LOAD_AMQP_URL)")
    public var amqpUrl: String?

    @Option(help: "Input topic exchange of miner-index.")
    public var exchange = "miner_operational_logs"

    @Option(help: "Number of simulated ASIC miners.")
    public var asic = 100

    @Option(help: "Number of simulated CPU/GPU rigs.")
    public var cpuGpu = 50

    @Option(help: "How often each miner reports, spread evenly over the interval (e.g. 5s, 500ms).")
    public var reportInterval = "5s"

    @Flag(help: "Send an upsert for every miner before any log (about 2% of them deactivated).")
    public var register = false

    @Flag(help: "Make some miners go silent and come back.")
    public var churn = false

    @Option(help: "With --churn: share of the fleet that churns.")
    public var churnFraction = 0.1

    @Option(
        help:
            "With --churn: how long a churning miner stays silent each time (longer than the service's --offline-after makes it expire)."
    )
    public var churnSilence = "90s"

    @Option(help: "Share of messages sent malformed, e.g. 0.01 (they must be dead-lettered and change nothing).")
    public var badFraction = 0.0

    @Option(
        help:
            "Cap on messages per second, or 'max' to send as fast as the broker confirms. (default: the fleet's pace, miners ÷ report interval)"
    )
    public var rate: String?

    @Option(help: "How long to send, e.g. 30s or 2m. (default: 30s unless --count is given)")
    public var duration: String?

    @Option(help: "How many messages to send (logs, malformed messages and lag probes; not the --register upserts).")
    public var count: Int?

    @Option(help: "Publishes awaiting a broker confirm at most.")
    public var window = 1000

    @Flag(help: "Publish with delivery mode 2 (persistent).")
    public var persistent = false

    @Option(help: "Seed of the fleet simulation; the same seed gives the same fleet.")
    public var seed: UInt64 = 1

    @Option(help: "Give up if the broker cannot be reached within this time.")
    public var connectTimeout = "5s"

    @Option(
        help:
            "After losing the broker mid-run, keep reconnecting this long before giving up; publishes it did not confirm are sent again."
    )
    public var reconnectTimeout = "60s"

    @Flag(help: "Check the service's aggregated snapshots against the totals of what was sent, and measure lag.")
    public var verify = false

    @Option(help: "With --verify: how long to wait after sending for the snapshots to match.")
    public var verifyTimeout = "30s"

    @Option(help: "With --verify: the service's --offline-after, to know which silent miners it expired.")
    public var offlineAfter = "60s"

    @Flag(
        help:
            "With --verify: list every lag probe in the JSON summary, with when it was sent and when the first snapshot reflecting it arrived (seconds since 1970)."
    )
    public var probeTimeline = false

    @Option(help: "Fanout exchange of the full ASIC index.")
    public var asicIndexExchange = DefaultExchangeNames.asicIndex

    @Option(help: "Fanout exchange of the aggregated ASIC index.")
    public var asicAggregatedExchange = DefaultExchangeNames.asicAggregatedIndex

    @Option(help: "Fanout exchange of the full CPU/GPU index.")
    public var cpuGpuIndexExchange = DefaultExchangeNames.cpuGpuIndex

    @Option(help: "Fanout exchange of the aggregated CPU/GPU index.")
    public var cpuGpuAggregatedExchange = DefaultExchangeNames.cpuGpuAggregatedIndex

    @Option(
        help:
            "With --verify: the exchange the reference subscriber asks for keyframes on (its delta exchanges are the full-index exchanges' names + .delta)."
    )
    public var keyframeRequestExchange = DefaultExchangeNames.keyframeRequests

    @Flag(help: "No progress lines on stderr.")
    public var quiet = false

    @Flag(help: "Print the final summary as one JSON object.")
    public var json = false

    @Option(
        help: "Log level of the AMQP client's messages on stderr: trace, debug, info, notice, warning, error, critical."
    )
    public var logLevel = "warning"

    public init() {}

    public mutating func validate() throws {
        _ = try resolve(environment: [:])
    }

    public func resolve(environment: [String: String]) throws -> LoadConfiguration {
        let url =
            amqpUrl ?? environment["MINER_LOAD_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "amqp://guest:guest@127.0.0.1:5672/"
        var settings: ConnectionSettings
        do {
            settings = try ConnectionSettings(url: url)
        } catch {
            throw ValidationError("--amqp-url: \(error)")
        }
        settings.connectionName = "miner-load"
        var configuration = LoadConfiguration(amqp: settings)

        guard !exchange.isEmpty else { throw ValidationError("--exchange must not be empty") }
        configuration.exchange = exchange
        guard asic >= 0, cpuGpu >= 0 else { throw ValidationError("--asic and --cpu-gpu must not be negative") }
        guard asic + cpuGpu > 0 else {
            throw ValidationError("the fleet is empty: give --asic or --cpu-gpu at least 1")
        }
        guard asic <= 10_000_000, cpuGpu <= 10_000_000 else {
            throw ValidationError("at most 10,000,000 miners of each kind")
        }
        configuration.asicCount = asic
        configuration.cpuGpuCount = cpuGpu
        configuration.reportInterval = try Self.duration(reportInterval, flag: "--report-interval")
        configuration.register = register
        if churn {
            guard (0...1).contains(churnFraction) else {
                throw ValidationError("--churn-fraction must be between 0 and 1")
            }
            configuration.churn = .init(
                fraction: churnFraction, silence: try Self.duration(churnSilence, flag: "--churn-silence"))
        }
        guard badFraction >= 0, badFraction < 1 else {
            throw ValidationError("--bad-fraction must be at least 0 and below 1")
        }
        configuration.badFraction = badFraction
        if let rate {
            if rate.lowercased() == "max" {
                configuration.rate = .unlimited
            } else if let perSecond = Double(rate), perSecond.isFinite, perSecond > 0 {
                configuration.rate = .capped(perSecond: perSecond)
            } else {
                throw ValidationError("--rate: '\(rate)' is neither a positive number of messages per second nor 'max'")
            }
        }
        switch (duration, count) {
        case (.some, .some):
            throw ValidationError("give --duration or --count, not both")
        case (.some(let text), nil):
            configuration.length = .duration(try Self.duration(text, flag: "--duration"))
        case (nil, .some(let messages)):
            guard messages > 0 else { throw ValidationError("--count must be at least 1") }
            configuration.length = .count(messages)
        case (nil, nil):
            configuration.length = .duration(.seconds(30))
        }
        guard (1...65_535).contains(window) else { throw ValidationError("--window must be between 1 and 65535") }
        configuration.window = window
        configuration.persistent = persistent
        configuration.seed = seed
        configuration.connectTimeout = try Self.duration(connectTimeout, flag: "--connect-timeout")
        configuration.reconnectTimeout = try Self.duration(reconnectTimeout, flag: "--reconnect-timeout")
        if verify {
            var verification = LoadConfiguration.Verification()
            verification.timeout = try Self.duration(verifyTimeout, flag: "--verify-timeout")
            verification.offlineAfter = try Self.duration(offlineAfter, flag: "--offline-after")
            verification.probeTimeline = probeTimeline
            verification.asicIndexExchange = asicIndexExchange
            verification.asicAggregatedExchange = asicAggregatedExchange
            verification.cpuGpuIndexExchange = cpuGpuIndexExchange
            verification.cpuGpuAggregatedExchange = cpuGpuAggregatedExchange
            verification.keyframeRequestExchange = keyframeRequestExchange
            configuration.verification = verification
        }
        return configuration
    }

    private static func duration(_ text: String, flag: String) throws -> Duration {
        guard let parsed = DurationText.parse(text), parsed > .zero else {
            throw ValidationError("\(flag): '\(text)' is not a positive duration like 500ms, 1s or 2m")
        }
        return parsed
    }
}
