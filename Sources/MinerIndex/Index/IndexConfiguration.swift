/// Tunables of the index actors, with the original system's values as defaults.
public struct IndexConfiguration: Sendable, Hashable {
    /// A miner whose latest observation is more than this many seconds before now is offline.
    public var offlineAfterSeconds: Double
    /// A live miner whose latest observation is at least this many seconds old is stale rather than online.
    public var staleAfterSeconds: Double
    /// History kept per ASIC, by count and by age in seconds.
    public var historyCapacity: Int
    public var historyMaxAgeSeconds: Double

    public init(offlineAfterSeconds: Double = 60, historyCapacity: Int = 60, historyMaxAgeSeconds: Double = 3600,
                staleAfterSeconds: Double = 20) {
        self.offlineAfterSeconds = offlineAfterSeconds
        self.staleAfterSeconds = staleAfterSeconds
        self.historyCapacity = max(1, historyCapacity)
        self.historyMaxAgeSeconds = historyMaxAgeSeconds
    }

    var offlineAfterMicroseconds: Int64 { Int64((offlineAfterSeconds * 1_000_000).rounded()) }
    var staleAfterMicroseconds: Int64 { Int64((staleAfterSeconds * 1_000_000).rounded()) }
    var historyMaxAgeMicroseconds: Int64 { Int64((historyMaxAgeSeconds * 1_000_000).rounded()) }
}
