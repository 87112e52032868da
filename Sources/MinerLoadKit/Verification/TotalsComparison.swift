import MinerIndex

/// Compares a snapshot with the expected totals and lists every figure that is out of range, in words an
/// operator can act on.
public struct TotalsComparison: Sendable, Hashable {
    public var differences: [String]
    public var matches: Bool { differences.isEmpty }

    /// Relative slack for sums of doubles added in another order, and for the display-unit round trip.
    static let relativeTolerance = 1e-9

    public init(expected: ExpectedTotals, observed: AggregatedSnapshot) {
        var differences: [String] = []
        if !expected.live.contains(Double(observed.live), tolerance: 0) {
            differences.append("live miners: expected \(expected.live), got \(observed.live)")
        }
        if !expected.registered.contains(Double(observed.registered), tolerance: 0) {
            differences.append("registered miners: expected \(expected.registered), got \(observed.registered)")
        }
        if !expected.power.contains(observed.totalPower, tolerance: Self.tolerance(expected.power.high)) {
            differences.append(
                "total_power: expected \(expected.power) W, got \(ExpectedTotals.Bounds.format(observed.totalPower)) W")
        }
        let counts = observed.statusCounts
        if counts.online + counts.stale != observed.live {
            differences.append(
                "status_counts: online \(counts.online) + stale \(counts.stale) is not the \(observed.live) live miners"
            )
        }
        if !expected.offline.contains(Double(counts.offline), tolerance: 0) {
            differences.append("status_counts.offline: expected \(expected.offline), got \(counts.offline)")
        }
        if !expected.disabled.contains(Double(counts.disabled), tolerance: 0) {
            differences.append("status_counts.disabled: expected \(expected.disabled), got \(counts.disabled)")
        }
        if !expected.maxTemperature.contains(observed.maxTemperature ?? -.infinity, tolerance: 0) {
            differences.append(
                "thermal.max_temp: expected \(Self.display(temperature: expected.maxTemperature)), got "
                    + (observed.maxTemperature.map { ExpectedTotals.Bounds.format($0) } ?? "null"))
        }
        if observed.kind == .asic {
            for coin in Set(expected.coinPower.keys).union(observed.coinPower.keys).sorted() {
                let bounds = expected.coinPower[coin] ?? .zero
                guard let value = observed.coinPower[coin] else {
                    if bounds.low > 0 {
                        differences.append("coin_power_map[\(coin)]: expected \(bounds) W, missing from the snapshot")
                    }
                    continue
                }
                if !bounds.contains(value, tolerance: Self.tolerance(bounds.high)) {
                    differences.append(
                        "coin_power_map[\(coin)]: expected \(bounds) W, got \(ExpectedTotals.Bounds.format(value)) W")
                }
            }
        }
        for coin in Set(expected.coins.keys).union(observed.coins.keys).sorted() {
            let bounds = expected.coins[coin] ?? .zero
            let value = observed.coins[coin]
            if value == nil, bounds.low == 0 { continue }
            guard let value else {
                differences.append("\(coin): expected \(Self.display(bounds)), missing from the snapshot")
                continue
            }
            if !bounds.contains(value, tolerance: Self.tolerance(bounds.high)) {
                differences.append(
                    "\(coin): expected \(Self.display(bounds)), got \(Hashrate(hashesPerSecond: value).display)")
            }
        }
        self.differences = differences
    }

    static func display(temperature bounds: ExpectedTotals.Bounds) -> String {
        func text(_ value: Double) -> String { value == -.infinity ? "null" : ExpectedTotals.Bounds.format(value) }
        return bounds.isExact ? text(bounds.low) : "\(text(bounds.low))…\(text(bounds.high))"
    }

    static func tolerance(_ magnitude: Double) -> Double {
        max(abs(magnitude) * relativeTolerance, 1e-6)
    }

    static func display(_ bounds: ExpectedTotals.Bounds) -> String {
        let low = Hashrate(hashesPerSecond: bounds.low).display
        guard !bounds.isExact else { return "\(low)" }
        return "\(low)…\(Hashrate(hashesPerSecond: bounds.high).display)"
    }
}
