/// Encoded bytes of records, kept per id with the revision they were encoded at. A record is re-encoded only
/// when its revision moved, so a broadcast tick encodes just the miners that reported since the last one and
/// splices the rest.
struct EncodedRecordCache: Sendable {
    private struct Item: Sendable {
        let revision: UInt64
        let bytes: [UInt8]
    }

    private var items: [Int64: Item] = [:]

    var count: Int { items.count }

    /// Records are written into this reused buffer and then copied out at their exact size, so neither the
    /// writing nor the cached copy pays for buffer growth.
    private var scratch = JSONWriter(reservingCapacity: 4096)

    mutating func bytes(for id: Int64, revision: UInt64, encode: (inout JSONWriter) -> Void) -> [UInt8] {
        if let item = items[id], item.revision == revision { return item.bytes }
        scratch.removeAll()
        encode(&scratch)
        let bytes = scratch.bytes
        items[id] = Item(revision: revision, bytes: bytes)
        return bytes
    }

    /// Drops ids the index no longer holds; called only when the cache has clearly outgrown the index, so the
    /// cost is amortised over many ticks.
    mutating func prune(keeping isHeld: (Int64) -> Bool) {
        items = items.filter { isHeld($0.key) }
    }
}
