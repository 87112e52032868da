/// What one message asks an ASIC index to do.
public enum AsicMinerCommand: Sendable, Hashable {
    case log(AsicMinerLog)
    case upsert(AsicMiner)
    case delete(id: Int64)
    case canary(Canary)
}

/// What one message asks a CPU/GPU index to do.
public enum CpuGpuMinerCommand: Sendable, Hashable {
    case log(CpuGpuMinerLog)
    case upsert(CpuGpuMiner)
    case delete(id: Int64)
    case canary(Canary)
}

/// A decoded message, split by the index it belongs to so that a batch can be handed to one actor whole.
public enum MinerCommand: Sendable, Hashable {
    case asic(AsicMinerCommand)
    case cpuGpu(CpuGpuMinerCommand)
}

/// A command of one index: a log, a change to the registry, or a canary.
public protocol IndexCommand: Sendable {
    associatedtype Log
    associatedtype Miner
    /// `.some` for a log, holding its `inserted_at` (itself optional); nil for any other command.
    var logInsertedAt: Timestamp?? { get }
    /// An upsert or a delete: acknowledged only once the store has it.
    var changesRegistry: Bool { get }
    /// Hands the command's payload to the body for its case.
    func dispatch<Result>(
        log: (Log) -> Result, upsert: (Miner) -> Result, delete: (Int64) -> Result, canary: (Canary) -> Result
    ) -> Result
}

extension AsicMinerCommand: IndexCommand {
    public var logInsertedAt: Timestamp?? {
        if case .log(let log) = self { return .some(log.insertedAt) }
        return nil
    }

    public var changesRegistry: Bool {
        switch self {
        case .upsert, .delete: true
        case .log, .canary: false
        }
    }

    public func dispatch<Result>(
        log: (AsicMinerLog) -> Result, upsert: (AsicMiner) -> Result, delete: (Int64) -> Result,
        canary: (Canary) -> Result
    ) -> Result {
        switch self {
        case .log(let payload): log(payload)
        case .upsert(let miner): upsert(miner)
        case .delete(let id): delete(id)
        case .canary(let payload): canary(payload)
        }
    }
}

extension CpuGpuMinerCommand: IndexCommand {
    public var logInsertedAt: Timestamp?? {
        if case .log(let log) = self { return .some(log.insertedAt) }
        return nil
    }

    public var changesRegistry: Bool {
        switch self {
        case .upsert, .delete: true
        case .log, .canary: false
        }
    }

    public func dispatch<Result>(
        log: (CpuGpuMinerLog) -> Result, upsert: (CpuGpuMiner) -> Result, delete: (Int64) -> Result,
        canary: (Canary) -> Result
    ) -> Result {
        switch self {
        case .log(let payload): log(payload)
        case .upsert(let miner): upsert(miner)
        case .delete(let id): delete(id)
        case .canary(let payload): canary(payload)
        }
    }
}

extension Array {
    /// Applies a batch in order, one outcome per command. By position, each command read in place: `map` handed
    /// its closure a copy of every command, a retain and a release per string and array of its log.
    func applyInOrder<Command: IndexCommand>(
        log: (_ log: Command.Log, _ observedAt: Timestamp, _ receivedAt: Timestamp) -> ApplyOutcome,
        upsert: (Command.Miner) -> ApplyOutcome, delete: (Int64) -> ApplyOutcome,
        canary: (_ canary: Canary, _ receivedAt: Timestamp) -> ApplyOutcome
    ) -> [ApplyOutcome] where Element == TimedCommand<Command> {
        var outcomes: [ApplyOutcome] = []
        outcomes.reserveCapacity(count)
        for position in indices {
            let receivedAt = self[position].receivedAt
            let observedAt = self[position].observedLogTime ?? receivedAt
            outcomes.append(
                self[position].command.dispatch(
                    log: { log($0, observedAt, receivedAt) }, upsert: upsert, delete: delete,
                    canary: { canary($0, receivedAt) }))
        }
        return outcomes
    }
}

/// A command together with the times the index needs to place it: when this process received it, and the
/// AMQP `timestamp` property if the publisher set one.
public struct TimedCommand<Command: IndexCommand>: Sendable {
    public let command: Command
    public let receivedAt: Timestamp
    public let amqpTimestamp: Timestamp?
    /// When a log was observed, by the rule of `ObservationTime`; nil for a registry command. The index places
    /// the log by it and the service measures its apply lag from it. Worked out once, here: reading it from the
    /// command later copied the whole log (a retain and a release per string and array) for one field.
    public let observedLogTime: Timestamp?

    public init(_ command: Command, receivedAt: Timestamp, amqpTimestamp: Timestamp? = nil) {
        observedLogTime = command.logInsertedAt.map { insertedAt in
            ObservationTime.of(insertedAt: insertedAt, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp)
        }
        self.command = command
        self.receivedAt = receivedAt
        self.amqpTimestamp = amqpTimestamp
    }
}

extension TimedCommand: Equatable where Command: Equatable {}
