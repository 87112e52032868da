/// Hashrate units, each 1000 times the previous. Producers may send the first six; `exahashesPerSecond` exists
/// only so that large totals can be displayed.
public enum HashrateUnit: Int, Sendable, CaseIterable, Comparable {
    case hashesPerSecond
    case kilohashesPerSecond
    case megahashesPerSecond
    case gigahashesPerSecond
    case terahashesPerSecond
    case petahashesPerSecond
    case exahashesPerSecond

    /// The units a log may name in `hashrate_uom` and its CPU/GPU counterparts.
    public static let acceptedInput: [HashrateUnit] = [
        .hashesPerSecond, .kilohashesPerSecond, .megahashesPerSecond,
        .gigahashesPerSecond, .terahashesPerSecond, .petahashesPerSecond,
    ]

    public var symbol: String {
        switch self {
        case .hashesPerSecond: "H/s"
        case .kilohashesPerSecond: "KH/s"
        case .megahashesPerSecond: "MH/s"
        case .gigahashesPerSecond: "GH/s"
        case .terahashesPerSecond: "TH/s"
        case .petahashesPerSecond: "PH/s"
        case .exahashesPerSecond: "EH/s"
        }
    }

    /// Hashes per second in one of this unit.
    public var factor: Double {
        switch self {
        case .hashesPerSecond: 1
        case .kilohashesPerSecond: 1e3
        case .megahashesPerSecond: 1e6
        case .gigahashesPerSecond: 1e9
        case .terahashesPerSecond: 1e12
        case .petahashesPerSecond: 1e15
        case .exahashesPerSecond: 1e18
        }
    }

    public static func < (lhs: HashrateUnit, rhs: HashrateUnit) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Case-insensitive match against the accepted input symbols, straight from the message bytes.
    public static func parseInput(_ bytes: UnsafeRawBufferPointer) -> HashrateUnit? {
        guard bytes.count >= 3, bytes.count <= 4 else { return nil }
        let tail = bytes.count - 3
        guard lowercased(bytes[tail]) == UInt8(ascii: "h"), bytes[tail + 1] == UInt8(ascii: "/"),
            lowercased(bytes[tail + 2]) == UInt8(ascii: "s")
        else { return nil }
        if tail == 0 { return .hashesPerSecond }
        switch lowercased(bytes[0]) {
        case UInt8(ascii: "k"): return .kilohashesPerSecond
        case UInt8(ascii: "m"): return .megahashesPerSecond
        case UInt8(ascii: "g"): return .gigahashesPerSecond
        case UInt8(ascii: "t"): return .terahashesPerSecond
        case UInt8(ascii: "p"): return .petahashesPerSecond
        default: return nil
        }
    }

    public static func parseInput(_ text: String) -> HashrateUnit? {
        var copy = text
        return copy.withUTF8 { parseInput(UnsafeRawBufferPointer($0)) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte + 32 : byte
    }
}
