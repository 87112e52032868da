/// A registry record as it is now, or the fact that it was deleted.
public enum RegistryState<Miner: RegisteredMiner>: Sendable {
    case present(Miner)
    case deleted
}

/// One registry row that changed: its id and its state after the change.
public struct RegistryChange<Miner: RegisteredMiner>: Sendable {
    public let id: Int64
    public let state: RegistryState<Miner>

    public init(id: Int64, state: RegistryState<Miner>) {
        self.id = id
        self.state = state
    }
}

/// A miner's latest log with the observation time that expiry uses.
public struct ObservedLog<Log: MinerLog>: Sendable {
    public let log: Log
    public let observedAt: Timestamp

    public init(log: Log, observedAt: Timestamp) {
        self.log = log
        self.observedAt = observedAt
    }

    public var minerId: Int64 { log.minerId }
}

/// One ASIC history entry kept for persistence.
public struct HistorySample: Sendable {
    public let minerId: Int64
    public let entry: AsicMinerHistoryEntry

    public init(minerId: Int64, entry: AsicMinerHistoryEntry) {
        self.minerId = minerId
        self.entry = entry
    }
}

/// What an index changed since its changes were last taken, for a store to make durable.
///
/// Drains are numbered per index, so that a store that receives them from several tasks can still write them in
/// the order the index produced them: a registry change drained after a checkpoint must never be overwritten by it.
public struct IndexChanges<Miner: RegisteredMiner, Log: MinerLog>: Sendable {
    /// 1 for the first drain of an index, then one more for each.
    public let drainNumber: UInt64
    /// The final state of every registry row that changed, including the ids that logs registered.
    public var registry: [RegistryChange<Miner>]
    /// The latest log of every miner whose latest log changed and is still held. Empty when the drain left logs
    /// for a later checkpoint.
    public var logs: [ObservedLog<Log>]
    /// History entries to persist, oldest first per miner (ASIC only).
    public var history: [HistorySample]

    public init(
        drainNumber: UInt64, registry: [RegistryChange<Miner>] = [], logs: [ObservedLog<Log>] = [],
        history: [HistorySample] = []
    ) {
        self.drainNumber = drainNumber
        self.registry = registry
        self.logs = logs
        self.history = history
    }

    public var isEmpty: Bool { registry.isEmpty && logs.isEmpty && history.isEmpty }
}

/// State read back from a store and handed to an index: registry changes first, then logs.
public struct PersistedChanges<Miner: RegisteredMiner, Log: MinerLog>: Sendable {
    public var registry: [RegistryChange<Miner>]
    public var logs: [ObservedLog<Log>]
    /// Entries per miner, oldest first (ASIC only).
    public var history: [Int64: [AsicMinerHistoryEntry]]

    public init(
        registry: [RegistryChange<Miner>] = [], logs: [ObservedLog<Log>] = [],
        history: [Int64: [AsicMinerHistoryEntry]] = [:]
    ) {
        self.registry = registry
        self.logs = logs
        self.history = history
    }
}

/// The changes an index has made since the last drain. Only the final state of each row matters to a store, so a
/// row changed many times between two drains is written once.
///
/// Changed logs are not listed as they arrive: every entry remembers the index revision it was stored at, so a
/// drain finds them by comparing revisions. That costs the drain a pass over the live miners (a millisecond or two
/// at 100k, once per checkpoint) and costs applying a log nothing at all.
struct ChangeJournal<Miner: RegisteredMiner>: Sendable {
    var registry: [Int64: RegistryState<Miner>] = [:]
    /// Log entries stored at a revision above this have not been drained.
    var drainedRevision: UInt64 = 0
    var drains: UInt64 = 0
}
