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
/// their temperatures for the mean, and a count of logs with a stopped fan. A temperature of `.nan` means the
/// log reports none.
struct ThermalTracker: Sendable {
    private var hottestFirst = SortedSet<ThermalKey>()
    private var temperatureSum = CompensatedSum()
    private(set) var fansStopped = 0

    mutating func add(id: Int64, temperature: Double, hasStoppedFan: Bool) {
        if !temperature.isNaN { include(ThermalKey(temperature: temperature, id: id)) }
        if hasStoppedFan { fansStopped += 1 }
    }

    mutating func remove(id: Int64, temperature: Double, hasStoppedFan: Bool) {
        if !temperature.isNaN { exclude(ThermalKey(temperature: temperature, id: id)) }
        if hasStoppedFan { fansStopped -= 1 }
    }

    /// The same miner's next log; an unchanged temperature costs no reordering.
    mutating func replace(id: Int64, from old: (temperature: Double, hasStoppedFan: Bool),
                          to new: (temperature: Double, hasStoppedFan: Bool)) {
        if old.temperature != new.temperature, !(old.temperature.isNaN && new.temperature.isNaN) {
            if !old.temperature.isNaN { exclude(ThermalKey(temperature: old.temperature, id: id)) }
            if !new.temperature.isNaN { include(ThermalKey(temperature: new.temperature, id: id)) }
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
