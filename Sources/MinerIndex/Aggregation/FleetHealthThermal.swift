/// A miner's place in the hottest-first order: higher temperature first, then lower id.
struct ThermalKey: Sendable, Comparable {
    let temperature: Double
    let id: Int64

    static func < (lhs: ThermalKey, rhs: ThermalKey) -> Bool {
        lhs.temperature != rhs.temperature ? lhs.temperature > rhs.temperature : lhs.id < rhs.id
    }
}

/// Temperatures and stopped fans over the listed logs, kept as they change: the hottest miners in order (so the
/// maximum and the hottest five are read from the front, never by scanning the fleet), a compensated sum of the
/// temperatures for the mean, and a count of logs with a stopped fan. A temperature of `.nan` means the log
/// reports none.
///
/// Only the miners at least as hot as a boundary are held in order, a few dozen of them: a log from any other
/// miner, nearly every log, costs one comparison, where keeping the whole fleet in order cost two ordered moves
/// through memory that is never in cache at 100k miners. When so many of the held miners have cooled or gone that
/// fewer than five remain, the owner refills the front from every temperature it holds (`needsRefill`, `refill`):
/// a scan of the fleet, rare, because it takes dozens of the hottest miners leaving the front on balance.
struct ThermalTracker: Sendable {
    /// Exactly the temperatures at or before `boundary` in hottest-first order, in that order; every temperature
    /// when `boundary` is nil.
    private var front: [ThermalKey] = []
    private var boundary: ThermalKey?
    private var temperatureCount = 0
    private var temperatureSum = CompensatedSum()
    private(set) var fansStopped = 0
    /// How many the front keeps after a refill or a trim.
    private let keep: Int
    /// The front is trimmed back to `keep` beyond this many.
    private let capacity: Int

    init(keep: Int = 64, capacity: Int = 256) {
        precondition(keep >= FleetHealth.Thermal.hottestCount && capacity > keep)
        self.keep = keep
        self.capacity = capacity
    }

    mutating func add(id: Int64, temperature: Double, hasStoppedFan: Bool) {
        if !temperature.isNaN { include(ThermalKey(temperature: temperature, id: id)) }
        if hasStoppedFan { fansStopped += 1 }
    }

    mutating func remove(id: Int64, temperature: Double, hasStoppedFan: Bool) {
        if !temperature.isNaN { exclude(ThermalKey(temperature: temperature, id: id)) }
        if hasStoppedFan { fansStopped -= 1 }
    }

    /// The same miner's next log; an unchanged temperature costs no reordering.
    mutating func replace(
        id: Int64, from old: (temperature: Double, hasStoppedFan: Bool),
        to new: (temperature: Double, hasStoppedFan: Bool)
    ) {
        if old.temperature != new.temperature, !(old.temperature.isNaN && new.temperature.isNaN) {
            if !old.temperature.isNaN { exclude(ThermalKey(temperature: old.temperature, id: id)) }
            if !new.temperature.isNaN { include(ThermalKey(temperature: new.temperature, id: id)) }
        }
        if old.hasStoppedFan { fansStopped -= 1 }
        if new.hasStoppedFan { fansStopped += 1 }
    }

    /// Whether the front no longer holds the hottest five although the fleet has them: the owner must call
    /// `refill` once its own records agree with what it told this tracker.
    var needsRefill: Bool {
        front.count < min(FleetHealth.Thermal.hottestCount, temperatureCount)
    }

    /// Rebuilds the front from every miner's temperature (`.nan` for none), which must be exactly what was added
    /// and not removed.
    mutating func refill(from temperatures: some Sequence<(id: Int64, temperature: Double)>) {
        var hottest: [ThermalKey] = []
        hottest.reserveCapacity(keep + 1)
        for (id, temperature) in temperatures where !temperature.isNaN {
            let key = ThermalKey(temperature: temperature, id: id)
            if hottest.count == keep, let last = hottest.last, !(key < last) { continue }
            hottest.insert(key, at: hottest.lowerBound(of: key))
            if hottest.count > keep { hottest.removeLast() }
        }
        front = hottest
        boundary = temperatureCount > hottest.count ? hottest.last : nil
    }

    private mutating func include(_ key: ThermalKey) {
        temperatureCount += 1
        temperatureSum.add(key.temperature)
        if let boundary, boundary < key { return }
        front.insert(key, at: front.lowerBound(of: key))
        if front.count > capacity {
            front.removeLast(front.count - keep)
            boundary = front.last
        }
    }

    private mutating func exclude(_ key: ThermalKey) {
        temperatureCount -= 1
        if temperatureCount == 0 {
            temperatureSum = CompensatedSum()
        } else {
            temperatureSum.add(-key.temperature)
        }
        if let boundary, boundary < key { return }
        let position = front.lowerBound(of: key)
        if position < front.count, front[position] == key { front.remove(at: position) }
    }

    func figures(name: (Int64) -> String?) -> FleetHealth.Thermal {
        guard let hottest = front.first else { return FleetHealth.Thermal(fansStopped: fansStopped) }
        let mean = temperatureSum.value / Double(temperatureCount)
        return FleetHealth.Thermal(
            maxTemperature: hottest.temperature, averageTemperature: (mean * 100).rounded() / 100,
            hottest: front.prefix(FleetHealth.Thermal.hottestCount).map {
                FleetHealth.HotMiner(id: $0.id, name: name($0.id), temperature: $0.temperature)
            },
            fansStopped: fansStopped)
    }
}
