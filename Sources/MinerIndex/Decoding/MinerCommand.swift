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

/// A command together with the times the index needs to place it: when this process received it, and the
/// AMQP `timestamp` property if the publisher set one.
public struct TimedCommand<Command: Sendable>: Sendable {
    public var command: Command
    public var receivedAt: Timestamp
    public var amqpTimestamp: Timestamp?

    public init(_ command: Command, receivedAt: Timestamp, amqpTimestamp: Timestamp? = nil) {
        self.command = command
        self.receivedAt = receivedAt
        self.amqpTimestamp = amqpTimestamp
    }
}

extension TimedCommand: Equatable where Command: Equatable {}

extension TimedCommand where Command == AsicMinerCommand {
    /// When a log was observed, by the rule of `ObservationTime`; nil for a registry command. The index places
    /// the log by it and the service measures its apply lag from it, so both read it here.
    public var observedLogTime: Timestamp? {
        guard case .log(let log) = command else { return nil }
        return ObservationTime.of(insertedAt: log.insertedAt, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp)
    }
}

extension TimedCommand where Command == CpuGpuMinerCommand {
    /// When a log was observed, by the rule of `ObservationTime`; nil for a registry command.
    public var observedLogTime: Timestamp? {
        guard case .log(let log) = command else { return nil }
        return ObservationTime.of(insertedAt: log.insertedAt, receivedAt: receivedAt, amqpTimestamp: amqpTimestamp)
    }
}
