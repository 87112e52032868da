/// "The same as the operational index but stores an array": each ASIC's recent logs, newest last, bounded by
/// count and by age.
///
/// A value type rather than an actor of its own, so that the ASIC index actor can change it in the same step as
/// the registry and the operational map (a delete must clear all three at once).
public struct AsicMinerHistoricalIndex: Sendable {
    public let capacity: Int
    public let maxAgeMicroseconds: Int64
    private var rings: [Int64: HistoryRing] = [:]
    private var schedule: ExpirySchedule

    public init(capacity: Int = 60, maxAgeSeconds: Double = 3600) {
        self.capacity = max(1, capacity)
        self.maxAgeMicroseconds = Timestamp.saturatingMicroseconds(seconds: maxAgeSeconds)
        // Coarse buckets: a history only has to disappear within a minute of aging out.
        schedule = ExpirySchedule(bucketWidthMicroseconds: 60_000_000)
    }

    public var minerCount: Int { rings.count }

    /// Entries held over all miners; walks the rings, so call it about once a second, not per message.
    public var entryCount: Int { rings.values.reduce(0) { $0 + $1.count } }

    /// Appends the log's numbers if it is newer than the newest entry; older or equal ones (reordered or
    /// redelivered) are dropped so the ring stays in time order. Returns the entry if it was appended, with the
    /// time of the newest entry before it.
    @discardableResult
    public mutating func put(_ log: AsicMinerLog, observedAt: Timestamp)
        -> (entry: AsicMinerHistoryEntry, previousNewest: Timestamp?)?
    {
        let id = log.asicMinerId
        let cutoff = Timestamp(microsecondsSinceEpoch: observedAt.microsecondsSinceEpoch - maxAgeMicroseconds)
        let entry = AsicMinerHistoryEntry(log: log, observedAt: observedAt)
        // One in-place dictionary access: the ring is never copied, whatever its size.
        let outcome = rings[id, default: HistoryRing()]
            .appendIfNewer(entry, capacity: capacity, droppingOlderThan: cutoff)
        guard outcome.appended else { return nil }
        schedule.file(id, at: observedAt, previous: outcome.previousNewest)
        return (entry, outcome.previousNewest)
    }

    /// Puts back entries read from a store, oldest first: they go before the ones already held (which arrived
    /// after the restart), the ring keeps the newest `capacity`, and entries older than the age limit are dropped.
    public mutating func restore(_ entries: [AsicMinerHistoryEntry], of id: Int64, now: Timestamp) {
        let limit = cutoff(now)
        var ring = HistoryRing()
        let held = rings[id].map { ring in (0..<ring.count).map { ring[$0] } } ?? []
        var merged = entries.filter { $0.observedAt >= limit }
        if let firstHeld = held.first { merged.removeAll { $0.observedAt >= firstHeld.observedAt } }
        merged.append(contentsOf: held)
        guard !merged.isEmpty else { return }
        for entry in merged.suffix(capacity) { ring.append(entry, capacity: capacity) }
        let previousNewest = rings[id]?.newest?.observedAt
        rings[id] = ring
        if let newest = ring.newest { schedule.file(id, at: newest.observedAt, previous: previousNewest) }
    }

    /// The miner's entries no older than the age limit at `now`, oldest first.
    public func get(_ id: Int64, now: Timestamp) -> [AsicMinerHistoryEntry] {
        rings[id]?.entries(notBefore: cutoff(now)) ?? []
    }

    @discardableResult
    public mutating func remove(_ id: Int64) -> Bool { rings.removeValue(forKey: id) != nil }

    /// Forgets miners whose newest entry has aged out, and returns their ids.
    public mutating func expire(now: Timestamp) -> [Int64] {
        let limit = cutoff(now)
        var removed: [Int64] = []
        var pending = schedule
        schedule = ExpirySchedule(bucketWidthMicroseconds: 1)
        pending.sweep(before: limit) { id in
            guard let newest = rings[id]?.newest, newest.observedAt < limit else { return false }
            rings[id] = nil
            removed.append(id)
            return true
        }
        schedule = pending
        return removed
    }

    private func cutoff(_ now: Timestamp) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - maxAgeMicroseconds)
    }
}
