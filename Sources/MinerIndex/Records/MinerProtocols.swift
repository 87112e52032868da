/// What the index needs from a registry record, shared by ASICs and CPU/GPU rigs.
public protocol RegisteredMiner: Sendable {
    var id: Int64 { get }
    var activated: Bool { get }
    /// The record registered for an id seen in a log before any upsert.
    static func placeholder(id: Int64) -> Self
}

/// What the index needs from an operational log, shared by ASICs and CPU/GPU rigs.
public protocol MinerLog: Sendable {
    var minerId: Int64 { get }
    var insertedAt: Timestamp? { get }
    /// Calls `body` with each hashrate this log adds to a coin, under the producer's raw coin name.
    func forEachCoinHashrate(_ body: (_ rawCoinName: String, _ hashrate: Hashrate) -> Void)
    /// The watts this log adds to the total power.
    var aggregatedPower: Double { get }
}
