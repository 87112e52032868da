import AMQP
import Foundation
import MinerIndex
import Synchronization

/// What a published message was, so its confirm can update the ledger and the counters.
enum MessageRole: Sendable {
    case log(MinerSlot, MinerLedger.LoggedState)
    case probe(MinerSlot, MinerLedger.LoggedState, serial: Int64)
    case upsert(MinerSlot, activated: Bool)
    case malformed
}

struct PendingMessage: Sendable {
    var message: OutgoingMessage
    var role: MessageRole
}

/// Publishes batches within the outstanding window and books every broker answer: confirms move the ledger on,
/// nacks and lost confirms leave the miner in doubt, returns mean no queue took the message.
final class MessageDispatcher: Sendable {
    let publisher: AMQPPublisher
    let exchange: String
    let persistent: Bool
    let runID: String
    let window: PublishWindow
    let counters: LoadCounters
    let ledger: SharedLedger
    let lag: LagTracker
    private let serial = Mutex<UInt64>(0)

    init(publisher: AMQPPublisher, configuration: LoadConfiguration, runID: String, window: PublishWindow,
         counters: LoadCounters, ledger: SharedLedger, lag: LagTracker) {
        self.publisher = publisher
        exchange = configuration.exchange
        persistent = configuration.persistent
        self.runID = runID
        self.window = window
        self.counters = counters
        self.ledger = ledger
        self.lag = lag
    }

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

    /// Takes window permits (waiting if the window is full), then publishes in a child task of `group`.
    func dispatch(_ batch: [PendingMessage], in group: inout DiscardingTaskGroup) async {
        guard !batch.isEmpty else { return }
        await window.acquire(batch.count)
        let handedOverAt = ContinuousClock.now
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
            if case .probe(let slot, _, let serial) = pending.role { lag.probeSent(slot.kind, serial: serial, at: handedOverAt) }
        }
        group.addTask { [self] in
            let results = await publisher.publish(batch.map(\.message))
            book(batch, results)
            window.release(batch.count)
        }
    }

    private func book(_ batch: [PendingMessage], _ results: [Result<PublishOutcome, AMQPError>]) {
        var confirmed = 0, unroutable = 0, nacked = 0, failed = 0
        var lastFailure: String?
        ledger.update { ledger in
            for (pending, result) in zip(batch, results) {
                switch result {
                case .success(.confirmed):
                    confirmed += 1
                    switch pending.role {
                    case .log(let slot, let state), .probe(let slot, let state, _): ledger.logConfirmed(slot, state)
                    case .upsert(let slot, let activated): ledger.upserted(slot, activated: activated, confirmed: true)
                    case .malformed: break
                    }
                case .success(.returned):
                    // No queue took it, so the service never sees it: nothing changes.
                    unroutable += 1
                    if case .probe(let slot, _, let serial) = pending.role { lag.probeFailed(slot.kind, serial: serial) }
                case .failure(let error):
                    if error == .nacked { nacked += 1 } else { failed += 1 }
                    lastFailure = error.description
                    // Refused before it was written to the socket: the broker never saw it.
                    if error == .notConnected { continue }
                    switch pending.role {
                    case .log(let slot, let state): ledger.logInDoubt(slot, state)
                    case .probe(let slot, let state, let serial):
                        ledger.logInDoubt(slot, state)
                        lag.probeFailed(slot.kind, serial: serial)
                    case .upsert(let slot, let activated): ledger.upserted(slot, activated: activated, confirmed: false)
                    case .malformed: break
                    }
                }
            }
        }
        counters.update { counts in
            counts.confirmed += confirmed
            counts.unroutable += unroutable
            counts.nacked += nacked
            counts.failed += failed
            if let lastFailure { counts.lastFailure = lastFailure }
        }
    }
}
