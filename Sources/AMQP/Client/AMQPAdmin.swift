import Foundation

/// A short-lived connection for one-off work: declaring or deleting topology, purging, counting messages, fetching
/// a message. The work runs synchronously on a dedicated thread; nothing is retried.
public enum AMQPAdmin {
    public static func withChannel<Result: Sendable>(
        _ settings: ConnectionSettings,
        _ body: @escaping @Sendable (borrowing AdminChannel) throws(AMQPError) -> Result
    ) async throws(AMQPError) -> Result {
        try await DedicatedThread.run(name: "amqp-admin") { () throws(AMQPError) -> Result in
            let connection = try RawConnection(settings: settings)
            defer { connection.close() }
            try connection.openChannel(1)
            return try body(AdminChannel(connection: connection))
        }
    }
}

/// A channel of `AMQPAdmin`. Only valid inside the `withChannel` body, on its thread.
public struct AdminChannel: ~Copyable {
    let connection: RawConnection
    private let channel: UInt16 = 1

    @discardableResult
    public func declare(_ topology: Topology) throws(AMQPError) -> [QueueState] {
        try connection.declare(topology, channel: channel)
    }

    /// The queue's message and consumer counts; fails with 404 if it does not exist.
    public func inspectQueue(_ name: String) throws(AMQPError) -> QueueState {
        try connection.declareQueue(QueueDeclaration(name: name), passive: true, channel: channel)
    }

    @discardableResult
    public func purgeQueue(_ name: String) throws(AMQPError) -> UInt32 {
        try connection.purgeQueue(name, channel: channel)
    }

    public func deleteQueue(_ name: String) throws(AMQPError) {
        try connection.deleteQueue(name, channel: channel)
    }

    public func deleteExchange(_ name: String) throws(AMQPError) {
        try connection.deleteExchange(name, channel: channel)
    }

    /// Publishes without confirms, for filling queues quickly in tests and benchmarks.
    public func publishUnconfirmed(_ message: OutgoingMessage) throws(AMQPError) {
        try connection.publish(message, channel: channel)
    }
}
