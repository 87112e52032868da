/// Accepted and rejected shares per pool address over the listed logs, and how many name each address: the
/// interned address's reference count is its miner count (a log naming one address in two slots counts once).
/// An address no log names any more is freed, so the figures hold the pools in use.
struct PoolTotals: Sendable {
    private var table = InternTable()
    private var accepted: [CompensatedSum] = []
    private var rejected: [CompensatedSum] = []

    /// Counts `log`'s pools in: each distinct address takes a reference, and the shares are added.
    mutating func add<Log: FleetHealthLog>(_ log: Log) -> PoolSlots {
        var slots = PoolSlots()
        for slot in 0..<min(Log.poolSlotCount, PoolSlots.capacity) {
            guard let pool = log.poolShares(slot: slot) else { continue }
            if let earlier = (0..<slot).first(where: {
                slots.ids[$0] >= 0 && table.matches(slots.ids[$0], pool.address)
            }) {
                slots.ids[slot] = slots.ids[earlier]
            } else {
                slots.ids[slot] = table.retain(pool.address)
            }
            slots.accepted[slot] = pool.accepted
            slots.rejected[slot] = pool.rejected
        }
        growArrays()
        addShares(slots, sign: 1)
        return slots
    }

    mutating func remove(_ slots: PoolSlots) {
        addShares(slots, sign: -1)
        for slot in 0..<PoolSlots.capacity where slots.ids[slot] >= 0 && slots.isFirstMention(slot) {
            let id = slots.ids[slot]
            if table.release(id) {
                accepted[Int(id)] = CompensatedSum()
                rejected[Int(id)] = CompensatedSum()
            }
        }
    }

    /// A miner's next log: when every slot names the address it named before (the usual case), only the shares
    /// move, with no lookup; otherwise the new pools are counted in before the old ones are counted out.
    mutating func replace<Log: FleetHealthLog>(_ old: PoolSlots, with log: Log) -> PoolSlots {
        var slots = old
        for slot in 0..<min(Log.poolSlotCount, PoolSlots.capacity) {
            let pool = log.poolShares(slot: slot)
            let sameAddress = pool.map { table.matches(old.ids[slot], $0.address) } ?? (old.ids[slot] < 0)
            guard sameAddress else {
                let added = add(log)
                remove(old)
                return added
            }
            slots.accepted[slot] = pool?.accepted ?? 0
            slots.rejected[slot] = pool?.rejected ?? 0
        }
        addShares(old, sign: -1)
        addShares(slots, sign: 1)
        return slots
    }

    func figures() -> [String: FleetHealth.Pool] {
        var result: [String: FleetHealth.Pool] = [:]
        table.forEachInUse { id, address, miners in
            result[address] = FleetHealth.Pool(
                miners: miners, accepted: accepted[Int(id)].value, rejected: rejected[Int(id)].value)
        }
        return result
    }

    private mutating func addShares(_ slots: PoolSlots, sign: Double) {
        for slot in 0..<PoolSlots.capacity where slots.ids[slot] >= 0 {
            let id = Int(slots.ids[slot])
            accepted[id].add(sign * slots.accepted[slot])
            rejected[id].add(sign * slots.rejected[slot])
        }
    }

    private mutating func growArrays() {
        while accepted.count < table.capacity {
            accepted.append(CompensatedSum())
            rejected.append(CompensatedSum())
        }
    }
}
