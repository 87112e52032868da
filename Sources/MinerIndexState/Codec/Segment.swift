import MinerIndex

/// A record the store keeps inside segments: one entry per miner, in a compact binary form.
protocol SegmentRecord: Sendable {
    var minerId: Int64 { get }
    var observedAt: Timestamp { get }
    /// Writes everything but the id and the observation time, which the segment writes itself.
    func encodeFields(to writer: inout EntryWriter)
    static func decodeFields(minerId: Int64, observedAt: Timestamp, from reader: inout EntryReader)
        throws(StateDecodingError) -> Self
}

/// Writes one entry's fields, straight into the segment's bytes. Strings come in two kinds: the ones many miners
/// share (pool addresses, wallets, coin names, states), written once per segment in a table and referred to by
/// number; and the ones each miner has of its own (worker names, IP addresses, uptimes), written in place, once per
/// entry even if several fields repeat them.
struct EntryWriter {
    var output: BinaryWriter
    private(set) var sharedTable: [String] = []
    private var sharedIndex: [String: UInt64] = [:]
    /// The shared strings used most recently, most recent first: a farm has a handful of pools, coins and states,
    /// and comparing against them is cheaper than hashing each one.
    private var recentShared: [(text: String, index: UInt64)] = []
    private var entryStrings: [String] = []

    init(reservingCapacity capacity: Int) {
        output = BinaryWriter(reservingCapacity: capacity)
    }

    mutating func beginEntry() {
        entryStrings.removeAll(keepingCapacity: true)
    }

    mutating func sharedString(_ value: String?) {
        guard let value else { return output.varint(0) }
        if let position = recentShared.firstIndex(where: { $0.text == value }) {
            return output.varint(recentShared[position].index + 1)
        }
        let index: UInt64
        if let known = sharedIndex[value] {
            index = known
        } else {
            index = UInt64(sharedTable.count)
            sharedTable.append(value)
            sharedIndex[value] = index
        }
        if recentShared.count == 16 { recentShared.removeLast() }
        recentShared.insert((value, index), at: 0)
        output.varint(index + 1)
    }

    mutating func ownString(_ value: String?) {
        guard let value else { return output.varint(0) }
        if let index = entryStrings.firstIndex(of: value) { return output.varint(UInt64(index) + 2) }
        entryStrings.append(value)
        output.varint(1)
        output.string(value)
    }

    mutating func number(_ value: Double?) { output.number(value) }
    mutating func byte(_ value: UInt8) { output.byte(value) }
    mutating func signed(_ value: Int64) { output.signed(value) }
    mutating func varint(_ value: UInt64) { output.varint(value) }
    mutating func fixed32(_ value: UInt32) { output.fixed32(value) }
}

/// Reads one entry's fields; see `EntryWriter`.
struct EntryReader {
    var input: BinaryReader
    let sharedTable: [String]
    private var entryStrings: [String] = []

    init(input: BinaryReader, sharedTable: [String]) {
        self.input = input
        self.sharedTable = sharedTable
    }

    mutating func sharedString() throws(StateDecodingError) -> String? {
        let reference = try input.varint()
        guard reference > 0 else { return nil }
        guard reference <= UInt64(sharedTable.count) else {
            throw StateDecodingError("shared string \(reference) beyond a table of \(sharedTable.count)")
        }
        return sharedTable[Int(reference - 1)]
    }

    mutating func ownString() throws(StateDecodingError) -> String? {
        let tag = try input.varint()
        switch tag {
        case 0: return nil
        case 1:
            let value = try input.string()
            entryStrings.append(value)
            return value
        default:
            guard tag - 2 < UInt64(entryStrings.count) else {
                throw StateDecodingError("string reference \(tag) unknown")
            }
            return entryStrings[Int(tag - 2)]
        }
    }

    mutating func requiredSharedString(_ field: String) throws(StateDecodingError) -> String {
        guard let value = try sharedString() else { throw StateDecodingError("\(field) is missing") }
        return value
    }

    mutating func requiredOwnString(_ field: String) throws(StateDecodingError) -> String {
        guard let value = try ownString() else { throw StateDecodingError("\(field) is missing") }
        return value
    }

    mutating func number() throws(StateDecodingError) -> Double? { try input.number() }
    mutating func requiredNumber(_ field: String) throws(StateDecodingError) -> Double {
        try input.requiredNumber(field)
    }
    mutating func byte() throws(StateDecodingError) -> UInt8 { try input.byte() }
    mutating func signed() throws(StateDecodingError) -> Int64 { try input.signed() }
    mutating func varint() throws(StateDecodingError) -> UInt64 { try input.varint() }
    mutating func fixed32() throws(StateDecodingError) -> UInt32 { try input.fixed32() }
}

/// A segment: the entries one checkpoint wrote for one miner kind, as one blob.
///
/// Appending a segment per checkpoint instead of updating one row per miner is what keeps the store within its
/// write budget: at 100k miners reporting every 5 s, a checkpoint changes a fifth of the rows, which in a B-tree
/// means rewriting nearly every page, several times the bytes of the changes themselves.
///
/// Layout: a format byte, the base time, the shared-string table, then for each entry its miner id, its length
/// and its fields, so that a reader can skip an entry it does not need without decoding it.
enum Segment {
    static let formatVersion: UInt8 = 1
    /// Guards against a damaged length allocating without bound.
    static let maximumCount = 50_000_000

    static func encode<Record: SegmentRecord>(_ records: [Record]) -> [UInt8] {
        let baseTime = records.first?.observedAt.microsecondsSinceEpoch ?? 0
        var entries = EntryWriter(reservingCapacity: records.count * 200)
        // By index: a loop variable would copy each record, retaining every array and string in it.
        for index in records.indices {
            entries.beginEntry()
            entries.signed(records[index].minerId)
            let length = entries.output.reserveLength()
            entries.signed(records[index].observedAt.microsecondsSinceEpoch &- baseTime)
            records[index].encodeFields(to: &entries)
            entries.output.patchLength(at: length)
        }
        var segment = BinaryWriter(reservingCapacity: entries.output.bytes.count + 64)
        segment.byte(formatVersion)
        segment.signed(baseTime)
        segment.varint(UInt64(entries.sharedTable.count))
        for text in entries.sharedTable { segment.string(text) }
        segment.varint(UInt64(records.count))
        segment.raw(entries.output.bytes)
        return segment.bytes
    }

    /// Walks the entries of one segment in the order they were written.
    struct Reader {
        private let bytes: [UInt8]
        private var input: BinaryReader
        private let baseTime: Int64
        private let sharedTable: [String]
        private(set) var remaining: Int

        init(_ bytes: [UInt8]) throws(StateDecodingError) {
            self.bytes = bytes
            input = BinaryReader(bytes)
            let version = try input.byte()
            guard version == Segment.formatVersion else {
                throw StateDecodingError("unknown segment format \(version)")
            }
            baseTime = try input.signed()
            let tableCount = try input.count(limit: Segment.maximumCount)
            var table: [String] = []
            table.reserveCapacity(tableCount)
            for _ in 0..<tableCount { table.append(try input.string()) }
            sharedTable = table
            remaining = try input.count(limit: Segment.maximumCount)
        }

        /// The next entry's miner id and where its fields are; nil after the last.
        mutating func next() throws(StateDecodingError) -> (minerId: Int64, fields: Range<Int>)? {
            guard remaining > 0 else {
                guard input.isAtEnd else { throw StateDecodingError("bytes after the last entry") }
                return nil
            }
            remaining -= 1
            let minerId = try input.signed()
            let length = try input.count(limit: input.end - input.offset)
            let start = input.offset
            try input.skip(length)
            return (minerId, start..<(start + length))
        }

        func decode<Record: SegmentRecord>(_: Record.Type, minerId: Int64, fields: Range<Int>)
            throws(StateDecodingError) -> Record
        {
            var reader = EntryReader(
                input: BinaryReader(bytes, offset: fields.lowerBound, end: fields.upperBound),
                sharedTable: sharedTable)
            let delta = try reader.signed()
            let (observed, overflow) = baseTime.addingReportingOverflow(delta)
            guard !overflow else { throw StateDecodingError("observation time out of range") }
            let record = try Record.decodeFields(
                minerId: minerId, observedAt: Timestamp(microsecondsSinceEpoch: observed), from: &reader)
            guard reader.input.isAtEnd else { throw StateDecodingError("entry of miner \(minerId) has extra bytes") }
            return record
        }
    }
}
