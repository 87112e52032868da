/// The ASIC index: the registry of ASICs, the latest log of each live one, and each one's recent history.
///
/// One actor owns all three as value-type components (`MinerRegistry`, `OperationalMap`,
/// `AsicMinerHistoricalIndex`) so that a delete clears them in a single step and no reader ever sees a miner
/// in one and not the others. The GenServer-style calls (`put`, `get`, `take`, `getAll`, `remove`, `expire`)
/// act on the operational map; `apply` takes the service's batches. Time is always passed in, never read.
public actor AsicMinerOperationalIndex {
    private var core: MinerIndexCore<AsicMiner, AsicMinerLog>
    private var historical: AsicMinerHistoricalIndex
    /// With change tracking: history entries kept for the store since the last drain. The first entry of each
    /// `historySampleSeconds` window is kept, so a miner persists at most one entry per window without the index
    /// remembering anything per miner.
    private var historySamples: [HistorySample] = []
    private let historySampleMicroseconds: Int64

    public init(configuration: IndexConfiguration = .init()) {
        core = MinerIndexCore(configuration: configuration)
        historySampleMicroseconds = configuration.tracksChanges ? configuration.historySampleMicroseconds : 0
        historical = AsicMinerHistoricalIndex(
            capacity: configuration.historyCapacity,
            maxAgeSeconds: configuration.historyMaxAgeSeconds)
    }

    /// Increases with every change a broadcast would show; equal versions mean identical snapshots.
    public var version: UInt64 { core.version }

    // MARK: Batches

    /// Applies the deliveries in order and reports each one's outcome, in one actor hop.
    public func apply(_ deliveries: [TimedCommand<AsicMinerCommand>]) -> [ApplyOutcome] {
        deliveries.applyInOrder(
            log: { put($0, observedAt: $1, receivedAt: $2) }, upsert: { upsert($0) }, delete: { delete(id: $0) },
            canary: { core.canary($0, receivedAt: $1) })
    }

    // MARK: Operational map (GenServer API)

    /// Makes `log` the miner's latest unless an entry observed later is held (`.ignoredOutOfOrder`) or it was
    /// already offline when received (`.ignoredOffline`). Logs from known miners go to the history either way.
    @discardableResult
    public func put(_ log: AsicMinerLog, receivedAt: Timestamp, amqpTimestamp: Timestamp? = nil) -> ApplyOutcome {
        put(
            log,
            observedAt: ObservationTime.of(
                insertedAt: log.insertedAt, receivedAt: receivedAt,
                amqpTimestamp: amqpTimestamp), receivedAt: receivedAt)
    }

    private func put(_ log: AsicMinerLog, observedAt: Timestamp, receivedAt: Timestamp) -> ApplyOutcome {
        let outcome = core.put(log, observedAt: observedAt, receivedAt: receivedAt)
        if outcome == .applied || core.registry[log.asicMinerId] != nil {
            if let appended = historical.put(log, observedAt: observedAt), historySampleMicroseconds > 0,
                startsSampleWindow(appended.entry.observedAt, after: appended.previousNewest)
            {
                historySamples.append(HistorySample(minerId: log.asicMinerId, entry: appended.entry))
            }
        }
        return outcome
    }

    private func startsSampleWindow(_ time: Timestamp, after previous: Timestamp?) -> Bool {
        guard let previous else { return true }
        return Self.window(time, historySampleMicroseconds) != Self.window(previous, historySampleMicroseconds)
    }

    private static func window(_ time: Timestamp, _ width: Int64) -> Int64 {
        let micros = time.microsecondsSinceEpoch
        return micros / width - (micros % width < 0 ? 1 : 0)
    }

    public func get(_ id: Int64) -> AsicMinerLog? { core.operational[id]?.log }

    /// The latest log with its observation time.
    public func entry(_ id: Int64) -> OperationalMap<AsicMinerLog>.Entry? { core.operational[id] }

    public func take(_ ids: [Int64]) -> [Int64: AsicMinerLog] {
        var result: [Int64: AsicMinerLog] = [:]
        for id in ids { if let log = core.operational[id]?.log { result[id] = log } }
        return result
    }

    public func getAll() -> [Int64: AsicMinerLog] { core.operational.entries.mapValues(\.log) }

    /// Drops the miner's latest log only; its registration and history stay.
    @discardableResult
    public func remove(_ id: Int64) -> Bool { core.remove(id) }

    /// Removes every latest log observed more than `offlineAfter` before `now` and returns those ids; also ages
    /// out histories. Costs the number of expired entries plus one second of arrivals, not the index size.
    @discardableResult
    public func expire(now: Timestamp) -> [Int64] {
        _ = historical.expire(now: now)
        return core.expire(now: now)
    }

    // MARK: Registry

    @discardableResult
    public func upsert(_ miner: AsicMiner) -> ApplyOutcome { core.upsert(miner) }

    /// Removes the miner from the registry, the operational map and the history together.
    @discardableResult
    public func delete(id: Int64) -> ApplyOutcome {
        let hadHistory = historical.remove(id)
        let outcome = core.delete(id: id)
        return hadHistory ? .applied : outcome
    }

    public func miner(_ id: Int64) -> AsicMiner? { core.registry[id] }

    // MARK: Persistence

    /// Takes what changed since the last drain (see `IndexChanges`); empty unless the configuration tracks
    /// changes. `includeLogs: false` takes the registry changes only, for a registry command that must be durable
    /// before it is acknowledged; logs and history wait for the next checkpoint.
    public func drainChanges(includeLogs: Bool) -> IndexChanges<AsicMiner, AsicMinerLog> {
        var changes = core.drainChanges(includeLogs: includeLogs)
        if includeLogs {
            changes.history = historySamples
            historySamples.removeAll(keepingCapacity: true)
        }
        return changes
    }

    /// Applies state read back from a store (a restore at start, or a standby's refresh): registry, then logs,
    /// then history. Nothing of it is journalled again.
    public func applyPersisted(_ changes: PersistedChanges<AsicMiner, AsicMinerLog>, now: Timestamp) {
        core.applyPersisted(registry: changes.registry, logs: changes.logs, now: now)
        for (id, entries) in changes.history where core.registry[id] != nil {
            historical.restore(entries, of: id, now: now)
        }
    }

    // MARK: History

    /// History entries held for all miners, for the metrics gauge.
    public var historyEntryCount: Int { historical.entryCount }

    /// The miner's recent entries at `now`, oldest first.
    public func history(_ id: Int64, now: Timestamp) -> [AsicMinerHistoryEntry] { historical.get(id, now: now) }

    // MARK: Snapshots

    public func snapshot() -> AsicMinerIndexSnapshot { core.snapshot() }

    /// What changed in the broadcast maps since `since` (nil: nothing asked) and, with `includeSnapshot`, a
    /// snapshot, both of the same version. A snapshot also comes when the delta cannot be computed any more.
    /// Asking for a delta since a version drops the removal records at or below it: one caller (the broadcaster)
    /// asks, with a `since` that never goes back.
    public func publication(since: UInt64?, includeSnapshot: Bool) -> IndexPublication<AsicMiner, AsicMinerLog> {
        core.publication(since: since, includeSnapshot: includeSnapshot)
    }

    /// The aggregated index and its version, in O(coins): aggregated broadcasts need no snapshot of the tables,
    /// whose next write would then have to copy them.
    public func versionedAggregate() -> VersionedAggregate {
        VersionedAggregate(version: core.version, aggregate: core.aggregate)
    }

    /// A snapshot only if something changed after `version`, so an idle broadcaster tick costs one comparison.
    public func snapshot(ifChangedSince version: UInt64) -> AsicMinerIndexSnapshot? {
        core.version == version ? nil : core.snapshot()
    }
}
