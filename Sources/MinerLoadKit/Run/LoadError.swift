/// Why a run could not be carried out, in words that say what to check. URLs are always redacted.
public enum LoadError: Error, Sendable, CustomStringConvertible {
    case brokerUnreachable(url: String, reason: String)
    case brokerLost(url: String, reason: String)
    case snapshotListenerFailed(url: String, reason: String)

    public var description: String {
        switch self {
        case .brokerUnreachable(let url, let reason):
            return "cannot reach the broker at \(url): \(reason)"
        case .brokerLost(let url, let reason):
            return
                "lost the broker at \(url) while sending and it did not come back within the reconnect timeout: \(reason)"
        case .snapshotListenerFailed(let url, let reason):
            return "cannot bind the --verify queues to the output exchanges at \(url): \(reason)"
        }
    }
}
