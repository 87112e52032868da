import MinerIndex
import Prometheus
import Synchronization

/// The fleet's figures as Prometheus gauges, set at scrape time from the aggregated indexes the actors keep: a
/// scrape costs the number of coins, pools and models, never the number of miners, and its values are those of the
/// aggregated payload at the versions it read.
///
/// Each label has at most `maxLabelValues` values: beyond that, the heaviest `maxLabelValues - 1` keep their own
/// (by miners for pools and models, by hashrate for coins; ties by name) and the rest are summed under `other`.
public enum FleetMetrics {
    /// What one scrape reads.
    public struct Reading: Sendable {
        public var asic: VersionedAggregate
        public var cpuGpu: VersionedAggregate
        public var role: MinerIndexService.Role
        public var ready: Bool
        public var leaderEpoch: Int64?
        public var maxLabelValues: Int

        public init(
            asic: VersionedAggregate, cpuGpu: VersionedAggregate, role: MinerIndexService.Role, ready: Bool,
            leaderEpoch: Int64?, maxLabelValues: Int
        ) {
            self.asic = asic
            self.cpuGpu = cpuGpu
            self.role = role
            self.ready = ready
            self.leaderEpoch = leaderEpoch
            self.maxLabelValues = maxLabelValues
        }
    }

    /// The label value that stands for every value beyond the cap.
    public static let otherLabel = "other"

    /// Every series of one scrape, with its value.
    static func values(_ reading: Reading) -> GaugeSet {
        var gauges = GaugeSet()
        serviceState(reading, into: &gauges)
        for (kind, current) in [(MinerKind.asic, reading.asic), (.cpuGpu, reading.cpuGpu)] {
            kindFigures(kind, current.aggregate, limit: reading.maxLabelValues, into: &gauges)
        }
        asicOnlyFigures(reading.asic.aggregate, limit: reading.maxLabelValues, into: &gauges)
        return gauges
    }

    private static func serviceState(_ reading: Reading, into gauges: inout GaugeSet) {
        gauges.set(.ready, [], reading.ready ? 1 : 0)
        for role in [MinerIndexService.Role.restoring, .standby, .leader] {
            gauges.set(.role, [("role", label(role))], reading.role == role ? 1 : 0)
        }
        if let epoch = reading.leaderEpoch { gauges.set(.leaderEpoch, [], Double(epoch)) }
        gauges.set(.indexVersion, [("kind", MinerKind.asic.messagePrefix)], Double(reading.asic.version))
        gauges.set(.indexVersion, [("kind", MinerKind.cpuGpu.messagePrefix)], Double(reading.cpuGpu.version))
    }

    private static func kindFigures(
        _ kind: MinerKind, _ aggregate: MinerAggregate, limit: Int, into gauges: inout GaugeSet
    ) {
        let kindLabel = ("kind", kind.messagePrefix)
        let coins = LabelCap(aggregate.coinHashrates.mapValues(\.hashesPerSecond), limit: limit)
        for (coin, hashrate) in aggregate.coinHashrates {
            gauges.add(.hashrate, [kindLabel, ("coin", coins.label(coin))], hashrate.hashesPerSecond)
        }
        gauges.set(.power, [kindLabel], aggregate.totalPower)
        let status = aggregate.health.statusCounts
        for (name, count) in [
            ("online", status.online), ("stale", status.stale), ("offline", status.offline),
            ("disabled", status.disabled),
        ] {
            gauges.set(.miners, [kindLabel, ("status", name)], Double(count))
        }
        let thermal = aggregate.health.thermal
        if let maximum = thermal.maxTemperature { gauges.set(.temperature, [kindLabel, ("stat", "max")], maximum) }
        if let average = thermal.averageTemperature {
            gauges.set(.temperature, [kindLabel, ("stat", "avg")], average)
        }
        gauges.set(.fansStopped, [kindLabel], Double(thermal.fansStopped))
    }

    /// Per-coin power and efficiency, pools, models and expected miners: figures only ASICs report.
    private static func asicOnlyFigures(_ aggregate: MinerAggregate, limit: Int, into gauges: inout GaugeSet) {
        let health = aggregate.health
        var coinWeights = health.coinPower.mapValues { _ in 0.0 }
        coinWeights.merge(aggregate.coinHashrates.mapValues(\.hashesPerSecond)) { $1 }
        let coins = LabelCap(coinWeights, limit: limit)
        for (coin, watts) in health.coinPower {
            gauges.add(.coinPower, [("coin", coins.label(coin))], watts)
        }
        // Efficiency is a ratio, so a group of coins gets its summed power over its summed hashrate, over the
        // coins the payload gives an efficiency (power, and a hashrate that shows as more than 0).
        var efficiencyTerms: [String: (watts: Double, hashesPerSecond: Double)] = [:]
        for coin in aggregate.coinEfficiencies.keys.sorted() {
            guard let watts = health.coinPower[coin], let hashrate = aggregate.coinHashrates[coin] else { continue }
            let group = coins.label(coin)
            let sum = efficiencyTerms[group] ?? (0, 0)
            efficiencyTerms[group] = (sum.watts + watts, sum.hashesPerSecond + hashrate.hashesPerSecond)
        }
        for (group, sum) in efficiencyTerms where sum.hashesPerSecond > 0 {
            gauges.set(.efficiency, [("coin", group)], sum.watts / sum.hashesPerSecond)
        }

        let pools = LabelCap(health.pools.mapValues { Double($0.miners) }, limit: limit)
        for (address, pool) in health.pools {
            let label = ("pool", pools.label(address))
            gauges.add(.poolShares, [label, ("result", "accepted")], pool.accepted)
            gauges.add(.poolShares, [label, ("result", "rejected")], pool.rejected)
            gauges.add(.poolMiners, [label], Double(pool.miners))
        }

        let models = LabelCap(health.models.mapValues { Double($0.registeredCount) }, limit: limit)
        for (name, model) in health.models {
            let label = ("model", models.label(name))
            gauges.add(.modelMiners, [label, ("status", "alive")], Double(model.liveCount))
            gauges.add(.modelMiners, [label, ("status", "offline")], Double(model.registeredCount - model.liveCount))
        }
        gauges.set(.expectedMissing, [], Double(health.expectedMissing.count))
    }

    private static func label(_ role: MinerIndexService.Role) -> String {
        switch role {
        case .restoring: "restoring"
        case .standby: "standby"
        case .leader: "leader"
        }
    }
}

/// The gauges of one scrape: each one's name and help text.
enum FleetGauge: String, CaseIterable {
    case ready = "miner_index_ready"
    case role = "miner_index_role"
    case leaderEpoch = "miner_index_leader_epoch"
    case indexVersion = "miner_index_index_version"
    case hashrate = "miner_index_fleet_hashrate_hashes_per_second"
    case power = "miner_index_fleet_power_watts"
    case coinPower = "miner_index_fleet_coin_power_watts"
    case efficiency = "miner_index_fleet_efficiency_joules_per_hash"
    case miners = "miner_index_fleet_miners"
    case temperature = "miner_index_fleet_temperature_celsius"
    case fansStopped = "miner_index_fleet_fans_stopped"
    case poolShares = "miner_index_fleet_pool_shares"
    case poolMiners = "miner_index_fleet_pool_miners"
    case modelMiners = "miner_index_fleet_model_miners"
    case expectedMissing = "miner_index_fleet_expected_missing"

    var help: String {
        switch self {
        case .ready: "1 when /readyz answers 200: a leader consuming, or a standby following its leader."
        case .role: "1 for this instance's role (restoring, standby or leader), 0 for the others."
        case .leaderEpoch: "The leader epoch this instance publishes under or follows, with a state store."
        case .indexVersion: "The index version the fleet gauges of this scrape were read at, by kind."
        case .hashrate: "Summed hashrate of the live activated miners, by kind and coin."
        case .power: "Summed power of the live activated miners, by kind."
        case .coinPower: "Summed power of the live activated ASIC miners, by coin."
        case .efficiency: "Power over hashrate, by coin (ASIC miners)."
        case .miners: "Miners by kind and status: online, stale (no log for --stale-after), offline, disabled."
        case .temperature: "The hottest and the mean miner temperature, by kind."
        case .fansStopped: "Live miners with a fan at 0, by kind."
        case .poolShares: "Accepted and rejected shares reported by the live miners, by pool address."
        case .poolMiners: "Live miners with the pool address in at least one pool slot."
        case .modelMiners: "Activated ASIC miners by model and status: alive (a live log) or offline."
        case .expectedMissing: "Activated ASIC miners expected to run that have no live log."
        }
    }
}

/// Which label values keep their own series: all of them up to `limit`, else the `limit - 1` heaviest.
struct LabelCap {
    private let kept: Set<String>?

    init(_ weights: [String: Double], limit: Int) {
        guard weights.count > limit else {
            kept = nil
            return
        }
        let heaviest = weights.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        kept = Set(heaviest.prefix(max(1, limit - 1)).map(\.key))
    }

    func label(_ value: String) -> String {
        guard let kept else { return value }
        return kept.contains(value) ? value : FleetMetrics.otherLabel
    }
}

/// Values by gauge and label set, summed when several inputs share a label set (the `other` group).
struct GaugeSet {
    /// Hashed once when made: a scrape looks each key up four times, and pool addresses are long.
    struct Key: Hashable, Sendable {
        let gauge: FleetGauge
        let labels: [String]
        private let hash: Int

        init(gauge: FleetGauge, labels: [String]) {
            self.gauge = gauge
            self.labels = labels
            var hasher = Hasher()
            hasher.combine(gauge)
            hasher.combine(labels)
            hash = hasher.finalize()
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.hash == rhs.hash && lhs.gauge == rhs.gauge && lhs.labels == rhs.labels
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    private(set) var entries: [Key: (labels: [(String, String)], value: Double)] = [:]

    mutating func set(_ gauge: FleetGauge, _ labels: [(String, String)], _ value: Double) {
        entries[key(gauge, labels)] = (labels, value)
    }

    mutating func add(_ gauge: FleetGauge, _ labels: [(String, String)], _ value: Double) {
        entries[key(gauge, labels), default: (labels, 0)].value += value
    }

    private func key(_ gauge: FleetGauge, _ labels: [(String, String)]) -> Key {
        Key(gauge: gauge, labels: labels.flatMap { [$0.0, $0.1] })
    }
}

/// The fleet gauges in the export's registry, kept from one scrape to the next: registering a series costs far
/// more than setting it (the registry copies a family to add one), so a scrape sets the series it shares with the
/// last one, registers the new ones and unregisters the ones that have gone, such as a pool no miner names any more.
final class FleetGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    /// The series the last scrape showed.
    private let shown = Mutex<[GaugeSet.Key: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Sets `reading`'s values and renders the whole registry, under one lock so that two scrapes at once each
    /// show their own reading.
    func render(_ reading: FleetMetrics.Reading) -> [UInt8] {
        let values = FleetMetrics.values(reading)
        return shown.withLock { shown in
            var next: [GaugeSet.Key: Gauge] = [:]
            next.reserveCapacity(values.entries.count)
            for (key, entry) in values.entries {
                let gauge =
                    shown[key]
                    ?? registry.makeGauge(
                        descriptor: MetricNameDescriptor(
                            metricName: key.gauge.rawValue, unitName: "", helpText: key.gauge.help),
                        labels: entry.labels)
                gauge.set(entry.value)
                next[key] = gauge
            }
            for (key, gauge) in shown where next[key] == nil { registry.unregisterGauge(gauge) }
            shown = next
            return registry.emitToBuffer()
        }
    }
}
