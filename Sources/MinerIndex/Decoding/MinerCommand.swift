/// What one message asks an ASIC index to do.
public enum AsicMinerCommand: Sendable, Hashable {
    case log(AsicMinerLog)
    case upsert(AsicMiner)
    case delete(id: Int64)
}

/// What one message asks a CPU/GPU index to do.
public enum CpuGpuMinerCommand: Sendable, Hashable {
    case log(CpuGpuMinerLog)
    case upsert(CpuGpuMiner)
    case delete(id: Int64)
}

/// A decoded message, split by the index it belongs to so that a batch can be handed to one actor whole.
public enum MinerCommand: Sendable, Hashable {
    case asic(AsicMinerCommand)
    case cpuGpu(CpuGpuMinerCommand)
}

/// A command of one index: a log, or a change to the registry.
public protocol IndexCommand: Sendable {
    /// `.some` for a log, holding its `inserted_at` (itself optional); nil for a registry command.
    var logInsertedAt: Timestamp?? { get }
}

extension AsicMinerCommand: IndexCommand {
    public var logInsertedAt: Timestamp?? {
        if case .log(let log) = self { return .some(log.insertedAt) }
        return nil
    }
}

extension CpuGpuMinerCommand: IndexCommand {
    public var logInsertedAt: Timestamp?? {
        if case .log(let log) = self { return .some(log.insertedAt) }
        return nil
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
