import Foundation
import Logging

/// Everything below runs on the consumer's own thread and is the only code that touches its connection. The
/// reconnect loop is `ConnectionSupervisor`'s; this is what a consuming session does.
extension AMQPConsumer: SupervisedClient {
    private static let pollInterval: Duration = .milliseconds(250)
    private static let maximumBatch = 1024
    private static let batchWaitSlice: Duration = .microseconds(250)
    private var channel: UInt16 { ConnectionSupervisor.channel }

    var role: String { "consumer" }

    func run() {
        ConnectionSupervisor(backoff: configuration.backoff, channelRecovery: .afterBackoff).run(self)
    }

    func willConnect() {
        setStatus(.connecting)
    }

    /// Opens the channel, declares the topology, sets the prefetch and subscribes (unless consuming was stopped);
    /// returns the consumer tag of the subscription.
    func openSession(on connection: RawConnection, generation: UInt64) throws(AMQPError) -> String? {
        try connection.openChannel(channel)
        try connection.declare(configuration.topology, channel: channel)
        try connection.setPrefetch(configuration.prefetch, channel: channel)
        let stopRequested = control.withLock { $0.stopConsumingRequested }
        var consumerTag: String?
        if !stopRequested {
            consumerTag = try connection.consume(
                queue: configuration.queue, consumerTag: configuration.consumerTag,
                exclusive: configuration.exclusive, arguments: configuration.consumeArguments,
                channel: channel)
        }
        control.withLock { control in
            control.status = consumerTag == nil ? .stoppedConsuming : .consuming(generation: generation)
            control.lastError = nil
            control.madeBindings = []
        }
        emit(.connected(generation: generation))
        logger.info(
            "consumer connected",
            metadata: ["amqp.generation": "\(generation)", "amqp.prefetch": "\(configuration.prefetch)"])
        return consumerTag
    }

    /// Moves acks out and deliveries in until the consumer is closed or the session fails.
    func runSession(_ consumerTag: String?, on connection: RawConnection, generation: UInt64) throws {
        var consumerTag = consumerTag
        while true {
            let closeRequested = thread.isCloseRequested
            let (commands, stopRequested, bindings) = control.withLock { control in
                let commands = control.commands
                control.commands = []
                let bindings = control.bindingsWait ? (wanted: control.wantedBindings, made: control.madeBindings) : nil
                return (commands, control.stopConsumingRequested, bindings)
            }
            try send(commands, on: connection, generation: generation)
            if let bindings { try makeBindings(bindings.wanted, replacing: bindings.made, on: connection) }

            if stopRequested {
                if let tag = consumerTag {
                    try connection.cancel(consumerTag: tag, channel: channel)
                    consumerTag = nil
                    // Deliveries that arrived while waiting for cancel-ok are already queued inside rabbitmq-c.
                    try readDeliveries(connection, generation: generation, onlyQueued: true)
                    setStatus(.stoppedConsuming)
                }
                control.withLock { finishDeliveries(&$0) }
            }
            if closeRequested {
                return
            }

            if !connection.hasBufferedInput, markIdleUnlessCommandsWait() {
                // TLS can hold decrypted bytes that poll cannot see, so poll only briefly there.
                let timeout = settings.tls == nil ? Self.pollInterval : .milliseconds(5)
                thread.wakeup.wait(socket: connection.socketDescriptor, timeout: timeout)
                control.withLock { $0.ioThreadIdle = false }
            }
            try readDeliveries(connection, generation: generation, onlyQueued: false)
        }
    }

    private func send(_ commands: [Command], on connection: RawConnection, generation: UInt64) throws(AMQPError) {
        for command in commands {
            guard command.tag.generation == generation else {
                logger.debug(
                    "dropping an acknowledgement from an older channel",
                    metadata: ["amqp.delivery_tag": "\(command.tag)"])
                continue
            }
            switch command {
            case .ack(let tag, let multiple):
                try connection.ack(tag.value, multiple: multiple, channel: channel)
            case .nack(let tag, let multiple, let requeue):
                try connection.nack(tag.value, multiple: multiple, requeue: requeue, channel: channel)
            case .reject(let tag, let requeue):
                try connection.reject(tag.value, requeue: requeue, channel: channel)
            }
        }
    }

    /// Makes and removes the bindings asked for since the last turn, read with the commands under one lock. The
    /// RPCs share the channel with the deliveries: rabbitmq-c queues a delivery that arrives meanwhile, and
    /// `readDeliveries` takes it from there.
    private func makeBindings(
        _ wanted: Set<QueueBinding>, replacing made: Set<QueueBinding>, on connection: RawConnection
    ) throws(AMQPError) {
        for binding in wanted.subtracting(made) { try connection.bind(binding, channel: channel) }
        for binding in made.subtracting(wanted) { try connection.unbind(binding, channel: channel) }
        control.withLock { $0.madeBindings = wanted }
        thread.statusChanged()
    }

    /// True, and the thread marked idle, if no command waits to be sent (checked under the same lock that
    /// `enqueue` takes, so a command queued after this is sure to signal the wakeup).
    private func markIdleUnlessCommandsWait() -> Bool {
        control.withLock { control in
            guard control.commands.isEmpty, !control.bindingsWait else { return false }
            control.ioThreadIdle = true
            return true
        }
    }

    /// Reads what is readable and hands it over as one batch. Once a batch has begun, a batch smaller than
    /// `batchTarget` waits up to `batchWait` for more (see `Configuration.batchWait`); otherwise nothing blocks.
    private func readDeliveries(_ connection: RawConnection, generation: UInt64, onlyQueued: Bool) throws {
        var batch: [Delivery] = []
        var firstArrival: ContinuousClock.Instant?
        defer {
            if !batch.isEmpty, let observe = configuration.arrivalObserver { observe(batch) }
            deliveryBuffer.append(batch)
        }
        while batch.count < Self.maximumBatch {
            if onlyQueued, !connection.hasBufferedInput { return }
            switch connection.readDelivery(generation: generation, channel: channel) {
            case .delivery(let delivery):
                batch.append(delivery)
                if firstArrival == nil { firstArrival = .now }
            case .nothingReady:
                guard !onlyQueued, let firstArrival, batch.count < configuration.batchTarget else { return }
                let waited = ContinuousClock.now - firstArrival
                guard waited < configuration.batchWait, !thread.isCloseRequested else { return }
                // Not watching the socket: deliveries pile up in the kernel's buffer and come in one read. In
                // slices, so that a long wait still hands the batch over soon after it reaches the target.
                thread.wakeup.pause(for: min(configuration.batchWait - waited, Self.batchWaitSlice))
            case .methodWaiting:
                // A method other than basic.deliver is waiting; rabbitmq-c wants it read with wait_frame.
                try handle(try connection.waitForMethod(operation: "receiving"))
            case .undecodable(let deliveryTag, let reason, let error):
                rejectUndecodable(deliveryTag, reason: reason, connection: connection, generation: generation)
                throw error
            case .failed(let error):
                throw error
            }
        }
    }

    /// A delivery that rabbitmq-c cannot decode would come back after every reconnect and stop consumption for
    /// good. Its tag is known, so it is rejected without requeue, which sends it to the queue's dead-letter
    /// exchange untouched. The reject goes out before the connection is dropped; the broker handles the two in
    /// that order.
    private func rejectUndecodable(_ deliveryTag: UInt64, reason: String, connection: RawConnection, generation: UInt64)
    {
        do {
            try connection.reject(deliveryTag, requeue: false, channel: channel)
        } catch {
            logger.error(
                "could not reject an undecodable delivery; it will be redelivered", metadata: ["error": "\(error)"])
            return
        }
        logger.error(
            "rejected a delivery rabbitmq-c cannot decode; the queue's dead-letter exchange has it",
            metadata: [
                "amqp.delivery_tag": "\(DeliveryTag(generation: generation, value: deliveryTag))",
                "error": "\(reason)",
            ])
        emit(.rejectedUndecodable(reason: reason))
    }

    private func handle(_ method: IncomingMethod?) throws {
        switch method {
        case .channelClose(let replyCode, let replyText):
            throw SessionInterruption.channelClosed(
                .server(operation: "consuming", scope: .channel, replyCode: replyCode, replyText: replyText))
        case .connectionClose(let replyCode, let replyText):
            throw AMQPError.server(
                operation: "consuming", scope: .connection, replyCode: replyCode, replyText: replyText)
        case .basicCancel:
            throw SessionInterruption.consumerCancelled
        case .connectionBlocked(let reason):
            emit(.blocked(reason: reason))
            logger.warning("the broker blocked the consumer's connection", metadata: ["reason": "\(reason)"])
        case .connectionUnblocked:
            emit(.unblocked)
            logger.info("the broker unblocked the consumer's connection")
        case .other(let methodId):
            logger.debug("ignoring method 0x\(String(methodId, radix: 16)) on the consumer channel")
        case .basicAck, .basicNack, .basicReturn, nil:
            break
        }
    }

    func wasCancelled() {
        emit(.cancelled)
        logger.warning("the broker cancelled the consumer; subscribing again")
    }

    func didFail(_ failure: ConnectionStateMachine.Failure) {
        let closing = thread.isCloseRequested
        control.withLock { control in
            control.lastError = failure.error
            if !closing { control.status = .disconnected(reason: failure.error.description) }
        }
        emit(.disconnected(reason: failure.error.description))
    }

    func didFinish() {
        control.withLock { control in
            finishDeliveries(&control)
            control.status = .closed
        }
        eventContinuation.finish()
    }

    private func setStatus(_ status: Status) {
        control.withLock { $0.status = status }
    }
}
