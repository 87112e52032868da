/// Bounds applied to every message before and while it is decoded.
public struct DecodingLimits: Sendable, Hashable {
    /// Larger bodies are rejected before any parsing, so a huge message costs nothing but the length check.
    public var maxBodyBytes: Int
    /// Longest accepted string value, in UTF-8 bytes.
    public var maxStringBytes: Int

    public init(maxBodyBytes: Int = 65_536, maxStringBytes: Int = 256) {
        self.maxBodyBytes = maxBodyBytes
        self.maxStringBytes = maxStringBytes
    }
}
