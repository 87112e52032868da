import AMQP
import MinerIndex

/// Everything one miner-load run is told, already validated. Built from flags by `LoadOptions`, or directly by
/// tests.
public struct LoadConfiguration: Sendable {
    public enum Rate: Sendable, Hashable, CustomStringConvertible {
        /// The fleet's own pace: every miner once per report interval.
        case fleetPace
        /// The fleet's pace, but never more than this many messages a second in total.
        case capped(perSecond: Double)
        /// As fast as the broker confirms, within the outstanding window.
        case unlimited

        public var description: String {
            switch self {
            case .fleetPace: return "fleet pace"
            case .capped(let perSecond): return "\(perSecond)/s cap"
            case .unlimited: return "max"
            }
        }
    }

    public enum Length: Sendable, Hashable {
        case duration(Duration)
        /// Messages after registration: logs, malformed messages and lag probes.
        case count(Int)
    }

    public struct Churn: Sendable, Hashable {
        /// Share of the fleet that goes silent now and then.
        public var fraction: Double
        /// How long a churning miner stays silent each time; it then reports for as long again.
        public var silence: Duration

        public init(fraction: Double = 0.1, silence: Duration = .seconds(90)) {
            self.fraction = fraction
            self.silence = silence
        }
    }

    public struct Verification: Sendable, Hashable {
        public var timeout: Duration = .seconds(30)
        /// Must match the service's `--offline-after`, to know which silent miners it has expired.
        public var offlineAfter: Duration = .seconds(60)
        /// The service's expiry sweep period.
        public var sweepInterval: Duration = .seconds(1)
        public var asicIndexExchange = DefaultExchangeNames.asicIndex
        public var asicAggregatedExchange = DefaultExchangeNames.asicAggregatedIndex
        public var cpuGpuIndexExchange = DefaultExchangeNames.cpuGpuIndex
        public var cpuGpuAggregatedExchange = DefaultExchangeNames.cpuGpuAggregatedIndex
        /// The delta exchanges; nil names them after the full-index exchange, plus ".delta", as the service does.
        public var asicDeltaExchange: String?
        public var cpuGpuDeltaExchange: String?
        public var keyframeRequestExchange = DefaultExchangeNames.keyframeRequests
        /// Rebuild each kind's full index from keyframes and deltas during the run, and check at the end that it
        /// equals a fresh keyframe.
        public var checksRebuiltIndex = true
        /// How often a lag probe goes out at most; fewer at low rates, so probes stay under 5% of the traffic.
        public var probeInterval: Duration = .milliseconds(100)
        /// List every probe in the report (`probe_timeline`), to line recoveries up with faults.
        public var probeTimeline = false

        public init() {}

        public func aggregatedExchange(_ kind: MinerKind) -> String {
            kind == .asic ? asicAggregatedExchange : cpuGpuAggregatedExchange
        }

        public func indexExchange(_ kind: MinerKind) -> String {
            kind == .asic ? asicIndexExchange : cpuGpuIndexExchange
        }

        public func streamExchanges(_ kind: MinerKind) -> IndexStreamSubscriber.Exchanges {
            IndexStreamSubscriber.Exchanges(
                keyframe: indexExchange(kind), delta: kind == .asic ? asicDeltaExchange : cpuGpuDeltaExchange,
                keyframeRequests: keyframeRequestExchange)
        }
    }

    public var amqp: ConnectionSettings
    public var exchange = "miner_operational_logs"
    public var asicCount = 100
    public var cpuGpuCount = 50
    public var reportInterval: Duration = .seconds(5)
    public var register = false
    /// Share of registered miners upserted with `activated: false`, which the service must leave out.
    public var deactivatedFraction = 0.02
    public var churn: Churn?
    public var badFraction = 0.0
    public var rate: Rate = .fleetPace
    public var length: Length = .duration(.seconds(30))
    public var window = 1000
    public var persistent = false
    public var seed: UInt64 = 1
    public var connectTimeout: Duration = .seconds(5)
    /// How long to keep reconnecting after losing the broker mid-run before giving up.
    public var reconnectTimeout: Duration = .seconds(60)
    /// Reconnect pacing of the publisher and the --verify consumers: quick, since the run is waiting.
    public var reconnectBackoff = Backoff(initial: .milliseconds(250), maximum: .seconds(2))
    public var verification: Verification?

    public init(amqp: ConnectionSettings) {
        self.amqp = amqp
    }

    public func count(of kind: MinerKind) -> Int { kind == .asic ? asicCount : cpuGpuCount }

    /// Messages a second when every miner reports once per interval.
    public var fleetMessagesPerSecond: Double {
        Double(asicCount + cpuGpuCount) / reportInterval.secondsValue
    }

    /// Send slots a second; nil when unlimited.
    public var slotsPerSecond: Double? {
        switch rate {
        case .fleetPace: return fleetMessagesPerSecond
        case .capped(let perSecond): return min(perSecond, fleetMessagesPerSecond)
        case .unlimited: return nil
        }
    }
}
