/// What a subscriber holding the broadcast maps at one version must change to hold them at a later one: the
/// listed (activated) registry records and latest logs that are new or changed, and the ids that left each map.
///
/// Upserts carry the current entry with its revision, so an encoder reuses its cached bytes. A removal names an
/// id that may already be absent from the subscriber's maps (a miner added and removed between the two versions,
/// or a deactivated miner upserted again): removing an absent id changes nothing.
public struct IndexDelta<Miner: RegisteredMiner, Log: MinerLog>: Sendable {
    /// The version the delta applies to.
    public let fromVersion: UInt64
    /// The version the delta leads to.
    public let version: UInt64
    /// Registry records listed at `version` that changed after `fromVersion`.
    public var upsertedMiners: [(id: Int64, entry: MinerRegistry<Miner>.Entry)] = []
    /// Ids that are not listed in the miner map at `version` (deleted or deactivated) and may have been at
    /// `fromVersion`; ascending.
    public var removedMiners: [Int64] = []
    /// Latest logs listed at `version` that are new or changed after `fromVersion`, and the logs of miners that
    /// became listed again (an activating upsert).
    public var upsertedLogs: [(id: Int64, entry: OperationalMap<Log>.Entry)] = []
    /// Ids whose log is not listed at `version` (expired, removed, deleted, deactivated) and may have been at
    /// `fromVersion`; ascending.
    public var removedLogs: [Int64] = []
    /// The aggregated index at `version`.
    public let aggregate: MinerAggregate

    public init(fromVersion: UInt64, version: UInt64, aggregate: MinerAggregate) {
        self.fromVersion = fromVersion
        self.version = version
        self.aggregate = aggregate
    }

    /// True when the maps are the same at both versions (the aggregate may still differ, for example when a
    /// stale count moved).
    public var mapsUnchanged: Bool {
        upsertedMiners.isEmpty && removedMiners.isEmpty && upsertedLogs.isEmpty && removedLogs.isEmpty
    }
}

/// A snapshot and the delta that leads to it, taken in one step so that the two describe the same version.
public struct IndexPublication<Miner: RegisteredMiner, Log: MinerLog>: Sendable {
    /// nil when no delta was asked for, or when the index can no longer tell what changed since that version
    /// (its removal records were dropped, see `RemovalLog`): the caller must then start again from a snapshot.
    public let delta: IndexDelta<Miner, Log>?
    /// Present when asked for, and whenever a delta was asked for but could not be computed.
    public let snapshot: MinerIndexSnapshot<Miner, Log>?
    public let version: UInt64
}

/// The ids removed from the registry and from the operational map, each with the revision of its removal, so
/// that a delta can name what left since a version. Upserts need no such record: entries carry their revision.
///
/// One reader (the broadcaster of the index) asks for deltas with a rising `since`; records at or below it are
/// then of no further use and are dropped. Without a reader (a standby, a benchmark) the records are dropped
/// once they outnumber the index, and `horizon` says from which version on deltas can still be computed.
struct RemovalLog: Sendable {
    private(set) var miners: [Int64: UInt64] = [:]
    private(set) var logs: [Int64: UInt64] = [:]
    /// Deltas can be computed from this version on.
    private(set) var horizon: UInt64 = 0

    mutating func removedMiner(_ id: Int64, at revision: UInt64) { miners[id] = revision }

    mutating func removedLog(_ id: Int64, at revision: UInt64) { logs[id] = revision }

    /// Drops everything once the records outgrow `indexSize` (amortised: at most once per that many removals).
    mutating func bound(indexSize: Int, version: UInt64) {
        guard miners.count + logs.count > 2 * indexSize + 4096 else { return }
        miners.removeAll()
        logs.removeAll()
        horizon = version
    }

    /// Forgets the removals at or below `version`: the reader will never ask for a delta from before it again.
    mutating func forget(through version: UInt64) {
        if miners.contains(where: { $0.value <= version }) { miners = miners.filter { $0.value > version } }
        if logs.contains(where: { $0.value <= version }) { logs = logs.filter { $0.value > version } }
    }
}
