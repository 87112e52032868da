/// A measurement written with a fixed number of decimals. The JSON text and the `Double` the service will decode
/// from it are both the correctly rounded value of `scaled / 10^decimals`, so the expected totals use exactly the
/// numbers the service sees.
public struct FixedDecimal: Sendable, Hashable {
    public var scaled: Int64
    public var decimals: Int

    public init(scaled: Int64, decimals: Int) {
        self.scaled = scaled
        self.decimals = decimals
    }

    /// Rounds `value` to `decimals` places.
    public init(_ value: Double, decimals: Int) {
        self.decimals = decimals
        scaled = Int64((value * Self.powersOfTen[decimals]).rounded())
    }

    public var value: Double { Double(scaled) / Self.powersOfTen[decimals] }

    static let powersOfTen: [Double] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]

    func write(to bytes: inout [UInt8]) {
        var magnitude = scaled.magnitude
        if scaled < 0 { bytes.append(UInt8(ascii: "-")) }
        guard decimals > 0 else {
            JSONBodyWriter.appendDigits(magnitude, to: &bytes)
            return
        }
        let divisor = UInt64(Self.powersOfTen[decimals])
        JSONBodyWriter.appendDigits(magnitude / divisor, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        magnitude %= divisor
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: decimals)
        var position = decimals - 1
        while magnitude > 0, position >= 0 {
            digits[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            position -= 1
        }
        bytes.append(contentsOf: digits)
    }
}
