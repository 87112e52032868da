import AMQP
import Foundation
import MinerIndex
import Synchronization

/// What a published message was, so its confirm can update the ledger and the counters.
enum MessageRole: Sendable {
    case log(MinerSlot, MinerLedger.LoggedState)
    /// A canary (see `LagProbe`): in no miner's ledger entry.
    case probe(MinerKind, serial: Int64)
    case upsert(MinerSlot, activated: Bool)
    case malformed
}

struct PendingMessage: Sendable {
    var message: OutgoingMessage
    var role: MessageRole
}

/// Publishes batches within the outstanding window and books every broker answer: confirms move the ledger on,
/// nacks leave the miner in doubt, returns mean no queue took the message.
///
/// A message whose connection dropped before the broker answered is published again, unchanged (same message id,
/// same body and `inserted_at`), once the publisher has reconnected: the service applies a log it already holds
/// as a no-op, and dead-letters a malformed duplicate again under the same message id. A message counts once,
/// when its final answer arrives. If the broker stays away longer than `reconnectTimeout`, the messages still
/// waiting are booked as in doubt and the run gives up (`gaveUpReason`).
final class MessageDispatcher: Sendable {
    let publisher: AMQPPublisher
    let exchange: String
    let persistent: Bool
    let runID: String
    let reconnectTimeout: Duration
    let window: PublishWindow
    let counters: LoadCounters
    let ledger: SharedLedger
    let lag: LagTracker
    let scheduleDelays: ScheduleDelays
    private let serial = Mutex<UInt64>(0)
    private let gaveUp = Mutex<String?>(nil)

    init(
        publisher: AMQPPublisher, configuration: LoadConfiguration, runID: String, window: PublishWindow,
        counters: LoadCounters, ledger: SharedLedger, lag: LagTracker, scheduleDelays: ScheduleDelays
    ) {
        self.publisher = publisher
        exchange = configuration.exchange
        persistent = configuration.persistent
        reconnectTimeout = configuration.reconnectTimeout
        self.runID = runID
        self.window = window
        self.counters = counters
        self.ledger = ledger
        self.lag = lag
        self.scheduleDelays = scheduleDelays
    }

    /// Why publishes were abandoned: the broker did not come back within `reconnectTimeout`.
    var gaveUpReason: String? { gaveUp.withLock { $0 } }

    /// A message with the properties every miner-load message carries: a unique id, a timestamp, JSON, and
    /// `mandatory` so that a missing queue shows up as "unroutable" rather than silence.
    func message(routingKey: String, body: [UInt8], sentAt: Date, role: MessageRole) -> PendingMessage {
        let number = serial.withLock { value -> UInt64 in
            value += 1
            return value
        }
        return PendingMessage(
            message: OutgoingMessage(
                exchange: exchange, routingKey: routingKey, body: body,
                properties: MessageProperties(
                    contentType: "application/json", messageID: "\(runID)-\(number)", timestamp: sentAt,
                    deliveryMode: persistent ? .persistent : .transient),
                mandatory: true),
            role: role)
    }

    /// Takes window permits (waiting if the window is full), then publishes in a child task of `group`, which
    /// returns the permits once every message of the batch has its final answer. `scheduledAt`: when the batch's
    /// oldest message was due by the pace (nil outside the paced phase).
    func dispatch(
        _ batch: [PendingMessage], scheduledAt: ContinuousClock.Instant? = nil, in group: inout DiscardingTaskGroup
    ) async {
        guard !batch.isEmpty else { return }
        await window.acquire(batch.count)
        let handedOverAt = ContinuousClock.now
        if let scheduledAt { scheduleDelays.record(handedOverAt - scheduledAt) }
        let handedOverWallClock = Date()
        counters.update { counts in
            counts.sent += batch.count
            for pending in batch {
                switch pending.role {
                case .log: counts.logs += 1
                case .probe: counts.probes += 1
                case .upsert: counts.upserts += 1
                case .malformed: counts.malformed += 1
                }
            }
        }
        for pending in batch {
            if case .probe(let kind, let serial) = pending.role {
                lag.probeSent(kind, serial: serial, at: handedOverAt, wallClock: handedOverWallClock)
            }
        }
        group.addTask { [self] in
            var unanswered = batch.map { Attempt(pending: $0) }
            while true {
                unanswered = book(unanswered, await publisher.publish(unanswered.map(\.pending.message)))
                if unanswered.isEmpty { break }
                do throws(AMQPError) {
                    try await publisher.waitUntilConnected(timeout: reconnectTimeout)
                } catch {
                    gaveUp.withLock { $0 = $0 ?? error.description }
                    abandon(unanswered, after: error)
                    break
                }
            }
            window.release(batch.count)
        }
    }

    /// One message on its way, and whether an earlier attempt was written before its connection dropped.
    private struct Attempt {
        var pending: PendingMessage
        var mayHaveArrived = false
    }

    /// Books the final answers and returns the messages to publish again: those whose connection dropped before
    /// the broker answered (it may have routed them: they are counted as republished) and those refused while
    /// the publisher was disconnected.
    private func book(_ attempts: [Attempt], _ results: [Result<PublishOutcome, AMQPError>]) -> [Attempt] {
        var confirmed = 0, unroutable = 0, nacked = 0, failed = 0, republished = 0, republishedMalformed = 0
        var lastFailure: String?
        var again: [Attempt] = []
        let answeredAt = ContinuousClock.now
        ledger.update { ledger in
            for (attempt, result) in zip(attempts, results) {
                let pending = attempt.pending
                switch result {
                case .success(.confirmed):
                    confirmed += 1
                    switch pending.role {
                    case .log(let slot, let state): ledger.logConfirmed(slot, state)
                    case .probe(let kind, let serial): lag.probeConfirmed(kind, serial: serial, at: answeredAt)
                    case .upsert(let slot, let activated): ledger.upserted(slot, activated: activated, confirmed: true)
                    case .malformed: break
                    }
                case .success(.returned):
                    // No queue took it, so the service never sees it: nothing changes.
                    unroutable += 1
                    if case .probe(let kind, let serial) = pending.role { lag.probeFailed(kind, serial: serial) }
                case .failure(.connectionLost), .failure(.notConnected):
                    var retry = attempt
                    if case .failure(.connectionLost) = result, !attempt.mayHaveArrived {
                        retry.mayHaveArrived = true
                        republished += 1
                        if case .malformed = pending.role { republishedMalformed += 1 }
                    }
                    again.append(retry)
                    // Its lag would measure the outage, not the pipeline.
                    if case .probe(let kind, let serial) = pending.role { lag.probeFailed(kind, serial: serial) }
                case .failure(let error):
                    if error == .nacked { nacked += 1 } else { failed += 1 }
                    lastFailure = error.description
                    bookInDoubt(pending, in: &ledger)
                }
            }
        }
        counters.update { counts in
            counts.confirmed += confirmed
            counts.unroutable += unroutable
            counts.nacked += nacked
            counts.failed += failed
            counts.republished += republished
            counts.republishedMalformed += republishedMalformed
            if let lastFailure { counts.lastFailure = lastFailure }
        }
        return again
    }

    /// The broker did not come back in time: those that may have reached it before the drop are in doubt.
    private func abandon(_ attempts: [Attempt], after error: AMQPError) {
        ledger.update { ledger in
            for attempt in attempts where attempt.mayHaveArrived { bookInDoubt(attempt.pending, in: &ledger) }
        }
        counters.update { counts in
            counts.failed += attempts.count
            counts.lastFailure = error.description
        }
    }

    private func bookInDoubt(_ pending: PendingMessage, in ledger: inout MinerLedger) {
        switch pending.role {
        case .log(let slot, let state): ledger.logInDoubt(slot, state)
        case .probe(let kind, let serial): lag.probeFailed(kind, serial: serial)
        case .upsert(let slot, let activated): ledger.upserted(slot, activated: activated, confirmed: false)
        case .malformed: break
        }
    }
}
