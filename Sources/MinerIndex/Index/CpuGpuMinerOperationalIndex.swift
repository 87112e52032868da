/// The CPU/GPU index: the registry of rigs and the latest log of each live one, owned together so that a delete
/// clears both in a single step. Same calls and rules as `AsicMinerOperationalIndex`, without a history.
public actor CpuGpuMinerOperationalIndex {
    private var core: MinerIndexCore<CpuGpuMiner, CpuGpuMinerLog>

    public init(configuration: IndexConfiguration = .init()) {
        core = MinerIndexCore(configuration: configuration)
    }

    /// Increases with every change a broadcast would show; equal versions mean identical snapshots.
    public var version: UInt64 { core.version }

    /// Applies the deliveries in order and reports each one's outcome, in one actor hop.
    public func apply(_ deliveries: [TimedCommand<CpuGpuMinerCommand>]) -> [ApplyOutcome] {
        deliveries.applyInOrder(
            log: { core.put($0, observedAt: $1, receivedAt: $2) }, upsert: { upsert($0) }, delete: { delete(id: $0) },
            canary: { core.canary($0, receivedAt: $1) })
    }

    @discardableResult
    public func put(_ log: CpuGpuMinerLog, receivedAt: Timestamp, amqpTimestamp: Timestamp? = nil)
        -> ApplyOutcome
    {
        let observedAt = ObservationTime.of(
            insertedAt: log.insertedAt, receivedAt: receivedAt,
            amqpTimestamp: amqpTimestamp)
        return core.put(log, observedAt: observedAt, receivedAt: receivedAt)
    }

    public func get(_ id: Int64) -> CpuGpuMinerLog? { core.operational[id]?.log }

    public func entry(_ id: Int64) -> OperationalMap<CpuGpuMinerLog>.Entry? { core.operational[id] }

    public func take(_ ids: [Int64]) -> [Int64: CpuGpuMinerLog] {
        var result: [Int64: CpuGpuMinerLog] = [:]
        for id in ids { if let log = core.operational[id]?.log { result[id] = log } }
        return result
    }

    public func getAll() -> [Int64: CpuGpuMinerLog] { core.operational.entries.mapValues(\.log) }

    @discardableResult
    public func remove(_ id: Int64) -> Bool { core.remove(id) }

    @discardableResult
    public func expire(now: Timestamp) -> [Int64] { core.expire(now: now) }

    @discardableResult
    public func upsert(_ miner: CpuGpuMiner) -> ApplyOutcome { core.upsert(miner) }

    @discardableResult
    public func delete(id: Int64) -> ApplyOutcome { core.delete(id: id) }

    public func miner(_ id: Int64) -> CpuGpuMiner? { core.registry[id] }

    /// Takes what changed since the last drain; see `AsicMinerOperationalIndex.drainChanges`.
    public func drainChanges(includeLogs: Bool) -> IndexChanges<CpuGpuMiner, CpuGpuMinerLog> {
        core.drainChanges(includeLogs: includeLogs)
    }

    /// Applies state read back from a store; see `AsicMinerOperationalIndex.applyPersisted`.
    public func applyPersisted(_ changes: PersistedChanges<CpuGpuMiner, CpuGpuMinerLog>, now: Timestamp) {
        core.applyPersisted(registry: changes.registry, logs: changes.logs, now: now)
    }

    /// The aggregated index and its version, in O(coins): aggregated broadcasts need no snapshot of the tables,
    /// whose next write would then have to copy them.
    public func versionedAggregate() -> VersionedAggregate {
        VersionedAggregate(version: core.version, aggregate: core.aggregate)
    }

    public func snapshot() -> CpuGpuMinerIndexSnapshot { core.snapshot() }

    /// What changed in the broadcast maps since `since` (nil: nothing asked) and, with `includeSnapshot`, a
    /// snapshot, both of the same version. A snapshot also comes when the delta cannot be computed any more.
    /// Asking for a delta since a version drops the removal records at or below it: one caller (the broadcaster)
    /// asks, with a `since` that never goes back.
    public func publication(since: UInt64?, includeSnapshot: Bool) -> IndexPublication<CpuGpuMiner, CpuGpuMinerLog> {
        core.publication(since: since, includeSnapshot: includeSnapshot)
    }

    public func snapshot(ifChangedSince version: UInt64) -> CpuGpuMinerIndexSnapshot? {
        core.version == version ? nil : core.snapshot()
    }
}
