import MinerIndex

/// The latest log of each miner, gathered from drains handed over in order.
///
/// A drain already holds one log per miner, so the common case, one drain per write, keeps the drain's array as
/// it is: copying 20,000 logs a second into a dictionary cost more than encoding them. Several drains (a write
/// that failed and is retried, or a slow store) are merged only when the write reads them, a later log of a
/// miner replacing an earlier one.
struct LatestLogs<Log: MinerLog>: Sendable {
    private var drains: [[ObservedLog<Log>]] = []

    var isEmpty: Bool { drains.allSatisfy(\.isEmpty) }

    mutating func append(_ logs: [ObservedLog<Log>]) {
        guard !logs.isEmpty else { return }
        drains.append(logs)
    }

    /// Drops the logs held for `minerIds` (deleted miners): the logs came before the delete.
    mutating func remove(_ minerIds: Set<Int64>) {
        guard !minerIds.isEmpty else { return }
        for index in drains.indices { drains[index].removeAll { minerIds.contains($0.minerId) } }
    }

    /// One log per miner, the latest handed over.
    var latest: [ObservedLog<Log>] {
        guard drains.count > 1 else { return drains.first ?? [] }
        var seen: Set<Int64> = []
        var merged: [ObservedLog<Log>] = []
        for drain in drains.reversed() {
            for log in drain.reversed() where seen.insert(log.minerId).inserted { merged.append(log) }
        }
        merged.reverse()
        return merged
    }
}
