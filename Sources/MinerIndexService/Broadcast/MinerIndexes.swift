import MinerIndex

/// The two index actors of one service instance.
public struct MinerIndexes: Sendable {
    public let asic: AsicMinerOperationalIndex
    public let cpuGpu: CpuGpuMinerOperationalIndex
    /// Registered miners per kind at most.
    public let maxMiners: Int

    public init(configuration: IndexConfiguration) {
        maxMiners = configuration.maxMiners
        asic = AsicMinerOperationalIndex(configuration: configuration)
        cpuGpu = CpuGpuMinerOperationalIndex(configuration: configuration)
    }
}

/// What a broadcaster needs from an index actor, so one broadcaster type serves both miner kinds.
public protocol SnapshotSource: Sendable {
    associatedtype Miner: RegisteredMiner & JSONRecord
    associatedtype Log: MinerLog & JSONRecord

    var version: UInt64 { get async }
    func snapshot() async -> MinerIndexSnapshot<Miner, Log>
    func versionedAggregate() async -> VersionedAggregate
    func publication(since: UInt64?, includeSnapshot: Bool) async -> IndexPublication<Miner, Log>
    func miner(_ id: Int64) async -> Miner?
    func entry(_ id: Int64) async -> OperationalMap<Log>.Entry?
    static var vocabulary: PayloadVocabulary { get }
    static var kind: MinerKind { get }
}

extension AsicMinerOperationalIndex: SnapshotSource {
    public static var vocabulary: PayloadVocabulary { .asicMiner }
    public static var kind: MinerKind { .asic }
}

extension CpuGpuMinerOperationalIndex: SnapshotSource {
    public static var vocabulary: PayloadVocabulary { .cpuGpuMiner }
    public static var kind: MinerKind { .cpuGpu }
}
