internal import CRabbitMQ
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
        [UInt64: (request: InFlightRequest, index: Int, mandatory: Bool, route: String, sentAt: ContinuousClock.Instant)] =
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
        let range: ClosedRange<UInt64> = multiple ? lowest...max(lowest, tag) : tag...tag
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
            slot.request.settle(slot.index, .failure(.blocked(reason: reason, waited: now - slot.sentAt)))
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

extension AMQPPublisher {
    private static let channel: UInt16 = 1
    private static let pollInterval: Duration = .milliseconds(250)

    private enum SessionEnd: Error {
        case channelClosed(AMQPError)
    }

    func run() {
        var failures = 0
        var generation: UInt64 = 0

        connectionLoop: while !isCloseRequested {
            setStatus(.connecting)
            let connection: RawConnection
            do {
                connection = try RawConnection(settings: settings)
            } catch {
                recordFailure(error, failures: failures)
                sleepBeforeRetry(failures: failures)
                failures += 1
                continue
            }

            sessionLoop: while true {
                var outstanding = Outstanding()
                do {
                    generation += 1
                    try connection.openChannel(Self.channel)
                    try connection.declare(configuration.topology, channel: Self.channel)
                    try connection.selectConfirms(channel: Self.channel)
                    control.withLock { control in
                        control.status = .connected(generation: generation)
                        control.generation = generation
                        control.lastError = nil
                    }
                    emit(.connected(generation: generation))
                    logger.info("publisher connected", metadata: ["amqp.generation": "\(generation)"])
                    failures = 0
                    try pump(connection, outstanding: &outstanding)
                    connection.close()
                    break connectionLoop
                } catch {
                    let amqpError: AMQPError
                    var channelOnly = false
                    switch error {
                    case SessionEnd.channelClosed(let closeError):
                        amqpError = closeError
                        channelOnly = true
                    case let typed as AMQPError:
                        amqpError = typed
                        if case .server(_, .channel, _, _) = typed { channelOnly = true }
                    default:
                        amqpError = .library(operation: "publishing", status: -1, message: "\(error)")
                    }
                    outstanding.failAll(
                        channelOnly ? amqpError : .connectionLost(reason: amqpError.description))
                    recordFailure(amqpError, failures: failures)
                    if channelOnly && !isCloseRequested {
                        // A channel error such as publishing to a missing exchange: reopen at once on the same
                        // connection, backing off only if it keeps happening.
                        if failures > 0 { sleepBeforeRetry(failures: failures - 1) }
                        failures += 1
                        continue sessionLoop
                    }
                    connection.abandon()
                    if isCloseRequested { break connectionLoop }
                    sleepBeforeRetry(failures: failures)
                    failures += 1
                    continue connectionLoop
                }
            }
        }

        let leftover = control.withLock { control in
            control.status = .closed
            defer { control.requests = [] }
            return control.requests
        }
        for request in leftover { request.fail(.closed) }
        eventContinuation.finish()
        logger.info("publisher closed")
        thread.markFinished()
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
                try connection.publish(message, channel: Self.channel)
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
            amqp_maybe_release_buffers(connection.state)
            var frame = amqp_frame_t()
            var immediately = timeval(tv_sec: 0, tv_usec: 0)
            let status = amqp_simple_wait_frame_noblock(connection.state, &frame, &immediately)
            if status == AMQP_STATUS_TIMEOUT.rawValue { return }
            try connection.checkStatus(status, operation: "waiting for publisher confirms")
            guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
            let method = frame.payload.method
            switch method.id {
            case MethodNumber.basicAck:
                let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
                outstanding.settle(upTo: ack.delivery_tag, multiple: ack.multiple != 0, with: .success(.confirmed))
            case MethodNumber.basicNack:
                let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
                outstanding.settle(upTo: nack.delivery_tag, multiple: nack.multiple != 0, with: .failure(.nacked))
            case MethodNumber.basicReturn:
                let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
                outstanding.markReturned(
                    exchange: returned.exchange.asString, routingKey: returned.routing_key.asString,
                    replyCode: returned.reply_code, replyText: returned.reply_text.asString)
                var message = amqp_message_t()
                let reply = amqp_read_message(connection.state, frame.channel, &message, 0)
                try connection.check(reply, operation: "reading a returned message", channel: Self.channel)
                amqp_destroy_message(&message)
            case MethodNumber.connectionBlocked:
                let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
                let reason = blocked.reason.asString
                setStatus(.blocked(reason: reason))
                emit(.blocked(reason: reason))
                logger.warning("the broker blocked publishing", metadata: ["reason": "\(reason)"])
            case MethodNumber.connectionUnblocked:
                control.withLock { control in
                    if case .blocked = control.status { control.status = .connected(generation: control.generation) }
                }
                emit(.unblocked)
                logger.info("the broker unblocked publishing")
            case MethodNumber.channelClose:
                let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                connection.sendChannelCloseOk(channel: frame.channel)
                throw SessionEnd.channelClosed(
                    .server(
                        operation: "publishing", scope: .channel, replyCode: close.reply_code,
                        replyText: close.reply_text.asString))
            case MethodNumber.connectionClose:
                let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                connection.sendConnectionCloseOk()
                throw AMQPError.server(
                    operation: "publishing", scope: .connection, replyCode: close.reply_code,
                    replyText: close.reply_text.asString)
            default:
                continue
            }
        }
    }

    private var isCloseRequested: Bool { thread.isCloseRequested }

    private func setStatus(_ status: Status) {
        control.withLock { $0.status = status }
    }

    private func recordFailure(_ error: AMQPError, failures: Int) {
        let closing = isCloseRequested
        let unsent = control.withLock { control in
            control.lastError = error
            if !closing { control.status = .disconnected(reason: error.description) }
            let unsent = control.requests
            control.requests = []
            return unsent
        }
        for request in unsent { request.fail(.notConnected) }
        emit(.disconnected(reason: error.description))
        let level: Logger.Level = failures == 0 ? .warning : .info
        logger.log(
            level: level, "publisher disconnected",
            metadata: ["error": "\(error)", "amqp.retry_in": "\(configuration.backoff.delay(afterFailures: failures))"])
    }

    private func sleepBeforeRetry(failures: Int) {
        thread.sleep(for: configuration.backoff.delay(afterFailures: failures))
    }
}
