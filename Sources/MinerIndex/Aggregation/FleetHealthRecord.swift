/// The pool slots of one listed log: each slot's interned address (-1 when the slot has none) and its shares.
struct PoolSlots: Sendable, Equatable {
    /// The slots counted per log: an ASIC log has three.
    static let capacity = 3

    var ids = SIMD3<InternTable.ID>(repeating: -1)
    var accepted = SIMD3<Double>.zero
    var rejected = SIMD3<Double>.zero

    /// Whether `slot` is the first one naming its address, so that a miner naming a pool twice counts once.
    func isFirstMention(_ slot: Int) -> Bool {
        (0..<slot).allSatisfy { ids[$0] != ids[slot] }
    }
}

/// What one listed log adds to the fleet-health figures, kept per miner: replacing the log then reads this small
/// record instead of the old log, which is cold in memory by then (about a kilobyte per log in a 100k fleet), and
/// the strings it groups by are compared with the ones the record already names instead of being hashed again.
struct ListedRecord: Sendable {
    var observedAt: Timestamp
    /// `.nan` when the log reports no temperature.
    var temperature: Double
    var hasStoppedFan: Bool
    /// Interned model of the registration (-1 for kinds without a breakdown).
    var model: InternTable.ID
    /// Interned raw coin spelling (-1 for logs that mine several coins).
    var coin: InternTable.ID
    var hashesPerSecond: Double
    /// Watts (`aggregatedPower`).
    var power: Double
    var pools: PoolSlots

    /// What an empty slot of the record table holds.
    static let placeholder = ListedRecord(
        observedAt: Timestamp(microsecondsSinceEpoch: 0), temperature: .nan, hasStoppedFan: false, model: -1, coin: -1,
        hashesPerSecond: 0, power: 0, pools: PoolSlots())
}
