import Foundation
import Logging
import Synchronization

/// Publishes with publisher confirms on its own connection and its own OS thread.
///
/// A publish completes when the broker confirms it (`basic.ack`), or fails with a typed error: nacked, the
/// connection was lost first, not connected, or blocked. Publishing never hangs on a blocked connection: it fails at
/// once or waits at most `BlockedPolicy.wait(upTo:)`, as configured. The thread reconnects with backoff like the
/// consumer, declaring the topology again and re-enabling confirms.
public final class AMQPPublisher: Sendable {
    public enum BlockedPolicy: Sendable, Hashable {
        /// Fail at once with `AMQPError.blocked` while the broker blocks the connection.
        case failImmediately
        /// Hold publishes until the broker unblocks, for at most this long, then fail with `AMQPError.blocked`
        /// (or `AMQPError.unconfirmed` for one already written to the connection: it may still be routed).
        case wait(upTo: Duration)
    }

    public struct Configuration: Sendable {
        public var topology: Topology
        public var whenBlocked: BlockedPolicy
        public var backoff: Backoff
        /// How long `close()` waits for confirms still outstanding.
        public var closeTimeout: Duration

        public init(
            topology: Topology = .empty,
            whenBlocked: BlockedPolicy = .wait(upTo: .seconds(5)),
            backoff: Backoff = .init(),
            closeTimeout: Duration = .seconds(5)
        ) {
            self.topology = topology
            self.whenBlocked = whenBlocked
            self.backoff = backoff
            self.closeTimeout = closeTimeout
        }
    }

    public enum Status: Sendable, Equatable {
        case idle
        case connecting
        case connected(generation: UInt64)
        case blocked(reason: String)
        case disconnected(reason: String)
        case closed
    }

    struct Request: Sendable {
        let messages: [OutgoingMessage]
        let enqueuedAt: ContinuousClock.Instant
        let continuation: CheckedContinuation<[Result<PublishOutcome, AMQPError>], Never>

        func fail(_ error: AMQPError) {
            continuation.resume(returning: Array(repeating: .failure(error), count: messages.count))
        }
    }

    struct Control {
        var requests: [Request] = []
        var closing = false
        var status: Status = .idle
        var generation: UInt64 = 0
        var lastError: AMQPError?

        var acceptsPublishes: Bool {
            switch status {
            case .connected, .blocked: return !closing
            default: return false
            }
        }
    }

    let settings: ConnectionSettings
    let configuration: Configuration
    let logger: Logger
    let control = Mutex(Control())
    let thread = ClientThread(name: "amqp-publisher")
    let eventContinuation: AsyncStream<ConnectionEvent>.Continuation
    public let events: AsyncStream<ConnectionEvent>

    public init(settings: ConnectionSettings, configuration: Configuration = .init(), logger: Logger) {
        self.settings = settings
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.broker"] = .string(settings.redactedURL)
        self.logger = logger
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

    public func waitUntilConnected(timeout: Duration) async throws(AMQPError) {
        try await thread.waitUntil(timeout: timeout, operation: "waiting for the publisher to connect") {
            let (status, lastError) = control.withLock { ($0.status, $0.lastError) }
            switch status {
            case .connected, .blocked: return (true, nil, lastError)
            case .closed: return (false, .closed, lastError)
            default: return (false, lastError.flatMap { $0.isPermanentConfigurationError ? $0 : nil }, lastError)
            }
        }
    }

    /// Publishes one message and waits for the broker's answer.
    public func publish(_ message: OutgoingMessage) async throws(AMQPError) -> PublishOutcome {
        guard let result = await publish([message]).first else { throw .closed }
        return try result.get()
    }

    /// Publishes the messages in order, pipelined, and waits until the broker has answered every one of them.
    /// Results are in the same order as the messages.
    public func publish(_ messages: [OutgoingMessage]) async -> [Result<PublishOutcome, AMQPError>] {
        guard !messages.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let request = Request(messages: messages, enqueuedAt: .now, continuation: continuation)
            let refusal: AMQPError? = control.withLock { control in
                if control.closing || control.status == .closed { return .closed }
                guard control.acceptsPublishes else { return .notConnected }
                if case .blocked(let reason) = control.status, configuration.whenBlocked == .failImmediately {
                    return .blocked(reason: reason, waited: .zero)
                }
                control.requests.append(request)
                return nil
            }
            if let refusal {
                request.fail(refusal)
            } else {
                thread.wakeup.signal()
            }
        }
    }

    /// Waits (bounded by `closeTimeout`) for outstanding confirms, then closes the connection and ends the thread.
    public func close() async {
        control.withLock { $0.closing = true }
        await thread.close {
            control.withLock { $0.status = .closed }
            eventContinuation.finish()
        }
    }

    func emit(_ event: ConnectionEvent) {
        eventContinuation.yield(event)
        thread.statusChanged()
    }
}
