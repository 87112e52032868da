/// Errors of the AMQP layer. Each carries what rabbitmq-c or the broker said, in their own words, so an operator
/// can look the text up. None of them ever contains a password.
public enum AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A rabbitmq-c call failed; `status` is its `amqp_status_enum` value and `message` is `amqp_error_string2`.
    case library(operation: String, status: Int32, message: String)
    /// The broker closed the channel or the connection with a reply code, e.g. 404 NOT_FOUND or 403 ACCESS_REFUSED.
    case server(operation: String, scope: CloseScope, replyCode: UInt16, replyText: String)
    /// The connection settings could not be understood.
    case invalidSettings(String)
    /// The client has no connection to the broker right now.
    case notConnected
    /// The broker has blocked the publishing connection (`connection.blocked`), for example on a memory alarm.
    case blocked(reason: String, waited: Duration)
    /// The publish was written to the connection, then the broker blocked it (`connection.blocked`) and no confirm
    /// came within the blocked policy's bound. The broker may still route it once it unblocks.
    case unconfirmed(reason: String, waited: Duration)
    /// The broker answered a publish with `basic.nack`.
    case nacked
    /// The connection was lost before the broker confirmed the publish; it may or may not have been routed.
    case connectionLost(reason: String)
    /// The client was closed.
    case closed
    /// A bounded wait ran out.
    case timedOut(operation: String, after: Duration)
    /// The message cannot be encoded as AMQP (see `WireLimits`); it was not sent, and the connection is unharmed.
    case unpublishable(reason: String)

    public enum CloseScope: String, Sendable {
        case channel
        case connection
    }

    public var description: String {
        switch self {
        case .library(let operation, let status, let message):
            return "\(operation) failed: \(message) (rabbitmq-c status \(status))"
        case .server(let operation, let scope, let replyCode, let replyText):
            let failure = "\(operation) failed: broker closed the \(scope.rawValue) with \(replyCode) \(replyText)"
            guard let refused = refusedDeclaration else { return failure }
            let difference = refused.argument.map { "a different '\($0)'" } ?? "different properties"
            return failure + ". The broker already holds \(refused.entity) with \(difference), and keeps it as it is: "
                + "delete it (moving its messages elsewhere first) or declare it as it stands"
        case .invalidSettings(let reason):
            return "invalid AMQP settings: \(reason)"
        case .notConnected:
            return "not connected to the broker"
        case .blocked(let reason, let waited):
            return "the broker blocked publishing (\(reason)); gave up after \(waited)"
        case .unconfirmed(let reason, let waited):
            return "the broker blocked publishing (\(reason)) after the message was sent; no confirm within \(waited), "
                + "so it may or may not be routed"
        case .nacked:
            return "the broker rejected the publish (basic.nack)"
        case .connectionLost(let reason):
            return "the connection was lost before the broker confirmed: \(reason)"
        case .closed:
            return "the AMQP client is closed"
        case .timedOut(let operation, let after):
            return "\(operation) timed out after \(after)"
        case .unpublishable(let reason):
            return "the message cannot be published: \(reason)"
        }
    }

    /// Whether a publish that failed with this error may still have been routed: the message left the client and
    /// no answer came. A caller that publishes it again, or reroutes it, may cause a duplicate. A channel error
    /// fails every publish in flight on the channel: the one that caused it was not routed, but the others may
    /// have been, and nothing says which is which.
    public var mayHaveBeenRouted: Bool {
        switch self {
        case .connectionLost, .unconfirmed, .server(_, .channel, _, _): return true
        default: return false
        }
    }

    /// A declaration the broker refused because the queue or exchange exists with other properties or arguments
    /// (406 PRECONDITION_FAILED, "inequivalent arg 'x-queue-type' for queue …"): what was declared ("queue 'name'")
    /// and the argument that differs, when the broker names one. Retrying cannot fix it; changing the broker can.
    public var refusedDeclaration: (entity: String, argument: String?)? {
        guard case .server(let operation, _, 406, let replyText) = self, operation.hasPrefix("declaring ") else {
            return nil
        }
        let entity = String(operation.dropFirst("declaring ".count))
        let marker = "inequivalent arg '"
        guard let start = replyText.range(of: marker)?.upperBound,
            let end = replyText[start...].firstIndex(of: "'")
        else { return (entity, nil) }
        return (entity, String(replyText[start..<end]))
    }

    /// Errors that a new connection attempt cannot fix, such as a wrong password or a refused vhost.
    public var isPermanentConfigurationError: Bool {
        switch self {
        case .invalidSettings: return true
        case .server(_, .connection, let code, _): return code == 403 || code == 530
        default: return false
        }
    }
}
