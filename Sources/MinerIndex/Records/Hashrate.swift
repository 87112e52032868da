/// A hashrate held in hashes per second, so values reported in different units add up directly.
public struct Hashrate: Sendable, Hashable, Comparable {
    public var hashesPerSecond: Double

    public static let zero = Hashrate(hashesPerSecond: 0)

    public init(hashesPerSecond: Double) {
        self.hashesPerSecond = hashesPerSecond
    }

    public init(_ value: Double, _ unit: HashrateUnit) {
        self.hashesPerSecond = value * unit.factor
    }

    public static func + (lhs: Hashrate, rhs: Hashrate) -> Hashrate {
        Hashrate(hashesPerSecond: lhs.hashesPerSecond + rhs.hashesPerSecond)
    }

    public static func += (lhs: inout Hashrate, rhs: Hashrate) {
        lhs.hashesPerSecond += rhs.hashesPerSecond
    }

    public static func < (lhs: Hashrate, rhs: Hashrate) -> Bool { lhs.hashesPerSecond < rhs.hashesPerSecond }

    /// The largest unit, H/s to EH/s, in which the value is at least 1; the value is divided into that unit
    /// (the original labelled GH/s figures as TH/s without dividing). Zero and sub-1 H/s values stay in H/s.
    public var display: Display {
        var unit = HashrateUnit.hashesPerSecond
        for candidate in HashrateUnit.allCases.reversed() where hashesPerSecond >= candidate.factor {
            unit = candidate
            break
        }
        // Rounded to a billionth of the display unit (from 1 H/s up, at least ten significant digits): sums of
        // decimal readings otherwise show their binary noise, as 806.2941999999999 KH/s.
        let value = hashesPerSecond / unit.factor
        return Display(value: (value * 1e9).rounded() / 1e9, unit: unit)
    }

    public struct Display: Sendable, Hashable, CustomStringConvertible {
        public var value: Double
        public var unit: HashrateUnit

        public var description: String {
            let text = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            return "\(text) \(unit.symbol)"
        }
    }
}
