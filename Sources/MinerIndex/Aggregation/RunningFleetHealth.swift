/// A log with the time it was observed, as the index holds it.
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
/// coins, pools and models rather than the number of miners, and a log costs a few array steps and two ordered
/// moves (its temperature's and its observation time's), never a scan.
///
/// The index tells it three kinds of change: a registration that comes or goes (`register`, `unregister`; an
/// upsert is the old record going and the new one coming), an activated miner's latest log that arrives
/// (`putLog`) or goes (`removeLog`), and the status clock that the expiry sweep moves (`advance`). For each
/// listed log (an activated miner's live log) it keeps a `ListedRecord` of what that log added, so a new log
/// moves the figures by the difference without reading the old one. Deactivated miners count only in
/// `disabled`, which, like `offline`, follows from the registry's and the running aggregate's counts.
struct RunningFleetHealth<Miner: FleetHealthMiner, Log: FleetHealthLog>: Sendable {
    private var records = MinerRecordTable<ListedRecord>(placeholder: .placeholder)
    private var status: LiveStatusTracker
    private var thermal = ThermalTracker()
    private var pools = PoolTotals()
    private var coins = CoinPowerTotals()
    private var models = ModelBreakdown()
    private var expectedMissing = SortedSet<Int64>()

    init(staleAfterMicroseconds: Int64) {
        status = LiveStatusTracker(staleAfterMicroseconds: staleAfterMicroseconds)
    }

    /// `miner` is now registered, with its latest log if it has one.
    mutating func register(_ miner: Miner, live: ListedLog<Log>?) {
        guard miner.activated else { return }
        let model = Miner.hasModelBreakdown ? models.register(miner.breakdownModel) : -1
        if let live {
            list(miner.id, live.log, observedAt: live.observedAt, model: model)
        } else if miner.isExpectedToRun {
            expectedMissing.insert(miner.id)
        }
        refillThermalIfNeeded()
    }

    /// `miner`'s record is no longer registered (deleted, or replaced by an upsert).
    mutating func unregister(_ miner: Miner) {
        guard miner.activated else { return }
        if let record = records.removeValue(for: miner.id) {
            unlist(miner.id, record)
        } else if miner.isExpectedToRun {
            expectedMissing.remove(miner.id)
        }
        if Miner.hasModelBreakdown { models.unregister(miner.breakdownModel) }
        refillThermalIfNeeded()
    }

    /// `log` is now the latest log of the activated miner `id`. `miner` is read only if it had no listed log, so
    /// the usual case never touches the registry record.
    mutating func putLog(_ log: Log, observedAt: Timestamp, id: Int64, of miner: @autoclosure () -> Miner) {
        guard let index = records.index(of: id) else {
            let registration = miner()
            if registration.isExpectedToRun { expectedMissing.remove(id) }
            let model = Miner.hasModelBreakdown ? models.id(of: registration.breakdownModel) ?? -1 : -1
            list(id, log, observedAt: observedAt, model: model)
            refillThermalIfNeeded()
            return
        }
        let replaced = replace(id, records[at: index], with: log, observedAt: observedAt)
        records[at: index] = replaced
        refillThermalIfNeeded()
    }

    /// The activated miner `id` no longer has a live log (removed or expired).
    mutating func removeLog(id: Int64, of miner: @autoclosure () -> Miner) {
        guard let record = records.removeValue(for: id) else { return }
        unlist(id, record)
        if miner().isExpectedToRun { expectedMissing.insert(id) }
        refillThermalIfNeeded()
    }

    /// Called once `records` holds what the thermal tracker was told, at the end of each change.
    private mutating func refillThermalIfNeeded() {
        guard thermal.needsRefill else { return }
        thermal.refill(from: records.lazyEntries.lazy.map { (id: $0.key, temperature: $0.value.temperature) })
    }

    /// Moves the online/stale boundary to `now - staleAfter`; see `LiveStatusTracker.advance`. Returns whether a
    /// count changed.
    mutating func advance(to now: Timestamp) -> Bool {
        status.advance(to: now)
    }

    /// The figures now. `liveCount`, `activatedCount` and `registeredCount` are the index's: listed logs,
    /// activated miners and every registered miner; `name` gives a registered miner's name.
    func figures(liveCount: Int, activatedCount: Int, registeredCount: Int, name: (Int64) -> String?) -> FleetHealth {
        FleetHealth(
            statusCounts: FleetHealth.StatusCounts(
                online: liveCount - status.staleCount, stale: status.staleCount, offline: activatedCount - liveCount,
                disabled: registeredCount - activatedCount),
            coinPower: coins.figures(),
            thermal: thermal.figures(name: name),
            pools: pools.figures(),
            expectedMissing: FleetHealth.ExpectedMissing(
                count: expectedMissing.count, ids: expectedMissing.prefix(FleetHealth.ExpectedMissing.listedIds)),
            models: models.figures(rawCoinName: coins.rawName))
    }

    private mutating func list(_ id: Int64, _ log: Log, observedAt: Timestamp, model: InternTable.ID) {
        var record = ListedRecord(
            observedAt: observedAt, temperature: log.peakTemperature ?? .nan, hasStoppedFan: log.hasStoppedFan,
            model: model, coin: -1, hashesPerSecond: 0, power: log.aggregatedPower, pools: pools.add(log))
        if let (rawCoinName, hashesPerSecond) = log.singleCoin {
            record.coin = coins.add(rawCoinName, watts: record.power)
            record.hashesPerSecond = hashesPerSecond
        }
        status.list(id: id, observedAt: observedAt)
        thermal.add(id: id, temperature: record.temperature, hasStoppedFan: record.hasStoppedFan)
        if model >= 0 {
            models.add(model: model, coin: record.coin, hashesPerSecond: record.hashesPerSecond, watts: record.power)
        }
        records.insert(record, for: id)
    }

    private mutating func unlist(_ id: Int64, _ record: ListedRecord) {
        status.unlist(id: id, observedAt: record.observedAt)
        thermal.remove(id: id, temperature: record.temperature, hasStoppedFan: record.hasStoppedFan)
        pools.remove(record.pools)
        if record.model >= 0 {
            models.remove(
                model: record.model, coin: record.coin, hashesPerSecond: record.hashesPerSecond,
                watts: record.power)
        }
        if record.coin >= 0 { coins.remove(record.coin, watts: record.power) }
    }

    /// The hot path, once per log: each part moves by the difference between the record and the new log.
    private mutating func replace(_ id: Int64, _ old: ListedRecord, with log: Log, observedAt: Timestamp)
        -> ListedRecord
    {
        var new = old
        new.observedAt = observedAt
        new.temperature = log.peakTemperature ?? .nan
        new.hasStoppedFan = log.hasStoppedFan
        new.power = log.aggregatedPower
        status.unlist(id: id, observedAt: old.observedAt)
        status.list(id: id, observedAt: observedAt)
        thermal.replace(id: id, from: (old.temperature, old.hasStoppedFan), to: (new.temperature, new.hasStoppedFan))
        new.pools = pools.replace(old.pools, with: log)

        if let (rawCoinName, hashesPerSecond) = log.singleCoin {
            new.hashesPerSecond = hashesPerSecond
            if coins.matches(old.coin, rawCoinName) {
                coins.move(old.coin, from: old.power, to: new.power)
            } else {
                new.coin = coins.add(rawCoinName, watts: new.power)
            }
        } else {
            new.coin = -1
            new.hashesPerSecond = 0
        }
        if old.model >= 0 {
            if new.coin == old.coin {
                models.move(
                    model: old.model, coin: old.coin, from: (old.hashesPerSecond, old.power),
                    to: (new.hashesPerSecond, new.power))
            } else {
                models.remove(model: old.model, coin: old.coin, hashesPerSecond: old.hashesPerSecond, watts: old.power)
                models.add(model: old.model, coin: new.coin, hashesPerSecond: new.hashesPerSecond, watts: new.power)
            }
        }
        // After the models let go of it: an id freed here is not handed out again within this change.
        if old.coin >= 0, new.coin != old.coin { coins.remove(old.coin, watts: old.power) }
        return new
    }
}
