/// The registered miners of one kind, with a running count of the activated ones so "alive n/m" needs no scan.
public struct MinerRegistry<Miner: RegisteredMiner>: Sendable {
    /// A record plus the index revision at which it last changed, which lets encoders reuse cached bytes.
    public struct Entry: Sendable {
        private let box: SharedBox<Miner>
        /// Kept beside the box so the hot "is it listed?" check does not reach into the record.
        public let activated: Bool
        public let revision: UInt64

        init(miner: Miner, revision: UInt64) {
            box = SharedBox(miner)
            activated = miner.activated
            self.revision = revision
        }

        public var miner: Miner { box.value }
    }

    public private(set) var entries: [Int64: Entry] = [:]
    public private(set) var activatedCount = 0

    public init() {}

    public subscript(id: Int64) -> Miner? { entries[id]?.miner }

    public func isActivated(_ id: Int64) -> Bool { entries[id]?.activated ?? false }

    mutating func upsert(_ miner: Miner, revision: UInt64) {
        let previous = entries.updateValue(Entry(miner: miner, revision: revision), forKey: miner.id)
        if previous?.activated == true { activatedCount -= 1 }
        if miner.activated { activatedCount += 1 }
    }

    /// The registration of `id`, registering a placeholder first for an id seen only in logs (`isNew`).
    mutating func entryRegisteringIfUnknown(_ id: Int64, revision: UInt64) -> (entry: Entry, isNew: Bool) {
        if let known = entries[id] { return (known, false) }
        let placeholder = Entry(miner: Miner.placeholder(id: id), revision: revision)
        entries[id] = placeholder
        if placeholder.activated { activatedCount += 1 }
        return (placeholder, true)
    }

    @discardableResult
    mutating func remove(_ id: Int64) -> Bool {
        guard let previous = entries.removeValue(forKey: id) else { return false }
        if previous.activated { activatedCount -= 1 }
        return true
    }
}
