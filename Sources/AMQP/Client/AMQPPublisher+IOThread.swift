import Foundation
import Logging

/// Publishes handed over by tasks, waiting for the broker's answer to each. Only this thread touches the connection.
final class InFlightRequest {
    private var results: [Result<PublishOutcome, AMQPError>?]
    private var remaining: Int
    private let request: AMQPPublisher.Request

    init(_ request: AMQPPublisher.Request) {
        self.request = request
        results = Array(repeating: nil, count: request.messages.count)
        remaining = request.messages.count
    }

    func settle(_ index: Int, _ result: Result<PublishOutcome, AMQPError>) {
        guard results[index] == nil else { return }
        results[index] = result
        remaining -= 1
        if remaining == 0 {
            request.continuation.resume(returning: results.map { $0 ?? .failure(.closed) })
        }
    }

    func settleAll(_ error: AMQPError) {
        for index in results.indices { settle(index, .failure(error)) }
    }
}

/// Publishes waiting for their confirm, by publish sequence number, plus what `basic.return` said about some of them.
struct Outstanding {
    private var slots:
        [UInt64: (
            request: InFlightRequest, index: Int, mandatory: Bool, route: String, sentAt: ContinuousClock.Instant
        )] =
            [:]
    private var returned: [UInt64: PublishOutcome] = [:]
    private var lowest: UInt64 = 1
    private(set) var nextSequence: UInt64 = 1

    var isEmpty: Bool { slots.isEmpty }

    mutating func add(_ request: InFlightRequest, index: Int, message: OutgoingMessage) {
        slots[nextSequence] = (
            request, index, message.mandatory, Self.route(message.exchange, message.routingKey), .now
        )
        nextSequence += 1
    }

    /// A return names no sequence number, but the broker sends it before the confirm of the same message, and
    /// messages with the same exchange and routing key are routed alike, so the oldest unconfirmed mandatory publish
    /// on that route is the one returned.
    mutating func markReturned(exchange: String, routingKey: String, replyCode: UInt16, replyText: String) {
        let route = Self.route(exchange, routingKey)
        var sequence = lowest
        while sequence < nextSequence {
            if let slot = slots[sequence], slot.mandatory, slot.route == route, returned[sequence] == nil {
                returned[sequence] = .returned(replyCode: replyCode, replyText: replyText)
                return
            }
            sequence += 1
        }
    }

    mutating func settle(upTo tag: UInt64, multiple: Bool, with result: Result<PublishOutcome, AMQPError>) {
        // The tag comes from the broker: nothing past the last sequence number sent can be settled, and a multiple
        // ack naming a huge tag must not walk every number up to it.
        let last = nextSequence - 1
        let range: ClosedRange<UInt64> = multiple ? lowest...max(lowest, min(tag, last)) : tag...tag
        for sequence in range {
            guard let slot = slots.removeValue(forKey: sequence) else { continue }
            let outcome = returned.removeValue(forKey: sequence)
            switch result {
            case .success: slot.request.settle(slot.index, .success(outcome ?? .confirmed))
            case .failure: slot.request.settle(slot.index, result)
            }
        }
        while lowest < nextSequence, slots[lowest] == nil { lowest += 1 }
    }

    /// While the broker blocks the connection it reads nothing, so confirms stop; publishes waiting longer than the
    /// blocked policy allows fail rather than hang. A confirm arriving later for one of them is ignored.
    mutating func failSentBefore(_ cutoff: ContinuousClock.Instant, reason: String) {
        let now = ContinuousClock.now
        for (sequence, slot) in slots where slot.sentAt <= cutoff {
            slots[sequence] = nil
            returned[sequence] = nil
            slot.request.settle(slot.index, .failure(.unconfirmed(reason: reason, waited: now - slot.sentAt)))
        }
        while lowest < nextSequence, slots[lowest] == nil { lowest += 1 }
    }

    mutating func failAll(_ error: AMQPError) {
        for slot in slots.values { slot.request.settle(slot.index, .failure(error)) }
        slots = [:]
        returned = [:]
        lowest = nextSequence
    }

    private static func route(_ exchange: String, _ routingKey: String) -> String {
        exchange + "\u{0}" + routingKey
    }
}

/// Everything below runs on the publisher's own thread and is the only code that touches its connection. The
/// reconnect loop is `ConnectionSupervisor`'s; this is what a publishing session does.
extension AMQPPublisher: SupervisedClient {
    private static let pollInterval: Duration = .milliseconds(250)
    private var channel: UInt16 { ConnectionSupervisor.channel }

    var role: String { "publisher" }

    func run() {
        // A channel error such as publishing to a missing exchange reopens the channel at once on the same
        // connection, backing off only if it keeps happening.
        ConnectionSupervisor(backoff: configuration.backoff, channelRecovery: .atOnceThenBackoff).run(self)
    }

    func willConnect() {
        setStatus(.connecting)
    }

    func openSession(on connection: RawConnection, generation: UInt64) throws(AMQPError) {
        try connection.openChannel(channel)
        try connection.declare(configuration.topology, channel: channel)
        try connection.selectConfirms(channel: channel)
        control.withLock { control in
            control.status = .connected(generation: generation)
            control.generation = generation
            control.lastError = nil
        }
        emit(.connected(generation: generation))
        logger.info("publisher connected", metadata: ["amqp.generation": "\(generation)"])
    }

    /// Publishes and settles confirms until closed; if the session fails, every publish still waiting for its
    /// confirm fails with it (a channel error as itself, a lost connection as `connectionLost`: either may have
    /// been routed).
    func runSession(_: Void, on connection: RawConnection, generation: UInt64) throws {
        var outstanding = Outstanding()
        do {
            try pump(connection, outstanding: &outstanding)
        } catch {
            switch ConnectionStateMachine.SessionEnd(classifying: error, operation: role) {
            case .channelFailed(let channelError):
                outstanding.failAll(channelError)
            case .connectionFailed(let connectionError):
                outstanding.failAll(.connectionLost(reason: connectionError.description))
            case .closeRequested, .cancelledByBroker:
                outstanding.failAll(.connectionLost(reason: "\(error)"))
            }
            throw error
        }
    }

    private func pump(_ connection: RawConnection, outstanding: inout Outstanding) throws {
        var closeDeadline: ContinuousClock.Instant?
        while true {
            let (requests, closeRequested, blockedReason) = takeRequests()
            // Every message taken is registered before the first is written, so that a write failing halfway
            // fails them all (as possibly routed) instead of leaving the rest of the batch waiting forever.
            var sendable: [OutgoingMessage] = []
            for request in requests {
                let inFlight = InFlightRequest(request)
                for (index, message) in request.messages.enumerated() {
                    // Refused here, before it takes a publish sequence number, so the confirms still line up.
                    if let reason = message.unpublishableReason(frameMax: connection.frameMax) {
                        inFlight.settle(index, .failure(.unpublishable(reason: reason)))
                        continue
                    }
                    outstanding.add(inFlight, index: index, message: message)
                    sendable.append(message)
                }
            }
            for message in sendable {
                try connection.publish(message, channel: channel)
            }

            if let blockedReason {
                let limit: Duration
                switch configuration.whenBlocked {
                case .failImmediately: limit = .zero
                case .wait(let upTo): limit = upTo
                }
                outstanding.failSentBefore(.now - limit, reason: blockedReason)
            }

            if closeRequested {
                let deadline = closeDeadline ?? .now + configuration.closeTimeout
                closeDeadline = deadline
                if outstanding.isEmpty { return }
                if ContinuousClock.now >= deadline {
                    outstanding.failAll(.closed)
                    return
                }
            }

            if !connection.hasBufferedInput {
                var timeout = settings.tls == nil ? Self.pollInterval : .milliseconds(5)
                if blockedReason != nil {
                    timeout = min(timeout, .milliseconds(50))
                }
                if closeRequested { timeout = .milliseconds(20) }
                thread.wakeup.wait(socket: connection.socketDescriptor, timeout: timeout)
            }
            try readFrames(connection, outstanding: &outstanding)
        }
    }

    /// Takes the requests that can be sent now. While blocked, requests wait in the queue; those whose wait has run
    /// out (or all of them, under `failImmediately`) fail here.
    private func takeRequests() -> (sendable: [Request], closeRequested: Bool, blockedReason: String?) {
        var expired: [(Request, Duration)] = []
        let result = control.withLock { control -> ([Request], Bool, String?) in
            guard case .blocked(let reason) = control.status else {
                let requests = control.requests
                control.requests = []
                return (requests, control.closing, nil)
            }
            let now = ContinuousClock.now
            control.requests.removeAll { request in
                let waited = now - request.enqueuedAt
                let limit: Duration
                switch configuration.whenBlocked {
                case .failImmediately: limit = .zero
                case .wait(let upTo): limit = upTo
                }
                guard waited >= limit || control.closing else { return false }
                expired.append((request, waited))
                return true
            }
            return ([], control.closing, reason)
        }
        if let reason = result.2 {
            for (request, waited) in expired { request.fail(.blocked(reason: reason, waited: waited)) }
        }
        return result
    }

    private func readFrames(_ connection: RawConnection, outstanding: inout Outstanding) throws {
        while true {
            let method: IncomingMethod
            switch try connection.pollMethod(operation: "waiting for publisher confirms") {
            case .nothingReady: return
            case .otherFrame: continue
            case .method(let next): method = next
            }
            switch method {
            case .basicAck(let deliveryTag, let multiple):
                outstanding.settle(upTo: deliveryTag, multiple: multiple, with: .success(.confirmed))
            case .basicNack(let deliveryTag, let multiple):
                outstanding.settle(upTo: deliveryTag, multiple: multiple, with: .failure(.nacked))
            case .basicReturn(let exchange, let routingKey, let replyCode, let replyText):
                outstanding.markReturned(
                    exchange: exchange, routingKey: routingKey, replyCode: replyCode, replyText: replyText)
            case .connectionBlocked(let reason):
                setStatus(.blocked(reason: reason))
                emit(.blocked(reason: reason))
                logger.warning("the broker blocked publishing", metadata: ["reason": "\(reason)"])
            case .connectionUnblocked:
                control.withLock { control in
                    if case .blocked = control.status { control.status = .connected(generation: control.generation) }
                }
                emit(.unblocked)
                logger.info("the broker unblocked publishing")
            case .channelClose(let replyCode, let replyText):
                throw SessionInterruption.channelClosed(
                    .server(operation: "publishing", scope: .channel, replyCode: replyCode, replyText: replyText))
            case .connectionClose(let replyCode, let replyText):
                throw AMQPError.server(
                    operation: "publishing", scope: .connection, replyCode: replyCode, replyText: replyText)
            case .basicCancel, .other:
                continue
            }
        }
    }

    func wasCancelled() {}

    func didFail(_ failure: ConnectionStateMachine.Failure) {
        let closing = thread.isCloseRequested
        let unsent = control.withLock { control in
            control.lastError = failure.error
            if !closing { control.status = .disconnected(reason: failure.error.description) }
            defer { control.requests = [] }
            return control.requests
        }
        for request in unsent { request.fail(.notConnected) }
        emit(.disconnected(reason: failure.error.description))
    }

    func didFinish() {
        let leftover = control.withLock { control in
            control.status = .closed
            defer { control.requests = [] }
            return control.requests
        }
        for request in leftover { request.fail(.closed) }
        eventContinuation.finish()
    }

    private func setStatus(_ status: Status) {
        control.withLock { $0.status = status }
    }
}
