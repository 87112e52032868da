import MinerIndex

/// `miner-index-benchmarks fleet-health [rounds]`: the index's CPU per log at the budget's operating point, 100k
/// ASICs reporting every 5 s (20k logs/s), with what the service does each second besides applying logs: one
/// expiry sweep, two reads of the aggregated index (the aggregated broadcaster's and the history recorder's) and
/// one aggregated payload encoded. The fleet has 10 coins, 20 pools and 10 models, and every log brings new
/// temperatures and shares, so every thermal and pool figure moves on every put.
///
/// It uses only calls that exist with and without the fleet-health figures, so the same file builds at the
/// commit before them: docs/PERFORMANCE.md compares the two builds, run in alternation.
enum FleetHealthBenchmark {
    static let miners = 100_000, logsPerSecond = 20_000, batchSize = 256
    static let coins = [
        "bitcoin", "kaspa", "litecoin", "dash", "kadena", "ergo", "ethw", "zcash", "siacoin", "handshake",
    ]
    static let units: [HashrateUnit] = [
        .terahashesPerSecond, .terahashesPerSecond, .gigahashesPerSecond,
        .terahashesPerSecond, .terahashesPerSecond, .terahashesPerSecond,
        .megahashesPerSecond, .kilohashesPerSecond, .terahashesPerSecond,
        .terahashesPerSecond,
    ]
    static let pools = (0..<20).map { "stratum+tcp://pool\($0).example.com:\(3333 + $0)" }
    static let models = (0..<10).map { "Model \($0)" }
    static let variants = 8
    static let warmUpRounds = 13

    /// One log per (coin-and-pool group, variant): a miner keeps its coin and pools, and moves between variants
    /// from one report to the next, so its temperatures, shares and hashrate change every time.
    static func template(group: Int, variant: Int) -> AsicMinerLog {
        let coin = group % coins.count
        let poolIndexes = [group % pools.count, (group + 1) % pools.count, (group + 7) % pools.count]
        return AsicMinerLog(
            asicMinerId: 0, hashrate5Min: 100 + Double(variant), hashrate30Min: 99, hashrateUnit: units[coin],
            poolRejectionRate: 0.1, uptime: "01:02:03:04",
            pools: poolIndexes.enumerated().map { slot, pool in
                AsicMinerLog.Pool(
                    address: pools[pool], user: "farm.worker", state: "Alive",
                    acceptedShare: Double(1000 + variant * 37 + slot), rejectedShare: Double(variant % 3))
            },
            hashboards: (0..<3).map { board in
                AsicMinerLog.Hashboard(
                    hashrate5Min: 33, hashrate30Min: 33,
                    temperature1: Double(60 + (variant * 7 + board * 3 + group) % 25),
                    temperature2: Double(62 + (variant * 5 + board + group) % 23) + 0.5)
            },
            fanSpeeds: [5400, 5410, variant == 3 ? 0 : 5420, 5430], lanIp: "10.0.0.1", wanIp: nil,
            // Half the groups spell their coin in capitals, as producers do; the service folds them together.
            coinName: group < coins.count ? coins[coin] : coins[coin].uppercased(),
            power: 3000 + Double(variant * 11 + group), insertedAt: nil)
    }

    static func run(rounds: Int, printsPayload: Bool) async {
        let base = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
        let templates = (0..<20).map { group in (0..<variants).map { template(group: group, variant: $0) } }
        let index = AsicMinerOperationalIndex()
        for id in 0..<miners {
            await index.upsert(
                AsicMiner(
                    // Every model mines every coin: the largest model_map for 10 models and 10 coins.
                    id: Int64(id), name: "miner-\(id)", model: models[(id / 20) % models.count],
                    activated: id % 50 != 0,
                    asicExpectedStatus: "on"))
        }
        let encoder = AsicMinerPayloadEncoder(cachesRecords: false)
        var payloadBytes = 0
        var secondsSimulated = 0

        /// One report of every miner, at 20k logs per simulated second with that second's periodic work.
        func round(_ number: Int) async -> Double {
            let deliveries = (0..<miners).map { id -> TimedCommand<AsicMinerCommand> in
                var log = templates[id % 20][(id + number) % variants]
                log.asicMinerId = Int64(id)
                let second = secondsSimulated + id / logsPerSecond
                return TimedCommand(
                    .log(log), receivedAt: base.adding(seconds: Double(second) + Double(id % logsPerSecond) / 1e6))
            }
            let start = Measurement.now()
            for secondStart in stride(from: 0, to: miners, by: logsPerSecond) {
                let secondEnd = min(secondStart + logsPerSecond, miners)
                for first in stride(from: secondStart, to: secondEnd, by: batchSize) {
                    consume(await index.apply(Array(deliveries[first..<min(first + batchSize, secondEnd)])))
                }
                secondsSimulated += 1
                let now = base.adding(seconds: Double(secondsSimulated))
                consume(await index.expire(now: now))
                let aggregate = await index.versionedAggregate()
                consume(await index.versionedAggregate())
                let payload = encoder.aggregatedPayload(aggregate.aggregate, sequence: 1, generatedAt: now)
                payloadBytes = payload.count
                consume(payload.count)
            }
            return Measurement.now() - start
        }

        // Warm-up: 65 simulated seconds, so that every table is at its size and the sweeps (stale after 20 s,
        // offline after 60 s) visit a full second of filings each, as they do in a service that has run a while.
        for number in 0..<warmUpRounds { _ = await round(number) }
        var perLog: [Double] = []
        for number in 0..<rounds { perLog.append(await round(warmUpRounds + number) / Double(miners)) }
        let generatedAt = base.adding(seconds: Double(secondsSimulated))
        let read = Measurement.median(
            await Measurement.seconds(repeats: 200) {
                let aggregate = await index.versionedAggregate()
                consume(encoder.aggregatedPayload(aggregate.aggregate, sequence: 1, generatedAt: generatedAt).count)
            })
        let median = Measurement.median(perLog)
        print(
            "fleet-health: \(format(median * 1e6, digits: 3)) µs CPU per log (median of \(rounds) rounds of "
                + "\(miners) logs; rounds \(perLog.map { format($0 * 1e6, digits: 3) }.joined(separator: " ")))")
        print(
            "fleet-health: \(format(median * Double(logsPerSecond) * 100, digits: 2))% of one core at "
                + "\(logsPerSecond) logs/s")
        print(
            "fleet-health: aggregated payload \(payloadBytes) B; read + encode it \(format(read * 1e6, digits: 1)) µs")
        if printsPayload {
            let aggregate = await index.versionedAggregate().aggregate
            print(
                String(
                    decoding: encoder.aggregatedPayload(aggregate, sequence: 1, generatedAt: generatedAt), as: UTF8.self
                ))
        }
    }
}
