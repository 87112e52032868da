/// The fields that place one keyframe or delta in its stream (see the README's "Keyframes and deltas").
public struct IndexStreamStamp: Sendable, Equatable {
    public var sequence: UInt64
    /// The message this one follows in its chain: for a delta, the message whose state it applies to; for a
    /// keyframe, the message whose state it equals (nil when it starts a chain).
    public var previousSequence: UInt64?
    /// Deltas only: the keyframe of the chain it belongs to.
    public var baseSequence: UInt64?
    /// For a delta, and a keyframe that continues its chain: the chain's last delta before this message, or its
    /// base keyframe if it has none. The keyframes published since each continued the chain and repeat that
    /// message's state, so a subscriber that holds it may apply the next delta without them.
    public var previousDeltaSequence: UInt64?
    public var leaderEpoch: Int64?
    /// Names the publisher's chain: one per term of leadership of one process, so that two chains never mix,
    /// even when a restart without a state store counts sequences from 1 again.
    public var chain: String
    public var generatedAt: Timestamp

    public init(
        sequence: UInt64, previousSequence: UInt64?, baseSequence: UInt64?, previousDeltaSequence: UInt64? = nil,
        leaderEpoch: Int64?, chain: String, generatedAt: Timestamp
    ) {
        self.sequence = sequence
        self.previousSequence = previousSequence
        self.baseSequence = baseSequence
        self.previousDeltaSequence = previousDeltaSequence
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
    ///
    /// Logs are encoded afresh rather than from a byte cache: the deltas between keyframes send changed fields,
    /// not records, so nearly every log changed since the last keyframe and a cache would be rebuilt each time.
    // Specialized here, because callers in other modules would otherwise run the generic body, which copied
    // every log out of its entry (a retain per string and array) before writing it.
    @_specialize(where Miner == AsicMiner, Log == AsicMinerLog)
    @_specialize(where Miner == CpuGpuMiner, Log == CpuGpuMinerLog)
    public mutating func keyframeParts(
        _ snapshot: MinerIndexSnapshot<Miner, Log>, stamp: IndexStreamStamp, maxBytes: Int
    ) -> [[UInt8]] {
        var parts = PartWriter(
            sections: [.object(vocabulary.minerMap), .object(vocabulary.operationalMap)],
            trailer: trailer(snapshot.aggregate(), stamp: stamp), maxBytes: maxBytes,
            expectedSize: lastPayloadSize, reusing: takePartBuffers())
        for (id, entry) in snapshot.registry.entries where entry.activated {
            parts.append(id: id, record: minerBytes(id, entry))
        }
        parts.nextSection()
        // Fingerprints are rewritten in place; only the ids no longer listed need dropping, which deltas already
        // did unless the chain started again.
        var listed = 0
        snapshot.forEachListedLog { id, entry in
            listed += 1
            parts.append(id: id) {
                entry.log.writeJSON(to: &$0, fingerprint: &heldLogFingerprints[id, default: []], onlyChanged: false)
            }
        }
        if heldLogFingerprints.count != listed {
            heldLogFingerprints = heldLogFingerprints.filter {
                snapshot.registry.isActivated($0.key) && snapshot.operational[$0.key] != nil
            }
        }
        let messages = parts.finish()
        partBuffers = parts.buffers
        pruneCaches(snapshot)
        lastPayloadSize = messages.reduce(0) { $0 + $1.count }
        return messages
    }

    /// A delta as one or more messages of at most `maxBytes` each (split like `keyframeParts`): upserted
    /// records, removed miner ids, new logs (whole), removed log ids, then the changed fields of the logs a
    /// subscriber already holds, the aggregated object, the stamp.
    ///
    /// What a subscriber holds is what this encoder sent last: the caller must publish every delta it encodes,
    /// in order, or start again from a keyframe.
    @_specialize(where Miner == AsicMiner, Log == AsicMinerLog)
    @_specialize(where Miner == CpuGpuMiner, Log == CpuGpuMinerLog)
    public mutating func deltaParts(
        _ delta: IndexDelta<Miner, Log>, stamp: IndexStreamStamp, maxBytes: Int
    ) -> [[UInt8]] {
        var parts = PartWriter(
            sections: [
                .object(vocabulary.minerMap), .array(vocabulary.removedMiners),
                .object(vocabulary.operationalMap), .array(vocabulary.removedLogs),
                .object(vocabulary.changedLogs),
            ],
            trailer: trailer(delta.aggregate, stamp: stamp), maxBytes: maxBytes, expectedSize: 4096,
            reusing: takePartBuffers())
        for (id, entry) in delta.upsertedMiners { parts.append(id: id, record: minerBytes(id, entry)) }
        parts.nextSection()
        for id in delta.removedMiners { parts.append(id: id) }
        parts.nextSection()
        // A subscriber deletes the removed ids before it applies the rest, so they are no longer held.
        for id in delta.removedLogs { heldLogFingerprints[id] = nil }
        var changed: [(id: Int64, entry: OperationalMap<Log>.Entry)] = []
        changed.reserveCapacity(delta.upsertedLogs.count)
        for (id, entry) in delta.upsertedLogs {
            if heldLogFingerprints[id] != nil {
                changed.append((id, entry))
            } else {
                parts.append(id: id) {
                    entry.log.writeJSON(to: &$0, fingerprint: &heldLogFingerprints[id, default: []], onlyChanged: false)
                }
            }
        }
        parts.nextSection()
        for id in delta.removedLogs { parts.append(id: id) }
        parts.nextSection()
        for (id, entry) in changed {
            parts.append(id: id, skippingEmptyObject: true) {
                entry.log.writeJSON(to: &$0, fingerprint: &heldLogFingerprints[id, default: []], onlyChanged: true)
            }
        }
        let messages = parts.finish()
        partBuffers = parts.buffers
        return messages
    }

    /// The buffers the last message's parts were written in, kept for the next: a delta is megabytes at 100k
    /// miners, and on this kind of machine the page faults of fresh buffers are dear. After a keyframe they hold
    /// its size (about a hundred megabytes) until the next delta takes what it needs and drops the rest.
    private mutating func takePartBuffers() -> [JSONWriter] {
        defer { partBuffers = [] }
        return partBuffers
    }

    private mutating func minerBytes(_ id: Int64, _ entry: MinerRegistry<Miner>.Entry) -> [UInt8] {
        guard cachesRecords else { return entry.miner.encodedJSON() }
        return minerCache.bytes(for: id, revision: entry.revision) { entry.miner.writeJSON(to: &$0) }
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
        if let previousDelta = stamp.previousDeltaSequence {
            writer.key(PayloadKeys.previousDeltaSequence)
            writer.integer(previousDelta)
        }
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
    private let expectedSize: Int
    /// Writers left to reuse, the next one last.
    private var spare: [JSONWriter]
    /// Bytes in the finished parts.
    private var writtenBytes = 0
    /// Room kept in every part for what follows the records: closing brackets, empty sections, the trailer and
    /// the part numbers.
    private let reserve: Int
    private var finished: [JSONWriter] = []
    private var current: JSONWriter
    private var currentHasRecords = false
    /// The section records are being appended to, and the one `current` has open (-1: none yet).
    private var section = 0
    private var openSection = -1

    /// - Parameter spare: writers to write the parts in, in order, emptied first (their allocations are what is
    ///   reused); more parts get new writers.
    init(sections: [Section], trailer: JSONWriter, maxBytes: Int, expectedSize: Int, reusing spare: [JSONWriter] = []) {
        self.sections = sections
        // The trailer was written as an object's first items: without its brace it splices after the maps.
        self.trailer = Array(trailer.bytes.dropFirst())
        self.maxBytes = maxBytes
        reserve = self.trailer.count + sections.reduce(0) { $0 + $1.key.encoded.count + 3 } + 64
        self.expectedSize = expectedSize
        self.spare = spare.reversed()
        current = JSONWriter(reservingCapacity: 0)
        current = nextWriter(capacity: min(max(expectedSize, 4096), maxBytes) + 1024)
        current.beginObject()
    }

    /// The writers of the parts, once `finish` has run, for the next message to reuse.
    var buffers: [JSONWriter] { finished }

    private mutating func nextWriter(capacity: Int) -> JSONWriter {
        guard var writer = spare.popLast() else { return JSONWriter(reservingCapacity: capacity) }
        writer.removeAll()
        return writer
    }

    mutating func nextSection() { section += 1 }

    mutating func append(id: Int64, record: [UInt8]) {
        makeRoom(for: record.count + 24)
        current.key(id: id)
        current.raw(record)
    }

    /// Starts a new part first if `size` more bytes would not fit, then opens the section in the part.
    private mutating func makeRoom(for size: Int) {
        if currentHasRecords, current.count + size + reserve > maxBytes { startNextPart() }
        openSectionInCurrentPart()
        currentHasRecords = true
    }

    /// A record written by `write` straight into the part. With `skippingEmptyObject`, a record written as `{}`
    /// is taken back out. A record that takes the part past `maxBytes` is moved to a new part: only then is it
    /// copied, where writing every record through a scratch buffer copied them all.
    mutating func append(id: Int64, skippingEmptyObject: Bool = false, write: (inout JSONWriter) -> Void) {
        openSectionInCurrentPart()
        let partHadRecords = currentHasRecords
        let mark = current.mark
        current.key(id: id)
        let recordStart = current.count
        write(&current)
        if skippingEmptyObject, current.count - recordStart == 2 {
            current.rewind(to: mark)
            return
        }
        currentHasRecords = true
        guard partHadRecords, current.count + reserve > maxBytes else { return }
        let record = current.bytes(from: recordStart)
        current.rewind(to: mark)
        startNextPart()
        openSectionInCurrentPart()
        current.key(id: id)
        current.raw(record)
        currentHasRecords = true
    }

    mutating func append(id: Int64) {
        makeRoom(for: 21)
        current.integer(id)
    }

    private mutating func startNextPart() {
        closeSections(through: sections.count - 1)
        finished.append(current)
        writtenBytes += current.count
        // Sized for what is still expected, so a large keyframe's parts do not grow by doubling.
        current = nextWriter(capacity: min(maxBytes, max(expectedSize - writtenBytes, 1 << 20)) + 1024)
        current.beginObject()
        openSection = -1
    }

    private mutating func openSectionInCurrentPart() {
        guard openSection != section else { return }
        if openSection >= 0 { close(openSection) }
        for skipped in stride(from: openSection + 1, to: section, by: 1) { writeEmpty(skipped) }
        open(section)
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
