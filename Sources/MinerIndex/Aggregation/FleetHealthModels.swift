/// The per-model breakdown (`model_map`): for each registry model, its activated miners (the interned model's
/// reference count) and, over their listed logs, the live count, the power and the hashrate per coin. Coins are
/// the coin table's ids, folded into display names when read. A model with no activated miner left is freed.
struct ModelBreakdown: Sendable {
    private struct CoinTotal: Sendable {
        var hashesPerSecond = CompensatedSum()
        var contributions = 0
    }

    private var table = InternTable()
    private var liveCounts: [Int] = []
    private var power: [CompensatedSum] = []
    /// Read and written back whole, never changed through `coins[model][coin]?.…`: a nested in-place change of a
    /// dictionary value runs the accessors as coroutines whose frames are allocated, three mallocs per log.
    private var coins: [[InternTable.ID: CoinTotal]] = []

    mutating func register(_ model: String) -> InternTable.ID {
        let id = table.retain(model)
        while liveCounts.count < table.capacity {
            liveCounts.append(0)
            power.append(CompensatedSum())
            coins.append([:])
        }
        return id
    }

    mutating func unregister(_ model: String) {
        guard let id = table.id(of: model), table.release(id) else { return }
        liveCounts[Int(id)] = 0
        power[Int(id)] = CompensatedSum()
        coins[Int(id)] = [:]
    }

    func id(of model: String) -> InternTable.ID? { table.id(of: model) }

    mutating func add(model: InternTable.ID, coin: InternTable.ID, hashesPerSecond: Double, watts: Double) {
        let index = Int(model)
        liveCounts[index] += 1
        power[index].add(watts)
        guard coin >= 0 else { return }
        var total = coins[index][coin] ?? CoinTotal()
        total.hashesPerSecond.add(hashesPerSecond)
        total.contributions += 1
        coins[index][coin] = total
    }

    mutating func remove(model: InternTable.ID, coin: InternTable.ID, hashesPerSecond: Double, watts: Double) {
        let index = Int(model)
        liveCounts[index] -= 1
        if liveCounts[index] <= 0 {
            liveCounts[index] = 0
            power[index] = CompensatedSum()
        } else {
            power[index].add(-watts)
        }
        guard coin >= 0, var total = coins[index][coin] else { return }
        total.contributions -= 1
        if total.contributions <= 0 {
            coins[index][coin] = nil
        } else {
            total.hashesPerSecond.add(-hashesPerSecond)
            coins[index][coin] = total
        }
    }

    /// A miner's next log on the same coin: hashrate and power move by the difference.
    mutating func move(
        model: InternTable.ID, coin: InternTable.ID, from old: (hashesPerSecond: Double, watts: Double),
        to new: (hashesPerSecond: Double, watts: Double)
    ) {
        let index = Int(model)
        power[index].add(-old.watts)
        power[index].add(new.watts)
        guard coin >= 0, var total = coins[index][coin] else { return }
        total.hashesPerSecond.add(-old.hashesPerSecond)
        total.hashesPerSecond.add(new.hashesPerSecond)
        coins[index][coin] = total
    }

    /// `rawCoinName` gives the spelling of a coin id.
    func figures(rawCoinName: (InternTable.ID) -> String) -> [String: FleetHealth.Model] {
        var result: [String: FleetHealth.Model] = [:]
        table.forEachInUse { id, model, registered in
            var hashrates: [String: Hashrate] = [:]
            for (coin, total) in coins[Int(id)] {
                hashrates[CoinName.normalized(rawCoinName(coin)), default: .zero] += Hashrate(
                    hashesPerSecond: total.hashesPerSecond.value)
            }
            result[model] = FleetHealth.Model(
                liveCount: liveCounts[Int(id)], registeredCount: registered, coinHashrates: hashrates,
                power: power[Int(id)].value)
        }
        return result
    }
}
