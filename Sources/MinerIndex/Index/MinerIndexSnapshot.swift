/// An immutable view of one index at one version, cheap to take: the dictionaries are shared copy-on-write with
/// the actor, so taking it costs O(1) inside the actor and aggregation and encoding run outside, never stalling
/// ingest. (The actor pays one copy of its tables on its next write after a snapshot.)
public struct MinerIndexSnapshot<Miner: RegisteredMiner, Log: MinerLog>: Sendable {
    public let version: UInt64
    public let registry: MinerRegistry<Miner>
    public let operational: [Int64: OperationalMap<Log>.Entry]
    /// The aggregated index at this version, maintained by the index as logs come and go.
    private let runningAggregate: MinerAggregate

    init(
        version: UInt64, registry: MinerRegistry<Miner>, operational: [Int64: OperationalMap<Log>.Entry],
        aggregate: MinerAggregate
    ) {
        self.version = version
        self.registry = registry
        self.operational = operational
        runningAggregate = aggregate
    }

    /// Per coin the summed hashrate, the total power and live/registered activated miners, in O(1).
    public func aggregate() -> MinerAggregate { runningAggregate }

    /// How many miners are activated: the ones listed in the broadcast maps and counted as registered.
    public var listedMinerCount: Int { registry.activatedCount }

    /// Calls `body` for each latest log of an activated miner: the ones listed and counted as live.
    public func forEachListedLog(_ body: (Int64, OperationalMap<Log>.Entry) -> Void) {
        for (id, entry) in operational where registry.isActivated(id) {
            body(id, entry)
        }
    }
}

public typealias AsicMinerIndexSnapshot = MinerIndexSnapshot<AsicMiner, AsicMinerLog>
public typealias CpuGpuMinerIndexSnapshot = MinerIndexSnapshot<CpuGpuMiner, CpuGpuMinerLog>
