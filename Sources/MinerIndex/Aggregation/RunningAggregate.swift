/// The aggregated index kept up to date as listed logs come and go, so that reading it costs the number of coins
/// rather than the number of miners. Recomputing it from a snapshot took tens of milliseconds at 100k miners on
/// every tick, and holding that snapshot made the actor copy its tables on the next write.
///
/// Sums are compensated (Neumaier), so adding and later subtracting the same figures millions of times stays
/// within a few ulps of the exact total rather than drifting; a coin with no contributors left is dropped, and
/// power returns to exactly zero when nothing is live.
struct RunningAggregate: Sendable {
    private struct CoinTotal: Sendable {
        var hashesPerSecond = CompensatedSum()
        /// Contributions currently summed; a rig mining one coin on two devices counts twice.
        var contributions = 0

        mutating func include(_ value: Double) {
            hashesPerSecond.add(value)
            contributions += 1
        }
    }

    /// Keyed by the producers' raw spellings; they are folded into display names only when read.
    private var coins: [String: CoinTotal] = [:]
    private var power = CompensatedSum()
    private(set) var liveCount = 0

    mutating func add<Log: MinerLog>(_ log: Log) {
        log.forEachCoinHashrate { rawCoinName, hashrate in
            coins[rawCoinName, default: CoinTotal()].include(hashrate.hashesPerSecond)
        }
        power.add(log.aggregatedPower)
        liveCount += 1
    }

    mutating func subtract<Log: MinerLog>(_ log: Log) {
        log.forEachCoinHashrate { rawCoinName, hashrate in
            // Found once and changed in place: a read and then a write hashed the coin's name twice.
            guard let position = coins.index(forKey: rawCoinName) else { return }
            coins.values[position].contributions -= 1
            if coins.values[position].contributions <= 0 {
                coins.remove(at: position)
            } else {
                coins.values[position].hashesPerSecond.add(-hashrate.hashesPerSecond)
            }
        }
        liveCount -= 1
        if liveCount <= 0 {
            liveCount = 0
            power = CompensatedSum()
        } else {
            power.add(-log.aggregatedPower)
        }
    }

    func aggregate(registeredCount: Int) -> MinerAggregate {
        var accumulator = CoinHashrateAccumulator()
        for (rawName, total) in coins {
            accumulator.add(rawCoinName: rawName, Hashrate(hashesPerSecond: total.hashesPerSecond.value))
        }
        return MinerAggregate(
            coinHashrates: accumulator.totals(), totalPower: power.value, liveCount: liveCount,
            registeredCount: registeredCount)
    }
}

/// A floating-point sum that carries the rounding error of each addition (Neumaier's variant of Kahan summation).
struct CompensatedSum: Sendable {
    private var sum = 0.0
    private var compensation = 0.0

    mutating func add(_ value: Double) {
        let total = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }

    var value: Double { sum + compensation }
}
