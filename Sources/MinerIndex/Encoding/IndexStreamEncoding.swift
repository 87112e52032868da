/// The fields that place one keyframe or delta in its stream (see the README's "Keyframes and deltas").
public struct IndexStreamStamp: Sendable, Equatable {
    public var sequence: UInt64
    /// The message this one follows in its chain: for a delta, the message whose state it applies to; for a
    /// keyframe, the message whose state it equals (nil when it starts a chain).
    public var previousSequence: UInt64?
    /// Deltas only: the keyframe of the chain it belongs to.
    public var baseSequence: UInt64?
    public var leaderEpoch: Int64?
    /// Names the publisher's chain: one per term of leadership of one process, so that two chains never mix,
    /// even when a restart without a state store counts sequences from 1 again.
    public var chain: String
    public var generatedAt: Timestamp

    public init(
        sequence: UInt64, previousSequence: UInt64?, baseSequence: UInt64?, leaderEpoch: Int64?, chain: String,
        generatedAt: Timestamp
    ) {
        self.sequence = sequence
        self.previousSequence = previousSequence
        self.baseSequence = baseSequence
        self.leaderEpoch = leaderEpoch
        self.chain = chain
        self.generatedAt = generatedAt
    }
}

extension MinerPayloadEncoder {
    /// The full index as one or more messages of at most `maxBytes` each: the miner map, the operational map and
    /// the aggregated object, then the stamp. Split parts each hold a slice of the two maps (miners first, then
    /// logs, in the same order as one message would) and the whole aggregated object, and are JSON objects of
    /// their own. A part always holds at least one record, so it exceeds `maxBytes` only if one record plus the
    /// aggregated object does.
    public mutating func keyframeParts(
        _ snapshot: MinerIndexSnapshot<Miner, Log>, stamp: IndexStreamStamp, maxBytes: Int
    ) -> [[UInt8]] {
        var parts = PartWriter(
            sections: [.object(vocabulary.minerMap), .object(vocabulary.operationalMap)],
            trailer: trailer(snapshot.aggregate(), stamp: stamp), maxBytes: maxBytes,
            expectedSize: lastPayloadSize)
        for (id, entry) in snapshot.registry.entries where entry.activated {
            parts.append(id: id, record: minerBytes(id, entry))
        }
        parts.nextSection()
        snapshot.forEachListedLog { id, entry in
            parts.append(id: id, record: logBytes(id, entry))
        }
        let messages = parts.finish()
        pruneCaches(snapshot)
        lastPayloadSize = messages.reduce(0) { $0 + $1.count }
        return messages
    }

    /// A delta as one or more messages of at most `maxBytes` each (split like `keyframeParts`): upserted
    /// records, removed miner ids, new and changed logs, removed log ids, the aggregated object, the stamp.
    public mutating func deltaParts(
        _ delta: IndexDelta<Miner, Log>, stamp: IndexStreamStamp, maxBytes: Int
    ) -> [[UInt8]] {
        var parts = PartWriter(
            sections: [.object(vocabulary.minerMap), .array(vocabulary.removedMiners),
                       .object(vocabulary.operationalMap), .array(vocabulary.removedLogs)],
            trailer: trailer(delta.aggregate, stamp: stamp), maxBytes: maxBytes, expectedSize: 4096)
        for (id, entry) in delta.upsertedMiners { parts.append(id: id, record: minerBytes(id, entry)) }
        parts.nextSection()
        for id in delta.removedMiners { parts.append(id: id) }
        parts.nextSection()
        for (id, entry) in delta.upsertedLogs { parts.append(id: id, record: logBytes(id, entry)) }
        parts.nextSection()
        for id in delta.removedLogs { parts.append(id: id) }
        return parts.finish()
    }

    private mutating func minerBytes(_ id: Int64, _ entry: MinerRegistry<Miner>.Entry) -> [UInt8] {
        guard cachesRecords else { return entry.miner.encodedJSON() }
        return minerCache.bytes(for: id, revision: entry.revision) { entry.miner.writeJSON(to: &$0) }
    }

    private mutating func logBytes(_ id: Int64, _ entry: OperationalMap<Log>.Entry) -> [UInt8] {
        guard cachesRecords else { return entry.log.encodedJSON() }
        return logCache.bytes(for: id, revision: entry.revision) { entry.log.writeJSON(to: &$0) }
    }

    /// What closes every part but `part` and `parts`: the aggregated object and the stamp.
    private func trailer(_ aggregate: MinerAggregate, stamp: IndexStreamStamp) -> JSONWriter {
        var writer = JSONWriter(reservingCapacity: 8192)
        // Opened and never closed: the trailer is spliced into a part, after its maps.
        writer.beginObject()
        writer.key(vocabulary.aggregatedIndex)
        writeAggregate(aggregate, to: &writer)
        writer.key(PayloadKeys.sequence)
        writer.integer(stamp.sequence)
        writeLeaderEpoch(stamp.leaderEpoch, to: &writer)
        writer.key(PayloadKeys.generatedAt)
        writer.timestamp(stamp.generatedAt)
        if let base = stamp.baseSequence {
            writer.key(PayloadKeys.baseSequence)
            writer.integer(base)
        }
        writer.key(PayloadKeys.previousSequence)
        if let previous = stamp.previousSequence { writer.integer(previous) } else { writer.null() }
        writer.key(PayloadKeys.chain)
        writer.string(stamp.chain)
        return writer
    }
}

/// Lays records out into parts of at most `maxBytes`. Every part has every section, in order (empty where it
/// holds none of that section's records), then the trailer, then `"part": i, "parts": n`.
struct PartWriter {
    enum Section {
        /// `"key": {"id": record, …}`
        case object(JSONKey)
        /// `"key": [id, …]`
        case array(JSONKey)

        var key: JSONKey {
            switch self {
            case .object(let key), .array(let key): key
            }
        }
    }

    private let sections: [Section]
    private let trailer: [UInt8]
    private let maxBytes: Int
    /// Room kept in every part for what follows the records: closing brackets, empty sections, the trailer and
    /// the part numbers.
    private let reserve: Int
    private var finished: [JSONWriter] = []
    private var current: JSONWriter
    private var currentHasRecords = false
    /// The section records are being appended to, and the one `current` has open (-1: none yet).
    private var section = 0
    private var openSection = -1

    init(sections: [Section], trailer: JSONWriter, maxBytes: Int, expectedSize: Int) {
        self.sections = sections
        // The trailer was written as an object's first items: without its brace it splices after the maps.
        self.trailer = Array(trailer.bytes.dropFirst())
        self.maxBytes = maxBytes
        reserve = self.trailer.count + sections.reduce(0) { $0 + $1.key.encoded.count + 3 } + 64
        current = JSONWriter(reservingCapacity: min(max(expectedSize, 4096), maxBytes) + 1024)
        current.beginObject()
    }

    mutating func nextSection() { section += 1 }

    mutating func append(id: Int64, record: [UInt8]) {
        makeRoom(for: record.count + 24)
        current.key(id: id)
        current.raw(record)
    }

    mutating func append(id: Int64) {
        makeRoom(for: 21)
        current.integer(id)
    }

    private mutating func makeRoom(for size: Int) {
        if currentHasRecords, current.count + size + reserve > maxBytes {
            closeSections(through: sections.count - 1)
            finished.append(current)
            current = JSONWriter(reservingCapacity: min(maxBytes, 1 << 20))
            current.beginObject()
            openSection = -1
        }
        if openSection != section {
            if openSection >= 0 { close(openSection) }
            for skipped in stride(from: openSection + 1, to: section, by: 1) { writeEmpty(skipped) }
            open(section)
        }
        currentHasRecords = true
    }

    private mutating func open(_ index: Int) {
        current.key(sections[index].key)
        switch sections[index] {
        case .object: current.beginObject()
        case .array: current.beginArray()
        }
        openSection = index
    }

    private mutating func close(_ index: Int) {
        switch sections[index] {
        case .object: current.endObject()
        case .array: current.endArray()
        }
    }

    private mutating func writeEmpty(_ index: Int) {
        open(index)
        close(index)
    }

    /// Closes the open section and writes the remaining ones empty, through `last`.
    private mutating func closeSections(through last: Int) {
        if openSection >= 0 { close(openSection) }
        for remaining in stride(from: openSection + 1, through: last, by: 1) { writeEmpty(remaining) }
        openSection = last
        currentHasRecords = false
    }

    /// The parts, each a complete JSON object.
    mutating func finish() -> [[UInt8]] {
        closeSections(through: sections.count - 1)
        finished.append(current)
        let count = UInt64(finished.count)
        // In place: a copy of a part's writer would copy its buffer on the next write.
        for index in finished.indices {
            finished[index].raw(trailer)
            finished[index].key(PayloadKeys.part)
            finished[index].integer(UInt64(index + 1))
            finished[index].key(PayloadKeys.parts)
            finished[index].integer(count)
            finished[index].endObject()
        }
        return finished.map(\.bytes)
    }
}
