import Foundation
import Logging
import Synchronization

/// Asks the broker, at a fixed period, how many messages wait ready in one queue (a passive `queue.declare`), on a
/// connection and a thread of its own.
///
/// A consumer cannot learn this from its deliveries: while the broker is the bottleneck of a drain, deliveries
/// arrive no faster than they are handled, however deep the queue. The probe's own connection keeps the
/// synchronous declare out of the consumer's frame stream, where it would queue deliveries inside rabbitmq-c.
public final class QueueDepthProbe: Sendable {
    public let queue: String
    private let settings: ConnectionSettings
    private let period: Duration
    private let backoff: Backoff
    private let logger: Logger
    private let control = NSCondition()
    private let stopped = Mutex(false)

    public init(
        settings: ConnectionSettings, queue: String, period: Duration, backoff: Backoff = Backoff(),
        logger: Logger
    ) {
        var settings = settings
        settings.connectionName += " (queue depth)"
        self.settings = settings
        self.queue = queue
        self.period = period
        self.backoff = backoff
        self.logger = logger
    }

    /// Reads the depth every period until the calling task is cancelled, handing each reading to `report`: the
    /// count of ready messages, or nil while the broker cannot be asked (the depth is then unknown, not zero).
    public func run(report: @escaping @Sendable (UInt32?) -> Void) async {
        stopped.withLock { $0 = false }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                DedicatedThread.start(name: "amqp-queue-depth") { [self] in
                    loop(report: report)
                    finished.resume()
                }
            }
        } onCancel: {
            stop()
        }
    }

    private func stop() {
        control.lock()
        stopped.withLock { $0 = true }
        control.broadcast()
        control.unlock()
    }

    private func loop(report: @Sendable (UInt32?) -> Void) {
        var connection: RawConnection?
        var failures = 0
        defer { connection?.close() }
        while !stopped.withLock({ $0 }) {
            var wait = period
            do throws(AMQPError) {
                if connection == nil {
                    let opened = try RawConnection(settings: settings)
                    connection = opened
                    try opened.openChannel(1)
                }
                if let connection {
                    let state = try connection.declareQueue(
                        QueueDeclaration(name: queue), passive: true, channel: 1)
                    report(state.messageCount)
                }
                failures = 0
            } catch {
                // A failed declare closes the channel (404) or the connection: start again from a new one.
                connection?.abandon()
                connection = nil
                report(nil)
                if failures == 0 {
                    logger.warning(
                        "cannot read the input queue's depth; retrying",
                        metadata: ["queue": "\(queue)", "error": "\(error)"])
                }
                wait = max(period, backoff.delay(afterFailures: failures))
                failures += 1
            }
            sleep(for: wait)
        }
    }

    /// Sleeps for `duration` or until `stop()`, whichever comes first.
    private func sleep(for duration: Duration) {
        let deadline = Date(timeIntervalSinceNow: duration.secondsDouble)
        control.lock()
        defer { control.unlock() }
        while !stopped.withLock({ $0 }), control.wait(until: deadline) {}
    }
}
