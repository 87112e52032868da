/// The key names that differ between the ASIC and the CPU/GPU payloads of the design note.
public struct PayloadVocabulary: Sendable {
    let minerMap: JSONKey
    let operationalMap: JSONKey
    let aggregatedIndex: JSONKey
    let alive: JSONKey
    /// The CPU/GPU design note lists the aggregated fields in a different order; kept for byte-level fidelity.
    let coinMapFirst: Bool
    /// Which fleet-health keys follow the seed's: all of them for ASICs; status counts and thermal for rigs.
    let fleetHealth: FleetHealthKeys
    /// The ids a delta removes from each map.
    let removedMiners: JSONKey
    let removedLogs: JSONKey
    /// The changed fields of logs a subscriber already holds.
    let changedLogs: JSONKey

    public static let asicMiner = PayloadVocabulary(
        minerMap: JSONKey("asic_miner_map"), operationalMap: JSONKey("asic_miner_operational_map"),
        aggregatedIndex: JSONKey("asic_miner_aggregated_index"), alive: JSONKey("asic_miner_alive"),
        coinMapFirst: true, fleetHealth: .all, removedMiners: JSONKey("asic_miner_map_removed"),
        removedLogs: JSONKey("asic_miner_operational_map_removed"),
        changedLogs: JSONKey("asic_miner_operational_map_changed"))

    public static let cpuGpuMiner = PayloadVocabulary(
        minerMap: JSONKey("cpu_gpu_miner_map"), operationalMap: JSONKey("cpu_gpu_miner_operational_map"),
        aggregatedIndex: JSONKey("aggregated_index"), alive: JSONKey("cpu_gpu_miner_alive"),
        coinMapFirst: false, fleetHealth: .statusAndThermal, removedMiners: JSONKey("cpu_gpu_miner_map_removed"),
        removedLogs: JSONKey("cpu_gpu_miner_operational_map_removed"),
        changedLogs: JSONKey("cpu_gpu_miner_operational_map_changed"))
}

/// Keys common to both payload kinds (static stored properties cannot live in the generic encoder).
enum PayloadKeys {
    static let coinHashrateMap = JSONKey("coin_hashrate_map"), totalPower = JSONKey("total_power")
    static let sequence = JSONKey("sequence"), generatedAt = JSONKey("generated_at")
    static let previousSequence = JSONKey("previous_sequence"), baseSequence = JSONKey("base_sequence")
    static let previousDeltaSequence = JSONKey("previous_delta_sequence")
    static let leaderEpoch = JSONKey("leader_epoch"), chain = JSONKey("chain")
    static let part = JSONKey("part"), parts = JSONKey("parts")
    static let miner = JSONKey("miner"), latestLog = JSONKey("latest_log"), observedAt = JSONKey("observed_at")
    static let canaries = JSONKey("canaries"), receivedAt = JSONKey("received_at")
}
