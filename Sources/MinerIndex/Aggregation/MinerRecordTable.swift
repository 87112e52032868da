/// The listed records by miner id: an open-addressing hash table with each key beside its value, so a lookup
/// usually costs one or two cache lines where a `Dictionary` touches its bitmap, its key array and its value
/// array apart. It is read and written once per log at 100k miners, where nothing of it is in cache.
///
/// Linear probing; removal shifts the following entries back, so there are no tombstones. Ids come from the
/// producers, so the hash is seeded per table (as `Dictionary`'s is per process) and mixed with the SplitMix64
/// finaliser: ids chosen to collide cannot be chosen without the seed.
struct MinerRecordTable<Value: Sendable>: Sendable {
    /// Not an optional: telling an empty `Slot?` from a full one took a copy of the whole slot (value and all) and
    /// a call into the value's type metadata on every probe, where a flag beside the key is one load.
    private struct Slot: Sendable {
        var key: Int64
        var isOccupied: Bool
        var value: Value
    }

    private var slots: [Slot]
    private(set) var count = 0
    private let seed: UInt64
    /// What an empty slot holds, never read as a value.
    private let placeholder: Value

    init(placeholder: Value, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.seed = seed
        self.placeholder = placeholder
        slots = Array(repeating: Slot(key: 0, isOccupied: false, value: placeholder), count: 16)
    }

    /// The position of `key`'s slot, if it is held.
    func index(of key: Int64) -> Int? {
        var index = home(of: key)
        while slots[index].isOccupied {
            if slots[index].key == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    /// The value at a position `index(of:)` returned.
    subscript(at index: Int) -> Value {
        get { slots[index].value }
        _modify { yield &slots[index].value }
    }

    subscript(key: Int64) -> Value? { index(of: key).map { self[at: $0] } }

    /// Stores `value` under `key`, replacing any held.
    mutating func insert(_ value: Value, for key: Int64) {
        if let index = index(of: key) {
            slots[index].value = value
            return
        }
        if (count + 1) * 4 > slots.count * 3 { grow() }
        var index = home(of: key)
        while slots[index].isOccupied { index = (index + 1) & mask }
        slots[index] = Slot(key: key, isOccupied: true, value: value)
        count += 1
    }

    @discardableResult
    mutating func removeValue(for key: Int64) -> Value? {
        guard var hole = index(of: key) else { return nil }
        let removed = slots[hole].value
        empty(hole)
        count -= 1
        // Backward shift: move each following entry into the hole if the hole lies on its probe path.
        var index = (hole + 1) & mask
        while slots[index].isOccupied {
            let home = home(of: slots[index].key)
            let distanceToHole = (hole - home) & mask, distanceToIndex = (index - home) & mask
            if distanceToHole < distanceToIndex {
                slots[hole] = slots[index]
                empty(index)
                hole = index
            }
            index = (index + 1) & mask
        }
        return removed
    }

    /// Every entry, in no particular order; for tests.
    var entries: [(key: Int64, value: Value)] { Array(lazyEntries) }

    /// The entries in slot order, read as they are iterated.
    var lazyEntries: some Sequence<(key: Int64, value: Value)> {
        slots.lazy.filter(\.isOccupied).map { (key: $0.key, value: $0.value) }
    }

    private mutating func empty(_ index: Int) {
        slots[index] = Slot(key: 0, isOccupied: false, value: placeholder)
    }

    private var mask: Int { slots.count - 1 }

    private func home(of key: Int64) -> Int {
        var mixed = UInt64(bitPattern: key) ^ seed
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        return Int(truncatingIfNeeded: mixed) & mask
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(key: 0, isOccupied: false, value: placeholder), count: old.count * 2)
        count = 0
        for slot in old where slot.isOccupied { insert(slot.value, for: slot.key) }
    }
}
