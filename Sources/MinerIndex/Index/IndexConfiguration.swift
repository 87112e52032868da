/// Tunables of the index actors, with the original system's values as defaults.
public struct IndexConfiguration: Sendable, Hashable {
    /// A miner whose latest observation is more than this many seconds before now is offline.
    public var offlineAfterSeconds: Double
    /// A live miner whose latest observation is at least this many seconds old is stale rather than online.
    public var staleAfterSeconds: Double
    /// History kept per ASIC, by count and by age in seconds.
    public var historyCapacity: Int
    public var historyMaxAgeSeconds: Double
    /// Registered miners at most; a new id beyond it is refused (`ApplyOutcome.registryFull`).
    public var maxMiners: Int
    /// Whether the index keeps a journal of its changes for a store to drain (`drainChanges`). Off, an index
    /// held only in memory pays nothing for it.
    public var tracksChanges: Bool
    /// With `tracksChanges`: the shortest time between two history entries of one miner that are kept for the
    /// store. History is a chart, not a ledger; persisting every report would cost more disk than the logs.
    public var historySampleSeconds: Double

    public init(
        offlineAfterSeconds: Double = 60, historyCapacity: Int = 60, historyMaxAgeSeconds: Double = 3600,
        staleAfterSeconds: Double = 20, tracksChanges: Bool = false, historySampleSeconds: Double? = nil,
        maxMiners: Int = 1_000_000
    ) {
        self.maxMiners = max(1, maxMiners)
        self.offlineAfterSeconds = offlineAfterSeconds
        self.staleAfterSeconds = staleAfterSeconds
        self.historyCapacity = max(1, historyCapacity)
        self.historyMaxAgeSeconds = historyMaxAgeSeconds
        self.tracksChanges = tracksChanges
        // By default as many samples as the ring holds over the age limit: a restored ring spans the whole hour.
        self.historySampleSeconds = historySampleSeconds ?? historyMaxAgeSeconds / Double(max(1, historyCapacity))
    }

    var offlineAfterMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: offlineAfterSeconds) }
    var staleAfterMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: staleAfterSeconds) }
    var historyMaxAgeMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: historyMaxAgeSeconds) }
    var historySampleMicroseconds: Int64 { Timestamp.saturatingMicroseconds(seconds: historySampleSeconds) }
}
