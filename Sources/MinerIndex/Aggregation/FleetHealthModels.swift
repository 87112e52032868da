/// The per-model breakdown (`model_map`): for each registry model, its activated miners and, over their listed
/// logs, the figures of the aggregated index. Registrations move with upserts and deletes; logs with the index.
/// A model with no activated miner left is dropped.
struct ModelBreakdown: Sendable {
    private struct ModelTotals: Sendable {
        var registeredCount = 0
        var live = RunningAggregate()
    }

    private var byModel: [String: ModelTotals] = [:]

    mutating func register(_ model: String) {
        byModel[model, default: ModelTotals()].registeredCount += 1
    }

    mutating func unregister(_ model: String) {
        guard var totals = byModel[model] else { return }
        totals.registeredCount -= 1
        byModel[model] = totals.registeredCount <= 0 ? nil : totals
    }

    mutating func add<Log: MinerLog>(_ log: Log, model: String) {
        byModel[model, default: ModelTotals()].live.add(log)
    }

    mutating func remove<Log: MinerLog>(_ log: Log, model: String) {
        byModel[model]?.live.subtract(log)
    }

    mutating func replace<Log: MinerLog>(_ old: Log, with new: Log, model: String) {
        byModel[model]?.live.replace(old, with: new)
    }

    func figures() -> [String: FleetHealth.Model] {
        byModel.mapValues { totals in
            let aggregate = totals.live.aggregate(registeredCount: totals.registeredCount)
            return FleetHealth.Model(liveCount: aggregate.liveCount, registeredCount: totals.registeredCount,
                                     coinHashrates: aggregate.coinHashrates, power: aggregate.totalPower)
        }
    }
}

extension RunningAggregate {
    /// A listed miner's log replaced by its next one.
    mutating func replace<Log: MinerLog>(_ old: Log, with new: Log) {
        subtract(old)
        add(new)
    }
}
