import Foundation
import MinerIndex

/// The JSON documents of the read API, built from the index actors at request time. Encoders here do not cache
/// per-miner bytes: requests are rare next to broadcasts, and the broadcaster's caches stay its own.
struct ReadAPI: Sendable {
    enum Failure: Error {
        case malformedID(String)
        case notFound(String)
    }

    let indexes: MinerIndexes

    func asicIndex() async -> [UInt8] {
        let snapshot = await indexes.asic.snapshot()
        var encoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(vocabulary: .asicMiner, cachesRecords: false)
        return encoder.indexPayload(
            snapshot, aggregate: snapshot.aggregate(), sequence: snapshot.version, generatedAt: Timestamp(Date()))
    }

    func asicAggregatedIndex() async -> [UInt8] {
        let current = await indexes.asic.versionedAggregate()
        let encoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(vocabulary: .asicMiner, cachesRecords: false)
        return encoder.aggregatedPayload(current.aggregate, sequence: current.version, generatedAt: Timestamp(Date()))
    }

    func asicMiner(_ idText: String) async throws(Failure) -> [UInt8] {
        let id = try parse(idText)
        let (miner, latest) = await (indexes.asic.miner(id), indexes.asic.entry(id))
        guard miner != nil || latest != nil else { throw .notFound("no ASIC miner with id \(id)") }
        let encoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(vocabulary: .asicMiner, cachesRecords: false)
        return encoder.minerDetailJSON(miner: miner, latest: latest)
    }

    func asicHistory(_ idText: String) async throws(Failure) -> [UInt8] {
        let id = try parse(idText)
        let entries = await indexes.asic.history(id, now: Timestamp(Date()))
        let known = await indexes.asic.miner(id) != nil
        guard known || !entries.isEmpty else { throw .notFound("no ASIC miner with id \(id)") }
        return AsicMinerHistoryEntry.historyJSON(asicMinerId: id, entries: entries)
    }

    func cpuGpuIndex() async -> [UInt8] {
        let snapshot = await indexes.cpuGpu.snapshot()
        var encoder = MinerPayloadEncoder<CpuGpuMiner, CpuGpuMinerLog>(vocabulary: .cpuGpuMiner, cachesRecords: false)
        return encoder.indexPayload(
            snapshot, aggregate: snapshot.aggregate(), sequence: snapshot.version, generatedAt: Timestamp(Date()))
    }

    func cpuGpuAggregatedIndex() async -> [UInt8] {
        let current = await indexes.cpuGpu.versionedAggregate()
        let encoder = MinerPayloadEncoder<CpuGpuMiner, CpuGpuMinerLog>(vocabulary: .cpuGpuMiner, cachesRecords: false)
        return encoder.aggregatedPayload(current.aggregate, sequence: current.version, generatedAt: Timestamp(Date()))
    }

    func cpuGpuMiner(_ idText: String) async throws(Failure) -> [UInt8] {
        let id = try parse(idText)
        let (miner, latest) = await (indexes.cpuGpu.miner(id), indexes.cpuGpu.entry(id))
        guard miner != nil || latest != nil else { throw .notFound("no CPU/GPU miner with id \(id)") }
        let encoder = MinerPayloadEncoder<CpuGpuMiner, CpuGpuMinerLog>(vocabulary: .cpuGpuMiner, cachesRecords: false)
        return encoder.minerDetailJSON(miner: miner, latest: latest)
    }

    private func parse(_ text: String) throws(Failure) -> Int64 {
        guard let id = Int64(text), id >= 0 else { throw .malformedID("'\(text.prefix(40))' is not a miner id") }
        return id
    }
}
