/// A log as the aggregates count it: the record and when it was observed.
struct ListedLog<Log: MinerLog>: Sendable {
    let log: Log
    let observedAt: Timestamp

    init(log: Log, observedAt: Timestamp) {
        self.log = log
        self.observedAt = observedAt
    }

    init(_ entry: OperationalMap<Log>.Entry) {
        self.init(log: entry.log, observedAt: entry.observedAt)
    }
}

/// The fleet-health figures kept up to date beside `RunningAggregate`, so that reading them costs the number of
/// coins, pools and models rather than the number of miners, and a log costs a few dictionary steps and one
/// ordered insertion, never a scan.
///
/// The index tells it two kinds of change: a registration that comes or goes (`register`, `unregister`: an
/// upsert is the old record going and the new one coming), and an activated miner's latest log that changes
/// (`replaceLog`); the expiry sweep moves its status clock (`advance`). Deactivated miners count only in
/// `disabled`, which, like `offline`, follows from the registry's and the running aggregate's counts.
struct RunningFleetHealth<Miner: FleetHealthMiner, Log: FleetHealthLog>: Sendable {
    private var status: LiveStatusTracker
    private var thermal = ThermalTracker()
    private var pools = PoolTotals()
    private var coinPower = CoinPowerTotals()
    private var models = ModelBreakdown()
    private var expectedMissing = SortedSet<Int64>()

    init(staleAfterMicroseconds: Int64) {
        status = LiveStatusTracker(staleAfterMicroseconds: staleAfterMicroseconds)
    }

    /// `miner` is now registered, with its latest log if it has one.
    mutating func register(_ miner: Miner, live: ListedLog<Log>?) {
        guard miner.activated else { return }
        if Miner.hasModelBreakdown { models.register(miner.breakdownModel) }
        if let live {
            list(miner, live)
        } else if miner.isExpectedToRun {
            expectedMissing.insert(miner.id)
        }
    }

    /// `miner`'s record is no longer registered (deleted, or replaced by an upsert), with the log it had.
    mutating func unregister(_ miner: Miner, live: ListedLog<Log>?) {
        guard miner.activated else { return }
        if let live {
            unlist(miner, live)
        } else if miner.isExpectedToRun {
            expectedMissing.remove(miner.id)
        }
        if Miner.hasModelBreakdown { models.unregister(miner.breakdownModel) }
    }

    /// The latest log of the activated `miner` went from `old` to `new` (nil: none).
    mutating func replaceLog(of miner: Miner, from old: ListedLog<Log>?, to new: ListedLog<Log>?) {
        switch (old, new) {
        case (nil, nil):
            return
        case let (nil, new?):
            if miner.isExpectedToRun { expectedMissing.remove(miner.id) }
            list(miner, new)
        case let (old?, nil):
            unlist(miner, old)
            if miner.isExpectedToRun { expectedMissing.insert(miner.id) }
        case let (old?, new?):
            // The hot path, once per log: each part moves by the difference where it can.
            status.unlist(observedAt: old.observedAt)
            status.list(id: miner.id, observedAt: new.observedAt)
            thermal.replace(id: miner.id, old.log, with: new.log)
            pools.replace(old.log, with: new.log)
            coinPower.replace(old.log, with: new.log)
            if Miner.hasModelBreakdown { models.replace(old.log, with: new.log, model: miner.breakdownModel) }
        }
    }

    /// Moves the online/stale boundary to `now - staleAfter`; see `LiveStatusTracker.advance`. Returns whether a
    /// count changed.
    mutating func advance(to now: Timestamp, listedObservation: (Int64) -> Timestamp?) -> Bool {
        status.advance(to: now, listedObservation: listedObservation)
    }

    /// The figures now. `liveCount`, `activatedCount` and `registeredCount` are the index's: listed logs,
    /// activated miners and every registered miner; `name` gives a registered miner's name.
    func figures(liveCount: Int, activatedCount: Int, registeredCount: Int, name: (Int64) -> String?) -> FleetHealth {
        FleetHealth(
            statusCounts: FleetHealth.StatusCounts(
                online: liveCount - status.staleCount, stale: status.staleCount, offline: activatedCount - liveCount,
                disabled: registeredCount - activatedCount),
            coinPower: coinPower.figures(),
            thermal: thermal.figures(name: name),
            pools: pools.figures(),
            expectedMissing: FleetHealth.ExpectedMissing(
                count: expectedMissing.count, ids: expectedMissing.prefix(FleetHealth.ExpectedMissing.listedIds)),
            models: models.figures())
    }

    private mutating func list(_ miner: Miner, _ listed: ListedLog<Log>) {
        status.list(id: miner.id, observedAt: listed.observedAt)
        thermal.add(id: miner.id, listed.log)
        pools.add(listed.log)
        coinPower.add(listed.log)
        if Miner.hasModelBreakdown { models.add(listed.log, model: miner.breakdownModel) }
    }

    private mutating func unlist(_ miner: Miner, _ listed: ListedLog<Log>) {
        status.unlist(observedAt: listed.observedAt)
        thermal.remove(id: miner.id, listed.log)
        pools.remove(listed.log)
        coinPower.remove(listed.log)
        if Miner.hasModelBreakdown { models.remove(listed.log, model: miner.breakdownModel) }
    }
}
