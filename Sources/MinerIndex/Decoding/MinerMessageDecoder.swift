/// The single entry point from the message bus into the domain: a routing key and a body become a command or a
/// `RecordDecodingError`.
///
/// Routing keys: `asic_miner.log`, `asic_miner.upsert`, `asic_miner.delete`, `cpu_gpu_miner.log`,
/// `cpu_gpu_miner.upsert`, `cpu_gpu_miner.delete`; delete bodies are `{"id": N}`. `asic_miner.canary` and
/// `cpu_gpu_miner.canary` carry a `Canary`, `{"id": "...", "sequence": N}`. The size limit is checked
/// before anything else, so an oversized body is refused without being read.
public struct MinerMessageDecoder: Sendable {
    public enum RoutingKey: String, Sendable, CaseIterable {
        case asicLog = "asic_miner.log"
        case asicUpsert = "asic_miner.upsert"
        case asicDelete = "asic_miner.delete"
        case cpuGpuLog = "cpu_gpu_miner.log"
        case cpuGpuUpsert = "cpu_gpu_miner.upsert"
        case cpuGpuDelete = "cpu_gpu_miner.delete"
        case asicCanary = "asic_miner.canary"
        case cpuGpuCanary = "cpu_gpu_miner.canary"

        /// The kind whose index a message of this key belongs to.
        public var kind: MinerKind {
            switch self {
            case .asicLog, .asicUpsert, .asicDelete, .asicCanary: .asic
            case .cpuGpuLog, .cpuGpuUpsert, .cpuGpuDelete, .cpuGpuCanary: .cpuGpu
            }
        }

        /// Like `init(rawValue:)`, which searches the raw values through a generic string table; a switch of
        /// literal comparisons is cheaper, and this runs once per message.
        public static func matching(_ routingKey: String) -> RoutingKey? {
            switch routingKey {
            case "asic_miner.log": .asicLog
            case "cpu_gpu_miner.log": .cpuGpuLog
            case "asic_miner.upsert": .asicUpsert
            case "cpu_gpu_miner.upsert": .cpuGpuUpsert
            case "asic_miner.delete": .asicDelete
            case "cpu_gpu_miner.delete": .cpuGpuDelete
            case "asic_miner.canary": .asicCanary
            case "cpu_gpu_miner.canary": .cpuGpuCanary
            default: nil
            }
        }
    }

    public let limits: DecodingLimits

    public init(limits: DecodingLimits = .init()) {
        self.limits = limits
    }

    public func decode(routingKey: String, body: [UInt8]) throws(RecordDecodingError) -> MinerCommand {
        guard let route = RoutingKey.matching(routingKey) else { throw Self.unknownRoutingKey(routingKey) }
        return try decode(route, body: body)
    }

    /// For a caller that has classified the routing key already (to count the message by kind). A body with
    /// spare capacity after it (as a delivery's has) is parsed without being copied.
    public func decode(_ route: RoutingKey, body: [UInt8]) throws(RecordDecodingError) -> MinerCommand {
        let readableAfterEnd = body.capacity - body.count
        return try withBody(body, limits: limits) { (buffer) throws(RecordDecodingError) in
            try decode(route, body: buffer, readableAfterEnd: readableAfterEnd)
        }
    }

    public static func unknownRoutingKey(_ routingKey: String) -> RecordDecodingError {
        RecordDecodingError(field: "routing_key", problem: .unknownRoutingKey(routingKey))
    }

    private func decode(_ route: RoutingKey, body: UnsafeRawBufferPointer, readableAfterEnd: Int)
        throws(RecordDecodingError) -> MinerCommand
    {
        // Only the logs, nearly all of the traffic, read in place; registry commands keep the simple path.
        switch route {
        case .asicLog:
            .asic(.log(try AsicMinerLog.decode(json: body, limits: limits, readableAfterEnd: readableAfterEnd)))
        case .asicUpsert: .asic(.upsert(try AsicMiner.decode(json: body, limits: limits)))
        case .asicDelete: .asic(.delete(id: try MinerDeletion.decodeId(json: body, limits: limits)))
        case .cpuGpuLog:
            .cpuGpu(.log(try CpuGpuMinerLog.decode(json: body, limits: limits, readableAfterEnd: readableAfterEnd)))
        case .cpuGpuUpsert: .cpuGpu(.upsert(try CpuGpuMiner.decode(json: body, limits: limits)))
        case .cpuGpuDelete: .cpuGpu(.delete(id: try MinerDeletion.decodeId(json: body, limits: limits)))
        case .asicCanary: .asic(.canary(try CanaryDecoding.decode(json: body, limits: limits)))
        case .cpuGpuCanary: .cpuGpu(.canary(try CanaryDecoding.decode(json: body, limits: limits)))
        }
    }
}
