/// A miner's place in the hottest-first order: higher temperature first, then lower id.
struct ThermalKey: Sendable, Comparable {
    let temperature: Double
    let id: Int64

    static func < (lhs: ThermalKey, rhs: ThermalKey) -> Bool {
        lhs.temperature != rhs.temperature ? lhs.temperature > rhs.temperature : lhs.id < rhs.id
    }
}

/// Temperatures and stopped fans over the listed logs, kept as they change: the miners ordered hottest first (so
/// the maximum and the hottest five are read from the front, never by scanning the fleet), a compensated sum of
/// their temperatures for the mean, and a count of logs with a stopped fan.
struct ThermalTracker: Sendable {
    private var hottestFirst = SortedSet<ThermalKey>()
    private var temperatureSum = CompensatedSum()
    private(set) var fansStopped = 0

    mutating func add<Log: FleetHealthLog>(id: Int64, _ log: Log) {
        if let temperature = log.peakTemperature { include(ThermalKey(temperature: temperature, id: id)) }
        if log.hasStoppedFan { fansStopped += 1 }
    }

    mutating func remove<Log: FleetHealthLog>(id: Int64, _ log: Log) {
        if let temperature = log.peakTemperature { exclude(ThermalKey(temperature: temperature, id: id)) }
        if log.hasStoppedFan { fansStopped -= 1 }
    }

    /// The same miner's log replaced by a newer one; an unchanged temperature costs no reordering.
    mutating func replace<Log: FleetHealthLog>(id: Int64, _ old: Log, with new: Log) {
        let oldTemperature = old.peakTemperature, newTemperature = new.peakTemperature
        if oldTemperature != newTemperature {
            if let oldTemperature { exclude(ThermalKey(temperature: oldTemperature, id: id)) }
            if let newTemperature { include(ThermalKey(temperature: newTemperature, id: id)) }
        }
        if old.hasStoppedFan { fansStopped -= 1 }
        if new.hasStoppedFan { fansStopped += 1 }
    }

    private mutating func include(_ key: ThermalKey) {
        if hottestFirst.insert(key) { temperatureSum.add(key.temperature) }
    }

    private mutating func exclude(_ key: ThermalKey) {
        guard hottestFirst.remove(key) else { return }
        if hottestFirst.isEmpty {
            temperatureSum = CompensatedSum()
        } else {
            temperatureSum.add(-key.temperature)
        }
    }

    func figures(name: (Int64) -> String?) -> FleetHealth.Thermal {
        guard let hottest = hottestFirst.first else { return FleetHealth.Thermal(fansStopped: fansStopped) }
        let mean = temperatureSum.value / Double(hottestFirst.count)
        return FleetHealth.Thermal(
            maxTemperature: hottest.temperature, averageTemperature: (mean * 100).rounded() / 100,
            hottest: hottestFirst.prefix(FleetHealth.Thermal.hottestCount).map {
                FleetHealth.HotMiner(id: $0.id, name: name($0.id), temperature: $0.temperature)
            },
            fansStopped: fansStopped)
    }
}
