import AMQP
import Foundation
import Logging
import MinerIndex
import Synchronization

/// The reference subscriber of one kind's full index: one private queue bound to the delta exchange, and to the
/// keyframe exchange while a keyframe is wanted (one queue, so keyframes and deltas arrive in the order they were
/// published), an `IndexStreamAssembler` that rebuilds the index, and a publisher that asks for a keyframe on
/// start and whenever the assembler holds no index it can apply a delta to (it joined late, or saw a gap).
///
/// The assembler runs on the consumer's own I/O thread, at the lowest scheduling priority, as the messages come
/// off the socket: never on the cooperative pool that miner-load's publishing runs on, and on a machine short of
/// CPU after the publisher, the service and the broker. While it works the broker keeps the next messages (the
/// prefetch bounds what waits in memory), so falling behind costs time at the end of the run, not the load's pace.
public final class IndexStreamSubscriber: Sendable {
    public struct Exchanges: Sendable, Hashable {
        public var keyframe: String
        public var delta: String
        public var keyframeRequests: String

        public init(
            keyframe: String, delta: String? = nil, keyframeRequests: String = DefaultExchangeNames.keyframeRequests
        ) {
            self.keyframe = keyframe
            self.delta = delta ?? DefaultExchangeNames.delta(of: keyframe)
            self.keyframeRequests = keyframeRequests
        }
    }

    /// Which keyframes reach the subscriber.
    public enum Keyframes: Sendable {
        /// Only while one is wanted: at start, after a gap, for a check. What miner-load's `--verify` uses.
        case whenWanted
        /// Every keyframe the service publishes, for tests of what makes the service publish one.
        case all
    }

    private struct State {
        var assembler: IndexStreamAssembler
        var requestsSent = 0
        var lastRequestAt: ContinuousClock.Instant?
        /// From a request until a keyframe is applied. Asking again meanwhile would make the service build another
        /// keyframe (about a hundred megabytes at 100k miners) while the first is still on its way.
        var keyframeAwaited = false
        var unreadable = 0
        /// Test hook: the next delta is dropped as if lost, to make a gap.
        var dropNextDelta = false
        /// Set once the subscriber has started: the I/O thread asks it for keyframes.
        var askForKeyframe: (@Sendable () -> Void)?
        /// Set once the subscriber has started: the I/O thread unbinds the keyframe exchange once a keyframe came.
        var stopKeyframes: (@Sendable () -> Void)?
    }

    /// A class, so that the I/O thread's observer can hold it before `self` exists.
    private final class SharedState: Sendable {
        let mutex: Mutex<State>

        init(_ state: State) { mutex = Mutex(state) }

        func withLock<Result>(_ body: (inout State) -> Result) -> Result { mutex.withLock { body(&$0) } }
    }

    public let exchanges: Exchanges
    /// A keyframe asked for and not yet come is asked for again after this long.
    let requestRetry: Duration
    private let consumer: AMQPConsumer
    /// Bound only while a keyframe is wanted (at start, after a gap, for a check): the service sends one every
    /// keyframe interval, about 190 MB per 30 s for both kinds at 100k miners, and routing those to a subscriber
    /// that already holds the index cost the broker the confirms of the load being verified.
    private let keyframeBinding: QueueBinding
    private let keyframes: Keyframes
    private let requester: AMQPPublisher
    private let state: SharedState
    private let listener = Mutex<Task<Void, Never>?>(nil)
    let logger: Logger

    public init(
        settings: ConnectionSettings, kind: MinerKind, exchanges: Exchanges, keyframes: Keyframes = .whenWanted,
        requestRetry: Duration = .seconds(10), backoff: Backoff = .init(), logger: Logger
    ) {
        self.exchanges = exchanges
        self.requestRetry = requestRetry
        self.logger = logger
        let state = SharedState(State(assembler: IndexStreamAssembler(keys: .of(kind))))
        self.state = state
        var settings = settings
        settings.connectionName = "miner-index subscriber \(kind.rawValue)"
        let queue = "miner-index-subscriber.\(kind.rawValue).\(UInt64.random(in: .min ... .max))"
        let streamExchanges = [exchanges.keyframe, exchanges.delta]
        keyframeBinding = QueueBinding(queue: queue, exchange: exchanges.keyframe)
        self.keyframes = keyframes
        consumer = AMQPConsumer(
            settings: settings,
            configuration: .init(
                queue: queue, prefetch: 20,
                topology: Topology(
                    exchanges: streamExchanges.map { ExchangeDeclaration(name: $0, kind: .fanout, durable: true) },
                    queues: [QueueDeclaration(name: queue, durable: false, exclusive: true, autoDelete: true)],
                    bindings: keyframes == .all
                        ? streamExchanges.map { QueueBinding(queue: queue, exchange: $0) }
                        : [QueueBinding(queue: queue, exchange: exchanges.delta)]),
                consumerTag: "miner-index-subscriber", backoff: backoff,
                arrivalObserver: { batch in
                    Self.apply(batch, deltaExchange: exchanges.delta, to: state, logger: logger) {
                        state.withLock { $0.askForKeyframe }?()
                    }
                }),
            logger: logger)
        requester = AMQPPublisher(
            settings: settings,
            configuration: .init(
                topology: Topology(exchanges: [
                    ExchangeDeclaration(name: exchanges.keyframeRequests, kind: .fanout, durable: true)
                ]), backoff: backoff),
            logger: logger)
    }

    /// Binds the queue, then asks for a keyframe: a subscriber always joins late.
    public func start(timeout: Duration) async throws(AMQPError) {
        consumer.start()
        requester.start()
        try await consumer.waitUntilConsuming(timeout: timeout)
        try await requester.waitUntilConnected(timeout: timeout)
        state.withLock { state in
            state.askForKeyframe = { [self] in Task { await requestKeyframe(force: false) } }
            if keyframes == .whenWanted {
                state.stopKeyframes = { [consumer, keyframeBinding] in consumer.unbind(keyframeBinding) }
            }
        }
        listener.withLock { $0 = Task { [self] in await listen() } }
        await requestKeyframe(force: true)
    }

    public func close() async {
        state.withLock { state in
            state.askForKeyframe = nil
            state.stopKeyframes = nil
        }
        await consumer.close()
        await requester.close()
        if let task = listener.withLock({ $0 }) { await task.value }
    }

    /// The assembler's view: the index held (nil while waiting for a keyframe), counters and keyframe checks.
    public var assembler: IndexStreamAssembler { state.withLock { $0.assembler } }
    public var requestsSent: Int { state.withLock { $0.requestsSent } }
    public var unreadable: Int { state.withLock { $0.unreadable } }

    /// Test hook: the next delta is dropped as if the broker had lost it.
    public func dropNextDeltaMessage() { state.withLock { $0.dropNextDelta = true } }

    /// Asks for a fresh keyframe and waits until one arrives that follows the last message applied, so it can be
    /// compared with the rebuilt index; returns that comparison, or nil if none came within `timeout`.
    public func checkAgainstFreshKeyframe(timeout: Duration) async -> IndexStreamAssembler.KeyframeCheck? {
        let checksBefore = assembler.checks.count
        let deadline = ContinuousClock.now + timeout
        await requestKeyframe(force: true)
        while ContinuousClock.now < deadline {
            let checks = assembler.checks
            if checks.count > checksBefore, let last = checks.last { return last }
            await requestKeyframe(force: false)
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Publishes `{"exchange": <keyframe exchange>}`; without `force`, only when no keyframe asked for is still
    /// awaited, or it has been for `requestRetry`.
    func requestKeyframe(force: Bool) async {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            if !force, state.keyframeAwaited, let last = state.lastRequestAt, now - last < requestRetry { return false }
            state.keyframeAwaited = true
            state.lastRequestAt = now
            state.requestsSent += 1
            return true
        }
        guard due else { return }
        if keyframes == .whenWanted {
            do {
                try await consumer.bind(keyframeBinding, timeout: requestRetry)
            } catch {
                logger.warning(
                    "cannot bind the keyframe exchange; asking again later", metadata: ["error": "\(error)"])
                return
            }
        }
        let body = Array("{\"exchange\": \"\(exchanges.keyframe)\"}".utf8)
        do {
            _ = try await requester.publish(
                OutgoingMessage(
                    exchange: exchanges.keyframeRequests, routingKey: "", body: body,
                    properties: MessageProperties(contentType: "application/json", deliveryMode: .transient)))
        } catch {
            logger.warning("keyframe request not published; asking again later", metadata: ["error": "\(error)"])
        }
    }

    /// On the consumer's I/O thread, before the batch is handed over.
    private static func apply(
        _ batch: [Delivery], deltaExchange: String, to state: SharedState, logger: Logger,
        askForKeyframe: () -> Void
    ) {
        LowPriority.lowerCurrentThread()
        var needsKeyframe = false, keyframeCame = false
        for delivery in batch {
            let message: IndexStreamAssembler.Message = delivery.exchange == deltaExchange ? .delta : .keyframe
            // Under the lock: a copy taken out to work on would share the index with the state and copy all of it
            // on the first change. Readers wait at most for one message.
            let outcome = state.withLock { state -> IndexStreamAssembler.Outcome? in
                if message == .delta, state.dropNextDelta {
                    state.dropNextDelta = false
                    return nil
                }
                let outcome = state.assembler.receive(delivery.body, as: message)
                if outcome == .keyframeApplied { state.keyframeAwaited = false }
                return outcome
            }
            switch outcome {
            case nil: break
            case .needsKeyframe: needsKeyframe = true
            case .unreadable(let reason):
                state.withLock { $0.unreadable += 1 }
                logger.warning("unreadable index stream message", metadata: ["reason": "\(reason)"])
            case .keyframeApplied: keyframeCame = true
            case .partial, .deltaApplied, .stale: break
            }
        }
        if keyframeCame, !needsKeyframe { state.withLock { $0.keyframeAwaited ? nil : $0.stopKeyframes }?() }
        if needsKeyframe { askForKeyframe() }
    }

    /// The batches were applied as they arrived; this only acknowledges them.
    private func listen() async {
        var iterator = consumer.deliveries.makeAsyncIterator()
        while let batch = await iterator.nextBatch() {
            if let last = batch.last { consumer.ack(last.tag, multiple: true) }
        }
    }
}
