internal import CRabbitMQ
import Foundation

/// One rabbitmq-c connection. rabbitmq-c is not thread-safe, so an instance belongs to the single thread that
/// created it; the public clients keep it inside their I/O thread and talk to that thread through queues.
final class RawConnection {
    let state: amqp_connection_state_t
    let settings: ConnectionSettings
    private var isOpen = true
    /// Texts of recent deliveries, shared with the next ones that repeat them.
    var recentTexts = RecentTexts()
    /// Written by the TLS verify callback during the handshake; outlives the socket, which holds a pointer to it.
    private let verifyFailure: UnsafeMutablePointer<miner_index_tls_verify_failure>

    /// Opens the socket, negotiates TLS if asked, and logs in. Fails with a typed error, never hangs past the
    /// connect timeout.
    init(settings: ConnectionSettings) throws(AMQPError) {
        guard let state = amqp_new_connection() else {
            throw .library(operation: "amqp_new_connection", status: -1, message: "out of memory")
        }
        self.state = state
        self.settings = settings
        verifyFailure = .allocate(capacity: 1)
        verifyFailure.initialize(to: miner_index_tls_verify_failure())
        do {
            try open()
        } catch {
            amqp_destroy_connection(state)
            isOpen = false
            throw error
        }
    }

    deinit {
        if isOpen {
            amqp_destroy_connection(state)
        }
        verifyFailure.deallocate()
    }

    private func open() throws(AMQPError) {
        let target = "\(settings.host):\(settings.port)"
        let socket: OpaquePointer?
        if let tls = settings.tls {
            socket = try openTLSSocket(tls, target: target)
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else {
            throw .library(operation: "socket for \(target)", status: -1, message: "could not create socket")
        }

        var connectTimeout = settings.connectTimeout.timeval
        let status = amqp_socket_open_noblock(socket, settings.host, Int32(settings.port), &connectTimeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw .library(operation: "connecting to \(target)", status: status, message: describe(status))
        }

        var handshakeTimeout = settings.connectTimeout.timeval
        amqp_set_handshake_timeout(state, &handshakeTimeout)
        var requestTimeout = settings.requestTimeout.timeval
        amqp_set_rpc_timeout(state, &requestTimeout)

        let scratch = CScratch()
        var clientProperties = scratch.table([
            "connection_name": .string(settings.connectionName),
            "product": "miner-index",
            "platform": "Swift",
            "capabilities": .table([
                "consumer_cancel_notify": true,
                "connection.blocked": true,
                "publisher_confirms": true,
                "basic.nack": true,
                "authentication_failure_close": true,
            ]),
        ])
        let heartbeatSeconds = Int32(clamping: settings.heartbeat.components.seconds)
        let reply = miner_index_amqp_login_plain_with_properties(
            state, settings.virtualHost, 0, 131_072, heartbeatSeconds, &clientProperties, settings.user,
            settings.password)
        try check(reply, operation: "logging in to \(target) vhost '\(settings.virtualHost)' as '\(settings.user)'")
    }

    /// A TLS socket whose peer OpenSSL verifies during the handshake (chain, then host name or IP address), so that
    /// credentials are never sent to an unverified broker and a failure names its cause.
    private func openTLSSocket(_ tls: ConnectionSettings.TLS, target: String) throws(AMQPError) -> OpaquePointer? {
        guard let socket = amqp_ssl_socket_new(state) else {
            throw .library(operation: "TLS socket for \(target)", status: -1, message: "could not create socket")
        }
        if let ca = tls.caCertificatePath {
            let status = amqp_ssl_socket_set_cacert(socket, ca)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw .library(operation: "loading CA file \(ca)", status: status, message: describe(status))
            }
        }
        if let certificate = tls.clientCertificatePath, let key = tls.clientKeyPath {
            let status = amqp_ssl_socket_set_key(socket, certificate, key)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw .library(
                    operation: "loading client certificate \(certificate) and key \(key)", status: status,
                    message: describe(status))
            }
        }
        if tls.verifyPeer {
            // OpenSSL checks the host in the handshake; rabbitmq-c's own check afterwards knows DNS names only.
            amqp_ssl_socket_set_verify_peer(socket, 1)
            amqp_ssl_socket_set_verify_hostname(socket, 0)
            let configured = miner_index_tls_verify_during_handshake(
                socket, settings.host, tls.verifyHostname ? 1 : 0, tls.caCertificatePath == nil ? 1 : 0,
                verifyFailure)
            guard configured == 1 else {
                throw .library(
                    operation: "configuring TLS verification for \(target)", status: AMQP_STATUS_SSL_ERROR.rawValue,
                    message: describe(AMQP_STATUS_SSL_ERROR.rawValue))
            }
        } else {
            amqp_ssl_socket_set_verify_peer(socket, 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verifyHostname ? 1 : 0)
        }
        return socket
    }

    /// rabbitmq-c's text for a status, followed for TLS by what OpenSSL said: the certificate check that failed
    /// (e.g. "hostname mismatch" or "unable to get local issuer certificate", with the certificate's subject), or
    /// the oldest error of this thread's OpenSSL queue (e.g. an alert from the broker).
    func describe(_ status: Int32) -> String {
        let message = libraryMessage(status)
        guard settings.tls != nil else { return message }
        var buffer = [UInt8](repeating: 0, count: 256)
        let taken = buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { miner_index_tls_take_error($0.baseAddress, $0.count) }
        }
        let openSSLError = taken == 1 ? String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self) : nil
        let failure = verifyFailure.pointee
        if failure.error != 0 {
            verifyFailure.pointee.error = 0
            let reason =
                X509_verify_cert_error_string(Int(failure.error)).map { String(cString: $0) }
                ?? "error \(failure.error)"
            let subject = withUnsafeBytes(of: failure.subject) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            let certificate =
                failure.depth == 0 ? "the broker's certificate" : "certificate \(failure.depth) of its chain"
            return
                "\(message): certificate verify failed: \(reason) (\(certificate)\(subject.isEmpty ? "" : " \(subject)"))"
        }
        guard let openSSLError else { return message }
        return "\(message): OpenSSL: \(openSSLError)"
    }

    /// Turns an RPC reply into a typed error. A close from the broker is answered with close-ok here, so the
    /// connection (or the channel) is left in a state the caller can recover from.
    func check(_ reply: amqp_rpc_reply_t, operation: String, channel: UInt16 = 0) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw .library(operation: operation, status: reply.library_error, message: describe(reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch reply.reply.id {
            case MethodNumber.connectionClose:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                sendConnectionCloseOk()
                throw .server(
                    operation: operation, scope: .connection, replyCode: close.reply_code,
                    replyText: close.reply_text.asString)
            case MethodNumber.channelClose:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                sendChannelCloseOk(channel: channel)
                throw .server(
                    operation: operation, scope: .channel, replyCode: close.reply_code,
                    replyText: close.reply_text.asString)
            default:
                throw .library(
                    operation: operation, status: -1,
                    message: "unexpected server method 0x\(String(reply.reply.id, radix: 16))")
            }
        default:
            throw .library(operation: operation, status: -1, message: "no RPC reply from rabbitmq-c")
        }
    }

    private func checkLastReply(operation: String, channel: UInt16) throws(AMQPError) {
        try check(amqp_get_rpc_reply(state), operation: operation, channel: channel)
    }

    func sendChannelCloseOk(channel: UInt16) {
        var closeOk = amqp_channel_close_ok_t()
        _ = amqp_send_method(state, channel, MethodNumber.channelCloseOk, &closeOk)
    }

    func sendConnectionCloseOk() {
        var closeOk = amqp_connection_close_ok_t()
        _ = amqp_send_method(state, 0, MethodNumber.connectionCloseOk, &closeOk)
    }

    func openChannel(_ channel: UInt16) throws(AMQPError) {
        amqp_channel_open(state, channel)
        try checkLastReply(operation: "opening channel \(channel)", channel: channel)
    }

    @discardableResult
    func declare(_ topology: Topology, channel: UInt16) throws(AMQPError) -> [QueueState] {
        for exchange in topology.exchanges {
            let scratch = CScratch()
            amqp_exchange_declare(
                state, channel, scratch.bytes(exchange.name), scratch.bytes(exchange.kind.rawValue), 0,
                exchange.durable ? 1 : 0, exchange.autoDelete ? 1 : 0, 0, scratch.table(exchange.arguments))
            try checkLastReply(operation: "declaring exchange '\(exchange.name)'", channel: channel)
        }
        var queues: [QueueState] = []
        for queue in topology.queues {
            queues.append(try declareQueue(queue, passive: false, channel: channel))
        }
        for binding in topology.bindings { try bind(binding, channel: channel) }
        return queues
    }

    func bind(_ binding: QueueBinding, channel: UInt16) throws(AMQPError) {
        let scratch = CScratch()
        amqp_queue_bind(
            state, channel, scratch.bytes(binding.queue), scratch.bytes(binding.exchange),
            scratch.bytes(binding.routingKey), scratch.table(binding.arguments))
        try checkLastReply(
            operation: "binding queue '\(binding.queue)' to '\(binding.exchange)' with '\(binding.routingKey)'",
            channel: channel)
    }

    func unbind(_ binding: QueueBinding, channel: UInt16) throws(AMQPError) {
        let scratch = CScratch()
        amqp_queue_unbind(
            state, channel, scratch.bytes(binding.queue), scratch.bytes(binding.exchange),
            scratch.bytes(binding.routingKey), scratch.table(binding.arguments))
        try checkLastReply(
            operation: "unbinding queue '\(binding.queue)' from '\(binding.exchange)' with '\(binding.routingKey)'",
            channel: channel)
    }

    func declareQueue(_ queue: QueueDeclaration, passive: Bool, channel: UInt16) throws(AMQPError) -> QueueState {
        let scratch = CScratch()
        let ok = amqp_queue_declare(
            state, channel, scratch.bytes(queue.name), passive ? 1 : 0, queue.durable ? 1 : 0,
            queue.exclusive ? 1 : 0, queue.autoDelete ? 1 : 0, scratch.table(queue.arguments))
        try checkLastReply(operation: "declaring queue '\(queue.name)'", channel: channel)
        guard let ok else {
            throw .library(operation: "declaring queue '\(queue.name)'", status: -1, message: "no declare-ok")
        }
        return QueueState(
            name: ok.pointee.queue.asString, messageCount: ok.pointee.message_count,
            consumerCount: ok.pointee.consumer_count)
    }

    func purgeQueue(_ name: String, channel: UInt16) throws(AMQPError) -> UInt32 {
        let scratch = CScratch()
        let ok = amqp_queue_purge(state, channel, scratch.bytes(name))
        try checkLastReply(operation: "purging queue '\(name)'", channel: channel)
        return ok?.pointee.message_count ?? 0
    }

    func deleteQueue(_ name: String, channel: UInt16) throws(AMQPError) {
        let scratch = CScratch()
        amqp_queue_delete(state, channel, scratch.bytes(name), 0, 0)
        try checkLastReply(operation: "deleting queue '\(name)'", channel: channel)
    }

    func deleteExchange(_ name: String, channel: UInt16) throws(AMQPError) {
        let scratch = CScratch()
        amqp_exchange_delete(state, channel, scratch.bytes(name), 0)
        try checkLastReply(operation: "deleting exchange '\(name)'", channel: channel)
    }

    func setPrefetch(_ count: UInt16, channel: UInt16) throws(AMQPError) {
        amqp_basic_qos(state, channel, 0, count, 0)
        try checkLastReply(operation: "setting prefetch \(count)", channel: channel)
    }

    func selectConfirms(channel: UInt16) throws(AMQPError) {
        amqp_confirm_select(state, channel)
        try checkLastReply(operation: "enabling publisher confirms", channel: channel)
    }

    func consume(queue: String, consumerTag: String, exclusive: Bool, arguments: FieldTable, channel: UInt16)
        throws(AMQPError) -> String
    {
        let scratch = CScratch()
        let ok = amqp_basic_consume(
            state, channel, scratch.bytes(queue), scratch.bytes(consumerTag), 0, 0, exclusive ? 1 : 0,
            scratch.table(arguments))
        try checkLastReply(operation: "consuming from queue '\(queue)'", channel: channel)
        return ok?.pointee.consumer_tag.asString ?? consumerTag
    }

    func cancel(consumerTag: String, channel: UInt16) throws(AMQPError) {
        let scratch = CScratch()
        amqp_basic_cancel(state, channel, scratch.bytes(consumerTag))
        try checkLastReply(operation: "cancelling consumer '\(consumerTag)'", channel: channel)
    }

    func ack(_ tag: UInt64, multiple: Bool, channel: UInt16) throws(AMQPError) {
        try checkStatus(amqp_basic_ack(state, channel, tag, multiple ? 1 : 0), operation: "basic.ack")
    }

    func nack(_ tag: UInt64, multiple: Bool, requeue: Bool, channel: UInt16) throws(AMQPError) {
        try checkStatus(
            amqp_basic_nack(state, channel, tag, multiple ? 1 : 0, requeue ? 1 : 0), operation: "basic.nack")
    }

    func reject(_ tag: UInt64, requeue: Bool, channel: UInt16) throws(AMQPError) {
        try checkStatus(amqp_basic_reject(state, channel, tag, requeue ? 1 : 0), operation: "basic.reject")
    }

    /// The largest frame the broker and rabbitmq-c agreed on at login.
    var frameMax: Int { Int(amqp_get_frame_max(state)) }

    /// Refuses, before writing anything, a message that AMQP cannot carry (`AMQPError.unpublishable`), so that
    /// one bad message never leaves a half-written frame on the connection.
    func publish(_ message: OutgoingMessage, channel: UInt16) throws(AMQPError) {
        if let reason = message.unpublishableReason(frameMax: frameMax) {
            throw .unpublishable(reason: reason)
        }
        let scratch = CScratch()
        var properties = scratch.properties(message.properties)
        let status = message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                state, channel, scratch.bytes(message.exchange), scratch.bytes(message.routingKey),
                message.mandatory ? 1 : 0, 0, &properties,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
        try checkStatus(status, operation: "publishing to exchange '\(message.exchange)'")
    }

    func checkStatus(_ status: Int32, operation: String) throws(AMQPError) {
        guard status == AMQP_STATUS_OK.rawValue else {
            throw .library(operation: operation, status: status, message: describe(status))
        }
    }

    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// Whether rabbitmq-c already holds input that a poll on the socket would not report.
    var hasBufferedInput: Bool {
        amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0
    }

    /// Sends connection.close and frees the connection. Safe to call more than once.
    func close() {
        guard isOpen else { return }
        isOpen = false
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(state)
    }

    /// Frees the connection without a close handshake, after the socket has failed.
    func abandon() {
        guard isOpen else { return }
        isOpen = false
        amqp_destroy_connection(state)
    }
}
