import Foundation
import Logging
import Synchronization

/// Consumes one queue with manual acknowledgements on its own connection and its own OS thread.
///
/// The thread owns the rabbitmq-c connection. Tasks talk to it through `ack`, `nack` and `reject`, which queue a
/// command and wake the thread, so none of them blocks. When the connection or the channel fails, the thread
/// reconnects with backoff, declares the topology again, restores the prefetch and consumes again; deliveries keep
/// flowing through the same `deliveries` stream. Every (re)opened channel starts a new generation, and commands
/// for deliveries of an older generation are dropped, because their tags mean nothing to the new channel and the
/// broker has already requeued those messages.
public final class AMQPConsumer: Sendable {
    public struct Configuration: Sendable {
        public var queue: String
        public var prefetch: UInt16
        /// Declared before consuming, on every (re)connect.
        public var topology: Topology
        public var consumerTag: String
        public var exclusive: Bool
        public var consumeArguments: FieldTable
        public var backoff: Backoff
        /// How long the I/O thread lets deliveries accumulate before it hands over a batch smaller than
        /// `batchTarget`, counted from the batch's first delivery. Every hand-over wakes the reading task and,
        /// through its ack, the I/O thread: on a busy queue the broker's deliveries arrive a few at a time, and
        /// those wake-ups cost more than the deliveries. Zero hands over whatever is readable at once.
        public var batchWait: Duration
        /// A batch this large is handed over without waiting.
        public var batchTarget: Int
        /// Called on the I/O thread with each batch just read, before it is handed over: for a reader that must
        /// time arrivals even while the cooperative pool is busy (miner-load's lag probes). It must be quick, since
        /// the connection is not read meanwhile.
        public var arrivalObserver: (@Sendable ([Delivery]) -> Void)?

        public init(
            queue: String,
            prefetch: UInt16 = 500,
            topology: Topology = .empty,
            consumerTag: String = "",
            exclusive: Bool = false,
            consumeArguments: FieldTable = [:],
            backoff: Backoff = .init(),
            batchWait: Duration = .microseconds(500),
            batchTarget: Int = 128,
            arrivalObserver: (@Sendable ([Delivery]) -> Void)? = nil
        ) {
            self.queue = queue
            self.prefetch = prefetch
            self.topology = topology
            self.consumerTag = consumerTag
            self.exclusive = exclusive
            self.consumeArguments = consumeArguments
            self.backoff = backoff
            self.batchWait = batchWait
            self.batchTarget = batchTarget
            self.arrivalObserver = arrivalObserver
        }
    }

    public enum Status: Sendable, Equatable {
        case idle
        case connecting
        case consuming(generation: UInt64)
        /// Connected, but no longer consuming because `stopConsuming()` was called.
        case stoppedConsuming
        case disconnected(reason: String)
        case closed
    }

    enum Command {
        case ack(DeliveryTag, multiple: Bool)
        case nack(DeliveryTag, multiple: Bool, requeue: Bool)
        case reject(DeliveryTag, requeue: Bool)

        var tag: DeliveryTag {
            switch self {
            case .ack(let tag, _), .nack(let tag, _, _), .reject(let tag, _): return tag
            }
        }
    }

    struct Control {
        var commands: [Command] = []
        var stopConsumingRequested = false
        var deliveriesFinished = false
        var status: Status = .idle
        var lastError: AMQPError?
        var deliveriesFinishedWaiters: [CheckedContinuation<Void, Never>] = []
        /// The I/O thread is (about to be) blocked in its poll with no command left to send: only then does a new
        /// command need to wake it. Otherwise it sends the command on its next turn, and a wake-up per ack would
        /// cost a system call on each side for nothing.
        var ioThreadIdle = false
        /// Bindings asked for while the consumer runs (`bind`/`unbind`), besides the topology's; made again after
        /// every reconnect.
        var wantedBindings: Set<QueueBinding> = []
        /// Those of them the broker has made on the current session.
        var madeBindings: Set<QueueBinding> = []

        var bindingsWait: Bool { wantedBindings != madeBindings }
    }

    let settings: ConnectionSettings
    let configuration: Configuration
    let logger: Logger
    let control = Mutex(Control())
    let thread = ClientThread(name: "amqp-consumer")
    let deliveryBuffer: DeliveryBuffer
    let eventContinuation: AsyncStream<ConnectionEvent>.Continuation

    public let deliveries: DeliveryStream
    /// State changes, for logging and readiness. Buffers the newest 256 if nobody reads them.
    public let events: AsyncStream<ConnectionEvent>

    public init(settings: ConnectionSettings, configuration: Configuration, logger: Logger) {
        self.settings = settings
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.queue"] = .string(configuration.queue)
        logger[metadataKey: "amqp.broker"] = .string(settings.redactedURL)
        self.logger = logger
        let deliveryBuffer = DeliveryBuffer()
        self.deliveryBuffer = deliveryBuffer
        self.deliveries = DeliveryStream(buffer: deliveryBuffer)
        (events, eventContinuation) = AsyncStream<ConnectionEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    /// Starts the I/O thread. The first connection is retried with backoff like any reconnect.
    public func start() {
        if thread.start({ [self] in run() }) {
            control.withLock { control in
                if control.status == .idle { control.status = .connecting }
            }
        }
    }

    public var status: Status { control.withLock { $0.status } }
    public var lastError: AMQPError? { control.withLock { $0.lastError } }

    /// Waits until the consumer is consuming. On timeout, throws the last connection error if there was one.
    public func waitUntilConsuming(timeout: Duration) async throws(AMQPError) {
        try await thread.waitUntil(timeout: timeout, operation: "waiting for the consumer to connect") {
            let (status, lastError) = control.withLock { ($0.status, $0.lastError) }
            switch status {
            case .consuming: return (true, nil, lastError)
            case .closed: return (false, .closed, lastError)
            default: return (false, lastError.flatMap { $0.isPermanentConfigurationError ? $0 : nil }, lastError)
            }
        }
    }

    public func ack(_ tag: DeliveryTag, multiple: Bool = false) {
        enqueue(.ack(tag, multiple: multiple))
    }

    public func nack(_ tag: DeliveryTag, multiple: Bool = false, requeue: Bool = true) {
        enqueue(.nack(tag, multiple: multiple, requeue: requeue))
    }

    public func reject(_ tag: DeliveryTag, requeue: Bool) {
        enqueue(.reject(tag, requeue: requeue))
    }

    /// Binds the queue as `binding` says, besides the topology's bindings (and again after every reconnect), and
    /// returns once the broker has made it (what is published to the exchange after this reaches the queue), or
    /// once an `unbind` has taken it back meanwhile.
    public func bind(_ binding: QueueBinding, timeout: Duration) async throws(AMQPError) {
        changeBindings { $0.insert(binding) }
        try await thread.waitUntil(timeout: timeout, operation: "binding to '\(binding.exchange)'") {
            let (settled, status, lastError) = control.withLock { control in
                (
                    control.madeBindings.contains(binding) || !control.wantedBindings.contains(binding),
                    control.status, control.lastError
                )
            }
            if status == .closed { return (false, .closed, lastError) }
            return (settled, nil, lastError)
        }
    }

    /// Removes a binding made by `bind`, on the I/O thread's next turn. Callable from the arrival observer.
    public func unbind(_ binding: QueueBinding) {
        changeBindings { $0.remove(binding) }
    }

    private func changeBindings(_ change: (inout Set<QueueBinding>) -> Void) {
        let idle = control.withLock { control in
            change(&control.wantedBindings)
            return control.ioThreadIdle
        }
        if idle { thread.wakeup.signal() }
    }

    private func enqueue(_ command: Command) {
        let idle = control.withLock { control in
            control.commands.append(command)
            return control.ioThreadIdle
        }
        if idle { thread.wakeup.signal() }
    }

    /// Cancels the subscription: the broker sends nothing more, and `deliveries` ends after the deliveries that
    /// had already arrived. Acks keep working until `close()`.
    public func stopConsuming() async {
        let alreadyFinished = control.withLock { control in
            control.stopConsumingRequested = true
            // Without a subscription (never started, or between reconnects) nothing more can arrive, so end the
            // stream now instead of waiting for a connection that may not come back before shutdown.
            if case .consuming = control.status {} else { finishDeliveries(&control) }
            return control.deliveriesFinished
        }
        guard !alreadyFinished else { return }
        thread.wakeup.signal()
        await withCheckedContinuation { continuation in
            let finished = control.withLock { control in
                if control.deliveriesFinished { return true }
                control.deliveriesFinishedWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// Sends the acknowledgements already queued, closes the connection and ends the thread. Deliveries that were
    /// never acknowledged go back to the queue.
    public func close() async {
        control.withLock { $0.stopConsumingRequested = true }
        await thread.close {
            control.withLock { control in
                finishDeliveries(&control)
                control.status = .closed
            }
            eventContinuation.finish()
        }
    }

    func finishDeliveries(_ control: inout Control) {
        guard !control.deliveriesFinished else { return }
        control.deliveriesFinished = true
        deliveryBuffer.finish()
        for waiter in control.deliveriesFinishedWaiters { waiter.resume() }
        control.deliveriesFinishedWaiters = []
    }

    func emit(_ event: ConnectionEvent) {
        eventContinuation.yield(event)
        thread.statusChanged()
    }
}
