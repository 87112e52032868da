/// The two kinds of miner: ASIC miners and CPU/GPU rigs. Each has its own routing keys, index actor, exchanges,
/// metric labels and stored rows; code that treats them alike takes a kind.
public enum MinerKind: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case asic
    case cpuGpu = "cpu_gpu"

    public var description: String { rawValue }

    /// For people: "ASIC", "CPU/GPU".
    public var label: String { self == .asic ? "ASIC" : "CPU/GPU" }

    /// The prefix of the kind's routing keys and its metric label: `asic_miner`, `cpu_gpu_miner`.
    public var messagePrefix: String { self == .asic ? "asic_miner" : "cpu_gpu_miner" }

    /// How stored rows tell the kinds apart: a small integer, fixed for good.
    public var storageCode: Int { self == .asic ? 1 : 2 }

    public init?(storageCode: Int) {
        switch storageCode {
        case 1: self = .asic
        case 2: self = .cpuGpu
        default: return nil
        }
    }
}
