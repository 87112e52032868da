/// The life of one client's connection, shared by the consumer and the publisher: connect, open a session, lose
/// it, back off, reconnect or reopen, close. Like the connection state machines of postgres-nio and
/// swift-kafka-client, it does no I/O: each input returns a `Step` saying what to report and what to do next, and
/// `ConnectionSupervisor` performs it on the client's thread. Being a plain value, it is tested without a broker.
struct ConnectionStateMachine {
    /// How a session that lost only its channel (a channel error, say publishing to a missing exchange) is
    /// reopened on the same connection.
    enum ChannelRecovery: Equatable {
        /// After the same backoff as a reconnect.
        case afterBackoff
        /// At once the first time, then with backoff while it keeps happening.
        case atOnceThenBackoff
    }

    /// Why a session ended.
    enum SessionEnd: Equatable {
        /// The client was asked to close and its session has finished its work.
        case closeRequested
        /// The broker cancelled the consumer (its queue was deleted, say): subscribe again at once.
        case cancelledByBroker
        /// The channel failed; the connection is still usable.
        case channelFailed(AMQPError)
        /// The connection failed.
        case connectionFailed(AMQPError)
    }

    /// What to do with the connection at the end.
    enum Disposal: Equatable {
        /// There is none (never opened, or already dropped).
        case none
        /// Close it with the close handshake.
        case close
    }

    enum Action: Equatable {
        case connect
        /// Open the channel and whatever the client needs on it, then run the session.
        case openSession(generation: UInt64)
        /// Sleep (ending early if a close is asked), then call `waited`.
        case wait(Duration)
        case finish(Disposal)
    }

    /// A failure to report before acting: `consecutive` failures came before it without a session in between.
    struct Failure: Equatable {
        let error: AMQPError
        let consecutive: Int
        /// How long until the next attempt; nil when none follows (the client is closing).
        let retryIn: Duration?
    }

    struct Step: Equatable {
        var failure: Failure?
        /// Close the channel before acting (the broker cancelled the consumer; the channel is still open).
        var closeChannel = false
        /// Free the connection without a handshake before acting: its socket failed.
        var dropConnection = false
        var action: Action
    }

    private enum State: Equatable {
        case idle
        case connecting
        case inSession
        case waitingToReconnect
        case waitingToReopen
        case finished
    }

    private var state = State.idle
    /// Consecutive failures since the last session opened; the backoff grows with it.
    private(set) var failures = 0
    /// Counts sessions opened, across connections: a delivery tag of an older generation is stale.
    private(set) var generation: UInt64 = 0
    let backoff: Backoff
    let channelRecovery: ChannelRecovery
    /// Draws the backoff's jitter; fixed in tests.
    let random: () -> Double

    init(backoff: Backoff, channelRecovery: ChannelRecovery, random: @escaping () -> Double = { .random(in: 0...1) }) {
        self.backoff = backoff
        self.channelRecovery = channelRecovery
        self.random = random
    }

    var isFinished: Bool { state == .finished }

    mutating func start(closeRequested: Bool) -> Step {
        precondition(state == .idle, "started twice")
        if closeRequested { return finish(.none) }
        state = .connecting
        return Step(action: .connect)
    }

    mutating func connected() -> Step {
        precondition(state == .connecting, "connected while \(state)")
        return openSession()
    }

    mutating func connectFailed(_ error: AMQPError, closeRequested: Bool) -> Step {
        precondition(state == .connecting, "connect failed while \(state)")
        return retry(after: error, closeRequested: closeRequested, waiting: .waitingToReconnect, disposal: .none)
    }

    /// The session's channel and topology are ready: the failures before it are forgotten.
    mutating func sessionOpened() {
        precondition(state == .inSession, "session opened while \(state)")
        failures = 0
    }

    mutating func sessionEnded(_ end: SessionEnd, closeRequested: Bool) -> Step {
        precondition(state == .inSession, "session ended while \(state)")
        switch end {
        case .closeRequested:
            return finish(.close)
        case .cancelledByBroker:
            var step = closeRequested ? finish(.close) : openSession()
            step.closeChannel = true
            return step
        case .channelFailed(let error):
            if channelRecovery == .atOnceThenBackoff, failures == 0, !closeRequested {
                let failure = Failure(error: error, consecutive: failures, retryIn: .zero)
                failures += 1
                var step = openSession()
                step.failure = failure
                return step
            }
            return retry(after: error, closeRequested: closeRequested, waiting: .waitingToReopen, disposal: .close)
        case .connectionFailed(let error):
            var step = retry(
                after: error, closeRequested: closeRequested, waiting: .waitingToReconnect, disposal: .none)
            step.dropConnection = true
            return step
        }
    }

    mutating func waited(closeRequested: Bool) -> Step {
        switch state {
        case .waitingToReconnect:
            if closeRequested { return finish(.none) }
            state = .connecting
            return Step(action: .connect)
        case .waitingToReopen:
            if closeRequested { return finish(.close) }
            return openSession()
        default:
            preconditionFailure("waited while \(state)")
        }
    }

    private mutating func openSession() -> Step {
        generation += 1
        state = .inSession
        return Step(action: .openSession(generation: generation))
    }

    private mutating func retry(after error: AMQPError, closeRequested: Bool, waiting: State, disposal: Disposal)
        -> Step
    {
        let consecutive = failures
        failures += 1
        guard !closeRequested else {
            var step = finish(disposal)
            step.failure = Failure(error: error, consecutive: consecutive, retryIn: nil)
            return step
        }
        // A channel reopened at once the first time backs off from the start of the curve after that.
        let curvePosition =
            channelRecovery == .atOnceThenBackoff && waiting == .waitingToReopen ? consecutive - 1 : consecutive
        let delay = backoff.delay(afterFailures: curvePosition, random: random())
        state = waiting
        return Step(failure: Failure(error: error, consecutive: consecutive, retryIn: delay), action: .wait(delay))
    }

    private mutating func finish(_ disposal: Disposal) -> Step {
        state = .finished
        return Step(action: .finish(disposal))
    }
}

/// How a client's session tells the supervisor that it ended for a reason other than a failed call.
enum SessionInterruption: Error {
    /// The broker closed the channel (channel.close-ok has been sent).
    case channelClosed(AMQPError)
    /// The broker cancelled the consumer.
    case consumerCancelled
}

extension ConnectionStateMachine.SessionEnd {
    /// Sorts what a session threw: a channel-level failure leaves the connection usable, anything else does not.
    init(classifying error: any Error, operation: String) {
        switch error {
        case SessionInterruption.channelClosed(let error): self = .channelFailed(error)
        case SessionInterruption.consumerCancelled: self = .cancelledByBroker
        case let error as AMQPError:
            if case .server(_, .channel, _, _) = error {
                self = .channelFailed(error)
            } else {
                self = .connectionFailed(error)
            }
        default: self = .connectionFailed(.library(operation: operation, status: -1, message: "\(error)"))
        }
    }
}
