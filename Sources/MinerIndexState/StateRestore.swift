import MinerIndex

/// Turns what a store holds back into index state, with the same rules for every backend.
///
/// Logs: segments are read newest first, and the first entry of a miner is its latest log (an index's latest
/// log only moves forward in time, so the last one written is the current one); older entries of that miner are
/// skipped without being decoded. A log written before its miner's delete is not restored; a log already offline
/// now is not either, exactly as if it had arrived now.
public enum StateRestore {
    public struct Restored: Sendable {
        public var asic = PersistedChanges<AsicMiner, AsicMinerLog>()
        public var cpuGpu = PersistedChanges<CpuGpuMiner, CpuGpuMinerLog>()
        /// Which segments hold the restored latest entries, for the writer to drop the others early.
        public var tracking = SegmentTracking()
        /// Segments that hold no latest entry any more.
        public var supersededSegments: [Int64] = []
        public var counters: [String: Int64] = [:]
        public var mark: Int64 = 0

        public init() {}
    }

    public static func restore(_ stored: StoredState, now: Timestamp, offlineAfter: Duration)
        throws(StateDecodingError) -> Restored
    {
        var restored = Restored()
        restored.counters = stored.counters
        restored.mark = stored.mark
        var tombstones: [MinerKind: [Int64: Int64]] = [:]
        for row in stored.registry {
            guard let record = row.record else {
                tombstones[row.kind, default: [:]][row.id] = row.change
                continue
            }
            switch row.kind {
            case .asic:
                restored.asic.registry.append(
                    RegistryChange(id: row.id, state: .present(try AsicMiner.decodeRecord(record))))
            case .cpuGpu:
                restored.cpuGpu.registry.append(
                    RegistryChange(id: row.id, state: .present(try CpuGpuMiner.decodeRecord(record))))
            }
        }

        let cutoff = now.adding(.zero - offlineAfter)
        var seen: [MinerKind: Set<Int64>] = [.asic: [], .cpuGpu: []]
        for segment in stored.logSegments.reversed() {
            var reader = try Segment.Reader(segment.body)
            var latestHere: [Int64] = []
            while let (id, fields) = try reader.next() {
                guard seen[segment.kind, default: []].insert(id).inserted else { continue }
                latestHere.append(id)
                if let deletedAt = tombstones[segment.kind]?[id], deletedAt > segment.change { continue }
                switch segment.kind {
                case .asic:
                    let log = try reader.decode(ObservedLog<AsicMinerLog>.self, minerId: id, fields: fields)
                    if log.observedAt >= cutoff { restored.asic.logs.append(log) }
                case .cpuGpu:
                    let log = try reader.decode(ObservedLog<CpuGpuMinerLog>.self, minerId: id, fields: fields)
                    if log.observedAt >= cutoff { restored.cpuGpu.logs.append(log) }
                }
            }
            if latestHere.isEmpty {
                restored.supersededSegments.append(segment.change)
            } else {
                _ = restored.tracking.record(
                    segment: segment.change, kind: segment.kind, minerIds: latestHere,
                    newestObservedAt: segment.newestObservedAt)
            }
        }
        return restored
    }

    /// History entries per miner, oldest first, leaving out entries written before their miner's delete.
    public static func history(_ segments: [StoredSegment], registry: [StoredRegistryRow])
        throws(StateDecodingError) -> [Int64: [AsicMinerHistoryEntry]]
    {
        var deletedAt: [Int64: Int64] = [:]
        for row in registry where row.kind == .asic && row.record == nil { deletedAt[row.id] = row.change }
        var history: [Int64: [AsicMinerHistoryEntry]] = [:]
        for segment in segments where segment.kind == .asic {
            var reader = try Segment.Reader(segment.body)
            while let (id, fields) = try reader.next() {
                if let deleted = deletedAt[id], deleted > segment.change { continue }
                let sample = try reader.decode(HistorySample.self, minerId: id, fields: fields)
                history[id, default: []].append(sample.entry)
            }
        }
        for (id, entries) in history
        where !zip(entries, entries.dropFirst()).allSatisfy({ $0.observedAt < $1.observedAt }) {
            var ordered: [AsicMinerHistoryEntry] = []
            for entry in entries.sorted(by: { $0.observedAt < $1.observedAt })
            where ordered.last.map({ $0.observedAt < entry.observedAt }) ?? true {
                ordered.append(entry)
            }
            history[id] = ordered
        }
        return history
    }
}

extension StateRestore {
    /// A standby's refresh: what was written since its last one, as changes to apply in order, per kind. Within
    /// one `PersistedChanges` registry changes are applied before logs, so a registry change written after a log
    /// starts a new one.
    public struct Refresh: Sendable {
        public var asic: [PersistedChanges<AsicMiner, AsicMinerLog>] = []
        public var cpuGpu: [PersistedChanges<CpuGpuMiner, CpuGpuMinerLog>] = []
        public var mark: Int64

        public var isEmpty: Bool { asic.isEmpty && cpuGpu.isEmpty }
    }

    public static func refresh(_ changes: StoredChanges) throws(StateDecodingError) -> Refresh {
        enum Event {
            case registry(StoredRegistryRow)
            case logs(StoredSegment)
            case history(StoredSegment)

            var change: Int64 {
                switch self {
                case .registry(let row): row.change
                case .logs(let segment), .history(let segment): segment.change
                }
            }
        }
        var events =
            changes.registry.map(Event.registry) + changes.logSegments.map(Event.logs)
            + changes.historySegments.map(Event.history)
        events.sort { $0.change < $1.change }

        var refresh = Refresh(mark: changes.mark)
        for event in events {
            switch event {
            case .registry(let row):
                switch row.kind {
                case .asic:
                    var state = RegistryState<AsicMiner>.deleted
                    if let record = row.record { state = .present(try AsicMiner.decodeRecord(record)) }
                    appendRegistry(RegistryChange(id: row.id, state: state), to: &refresh.asic)
                case .cpuGpu:
                    var state = RegistryState<CpuGpuMiner>.deleted
                    if let record = row.record { state = .present(try CpuGpuMiner.decodeRecord(record)) }
                    appendRegistry(RegistryChange(id: row.id, state: state), to: &refresh.cpuGpu)
                }
            case .logs(let segment):
                var reader = try Segment.Reader(segment.body)
                switch segment.kind {
                case .asic:
                    var logs: [ObservedLog<AsicMinerLog>] = []
                    while let (id, fields) = try reader.next() {
                        logs.append(try reader.decode(ObservedLog<AsicMinerLog>.self, minerId: id, fields: fields))
                    }
                    appendLogs(logs, to: &refresh.asic)
                case .cpuGpu:
                    var logs: [ObservedLog<CpuGpuMinerLog>] = []
                    while let (id, fields) = try reader.next() {
                        logs.append(try reader.decode(ObservedLog<CpuGpuMinerLog>.self, minerId: id, fields: fields))
                    }
                    appendLogs(logs, to: &refresh.cpuGpu)
                }
            case .history(let segment):
                guard segment.kind == .asic else { continue }
                var reader = try Segment.Reader(segment.body)
                var history: [Int64: [AsicMinerHistoryEntry]] = [:]
                while let (id, fields) = try reader.next() {
                    history[id, default: []].append(
                        try reader.decode(HistorySample.self, minerId: id, fields: fields).entry)
                }
                refresh.asic.append(PersistedChanges(history: history))
            }
        }
        return refresh
    }

    private static func appendRegistry<Miner, Log>(
        _ change: RegistryChange<Miner>, to steps: inout [PersistedChanges<Miner, Log>]
    ) {
        if let last = steps.indices.last, steps[last].logs.isEmpty, steps[last].history.isEmpty {
            steps[last].registry.append(change)
        } else {
            steps.append(PersistedChanges(registry: [change]))
        }
    }

    private static func appendLogs<Miner, Log>(
        _ logs: [ObservedLog<Log>], to steps: inout [PersistedChanges<Miner, Log>]
    ) {
        if let last = steps.indices.last, steps[last].history.isEmpty {
            steps[last].logs.append(contentsOf: logs)
        } else {
            steps.append(PersistedChanges(logs: logs))
        }
    }
}
