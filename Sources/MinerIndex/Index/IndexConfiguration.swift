/// Tunables of the index actors, with the original system's values as defaults.
public struct IndexConfiguration: Sendable, Hashable {
    /// A miner whose latest observation is more than this many seconds before now is offline.
    public var offlineAfterSeconds: Double
    /// History kept per ASIC, by count and by age in seconds.
    public var historyCapacity: Int
    public var historyMaxAgeSeconds: Double

    public init(offlineAfterSeconds: Double = 60, historyCapacity: Int = 60, historyMaxAgeSeconds: Double = 3600) {
        self.offlineAfterSeconds = offlineAfterSeconds
        self.historyCapacity = max(1, historyCapacity)
        self.historyMaxAgeSeconds = historyMaxAgeSeconds
    }

    var offlineAfterMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: offlineAfterSeconds) }
    var historyMaxAgeMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: historyMaxAgeSeconds) }
}
