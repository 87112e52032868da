/// Encodes snapshots of one index into the broadcast payloads of the design note, plus `"sequence"` and
/// `"generated_at"`.
///
/// Owned by one broadcaster and fed snapshots of one index: it remembers each miner's encoded bytes with the
/// revision they were encoded at, so a tick re-encodes only what changed and splices the rest, and for the
/// keyframe-and-delta stream the fingerprint of each log its subscribers hold. It runs outside the index actor,
/// so encoding never stalls ingest.
public struct MinerPayloadEncoder<Miner: RegisteredMiner & JSONRecord, Log: MinerLog & JSONRecord>: Sendable {
    public let vocabulary: PayloadVocabulary
    let cachesRecords: Bool
    var minerCache = EncodedRecordCache()
    var logCache = EncodedRecordCache()
    var lastPayloadSize = 4096
    /// The fingerprint (see `RecordFields`) of each latest log as a stream's subscribers hold it: the last
    /// keyframe, then every delta after it. A delta sends only the fields of a held log that changed.
    var heldLogFingerprints: [Int64: [UInt64]] = [:]
    /// See `takePartBuffers`.
    var partBuffers: [JSONWriter] = []

    /// - Parameter cachesRecords: keep per-miner bytes between ticks (faster, costs about one encoded payload of
    ///   memory); without it every tick encodes every record.
    public init(vocabulary: PayloadVocabulary, cachesRecords: Bool = true) {
        self.vocabulary = vocabulary
        self.cachesRecords = cachesRecords
    }

    /// The full index payload: activated miners, their live logs, and `aggregate` (pass `snapshot.aggregate()`;
    /// it is taken as a parameter so the aggregated payload of the same tick can reuse it).
    public mutating func indexPayload(
        _ snapshot: MinerIndexSnapshot<Miner, Log>, aggregate: MinerAggregate, sequence: UInt64,
        generatedAt: Timestamp
    ) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: lastPayloadSize + lastPayloadSize / 8)
        writer.beginObject()
        writer.key(vocabulary.minerMap)
        writer.beginObject()
        for (id, entry) in snapshot.registry.entries where entry.activated {
            writer.key(id: id)
            if cachesRecords {
                writer.raw(minerCache.bytes(for: id, revision: entry.revision) { entry.miner.writeJSON(to: &$0) })
            } else {
                entry.miner.writeJSON(to: &writer)
            }
        }
        writer.endObject()
        writer.key(vocabulary.operationalMap)
        writer.beginObject()
        snapshot.forEachListedLog { id, entry in
            writer.key(id: id)
            if cachesRecords {
                writer.raw(logCache.bytes(for: id, revision: entry.revision) { entry.log.writeJSON(to: &$0) })
            } else {
                entry.log.writeJSON(to: &writer)
            }
        }
        writer.endObject()
        writer.key(vocabulary.aggregatedIndex)
        writeAggregate(aggregate, to: &writer)
        writeStamp(sequence: sequence, generatedAt: generatedAt, to: &writer)
        writer.endObject()

        pruneCaches(snapshot)
        lastPayloadSize = writer.count
        return writer.bytes
    }

    /// The aggregated object alone, with `"sequence"` and `"generated_at"` added to it.
    public func aggregatedPayload(_ aggregate: MinerAggregate, sequence: UInt64, generatedAt: Timestamp) -> [UInt8] {
        var writer = JSONWriter()
        writeAggregate(aggregate, to: &writer, leaveOpen: true)
        writeStamp(sequence: sequence, generatedAt: generatedAt, to: &writer)
        writer.endObject()
        return writer.bytes
    }

    /// The aggregated object as broadcast: with `"sequence"`, `"leader_epoch"` (null without a state store) and
    /// `"generated_at"` added to it.
    public func aggregatedPayload(
        _ aggregate: MinerAggregate, sequence: UInt64, leaderEpoch: Int64?, generatedAt: Timestamp
    ) -> [UInt8] {
        var writer = JSONWriter()
        writeAggregate(aggregate, to: &writer, leaveOpen: true)
        writer.key(PayloadKeys.sequence)
        writer.integer(sequence)
        writeLeaderEpoch(leaderEpoch, to: &writer)
        writer.key(PayloadKeys.generatedAt)
        writer.timestamp(generatedAt)
        writer.endObject()
        return writer.bytes
    }

    func writeLeaderEpoch(_ epoch: Int64?, to writer: inout JSONWriter) {
        writer.key(PayloadKeys.leaderEpoch)
        if let epoch { writer.integer(epoch) } else { writer.null() }
    }

    /// One miner with its latest log, for the HTTP read API:
    /// `{"miner": {...}|null, "latest_log": {...}|null, "observed_at": "..."|null}`.
    public func minerDetailJSON(miner: Miner?, latest: OperationalMap<Log>.Entry?) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 2048)
        writer.beginObject()
        writer.key(PayloadKeys.miner)
        if let miner { miner.writeJSON(to: &writer) } else { writer.null() }
        writer.key(PayloadKeys.latestLog)
        if let latest { latest.log.writeJSON(to: &writer) } else { writer.null() }
        writer.key(PayloadKeys.observedAt)
        writer.timestamp(latest?.observedAt)
        writer.endObject()
        return writer.bytes
    }

    func writeAggregate(_ aggregate: MinerAggregate, to writer: inout JSONWriter, leaveOpen: Bool = false) {
        writer.beginObject()
        if vocabulary.coinMapFirst { writeCoinMap(aggregate, to: &writer) }
        writer.key(PayloadKeys.totalPower)
        // Summing thousands of float readings leaves noise like 866614.9999999992; watts to 1/1000 are plenty.
        writer.wholeOrDecimal((aggregate.totalPower * 1000).rounded() / 1000)
        writer.key(vocabulary.alive)
        writer.string(aggregate.alive)
        if !vocabulary.coinMapFirst { writeCoinMap(aggregate, to: &writer) }
        FleetHealthJSON.write(aggregate, keys: vocabulary.fleetHealth, to: &writer)
        writeCanaries(aggregate.canaries, to: &writer)
        if !leaveOpen { writer.endObject() }
    }

    /// `{"<id>": {"sequence": N, "received_at": "..."}, ...}`, oldest update first; always present, empty without
    /// canaries, so that the payload keeps one shape.
    private func writeCanaries(_ canaries: [CanaryMark], to writer: inout JSONWriter) {
        writer.key(PayloadKeys.canaries)
        writer.beginObject()
        for canary in canaries {
            writer.key(canary.id)
            writer.beginObject()
            writer.key(PayloadKeys.sequence)
            writer.integer(canary.sequence)
            writer.key(PayloadKeys.receivedAt)
            writer.timestamp(canary.receivedAt)
            writer.endObject()
        }
        writer.endObject()
    }

    /// `{"Bitcoin": [120.0, "TH/s"], ...}` in display units, coins in name order for stable output.
    private func writeCoinMap(_ aggregate: MinerAggregate, to writer: inout JSONWriter) {
        writer.key(PayloadKeys.coinHashrateMap)
        writer.beginObject()
        for coin in aggregate.coinHashrates.keys.sorted() {
            guard let hashrate = aggregate.coinHashrates[coin] else { continue }
            let display = hashrate.display
            writer.key(coin)
            writer.beginArray()
            writer.decimal(display.value)
            writer.string(display.unit.symbol)
            writer.endArray()
        }
        writer.endObject()
    }

    private func writeStamp(sequence: UInt64, generatedAt: Timestamp, to writer: inout JSONWriter) {
        writer.key(PayloadKeys.sequence)
        writer.integer(sequence)
        writer.key(PayloadKeys.generatedAt)
        writer.timestamp(generatedAt)
    }

    mutating func pruneCaches(_ snapshot: MinerIndexSnapshot<Miner, Log>) {
        guard cachesRecords else { return }
        if minerCache.count > snapshot.registry.entries.count * 2 + 1024 {
            minerCache.prune { snapshot.registry.entries[$0] != nil }
        }
        if logCache.count > snapshot.operational.count * 2 + 1024 {
            logCache.prune { snapshot.operational[$0] != nil }
        }
    }
}

public typealias AsicMinerPayloadEncoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>
public typealias CpuGpuMinerPayloadEncoder = MinerPayloadEncoder<CpuGpuMiner, CpuGpuMinerLog>

extension MinerPayloadEncoder where Miner == AsicMiner, Log == AsicMinerLog {
    public init(cachesRecords: Bool = true) { self.init(vocabulary: .asicMiner, cachesRecords: cachesRecords) }
}

extension MinerPayloadEncoder where Miner == CpuGpuMiner, Log == CpuGpuMinerLog {
    public init(cachesRecords: Bool = true) { self.init(vocabulary: .cpuGpuMiner, cachesRecords: cachesRecords) }
}
