/// One CPU/GPU rig (a CPU and up to eight GPUs) as registered by the farm's control app.
///
/// There is no `api_code` property: the sentry token is a secret, dropped while decoding.
public struct CpuGpuMiner: Sendable, Hashable, Identifiable {
    public static let gpuCount = 8

    public var id: Int64
    public var name: String?
    public var motherboardName: String?
    public var cpuName: String?
    /// The reference leaves its type open; producers send either a number or a text such as "32 GB".
    public var ramSize: ScalarValue?
    /// Always `gpuCount` entries, GPU 1 first.
    public var gpuNames: [String?]
    public var activated: Bool
    public var insertedAt: Timestamp?
    public var updatedAt: Timestamp?

    public init(
        id: Int64, name: String? = nil, motherboardName: String? = nil, cpuName: String? = nil,
        ramSize: ScalarValue? = nil, gpuNames: [String?] = [], activated: Bool = true,
        insertedAt: Timestamp? = nil, updatedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.motherboardName = motherboardName
        self.cpuName = cpuName
        self.ramSize = ramSize
        var names = Array(gpuNames.prefix(Self.gpuCount))
        while names.count < Self.gpuCount { names.append(nil) }
        self.gpuNames = names
        self.activated = activated
        self.insertedAt = insertedAt
        self.updatedAt = updatedAt
    }
}

extension CpuGpuMiner: RegisteredMiner {
    /// Stands in for a rig known only from its logs; counted as activated so "alive n/m" keeps n <= m.
    public static func placeholder(id: Int64) -> CpuGpuMiner { CpuGpuMiner(id: id) }
}

/// A JSON scalar kept with its original type, for fields whose type producers do not agree on.
public enum ScalarValue: Sendable, Hashable {
    case number(Double)
    case text(String)
}
