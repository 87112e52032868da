/// Which instance may write the store and publish. A store several instances share elects one leader through a
/// lock; a store only one instance can open (or no store) needs no election.
public protocol LeaderLock: Sendable {
    /// Whether this instance may act as the leader right now; checked before every publish.
    var isHeld: Bool { get }
    /// Tries to take the lock; true if this instance now holds it.
    func tryAcquire() async -> Bool
    /// Keeps the lock while it is held: returns why it was lost, or nil when cancelled.
    func keepAlive() async -> String?
    func release() async
}

/// The lock of a store that no other instance can use: the one instance leads from its start to its end.
public struct AlwaysLeader: LeaderLock {
    public init() {}

    public var isHeld: Bool { true }

    public func tryAcquire() async -> Bool { true }

    public func keepAlive() async -> String? {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        return nil
    }

    public func release() async {}
}
