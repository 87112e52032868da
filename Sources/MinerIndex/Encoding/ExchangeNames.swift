/// The default names of the output exchanges: the original app's pub/sub channels, plus the keyframe-and-delta
/// protocol's. The service and miner-load both take their defaults from here, so they agree without flags.
public enum DefaultExchangeNames {
    public static let asicIndex = "asic_miner_index"
    public static let asicAggregatedIndex = "asic_miner_aggregated_index"
    public static let cpuGpuIndex = "cpu_gpu_miner_index"
    public static let cpuGpuAggregatedIndex = "cpu_gpu_miner_aggregated_index"
    public static let keyframeRequests = "miner_index.keyframe_requests"

    /// The delta exchange that goes with a full-index exchange, unless one is named.
    public static func delta(of indexExchange: String) -> String { "\(indexExchange).delta" }
}
