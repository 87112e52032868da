import Logging

/// What the consumer and the publisher each do inside a connection; the supervisor does the rest.
protocol SupervisedClient: AnyObject {
    /// What a session keeps from its opening to its end (the consumer's subscription).
    associatedtype Session

    /// "consumer" or "publisher", for the logs.
    var role: String { get }
    var settings: ConnectionSettings { get }
    var logger: Logger { get }
    var thread: ClientThread { get }

    /// A connection attempt starts.
    func willConnect()
    /// Opens the channel and what the client needs on it (topology, prefetch and subscription, or confirms).
    func openSession(on connection: RawConnection, generation: UInt64) throws(AMQPError) -> Session
    /// Runs the open session until the client is asked to close (return) or it fails (throw).
    func runSession(_ session: Session, on connection: RawConnection, generation: UInt64) throws
    /// The session or the connection failed: record it where the client's status shows it.
    func didFail(_ failure: ConnectionStateMachine.Failure)
    /// The broker cancelled the consumer; the channel is about to be closed and opened again.
    func wasCancelled()
    /// The thread's last work, after the connection is closed.
    func didFinish()
}

/// Drives one client's `ConnectionStateMachine` on the client's own thread: performs each step's I/O (connect,
/// open, run, sleep, close) and feeds the outcome back. The one reconnect loop both clients share.
struct ConnectionSupervisor {
    let backoff: Backoff
    let channelRecovery: ConnectionStateMachine.ChannelRecovery

    func run(_ client: some SupervisedClient) {
        var machine = ConnectionStateMachine(backoff: backoff, channelRecovery: channelRecovery)
        var connection: RawConnection?
        var step = machine.start(closeRequested: client.thread.isCloseRequested)
        while true {
            if let failure = step.failure { report(failure, of: client) }
            if step.closeChannel, let connection {
                client.wasCancelled()
                connection.closeChannel(Self.channel)
            }
            if step.dropConnection {
                connection?.abandon()
                connection = nil
            }
            switch step.action {
            case .connect:
                client.willConnect()
                do {
                    connection = try RawConnection(settings: client.settings)
                    step = machine.connected()
                } catch {
                    step = machine.connectFailed(error, closeRequested: client.thread.isCloseRequested)
                }
            case .openSession(let generation):
                guard let open = connection else {
                    preconditionFailure("a session without a connection")
                }
                do {
                    let session = try client.openSession(on: open, generation: generation)
                    machine.sessionOpened()
                    try client.runSession(session, on: open, generation: generation)
                    step = machine.sessionEnded(.closeRequested, closeRequested: true)
                } catch {
                    let end = ConnectionStateMachine.SessionEnd(classifying: error, operation: client.role)
                    step = machine.sessionEnded(end, closeRequested: client.thread.isCloseRequested)
                }
            case .wait(let delay):
                client.thread.sleep(for: delay)
                step = machine.waited(closeRequested: client.thread.isCloseRequested)
            case .finish(let disposal):
                switch disposal {
                case .close: connection?.close()
                case .none: connection?.abandon()
                }
                client.didFinish()
                client.logger.info("\(client.role) closed")
                client.thread.markFinished()
                return
            }
        }
    }

    /// Both clients use one channel on their own connection.
    static let channel: UInt16 = 1

    private func report(_ failure: ConnectionStateMachine.Failure, of client: some SupervisedClient) {
        client.didFail(failure)
        var metadata: Logger.Metadata = ["error": "\(failure.error)"]
        if let retryIn = failure.retryIn { metadata["amqp.retry_in"] = "\(retryIn)" }
        // The first failure is news; the retries that follow it are not. A refused declaration needs an operator,
        // so its first report is an error that names what differs.
        let refused = failure.error.refusedDeclaration
        if let refused, failure.consecutive == 0 {
            metadata["amqp.declaration"] = "\(refused.entity)"
            if let argument = refused.argument { metadata["amqp.argument"] = "\(argument)" }
            client.logger.error("\(client.role) cannot declare its topology; retrying", metadata: metadata)
            return
        }
        client.logger.log(
            level: failure.consecutive == 0 ? .warning : .info, "\(client.role) disconnected", metadata: metadata)
    }
}
