/// Bounds applied to every message before and while it is decoded.
public struct DecodingLimits: Sendable, Hashable {
    /// Larger bodies are rejected before any parsing, so a huge message costs nothing but the length check.
    public var maxBodyBytes: Int
    /// Longest accepted string value, in UTF-8 bytes.
    public var maxStringBytes: Int

    /// Largest number accepted for any measure (hashrate figure, power, temperature, fan, share count, clock).
    /// The running totals add and later subtract every live miner's figures; a sum that reached infinity would
    /// turn into NaN on the first subtraction and never recover, so each figure is bounded far above anything a
    /// miner reports and far below where a million miners' sums could overflow.
    public static let largestMeasure: Double = 1e18
    /// Largest hashrate of one log (or one GPU slot's sum), once converted to H/s: a zettahash, above the whole
    /// Bitcoin network.
    public static let largestHashesPerSecond: Double = 1e24

    public init(maxBodyBytes: Int = 65_536, maxStringBytes: Int = 256) {
        self.maxBodyBytes = maxBodyBytes
        self.maxStringBytes = maxStringBytes
    }
}
