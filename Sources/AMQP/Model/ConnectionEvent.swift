/// A change in a client's connection state, in the order it happened.
public enum ConnectionEvent: Sendable, Equatable, CustomStringConvertible {
    /// Connected, logged in, topology declared and (for a consumer) consuming again. `generation` counts these.
    case connected(generation: UInt64)
    case disconnected(reason: String)
    case blocked(reason: String)
    case unblocked
    /// The broker cancelled the consumer, for example because its queue was deleted.
    case cancelled
    /// rabbitmq-c could not decode a delivery (it refuses, for example, a header with an empty name). The
    /// consumer rejected it without requeue, so the queue's dead-letter exchange has it with its bytes intact,
    /// and reconnected, since the connection cannot be read past the frame. A disconnect event follows.
    case rejectedUndecodable(reason: String)

    public var description: String {
        switch self {
        case .connected(let generation): return "connected (generation \(generation))"
        case .disconnected(let reason): return "disconnected: \(reason)"
        case .blocked(let reason): return "blocked: \(reason)"
        case .unblocked: return "unblocked"
        case .cancelled: return "cancelled by the broker"
        case .rejectedUndecodable(let reason): return "rejected an undecodable delivery: \(reason)"
        }
    }
}
