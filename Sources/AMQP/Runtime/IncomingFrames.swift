internal import CRabbitMQ

/// A method the broker sent on its own (not as the reply to a request), decoded from rabbitmq-c's frame so that
/// the clients above never read a C struct.
enum IncomingMethod: Equatable {
    case basicAck(deliveryTag: UInt64, multiple: Bool)
    case basicNack(deliveryTag: UInt64, multiple: Bool)
    /// A mandatory publish the broker could not route. Its message body has already been read and dropped.
    case basicReturn(exchange: String, routingKey: String, replyCode: UInt16, replyText: String)
    case basicCancel
    /// The broker closed the channel; channel.close-ok has been sent.
    case channelClose(replyCode: UInt16, replyText: String)
    /// The broker closed the connection; connection.close-ok has been sent.
    case connectionClose(replyCode: UInt16, replyText: String)
    case connectionBlocked(reason: String)
    case connectionUnblocked
    case other(methodId: UInt32)
}

/// What one non-blocking read on a consuming channel gave.
enum DeliveryRead {
    case delivery(Delivery)
    /// Nothing complete has arrived yet.
    case nothingReady
    /// A method other than basic.deliver is next; read it with `waitForMethod`.
    case methodWaiting
    /// rabbitmq-c read the delivery's basic.deliver, so its tag is known, but cannot decode the rest. The same
    /// bytes would fail again on every redelivery, and the connection cannot be read past them.
    case undecodable(deliveryTag: UInt64, reason: String, error: AMQPError)
    case failed(AMQPError)
}

extension RawConnection {
    /// Decoding failures that the same bytes will cause again, as opposed to a lost socket.
    private static let undecodableStatuses: Set<Int32> = [
        AMQP_STATUS_BAD_AMQP_DATA.rawValue, AMQP_STATUS_UNKNOWN_CLASS.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue,
        AMQP_STATUS_TABLE_TOO_BIG.rawValue,
    ]

    /// Reads the next delivery if one has arrived, without waiting.
    func readDelivery(generation: UInt64, channel: UInt16) -> DeliveryRead {
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var immediately = timeval(tv_sec: 0, tv_usec: 0)
        let reply = amqp_consume_message(state, &envelope, &immediately, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            defer { amqp_destroy_envelope(&envelope) }
            return .delivery(
                Delivery(
                    tag: DeliveryTag(generation: generation, value: envelope.delivery_tag),
                    exchange: recentTexts.text(envelope.exchange),
                    routingKey: recentTexts.text(envelope.routing_key),
                    redelivered: envelope.redelivered != 0,
                    properties: CReading.properties(envelope.message.properties, recentTexts: &recentTexts),
                    body: envelope.message.body.asBody))
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return .nothingReady
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            return .methodWaiting
        default:
            let error: AMQPError
            do {
                try check(reply, operation: "receiving", channel: channel)
                return .nothingReady
            } catch let failure {
                error = failure
            }
            if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION, envelope.delivery_tag != 0,
                Self.undecodableStatuses.contains(reply.library_error)
            {
                return .undecodable(
                    deliveryTag: envelope.delivery_tag,
                    reason: "\(libraryMessage(reply.library_error)) (rabbitmq-c status \(reply.library_error))",
                    error: error)
            }
            return .failed(error)
        }
    }

    /// Waits for the next frame and decodes it; nil for a frame that is not a method.
    func waitForMethod(operation: String) throws(AMQPError) -> IncomingMethod? {
        var frame = amqp_frame_t()
        try checkStatus(amqp_simple_wait_frame(state, &frame), operation: operation)
        return try method(in: frame, operation: operation)
    }

    /// What `pollMethod` found.
    enum MethodPoll {
        case nothingReady
        case method(IncomingMethod)
        /// A frame that is not a method (a stray header or body).
        case otherFrame
    }

    /// Reads the next frame if one has arrived, without waiting.
    func pollMethod(operation: String) throws(AMQPError) -> MethodPoll {
        amqp_maybe_release_buffers(state)
        var frame = amqp_frame_t()
        var immediately = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &immediately)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return .nothingReady }
        try checkStatus(status, operation: operation)
        return try method(in: frame, operation: operation).map { .method($0) } ?? .otherFrame
    }

    private func method(in frame: amqp_frame_t, operation: String) throws(AMQPError) -> IncomingMethod? {
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return nil }
        let method = frame.payload.method
        switch method.id {
        case MethodNumber.basicAck:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .basicAck(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0)
        case MethodNumber.basicNack:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .basicNack(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0)
        case MethodNumber.basicReturn:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let decoded = IncomingMethod.basicReturn(
                exchange: returned.exchange.asString, routingKey: returned.routing_key.asString,
                replyCode: returned.reply_code, replyText: returned.reply_text.asString)
            // The returned message's header and body follow; they are read here so the next frame is a method.
            var message = amqp_message_t()
            let reply = amqp_read_message(state, frame.channel, &message, 0)
            try check(reply, operation: "reading a returned message", channel: frame.channel)
            amqp_destroy_message(&message)
            return decoded
        case MethodNumber.basicCancel:
            return .basicCancel
        case MethodNumber.channelClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            sendChannelCloseOk(channel: frame.channel)
            return .channelClose(replyCode: close.reply_code, replyText: close.reply_text.asString)
        case MethodNumber.connectionClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            sendConnectionCloseOk()
            return .connectionClose(replyCode: close.reply_code, replyText: close.reply_text.asString)
        case MethodNumber.connectionBlocked:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .connectionBlocked(reason: blocked.reason.asString)
        case MethodNumber.connectionUnblocked:
            return .connectionUnblocked
        default:
            return .other(methodId: method.id)
        }
    }

    /// Closes a channel gracefully, leaving the connection open (after the broker cancelled a consumer).
    func closeChannel(_ channel: UInt16) {
        amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
    }
}
