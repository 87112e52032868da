/// What the fleet-health figures read from a registry record, beyond what the index itself needs.
public protocol FleetHealthMiner: RegisteredMiner {
    /// Shown beside the id in `thermal.hottest`.
    var name: String? { get }
    /// Whether this kind has a per-model breakdown (`model_map`); ASICs do, rigs have no model field.
    static var hasModelBreakdown: Bool { get }
    /// The `model_map` key: the registry's model, "unknown" when it has none.
    var breakdownModel: String { get }
    /// Registered as expected to be running (`asic_expected_status: "on"`), so missing when it has no live log.
    var isExpectedToRun: Bool { get }
}

/// What the fleet-health figures read from an operational log.
public protocol FleetHealthLog: MinerLog {
    /// The miner's temperature: the highest sensor it reports, nil if it reports none.
    var peakTemperature: Double? { get }
    /// Whether any fan speed field is exactly 0.
    var hasStoppedFan: Bool { get }
    /// The one coin this log mines and its hashrate, under which its whole power counts in `coin_power_map` and
    /// `model_map`; nil for kinds whose logs mine several coins (a rig's power is not split between them).
    var singleCoin: (rawCoinName: String, hashesPerSecond: Double)? { get }
    /// How many pool slots a log of this kind has (0 for kinds without shares); at most `PoolSlots.capacity`
    /// are counted.
    static var poolSlotCount: Int { get }
    /// The pool in `slot` (0-based) with its shares (0 when not reported); nil when the slot has no address.
    func poolShares(slot: Int) -> PoolShares?
}

/// One pool slot of a log: where the shares went and how many.
public struct PoolShares: Sendable, Hashable {
    public var address: String
    public var accepted: Double
    public var rejected: Double
}

extension AsicMiner: FleetHealthMiner {
    public static var hasModelBreakdown: Bool { true }

    public var breakdownModel: String {
        guard let model, !model.isEmpty else { return "unknown" }
        return model
    }

    /// "on" in any case, since the control app's spelling is not fixed by the reference.
    public var isExpectedToRun: Bool {
        guard let status = asicExpectedStatus?.utf8, status.count == 2 else { return false }
        return status.elementsEqual("on".utf8) { $0 | 0x20 == $1 }
    }
}

extension CpuGpuMiner: FleetHealthMiner {
    public static var hasModelBreakdown: Bool { false }
    public var breakdownModel: String { "unknown" }
    public var isExpectedToRun: Bool { false }
}

extension AsicMinerLog: FleetHealthLog {
    /// The highest `hashboard_*_temp_*`.
    public var peakTemperature: Double? {
        var peak: Double?
        // Index loops: they read the array in place, where iterating it would retain it first.
        for index in hashboards.indices {
            raisePeak(&peak, hashboards[index].temperature1)
            raisePeak(&peak, hashboards[index].temperature2)
        }
        return peak
    }

    public var hasStoppedFan: Bool {
        for index in fanSpeeds.indices where fanSpeeds[index] == 0 { return true }
        return false
    }

    public var singleCoin: (rawCoinName: String, hashesPerSecond: Double)? { (coinName, hashrate.hashesPerSecond) }

    public static var poolSlotCount: Int { poolCount }

    public func poolShares(slot: Int) -> PoolShares? {
        guard pools.indices.contains(slot), let address = pools[slot].address, !address.isEmpty else { return nil }
        return PoolShares(
            address: address, accepted: pools[slot].acceptedShare ?? 0,
            rejected: pools[slot].rejectedShare ?? 0)
    }
}

extension CpuGpuMinerLog: FleetHealthLog {
    /// The highest of `cpu_temp` and every `gpu_*_core_temp`.
    public var peakTemperature: Double? {
        var peak: Double?
        raisePeak(&peak, cpuTemperature)
        for gpu in gpus { raisePeak(&peak, gpu.coreTemperature) }
        return peak
    }

    /// Any `gpu_*_fan` at 0, whatever `gpu_fan_uom` says (0 % and 0 RPM both mean stopped).
    public var hasStoppedFan: Bool { gpus.contains { $0.fan == 0 } }

    public var singleCoin: (rawCoinName: String, hashesPerSecond: Double)? { nil }

    /// Rigs report no shares, so they take no part in `pools`.
    public static var poolSlotCount: Int { 0 }

    public func poolShares(slot: Int) -> PoolShares? { nil }
}

/// Raises `peak` to `reading` if the reading is a finite number above it.
@inline(__always)
private func raisePeak(_ peak: inout Double?, _ reading: Double?) {
    guard let reading, reading.isFinite else { return }
    if let current = peak, current >= reading { return }
    peak = reading
}
