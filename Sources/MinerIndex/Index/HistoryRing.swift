/// A per-miner ring of history entries, oldest first, that never grows past its capacity: once full, each new
/// entry overwrites the oldest in place instead of shifting the array.
struct HistoryRing: Sendable {
    private var slots: ContiguousArray<AsicMinerHistoryEntry> = []
    private var head = 0
    private(set) var count = 0

    /// Slots are not reserved up front: a miner's first logs would then claim the whole ring (4 KB at 60 entries),
    /// which a drain of new miners paid for in page faults and heap growth. The ring grows by doubling instead,
    /// never past `capacity`.
    init() {}

    var newest: AsicMinerHistoryEntry? { count == 0 ? nil : self[count - 1] }

    subscript(logicalIndex: Int) -> AsicMinerHistoryEntry { slots[(head + logicalIndex) % slots.count] }

    /// Appends `entry` only if it is newer than the newest one, then forgets entries older than `cutoff`.
    mutating func appendIfNewer(
        _ entry: AsicMinerHistoryEntry, capacity: Int, droppingOlderThan cutoff: Timestamp
    ) -> (appended: Bool, previousNewest: Timestamp?) {
        let previousNewest = newest?.observedAt
        if let previousNewest, entry.observedAt <= previousNewest { return (false, previousNewest) }
        append(entry, capacity: capacity)
        dropOlder(than: cutoff)
        return (true, previousNewest)
    }

    mutating func append(_ entry: AsicMinerHistoryEntry, capacity: Int) {
        if count < slots.count {
            slots[(head + count) % slots.count] = entry
            count += 1
        } else if slots.count < capacity {
            if head != 0 { linearize() }
            if slots.count == slots.capacity {
                slots.reserveCapacity(min(capacity, max(4, slots.count * 2)))
            }
            slots.append(entry)
            count += 1
        } else {
            slots[head] = entry
            head = (head + 1) % slots.count
        }
    }

    /// Forgets the entries observed before `cutoff`, oldest first.
    mutating func dropOlder(than cutoff: Timestamp) {
        while count > 0, self[0].observedAt < cutoff {
            head = (head + 1) % slots.count
            count -= 1
        }
    }

    func entries(notBefore cutoff: Timestamp) -> [AsicMinerHistoryEntry] {
        var result: [AsicMinerHistoryEntry] = []
        result.reserveCapacity(count)
        for index in 0..<count where self[index].observedAt >= cutoff {
            result.append(self[index])
        }
        return result
    }

    private mutating func linearize() {
        slots = ContiguousArray((0..<count).map { self[$0] })
        head = 0
    }
}
