/// Accepted and rejected shares per pool address, and how many listed logs name each address, summed as logs
/// come and go. An address no log names any more is dropped, so the map holds the pools in use. A log that names
/// one address in two slots adds both slots' shares but counts as one miner.
struct PoolTotals: Sendable {
    private struct Total: Sendable {
        var miners = 0
        var accepted = CompensatedSum()
        var rejected = CompensatedSum()

        mutating func include(_ pool: PoolShares, countingMiner: Bool) {
            if countingMiner { miners += 1 }
            accepted.add(pool.accepted)
            rejected.add(pool.rejected)
        }

        mutating func move(from before: PoolShares, to after: PoolShares) {
            accepted.add(-before.accepted)
            accepted.add(after.accepted)
            rejected.add(-before.rejected)
            rejected.add(after.rejected)
        }
    }

    private var byAddress: [String: Total] = [:]

    mutating func add<Log: FleetHealthLog>(_ log: Log) {
        for slot in 0..<Log.poolSlotCount {
            guard let pool = log.poolShares(slot: slot) else { continue }
            let newMiner = !Self.named(pool.address, before: slot, in: log)
            byAddress[pool.address, default: Total()].include(pool, countingMiner: newMiner)
        }
    }

    mutating func remove<Log: FleetHealthLog>(_ log: Log) {
        for slot in 0..<Log.poolSlotCount {
            guard let pool = log.poolShares(slot: slot) else { continue }
            exclude(pool, countingMiner: !Self.named(pool.address, before: slot, in: log))
        }
    }

    /// A miner's log replaced by its next one. When every slot names the same address as before (the usual
    /// case), each pool is looked up once and moved by the difference.
    mutating func replace<Log: FleetHealthLog>(_ old: Log, with new: Log) {
        var sameAddresses = true
        for slot in 0..<Log.poolSlotCount where old.poolShares(slot: slot)?.address != new.poolShares(slot: slot)?.address {
            sameAddresses = false
            break
        }
        guard sameAddresses else {
            remove(old)
            add(new)
            return
        }
        for slot in 0..<Log.poolSlotCount {
            guard let before = old.poolShares(slot: slot), let after = new.poolShares(slot: slot) else { continue }
            byAddress[after.address]?.move(from: before, to: after)
        }
    }

    private mutating func exclude(_ pool: PoolShares, countingMiner: Bool) {
        guard var total = byAddress[pool.address] else { return }
        if countingMiner { total.miners -= 1 }
        if total.miners <= 0 {
            // The log's other slots naming this address find it gone and skip, which is what they would undo.
            byAddress[pool.address] = nil
        } else {
            total.accepted.add(-pool.accepted)
            total.rejected.add(-pool.rejected)
            byAddress[pool.address] = total
        }
    }

    private static func named<Log: FleetHealthLog>(_ address: String, before slot: Int, in log: Log) -> Bool {
        for earlier in 0..<slot where log.poolShares(slot: earlier)?.address == address { return true }
        return false
    }

    func figures() -> [String: FleetHealth.Pool] {
        byAddress.mapValues {
            FleetHealth.Pool(miners: $0.miners, accepted: $0.accepted.value, rejected: $0.rejected.value)
        }
    }
}
