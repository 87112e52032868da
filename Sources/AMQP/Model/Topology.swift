/// Exchanges, queues and bindings that a client declares on every (re)connect. Declarations are idempotent: the
/// broker accepts a redeclaration with the same properties and refuses one that differs (406 PRECONDITION_FAILED).
public struct Topology: Sendable, Hashable {
    public var exchanges: [ExchangeDeclaration]
    public var queues: [QueueDeclaration]
    public var bindings: [QueueBinding]

    public init(
        exchanges: [ExchangeDeclaration] = [],
        queues: [QueueDeclaration] = [],
        bindings: [QueueBinding] = []
    ) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public static let empty = Topology()

    public func merged(with other: Topology) -> Topology {
        Topology(
            exchanges: exchanges + other.exchanges,
            queues: queues + other.queues,
            bindings: bindings + other.bindings
        )
    }
}

public struct ExchangeDeclaration: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case direct, fanout, topic, headers
    }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    public var autoDelete: Bool
    public var arguments: FieldTable

    public init(name: String, kind: Kind, durable: Bool = true, autoDelete: Bool = false, arguments: FieldTable = [:]) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.autoDelete = autoDelete
        self.arguments = arguments
    }
}

public struct QueueDeclaration: Sendable, Hashable {
    /// An empty name asks the broker to name the queue; later bindings with an empty queue name then refer to it.
    public var name: String
    public var durable: Bool
    public var exclusive: Bool
    public var autoDelete: Bool
    /// For example `x-queue-type`, `x-dead-letter-exchange`, `x-single-active-consumer`, `x-max-length`, `x-overflow`.
    public var arguments: FieldTable

    public init(
        name: String,
        durable: Bool = true,
        exclusive: Bool = false,
        autoDelete: Bool = false,
        arguments: FieldTable = [:]
    ) {
        self.name = name
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.arguments = arguments
    }
}

public struct QueueBinding: Sendable, Hashable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public var arguments: FieldTable

    public init(queue: String, exchange: String, routingKey: String = "", arguments: FieldTable = [:]) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.arguments = arguments
    }
}

/// What the broker said about a declared queue.
public struct QueueState: Sendable, Hashable {
    public let name: String
    public let messageCount: UInt32
    public let consumerCount: UInt32
}
