/// Watts per coin over the listed logs (`coin_power_map`), kept like the hashrates of `RunningAggregate`: under
/// the producers' raw spellings, folded into display names only when read.
struct CoinPowerTotals: Sendable {
    private struct Total: Sendable {
        var watts = CompensatedSum()
        var contributions = 0

        mutating func include(_ value: Double) {
            watts.add(value)
            contributions += 1
        }

        mutating func move(from before: Double, to after: Double) {
            watts.add(-before)
            watts.add(after)
        }
    }

    private var byRawName: [String: Total] = [:]

    mutating func add<Log: FleetHealthLog>(_ log: Log) {
        guard let (coin, watts) = log.coinPower else { return }
        byRawName[coin, default: Total()].include(watts)
    }

    mutating func remove<Log: FleetHealthLog>(_ log: Log) {
        guard let (coin, watts) = log.coinPower else { return }
        guard var total = byRawName[coin] else { return }
        total.contributions -= 1
        if total.contributions <= 0 {
            byRawName[coin] = nil
        } else {
            total.watts.add(-watts)
            byRawName[coin] = total
        }
    }

    /// A miner's next log: on the same coin spelling, one lookup moved by the difference.
    mutating func replace<Log: FleetHealthLog>(_ old: Log, with new: Log) {
        guard let before = old.coinPower, let after = new.coinPower, before.rawCoinName == after.rawCoinName else {
            remove(old)
            add(new)
            return
        }
        byRawName[after.rawCoinName]?.move(from: before.watts, to: after.watts)
    }

    func figures() -> [String: Double] {
        var byDisplayName: [String: Double] = [:]
        for (rawName, total) in byRawName {
            byDisplayName[CoinName.normalized(rawName), default: 0] += total.watts.value
        }
        return byDisplayName
    }
}
