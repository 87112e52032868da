import MinerIndex

/// A registry record kind the store keeps. Records are stored as the same JSON the index broadcasts and the
/// upsert messages carry (without `api_code`, which the records never hold), so an operator can read the store
/// with `sqlite3` or `psql`, and reading a row back goes through the same validation as an upsert.
protocol StorableMiner: RegisteredMiner & JSONRecord {
    static var kind: MinerKind { get }
    static var upsertRoutingKey: String { get }
    static func extract(_ command: MinerCommand) -> Self?
}

extension StorableMiner {
    static func decodeRecord(_ bytes: [UInt8]) throws(StateDecodingError) -> Self {
        // Generous limits: a record accepted once must read back even if the service's limits were lowered since.
        let decoder = MinerMessageDecoder(limits: DecodingLimits(maxBodyBytes: 1 << 24, maxStringBytes: 1 << 16))
        let command: MinerCommand
        do {
            command = try decoder.decode(routingKey: upsertRoutingKey, body: bytes)
        } catch {
            throw StateDecodingError("\(kind) registry record: \(error)")
        }
        guard let miner = extract(command) else { throw StateDecodingError("\(kind) registry record of another kind") }
        return miner
    }
}

extension AsicMiner: StorableMiner {
    static var kind: MinerKind { .asic }
    static var upsertRoutingKey: String { "asic_miner.upsert" }
    static func extract(_ command: MinerCommand) -> AsicMiner? {
        if case .asic(.upsert(let miner)) = command { return miner }
        return nil
    }
}

extension CpuGpuMiner: StorableMiner {
    static var kind: MinerKind { .cpuGpu }
    static var upsertRoutingKey: String { "cpu_gpu_miner.upsert" }
    static func extract(_ command: MinerCommand) -> CpuGpuMiner? {
        if case .cpuGpu(.upsert(let miner)) = command { return miner }
        return nil
    }
}
