internal import CRabbitMQ
import Foundation
import Logging

/// Everything below runs on the consumer's own thread and is the only code that touches its connection.
extension AMQPConsumer {
    private static let channel: UInt16 = 1
    private static let pollInterval: Duration = .milliseconds(250)
    private static let maximumBatch = 1024

    /// Why a consuming session ended without the connection being lost.
    private enum SessionEnd: Error {
        case channelClosed(AMQPError)
        case consumerCancelled
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
                continue connectionLoop
            }

            sessionLoop: while true {
                do {
                    generation += 1
                    let consumerTag = try openSession(on: connection, generation: generation)
                    failures = 0
                    try pump(connection, generation: generation, consumerTag: consumerTag)
                    connection.close()
                    break connectionLoop
                } catch SessionEnd.consumerCancelled {
                    emit(.cancelled)
                    logger.warning("the broker cancelled the consumer; subscribing again")
                    amqp_channel_close(connection.state, Self.channel, Int32(AMQP_REPLY_SUCCESS))
                    continue sessionLoop
                } catch SessionEnd.channelClosed(let error) {
                    recordFailure(error, failures: failures)
                    sleepBeforeRetry(failures: failures)
                    failures += 1
                    if isCloseRequested { connection.close(); break connectionLoop }
                    continue sessionLoop
                } catch let error as AMQPError {
                    if case .server(_, .channel, _, _) = error {
                        recordFailure(error, failures: failures)
                        sleepBeforeRetry(failures: failures)
                        failures += 1
                        if isCloseRequested { connection.close(); break connectionLoop }
                        continue sessionLoop
                    }
                    connection.abandon()
                    recordFailure(error, failures: failures)
                    sleepBeforeRetry(failures: failures)
                    failures += 1
                    continue connectionLoop
                } catch {
                    connection.abandon()
                    recordFailure(.library(operation: "consuming", status: -1, message: "\(error)"), failures: failures)
                    continue connectionLoop
                }
            }
        }

        control.withLock { control in
            finishDeliveries(&control)
            control.status = .closed
        }
        eventContinuation.finish()
        logger.info("consumer closed")
        thread.markFinished()
    }

    /// Opens the channel, declares the topology, sets the prefetch and subscribes (unless consuming was stopped).
    private func openSession(on connection: RawConnection, generation: UInt64) throws(AMQPError) -> String? {
        try connection.openChannel(Self.channel)
        try connection.declare(configuration.topology, channel: Self.channel)
        try connection.setPrefetch(configuration.prefetch, channel: Self.channel)
        let stopRequested = control.withLock { $0.stopConsumingRequested }
        var consumerTag: String?
        if !stopRequested {
            consumerTag = try connection.consume(
                queue: configuration.queue, consumerTag: configuration.consumerTag,
                exclusive: configuration.exclusive, arguments: configuration.consumeArguments,
                channel: Self.channel)
        }
        control.withLock { control in
            control.status = consumerTag == nil ? .stoppedConsuming : .consuming(generation: generation)
            control.lastError = nil
        }
        emit(.connected(generation: generation))
        logger.info(
            "consumer connected", metadata: ["amqp.generation": "\(generation)", "amqp.prefetch": "\(configuration.prefetch)"])
        return consumerTag
    }

    /// Moves acks out and deliveries in until the consumer is closed or the session fails.
    private func pump(_ connection: RawConnection, generation: UInt64, consumerTag: String?) throws {
        var consumerTag = consumerTag
        while true {
            let closeRequested = thread.isCloseRequested
            let (commands, stopRequested) = control.withLock { control in
                let commands = control.commands
                control.commands = []
                return (commands, control.stopConsumingRequested)
            }
            try send(commands, on: connection, generation: generation)

            if stopRequested {
                if let tag = consumerTag {
                    try connection.cancel(consumerTag: tag, channel: Self.channel)
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

            if !connection.hasBufferedInput {
                // TLS can hold decrypted bytes that poll cannot see, so poll only briefly there.
                let timeout = settings.tls == nil ? Self.pollInterval : .milliseconds(5)
                thread.wakeup.wait(socket: connection.socketDescriptor, timeout: timeout)
            }
            try readDeliveries(connection, generation: generation, onlyQueued: false)
        }
    }

    private func send(_ commands: [Command], on connection: RawConnection, generation: UInt64) throws(AMQPError) {
        for command in commands {
            guard command.tag.generation == generation else {
                logger.debug(
                    "dropping an acknowledgement from an older channel", metadata: ["amqp.delivery_tag": "\(command.tag)"])
                continue
            }
            switch command {
            case .ack(let tag, let multiple):
                try connection.ack(tag.value, multiple: multiple, channel: Self.channel)
            case .nack(let tag, let multiple, let requeue):
                try connection.nack(tag.value, multiple: multiple, requeue: requeue, channel: Self.channel)
            case .reject(let tag, let requeue):
                try connection.reject(tag.value, requeue: requeue, channel: Self.channel)
            }
        }
    }

    /// Reads whatever is readable now without blocking and hands it over as one batch.
    private func readDeliveries(_ connection: RawConnection, generation: UInt64, onlyQueued: Bool) throws {
        var batch: [Delivery] = []
        defer {
            deliveryBuffer.append(batch)
        }
        while batch.count < Self.maximumBatch {
            if onlyQueued, !connection.hasBufferedInput { return }
            amqp_maybe_release_buffers(connection.state)
            var envelope = amqp_envelope_t()
            var immediately = timeval(tv_sec: 0, tv_usec: 0)
            let reply = amqp_consume_message(connection.state, &envelope, &immediately, 0)
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                batch.append(makeDelivery(envelope, generation: generation))
                amqp_destroy_envelope(&envelope)
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
                return
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
                // A method other than basic.deliver is waiting; rabbitmq-c wants it read with wait_frame.
                try handleNonDeliveryFrame(connection)
            default:
                rejectIfUndecodable(envelope, reply: reply, connection: connection, generation: generation)
                try connection.check(reply, operation: "receiving", channel: Self.channel)
                return
            }
        }
    }

    /// Decoding failures that the same bytes will cause again on every redelivery, as opposed to a lost socket.
    private static let undecodableStatuses: Set<Int32> = [
        AMQP_STATUS_BAD_AMQP_DATA.rawValue, AMQP_STATUS_UNKNOWN_CLASS.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue,
        AMQP_STATUS_TABLE_TOO_BIG.rawValue,
    ]

    /// A delivery that rabbitmq-c cannot decode would come back after every reconnect and stop consumption for
    /// good. `amqp_consume_message` has read its `basic.deliver` (and so its delivery tag) before it fails on the
    /// content header, so the delivery is rejected without requeue, which sends it to the queue's dead-letter
    /// exchange untouched. The reject goes out before the connection is dropped; the broker handles the two in
    /// that order.
    private func rejectIfUndecodable(
        _ envelope: amqp_envelope_t, reply: amqp_rpc_reply_t, connection: RawConnection, generation: UInt64
    ) {
        guard reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION, envelope.delivery_tag != 0,
            Self.undecodableStatuses.contains(reply.library_error)
        else { return }
        let reason = libraryMessage(reply.library_error)
        do {
            try connection.reject(envelope.delivery_tag, requeue: false, channel: Self.channel)
        } catch {
            logger.error("could not reject an undecodable delivery; it will be redelivered", metadata: ["error": "\(error)"])
            return
        }
        logger.error(
            "rejected a delivery rabbitmq-c cannot decode; the queue's dead-letter exchange has it",
            metadata: [
                "amqp.delivery_tag": "\(DeliveryTag(generation: generation, value: envelope.delivery_tag))",
                "error": "\(reason) (rabbitmq-c status \(reply.library_error))",
            ])
        emit(.rejectedUndecodable(reason: reason))
    }

    private func makeDelivery(_ envelope: amqp_envelope_t, generation: UInt64) -> Delivery {
        Delivery(
            tag: DeliveryTag(generation: generation, value: envelope.delivery_tag),
            exchange: envelope.exchange.asString,
            routingKey: envelope.routing_key.asString,
            redelivered: envelope.redelivered != 0,
            properties: CReading.properties(envelope.message.properties),
            body: envelope.message.body.asArray
        )
    }

    private func handleNonDeliveryFrame(_ connection: RawConnection) throws {
        var frame = amqp_frame_t()
        try connection.checkStatus(amqp_simple_wait_frame(connection.state, &frame), operation: "receiving")
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        let method = frame.payload.method
        switch method.id {
        case MethodNumber.channelClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            connection.sendChannelCloseOk(channel: frame.channel)
            throw SessionEnd.channelClosed(
                .server(
                    operation: "consuming", scope: .channel, replyCode: close.reply_code,
                    replyText: close.reply_text.asString))
        case MethodNumber.connectionClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            connection.sendConnectionCloseOk()
            throw AMQPError.server(
                operation: "consuming", scope: .connection, replyCode: close.reply_code,
                replyText: close.reply_text.asString)
        case MethodNumber.basicCancel:
            throw SessionEnd.consumerCancelled
        case MethodNumber.connectionBlocked:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            emit(.blocked(reason: blocked.reason.asString))
        case MethodNumber.connectionUnblocked:
            emit(.unblocked)
        default:
            logger.debug("ignoring method 0x\(String(method.id, radix: 16)) on the consumer channel")
        }
    }

    private var isCloseRequested: Bool { thread.isCloseRequested }

    private func setStatus(_ status: Status) {
        control.withLock { $0.status = status }
    }

    private func recordFailure(_ error: AMQPError, failures: Int) {
        let closing = isCloseRequested
        control.withLock { control in
            control.lastError = error
            if !closing { control.status = .disconnected(reason: error.description) }
        }
        emit(.disconnected(reason: error.description))
        let level: Logger.Level = failures == 0 ? .warning : .info
        logger.log(
            level: level, "consumer disconnected",
            metadata: ["error": "\(error)", "amqp.retry_in": "\(configuration.backoff.delay(afterFailures: failures))"])
    }

    private func sleepBeforeRetry(failures: Int) {
        thread.sleep(for: configuration.backoff.delay(afterFailures: failures))
    }
}
